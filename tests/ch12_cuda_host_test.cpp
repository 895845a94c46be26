// Chapter 12 tests that need no GPU: devices and Tensor::to(Device) through a fake backend, the
// caching allocator's bookkeeping, and the per-element bodies of the CUDA kernels
// (core/cuda/elementwise_ops.h) against the CPU ops they replace.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "autodiff/autodiff.h"
#include "core/cuda/caching_allocator.h"
#include "core/cuda/conv_ops.h"
#include "core/cuda/elementwise_ops.h"
#include "core/cuda/strided_index.h"
#include "core/device_ops.h"
#include "layers/losses.h"
#include "train/optim.h"

using namespace stablenn;
using stablenn::cuda::CachingAllocator;
using stablenn::cuda::round_block_size;

namespace {

// Expects `body` to throw stablenn::Error whose message contains `part`.
template <class F>
void expect_error(F&& body, const std::string& part) {
  try {
    body();
    ADD_FAILURE() << "no error; expected one mentioning \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// A raw backend on the host heap that counts, remembers what is live, and can be given a capacity
// (bytes live at once) to imitate a full device.
struct FakeRaw {
  explicit FakeRaw(std::set<void*>* live_blocks) : live(live_blocks) {}
  std::set<void*>* live;
  size_t capacity = ~size_t(0);
  size_t live_bytes = 0;
  std::map<void*, size_t> sizes;
  int allocs = 0, frees = 0;
  void* allocate(size_t n) {
    if (live_bytes + n > capacity) return nullptr;
    void* p = std::malloc(n);
    live->insert(p);
    sizes[p] = n;
    live_bytes += n;
    ++allocs;
    return p;
  }
  void release(void* p) {
    EXPECT_EQ(live->erase(p), 1u) << "released a block the backend did not hand out";
    live_bytes -= sizes[p];
    sizes.erase(p);
    ++frees;
    std::free(p);
  }
};

// A "CUDA" device whose memory is host memory, through the caching allocator: Tensor::to(Device)
// and the dispatch can be checked without a GPU.
class FakeCudaBackend final : public DeviceBackend {
 public:
  std::set<void*> live;
  CachingAllocator<FakeRaw> allocator{FakeRaw{&live}};
  std::shared_ptr<Storage> allocate(size_t nbytes, DType dtype, Device device) override {
    void* p = allocator.allocate(nbytes);
    return std::make_shared<Storage>(p, nbytes, dtype, device, [this](void* q) { allocator.free(q); });
  }
  void copy_to_device(void* d, const void* h, size_t n, Device) override { std::memcpy(d, h, n); ++h2d; }
  void copy_to_host(void* h, const void* d, size_t n, Device) override { std::memcpy(h, d, n); ++d2h; }
  int h2d = 0, d2h = 0;
};

// Its op table: each op moves its operands to the CPU, runs the CPU op and moves the result back,
// counting the calls, so a test sees which ops were dispatched.
class FakeCudaOps final : public DeviceOps {
 public:
  int calls = 0;
  Tensor run(DeviceOp op, const Tensor& a, const Tensor& b) override {
    ++calls;
    EXPECT_TRUE(a.device().is_cuda());
    const Tensor x = a.to(Device::cpu()), y = b.defined() ? b.to(Device::cpu()) : Tensor();
    Tensor r;
    switch (op) {
      case DeviceOp::Add: r = add(x, y); break;
      case DeviceOp::Sub: r = sub(x, y); break;
      case DeviceOp::Mul: r = mul(x, y); break;
      case DeviceOp::Div: r = div(x, y); break;
      case DeviceOp::Relu: r = relu(x); break;
      case DeviceOp::Sigmoid: r = sigmoid(x); break;
      case DeviceOp::Tanh: r = tanh(x); break;
      case DeviceOp::Matmul: r = matmul(x, y); break;
      case DeviceOp::SumAll: r = sum(x); break;
      case DeviceOp::Clone: r = x.clone(); break;
    }
    return r.to(a.device());
  }
};

class Ch12Device : public ::testing::Test {
 protected:
  void SetUp() override { previous_ = set_device_backend(Device::Kind::CUDA, &backend_); }
  void TearDown() override { set_device_backend(Device::Kind::CUDA, previous_); }
  FakeCudaBackend backend_;
  DeviceBackend* previous_ = nullptr;
};

Tensor random_tensor(Generator& g, const Shape& shape, DType dtype, double lo = -3, double hi = 3) {
  return g.uniform(shape, lo, hi, dtype);
}

}  // namespace

// ---- devices ----
TEST(Ch12DeviceBasics, NamesAndEquality) {
  EXPECT_EQ(Device::cpu().str(), "cpu");
  EXPECT_EQ(Device::cuda(1).str(), "cuda:1");
  EXPECT_EQ(Device::cuda(0), Device::cuda());
  EXPECT_NE(Device::cuda(0), Device::cuda(1));
  EXPECT_NE(Device::cpu(), Device::cuda(0));
  EXPECT_TRUE(Tensor::zeros({2}).device().is_cpu());
  EXPECT_TRUE(Tensor().device().is_cpu());
}

TEST(Ch12DeviceBasics, WithoutABackendMovingToCudaSaysHowToGetOne) {
  DeviceBackend* previous = set_device_backend(Device::Kind::CUDA, nullptr);
  expect_error([] { Tensor::ones({3}).to(Device::cuda()); }, "-DSTABLENN_CUDA=ON");
  expect_error([] { set_device_backend(Device::Kind::CPU, nullptr); }, "CPU needs no backend");
  set_device_backend(Device::Kind::CUDA, previous);
  const Tensor x = Tensor::arange(4);
  EXPECT_TRUE(x.to(Device::cpu()).shares_storage(x));  // already there: no copy
}

TEST_F(Ch12Device, RoundTripKeepsValuesShapeAndDtypeForEveryDtype) {
  Generator g(3);
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int64}) {
    const Tensor x = dtype == DType::Int64 ? Tensor::from_int64({4, -1, 7, 0, 2, 9}, {2, 3})
                                           : random_tensor(g, {2, 3, 5}, dtype);
    const Tensor d = x.to(Device::cuda());
    EXPECT_EQ(d.device(), Device::cuda(0));
    EXPECT_EQ(d.shape(), x.shape());
    EXPECT_EQ(d.dtype(), dtype);
    EXPECT_TRUE(d.is_contiguous());
    const Tensor back = d.to(Device::cpu());
    EXPECT_TRUE(back.device().is_cpu());
    EXPECT_EQ(back.to_vector(), x.to_vector()) << dtype_name(dtype);
    EXPECT_TRUE(d.to(Device::cuda(0)).shares_storage(d));
  }
}

TEST_F(Ch12Device, ViewsOfDeviceTensorsComeBackAsThoseViews) {
  Generator g(4);
  const Tensor x = random_tensor(g, {3, 4, 5}, DType::Float64);
  const Tensor d = x.to(Device::cuda());
  // Views only change metadata, so they work on the device; the copy back must honour them.
  EXPECT_EQ(d.permute({2, 0, 1}).to(Device::cpu()).to_vector(), x.permute({2, 0, 1}).contiguous().to_vector());
  EXPECT_EQ(d.slice(1, 1, 4, 2).to(Device::cpu()).to_vector(), x.slice(1, 1, 4, 2).contiguous().to_vector());
  EXPECT_EQ(d.select(0, 2).t().to(Device::cpu()).to_vector(), x.select(0, 2).t().contiguous().to_vector());
  const Tensor row = Tensor::from_vector({1, 2, 3}, {1, 3});
  EXPECT_EQ(row.to(Device::cuda()).expand({2, 3}).to(Device::cpu()).to_vector(),
            (std::vector<double>{1, 2, 3, 1, 2, 3}));
  // A non-contiguous CPU tensor goes over as its elements in order.
  EXPECT_EQ(x.transpose(0, 2).to(Device::cuda()).to(Device::cpu()).to_vector(),
            x.transpose(0, 2).contiguous().to_vector());
  // Empty tensors and scalars too.
  EXPECT_EQ(Tensor::zeros({0, 3}).to(Device::cuda()).to(Device::cpu()).shape(), (Shape{0, 3}));
  EXPECT_EQ(Tensor::scalar(2.5).to(Device::cuda()).to(Device::cpu()).item(), 2.5);
}

TEST_F(Ch12Device, CpuOpsRefuseDeviceTensorsWithAClearError) {
  Tensor d = Tensor::ones({2, 2}).to(Device::cuda());
  expect_error([&] { d.data<float>(); }, "lives on cuda:0");
  expect_error([&] { d.raw_data(); }, "call .to(Device::cpu())");
  expect_error([&] { d.at({0, 0}); }, "lives on cuda:0");
  expect_error([&] { d.set({0, 0}, 1.0); }, "lives on cuda:0");
  expect_error([&] { exp(d); }, "lives on cuda:0");  // an op no device runs yet
  expect_error([&] { Tensor::zeros({2, 2}).copy_(d); }, "lives on cuda:0");
  expect_error([&] { exp(Var(d)); }, "lives on cuda:0");
  // add is dispatched, but this fixture installs no op table.
  expect_error([&] { add(d, d); }, "no op table installed");
}

// Reading values copies them back; printing says where the tensor lives.
TEST_F(Ch12Device, ValuesOfDeviceTensorsCanBeReadAndPrinted) {
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
  const Tensor d = x.to(Device::cuda());
  EXPECT_EQ(d.select(0, 1).select(0, 2).item(), 6.0);
  EXPECT_EQ(d.t().to_vector(), x.t().contiguous().to_vector());
  EXPECT_EQ(d.to_floats(), x.to_floats());
  EXPECT_EQ(d.to_int64(), x.to_int64());
  const std::string s = d.str();
  EXPECT_NE(s.find("device=cuda:0"), std::string::npos) << s;
  EXPECT_NE(s.find("dtype=float64"), std::string::npos) << s;
  EXPECT_EQ(s.substr(0, s.find(", device")), x.str().substr(0, x.str().size() - 1)) << s;
}

// The dispatch point: the core ops of core/device_ops.h go to the device's op table; the CPU path
// is untouched; mixed devices and unsupported forms throw.
TEST_F(Ch12Device, CoreOpsOnDeviceTensorsGoToTheDevicesOpTable) {
  FakeCudaOps ops;
  struct Install {  // restores the previous table even when a check throws
    DeviceOps* previous;
    ~Install() { set_device_ops(Device::Kind::CUDA, previous); }
  } install{set_device_ops(Device::Kind::CUDA, &ops)};
  Generator g(5);
  const Tensor a = random_tensor(g, {3, 4}, DType::Float64), b = random_tensor(g, {4}, DType::Float64);
  const Tensor m = random_tensor(g, {4, 2}, DType::Float64);
  const Tensor da = a.to(Device::cuda()), db = b.to(Device::cuda()), dm = m.to(Device::cuda());
  auto same = [](const Tensor& on_device, const Tensor& want) {
    EXPECT_TRUE(on_device.device().is_cuda());
    EXPECT_EQ(on_device.to(Device::cpu()).to_vector(), want.to_vector());
  };
  same(add(da, db), add(a, b));
  same(mul(da, db), mul(a, b));
  same(relu(da), relu(a));
  same(sigmoid(da), sigmoid(a));
  same(tanh(da), tanh(a));
  same(matmul(da, dm), matmul(a, m));
  same(sum(da), sum(a));
  same(sub(da, db), sub(a, b));
  same(div(da, db), div(a, b));
  EXPECT_EQ(ops.calls, 9);
  // Scalar forms: the 0-d CPU operand they make goes to the device.
  same(mul(da, 2.5), mul(a, 2.5));
  same(sub(da, 1.0), sub(a, 1.0));
  EXPECT_EQ(ops.calls, 11);
  // The tape records device values through the same ops: a forward pass stays on the device.
  const Var h = relu(Var(da) + Var(db));
  same(h.value(), relu(add(a, b)));
  EXPECT_EQ(ops.calls, 13);
  // The CPU path never consults the table.
  (void)add(a, b);
  EXPECT_EQ(ops.calls, 13);
  // clone, and so contiguous() and reshape() of a strided view, run on the device.
  const Tensor c = da.t().contiguous();
  same(c, a.t().contiguous());
  same(da.t().reshape({12}), a.t().reshape({12}));
  EXPECT_FALSE(da.clone().shares_storage(da));
  EXPECT_EQ(ops.calls, 16);
  expect_error([&] { add(a, db); }, "operands on cpu and cuda:0");
  expect_error([&] { matmul(dm.t(), a); }, "operands on cuda:0 and cpu");
  expect_error([&] { sum(da, {0}); }, "only the sum of all elements");
}

TEST_F(Ch12Device, DeviceMemoryGoesBackToTheCacheWhenTheLastTensorGoes) {
  {
    const Tensor a = Tensor::zeros({1000}).to(Device::cuda());  // 4000 bytes -> a 4096-byte block
    const Tensor view = a.slice(0, 10, 20);
    EXPECT_EQ(backend_.allocator.stats().bytes_in_use, 4096u);
    (void)view;
  }
  EXPECT_EQ(backend_.allocator.stats().bytes_in_use, 0u);
  EXPECT_EQ(backend_.allocator.stats().bytes_cached, 4096u);
  const Tensor b = Tensor::zeros({1010}).to(Device::cuda());  // same size class: reused
  EXPECT_EQ(backend_.allocator.stats().cache_hits, 1u);
  EXPECT_EQ(backend_.allocator.stats().backend_allocations, 1u);
}

// ---- the caching allocator ----
TEST(Ch12Allocator, SizeClasses) {
  EXPECT_EQ(round_block_size(0), 512u);
  EXPECT_EQ(round_block_size(1), 512u);
  EXPECT_EQ(round_block_size(512), 512u);
  EXPECT_EQ(round_block_size(513), 1024u);
  EXPECT_EQ(round_block_size((1u << 20) - 1), size_t(1) << 20);
  EXPECT_EQ(round_block_size(size_t(1) << 20), size_t(1) << 20);
  EXPECT_EQ(round_block_size((size_t(1) << 20) + 1), (size_t(1) << 20) + (size_t(1) << 17));
  EXPECT_EQ(round_block_size((size_t(3) << 20) + 1), (size_t(3) << 20) + (size_t(1) << 18));
  // Never smaller than asked, at most 12.5 % more above 1 MiB, a multiple of 512 always.
  for (size_t n = 1; n < (size_t(1) << 32); n = n * 3 + 7) {
    const size_t r = round_block_size(n);
    EXPECT_GE(r, n);
    EXPECT_EQ(r % 512, 0u);
    if (n >= (size_t(1) << 20)) {
      EXPECT_LE(r - n, n / 8) << n;
    }
  }
  expect_error([] { round_block_size(~size_t(0) - 5); }, "more than any device holds");
}

TEST(Ch12Allocator, ReusesFreedBlocksOfTheSameClassAndCountsBytes) {
  std::set<void*> live;
  CachingAllocator<FakeRaw> a{FakeRaw{&live}};
  void* p = a.allocate(1000);  // class 1024
  EXPECT_EQ(a.block_size(p), 1024u);
  void* q = a.allocate(5000);  // class 5120
  auto s = a.stats();
  EXPECT_EQ(s.bytes_in_use, 1024u + 5120u);
  EXPECT_EQ(s.bytes_cached, 0u);
  EXPECT_EQ(s.backend_allocations, 2u);
  a.free(p);
  s = a.stats();
  EXPECT_EQ(s.bytes_in_use, 5120u);
  EXPECT_EQ(s.bytes_cached, 1024u);
  EXPECT_EQ(a.block_size(p), 0u);
  void* r = a.allocate(600);  // class 1024 again: the cached block
  EXPECT_EQ(r, p);
  EXPECT_EQ(a.stats().cache_hits, 1u);
  EXPECT_EQ(a.stats().backend_allocations, 2u);
  void* t = a.allocate(1500);  // class 1536: a new block
  EXPECT_NE(t, p);
  EXPECT_EQ(a.stats().backend_allocations, 3u);
  EXPECT_EQ(a.stats().peak_bytes_in_use, 1024u + 5120u + 1536u);
  a.free(q);
  a.free(r);
  a.free(t);
  s = a.stats();
  EXPECT_EQ(s.bytes_in_use, 0u);
  EXPECT_EQ(s.bytes_cached, 1024u + 5120u + 1536u);
  EXPECT_EQ(s.peak_bytes_in_use, 1024u + 5120u + 1536u);
  EXPECT_EQ(live.size(), 3u);  // nothing went back to the device yet
  a.reset_peak();
  EXPECT_EQ(a.stats().peak_bytes_in_use, 0u);
  a.empty_cache();
  EXPECT_TRUE(live.empty());
  EXPECT_EQ(a.stats().bytes_cached, 0u);
  EXPECT_EQ(a.stats().backend_frees, 3u);
  EXPECT_EQ(a.stats().allocations, 4u);
}

TEST(Ch12Allocator, EmptyCacheKeepsBlocksInUse) {
  std::set<void*> live;
  CachingAllocator<FakeRaw> a{FakeRaw{&live}};
  void* used = a.allocate(100);
  a.free(a.allocate(100000));
  a.empty_cache();
  EXPECT_EQ(live.size(), 1u);
  EXPECT_EQ(live.count(used), 1u);
  EXPECT_EQ(a.stats().bytes_in_use, 512u);
  a.free(used);
}

TEST(Ch12Allocator, DoubleFreeAndForeignPointersThrowInsteadOfCorruptingTheLists) {
  std::set<void*> live;
  CachingAllocator<FakeRaw> a{FakeRaw{&live}};
  void* p = a.allocate(64);
  a.free(p);
  expect_error([&] { a.free(p); }, "freed twice");
  int local = 0;
  expect_error([&] { a.free(&local); }, "not from this allocator");
  a.free(nullptr);  // ignored, as std::free
  EXPECT_EQ(a.stats().bytes_cached, 512u);
  // The cache still hands p out exactly once.
  void* again = a.allocate(64);
  void* fresh = a.allocate(64);
  EXPECT_EQ(again, p);
  EXPECT_NE(fresh, p);
  a.free(again);
  a.free(fresh);
}

TEST(Ch12Allocator, OutOfMemoryEmptiesTheCacheAndRetriesThenThrows) {
  std::set<void*> live;
  FakeRaw raw{&live};
  raw.capacity = 8192;
  CachingAllocator<FakeRaw> a{raw};
  a.free(a.allocate(4096));
  a.free(a.allocate(3072));  // 7168 bytes cached, 1024 free on the "device"
  void* big = a.allocate(6000);  // class 6144: fits only after the cache is given back
  EXPECT_NE(big, nullptr);
  EXPECT_EQ(a.stats().bytes_cached, 0u);
  EXPECT_EQ(a.stats().backend_frees, 2u);
  expect_error([&] { a.allocate(4096); }, "out of device memory");
  EXPECT_EQ(a.stats().bytes_in_use, 6144u);  // the failure changed nothing
  a.free(big);
}

// ---- the per-element bodies against the CPU ops ----
namespace {
// Applies a body of elementwise_ops.h element by element, in the tensor's own type (float or double).
template <class F>
Tensor map1(const Tensor& x, F f) {
  const std::vector<double> v = x.to_vector();
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    out[i] = x.dtype() == DType::Float32 ? double(f(float(v[i]))) : double(f(v[i]));
  return Tensor::from_vector(out, x.shape(), x.dtype());
}
template <class F>
Tensor map2(const Tensor& a, const Tensor& b, F f) {
  const std::vector<double> u = a.to_vector(), v = b.to_vector();
  std::vector<double> out(u.size());
  for (size_t i = 0; i < u.size(); ++i)
    out[i] = a.dtype() == DType::Float32 ? double(f(float(u[i]), float(v[i]))) : double(f(u[i], v[i]));
  return Tensor::from_vector(out, a.shape(), a.dtype());
}
// Odd sizes, a size-1 axis, and zero: what a grid-stride kernel must get right.
const std::vector<Shape> kShapes = {{7}, {1, 33}, {3, 5, 7}, {0, 4}, {129}};
double tol(DType d) { return d == DType::Float32 ? 2e-6 : 1e-14; }
}  // namespace

TEST(Ch12Bodies, BinaryAndActivationForwardsMatchTheCpuOps) {
  Generator g(11);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Shape& shape : kShapes) {
      const Tensor a = random_tensor(g, shape, dtype, -9, 9), b = random_tensor(g, shape, dtype);
      EXPECT_LE(max_abs_diff(map2(a, b, [](auto x, auto y) { return cuda::add_forward(x, y); }), add(a, b)), 0.0);
      EXPECT_LE(max_abs_diff(map2(a, b, [](auto x, auto y) { return cuda::mul_forward(x, y); }), mul(a, b)), 0.0);
      EXPECT_LE(max_abs_diff(map2(a, b, [](auto x, auto y) { return cuda::sub_forward(x, y); }), sub(a, b)), 0.0);
      EXPECT_LE(max_abs_diff(map2(a, b, [](auto x, auto y) { return cuda::div_forward(x, y); }), div(a, b)), 0.0);
      EXPECT_LE(max_abs_diff(map1(a, [](auto x) { return cuda::relu_forward(x); }), relu(a)), 0.0);
      EXPECT_LE(max_abs_diff(map1(a, [](auto x) { return cuda::sigmoid_forward(x); }), sigmoid(a)), tol(dtype));
      // The CPU's float32 tanh is a rational approximation: a few ulp from the libm/CUDA tanh.
      EXPECT_LE(max_abs_diff(map1(a, [](auto x) { return cuda::tanh_forward(x); }), tanh(a)), tol(dtype));
    }
  // relu's subgradient at 0 and sigmoid far out, where a one-branch formula overflows.
  const Tensor edge = Tensor::from_vector({0.0, -0.0, -800, 800, -90, 90}, {6}, DType::Float64);
  EXPECT_LE(max_abs_diff(map1(edge, [](auto x) { return cuda::sigmoid_forward(x); }), sigmoid(edge)), 0.0);
  EXPECT_LE(max_abs_diff(map1(edge, [](auto x) { return cuda::relu_forward(x); }), relu(edge)), 0.0);
}

TEST(Ch12Bodies, BackwardBodiesMatchTheTapesGradients) {
  Generator g(12);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Shape& shape : kShapes) {
      const Tensor xv = random_tensor(g, shape, dtype), gy = random_tensor(g, shape, dtype);
      const Var x(xv, true);
      const Var seed(gy);
      auto tape_grad = [&](const Var& y) { return grad({y}, {x}, {seed})[0].value(); };
      const Tensor gr = tape_grad(relu(x)), gs = tape_grad(sigmoid(x)), gt = tape_grad(tanh(x));
      const Tensor ys = sigmoid(xv), yt = tanh(xv);
      EXPECT_LE(max_abs_diff(map2(gy, xv, [](auto gg, auto v) { return cuda::relu_backward(gg, v); }), gr), 0.0);
      EXPECT_LE(max_abs_diff(map2(gy, ys, [](auto gg, auto y) { return cuda::sigmoid_backward(gg, y); }), gs),
                tol(dtype));
      EXPECT_LE(max_abs_diff(map2(gy, yt, [](auto gg, auto y) { return cuda::tanh_backward(gg, y); }), gt),
                tol(dtype));
      // mul's two gradients.
      const Tensor bv = random_tensor(g, shape, dtype);
      const Var b(bv, true);
      const std::vector<Var> gm = grad({x * b}, {x, b}, {seed});
      EXPECT_LE(max_abs_diff(map2(gy, bv, [](auto gg, auto v) { return cuda::mul_backward_a(gg, v); }), gm[0].value()), 0.0);
      EXPECT_LE(max_abs_diff(map2(gy, xv, [](auto gg, auto v) { return cuda::mul_backward_b(gg, v); }), gm[1].value()), 0.0);
    }
}

TEST(Ch12Bodies, AxpyMatchesAddInPlace) {
  Generator g(13);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor x = random_tensor(g, {37}, dtype), y0 = random_tensor(g, {37}, dtype);
    Tensor y = y0.clone();
    add_(y, x, -0.37);
    const double alpha = -0.37;
    EXPECT_LE(max_abs_diff(map2(y0, x, [alpha](auto a, auto b) {
                return cuda::axpy(a, decltype(a)(alpha), b);
              }), y), tol(dtype));
  }
}

// Three Adam steps of train/optim.h against the body, for Adam and AdamW, float and double.
TEST(Ch12Bodies, AdamBodyMatchesTheCpuOptimiser) {
  Generator g(14);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (bool decoupled : {false, true}) {
      const Tensor p0 = random_tensor(g, {41}, dtype);
      Var p(p0.clone(), true);
      const double lr = 0.01, b1 = 0.8, b2 = 0.95, eps = 1e-6, wd = 0.1;
      Adam opt({p}, lr, b1, b2, eps, wd, decoupled);
      std::vector<double> pv = p0.to_vector(), m(pv.size(), 0.0), v(pv.size(), 0.0);
      std::vector<float> pf(pv.begin(), pv.end()), mf(pv.size(), 0.f), vf(pv.size(), 0.f);
      for (int64_t t = 1; t <= 3; ++t) {
        const Tensor c = random_tensor(g, {41}, dtype);
        opt.zero_grad();
        backward(sum(p * Var(c)));  // the gradient is c
        opt.step();
        const std::vector<double> gv = c.to_vector();
        const auto kd = cuda::adam_constants<double>(lr, b1, b2, eps, wd, decoupled, t);
        const auto kf = cuda::adam_constants<float>(lr, b1, b2, eps, wd, decoupled, t);
        for (size_t i = 0; i < pv.size(); ++i) {
          cuda::adam_update(pv[i], gv[i], m[i], v[i], kd);
          cuda::adam_update(pf[i], float(gv[i]), mf[i], vf[i], kf);
        }
      }
      const std::vector<double> want = p.value().to_vector();
      for (size_t i = 0; i < want.size(); ++i) {
        if (dtype == DType::Float64) EXPECT_NEAR(pv[i], want[i], 1e-14) << i;
        else EXPECT_NEAR(pf[i], want[i], 2e-6) << i;
      }
      // The update moved the parameter: the comparison is not of two no-ops.
      EXPECT_GT(max_abs_diff(p.value(), p0), 1e-3);
    }
}

TEST(Ch12Bodies, SoftmaxFamilyAndCrossEntropyRowsMatchTheCpu) {
  Generator g(15);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Shape& shape : std::vector<Shape>{{1, 1}, {5, 10}, {3, 7}, {2, 33}}) {
      // Large logits: without the max subtracted, exp would overflow in float32.
      const Tensor x = random_tensor(g, shape, dtype, -60, 60);
      const int64_t rows = shape[0], n = shape[1];
      std::vector<int64_t> labels(rows);
      for (auto& l : labels) l = g.randint(0, n);
      const Tensor label_t = Tensor::from_int64(labels, {rows});
      const std::vector<double> xv = x.to_vector();
      std::vector<double> sm(xv.size()), lsm(xv.size()), gce(xv.size());
      double loss = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const double* xr = xv.data() + r * n;
        if (dtype == DType::Float32) {
          std::vector<float> xf(xr, xr + n), out(n);
          cuda::row_softmax(xf.data(), out.data(), n);
          std::copy(out.begin(), out.end(), sm.begin() + r * n);
          cuda::row_log_softmax(xf.data(), out.data(), n);
          std::copy(out.begin(), out.end(), lsm.begin() + r * n);
          cuda::row_cross_entropy_backward(xf.data(), out.data(), n, labels[r], 1.0f / float(rows));
          std::copy(out.begin(), out.end(), gce.begin() + r * n);
          loss += cuda::row_cross_entropy(xf.data(), n, labels[r]);
        } else {
          cuda::row_softmax(xr, sm.data() + r * n, n);
          cuda::row_log_softmax(xr, lsm.data() + r * n, n);
          cuda::row_cross_entropy_backward(xr, gce.data() + r * n, n, labels[r], 1.0 / double(rows));
          loss += cuda::row_cross_entropy(xr, n, labels[r]);
        }
      }
      const double t = dtype == DType::Float32 ? 3e-5 : 1e-12;
      EXPECT_LE(max_abs_diff(Tensor::from_vector(sm, shape, dtype), softmax(x, 1)), t);
      EXPECT_LE(max_abs_diff(Tensor::from_vector(lsm, shape, dtype), log_softmax(x, 1)), t);
      const Var xvar(x, true);
      const Var ce = cross_entropy(xvar, label_t);
      EXPECT_NEAR(loss / double(rows), ce.item(), t * (1 + std::abs(ce.item())));
      EXPECT_LE(max_abs_diff(Tensor::from_vector(gce, shape, dtype), grad({ce}, {xvar})[0].value()), t);
    }
}

namespace {
// Runs a body `f(index)` over `n` outputs into a tensor of `shape`.
template <class F>
Tensor run_body(const Shape& shape, DType dtype, F f) {
  std::vector<double> out(static_cast<size_t>(shape_numel(shape)));
  for (int64_t i = 0; i < shape_numel(shape); ++i) out[i] = f(i);
  return Tensor::from_vector(out, shape, dtype);
}
template <class T>
std::vector<T> values(const Tensor& t) {
  const std::vector<double> v = t.defined() ? t.to_vector() : std::vector<double>{};
  return std::vector<T>(v.begin(), v.end());
}
}  // namespace

// The convolution and both adjoints, one element at a time, against core/conv.h.
TEST(Ch12Bodies, ConvolutionAndItsAdjointsMatchCore) {
  Generator g(16);
  struct Case { Shape x, w; int64_t stride, padding; bool bias; };
  const std::vector<Case> cases = {{{2, 3, 7, 5}, {4, 3, 3, 3}, 1, 1, true},
                                   {{1, 2, 9, 9}, {3, 2, 3, 2}, 2, 0, false},
                                   {{3, 1, 5, 6}, {2, 1, 1, 1}, 1, 0, true},
                                   {{1, 5, 4, 4}, {1, 5, 5, 5}, 3, 2, true},
                                   {{2, 3, 8, 8}, {5, 3, 3, 3}, 2, 1, false}};
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Case& c : cases) {
      const Tensor x = random_tensor(g, c.x, dtype), w = random_tensor(g, c.w, dtype);
      const Tensor b = c.bias ? random_tensor(g, {c.w[0]}, dtype) : Tensor();
      const Tensor y = conv2d(x, w, b, c.stride, c.padding);
      const Tensor gy = random_tensor(g, y.shape(), dtype);
      const Tensor gx = conv2d_input_adjoint(gy, w, {c.x[2], c.x[3]}, c.stride, c.padding);
      const Tensor gw = conv2d_weight_adjoint(x, gy, {c.w[2], c.w[3]}, c.stride, c.padding);
      const cuda::ConvShape s{c.x[0], c.x[1], c.x[2], c.x[3], c.w[0], c.w[2], c.w[3], c.stride, c.padding};
      ASSERT_EQ((Shape{s.batch, s.out_channels, s.out_h(), s.out_w()}), y.shape());
      const double t = dtype == DType::Float32 ? 1e-4 : 1e-12;
      const std::string at = shape_str(c.x) + " * " + shape_str(c.w);
      auto check = [&](auto zero) {
        using T = decltype(zero);
        const std::vector<T> xv = values<T>(x), wv = values<T>(w), bv = values<T>(b), gyv = values<T>(gy);
        EXPECT_LE(max_abs_diff(run_body(y.shape(), dtype, [&](int64_t i) {
                    return cuda::conv2d_output_element(xv.data(), wv.data(), c.bias ? bv.data() : nullptr, s, i);
                  }), y), t) << at;
        EXPECT_LE(max_abs_diff(run_body(x.shape(), dtype, [&](int64_t i) {
                    return cuda::conv2d_input_adjoint_element(gyv.data(), wv.data(), s, i);
                  }), gx), t) << at;
        EXPECT_LE(max_abs_diff(run_body(w.shape(), dtype, [&](int64_t i) {
                    return cuda::conv2d_weight_adjoint_element(xv.data(), gyv.data(), s, i);
                  }), gw), t * 10) << at;
      };
      if (dtype == DType::Float32) check(0.0f);
      else check(0.0);
    }
}

TEST(Ch12Bodies, PoolingMatchesCore) {
  Generator g(18);
  struct Case { Shape x; int64_t kernel, stride, padding; };
  for (const Case& c : std::vector<Case>{{{2, 3, 8, 8}, 2, 2, 0}, {{1, 2, 7, 5}, 3, 2, 1}, {{3, 1, 6, 6}, 3, 1, 1}})
    for (DType dtype : {DType::Float32, DType::Float64}) {
      // Negative inputs: padding must never win a max.
      const Tensor x = random_tensor(g, c.x, dtype, -5, -1);
      Tensor indices;
      const Tensor mx = max_pool2d(x, c.kernel, c.stride, c.padding, &indices);
      const Tensor av = avg_pool2d(x, c.kernel, c.stride, c.padding);
      const cuda::ConvShape s{c.x[0], c.x[1], c.x[2], c.x[3], c.x[1], c.kernel, c.kernel, c.stride, c.padding};
      const std::vector<double> xv = x.to_vector();
      std::vector<double> got_index(static_cast<size_t>(mx.numel()));
      EXPECT_LE(max_abs_diff(run_body(mx.shape(), dtype, [&](int64_t i) {
                  int64_t arg = 0;
                  const double v = cuda::max_pool2d_element(xv.data(), s, i, &arg);
                  got_index[i] = double(arg);
                  return v;
                }), mx), 0.0);
      EXPECT_EQ(got_index, indices.to_vector());
      EXPECT_LE(max_abs_diff(run_body(av.shape(), dtype, [&](int64_t i) {
                  return cuda::avg_pool2d_element(xv.data(), s, i);
                }), av), dtype == DType::Float32 ? 1e-6 : 1e-12);
    }
  // NaN wins the max, as on the CPU.
  const Tensor x = Tensor::from_vector({1, std::nan(""), 3, 4}, {1, 1, 2, 2}, DType::Float64);
  const std::vector<double> xv = x.to_vector();
  const cuda::ConvShape s{1, 1, 2, 2, 1, 2, 2, 2, 0};
  EXPECT_TRUE(std::isnan(cuda::max_pool2d_element(xv.data(), s, 0, nullptr)));
}

// The indexer the strided kernels use, run on the CPU over broadcast, permuted and sliced views.
TEST(Ch12Bodies, StridedIndexerFindsTheElementsOfBroadcastAndStridedViews) {
  Generator g(17);
  const Tensor x = random_tensor(g, {4, 5, 6}, DType::Float32);
  const Tensor row = random_tensor(g, {6}, DType::Float32), col = random_tensor(g, {4, 1, 1}, DType::Float32);
  const Tensor p = random_tensor(g, {6, 4, 5}, DType::Float32).permute({1, 2, 0});  // [4, 5, 6], strided
  const std::vector<std::pair<Tensor, Tensor>> cases = {
      {x, row}, {col, x}, {p, x}, {x.slice(2, 1, 6, 2), p.slice(2, 0, 3)}, {x.select(1, 3).t(), row.slice(0, 0, 4)},
      {Tensor::scalar(2.0f), p}, {row.unsqueeze(0), col.squeeze(2)}};
  for (const auto& [a, b] : cases) {
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
    const auto ix = cuda::make_indexer<2>(shape, {&a, &b}, "test");
    const float* pa = static_cast<const float*>(a.storage()->data());
    const float* pb = static_cast<const float*>(b.storage()->data());
    std::vector<double> got(static_cast<size_t>(shape_numel(shape)));
    for (int64_t i = 0; i < shape_numel(shape); ++i) {
      int64_t off[2];
      ix.offsets(i, off);
      got[i] = cuda::add_forward(pa[off[0]], pb[off[1]]);
    }
    EXPECT_LE(max_abs_diff(Tensor::from_vector(got, shape), add(a, b)), 0.0)
        << shape_str(a.shape()) << " + " << shape_str(b.shape());
  }
  // Size-1 axes do not count toward the limit; nine real axes do.
  const Tensor tall = Tensor::ones({1, 1, 1, 1, 1, 1, 1, 1, 1, 3});
  EXPECT_EQ(cuda::make_indexer<1>(tall.shape(), {&tall}, "test").ndim, 1);
  const Tensor deep = Tensor::ones({2, 2, 2, 2, 2, 2, 2, 2, 2});
  expect_error([&] { cuda::make_indexer<1>(deep.shape(), {&deep}, "cuda::add"); }, "more than 8 axes");
  const Tensor four = col.squeeze();  // [4] does not broadcast to [4, 5, 6]
  expect_error([&] { cuda::make_indexer<2>({4, 5, 6}, {&x, &four}, "test"); }, "expand: shape [4]");
}
