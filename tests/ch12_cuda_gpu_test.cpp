// Chapter 12 tests on a GPU: every CUDA kernel (core/cuda/kernels.h) against its CPU oracle on
// random shapes, odd sizes included. Built only with -DSTABLENN_CUDA=ON; on a machine without a CUDA
// device every test skips, saying why (scripts/gpu_check.sh runs them where there is one).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/cuda/cuda_backend.h"
#include "core/cuda/kernels.h"
#include "core/stablenn_core.h"
#include "autodiff/autodiff.h"
#include "layers/losses.h"
#include "train/optim.h"

using namespace stablenn;

namespace {

class Ch12Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (cuda::device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
    cuda::register_backend();
  }
};

const Device kGpu = Device::cuda(0);
Tensor on_gpu(const Tensor& t) { return t.to(kGpu); }
Tensor on_cpu(const Tensor& t) { return t.to(Device::cpu()); }
double tol(DType d) { return d == DType::Float32 ? 1e-5 : 1e-12; }

// Odd sizes around the block size (256) and the grid cap, plus empty and scalar-like ones.
std::vector<Shape> shapes(Generator& g) {
  std::vector<Shape> s = {{1}, {7}, {255}, {257}, {1, 1023}, {0, 5}, {3, 5, 7}, {(1 << 20) + 3}};
  for (int k = 0; k < 4; ++k) s.push_back({g.randint(1, 40), g.randint(1, 40), g.randint(1, 9)});
  return s;
}

template <class F>
void expect_error(F&& body, const std::string& part) {
  try {
    body();
    ADD_FAILURE() << "no error; expected one mentioning \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

}  // namespace

TEST_F(Ch12Gpu, RoundTripAndViews) {
  Generator g(1);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor x = g.normal({4, 5, 6}, 0, 1, dtype);
    const Tensor d = on_gpu(x);
    EXPECT_EQ(d.device(), kGpu);
    EXPECT_EQ(on_cpu(d).to_vector(), x.to_vector());
    EXPECT_EQ(on_cpu(d.permute({2, 0, 1})).to_vector(), x.permute({2, 0, 1}).contiguous().to_vector());
    EXPECT_EQ(on_cpu(d.slice(1, 1, 5, 3)).to_vector(), x.slice(1, 1, 5, 3).contiguous().to_vector());
  }
  expect_error([] { Tensor::ones({2}).to(Device::cuda(1 << 20)); }, "no such device");
}

TEST_F(Ch12Gpu, TheCachingAllocatorReusesFreedBlocks) {
  cuda::empty_cache(0);
  const auto before = cuda::memory_stats(0);
  { const Tensor a = on_gpu(Tensor::zeros({1000})); }
  const Tensor b = on_gpu(Tensor::zeros({1001}));  // the same size class
  const auto after = cuda::memory_stats(0);
  EXPECT_EQ(after.backend_allocations - before.backend_allocations, 1u);
  EXPECT_GE(after.cache_hits - before.cache_hits, 1u);
  EXPECT_GE(after.bytes_in_use, 4096u);
}

TEST_F(Ch12Gpu, ElementwiseForwardAndBackwardMatchTheCpu) {
  Generator g(2);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Shape& shape : shapes(g)) {
      const Tensor a = g.normal(shape, 0, 3, dtype), b = g.normal(shape, 0, 1, dtype);
      const Tensor da = on_gpu(a), db = on_gpu(b);
      const std::string at = shape_str(shape) + " " + dtype_name(dtype);
      EXPECT_LE(max_abs_diff(on_cpu(cuda::add(da, db)), add(a, b)), 0.0) << at;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::mul(da, db)), mul(a, b)), 0.0) << at;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::activation(cuda::Activation::Relu, da)), relu(a)), 0.0) << at;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::activation(cuda::Activation::Sigmoid, da)), sigmoid(a)), tol(dtype)) << at;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::activation(cuda::Activation::Tanh, da)), tanh(a)), tol(dtype)) << at;
      // Backward: g * f'(x), with f' from the saved x (relu) or y (sigmoid, tanh).
      const Tensor ys = sigmoid(a), yt = tanh(a);
      EXPECT_LE(max_abs_diff(on_cpu(cuda::activation_backward(cuda::Activation::Relu, db, da)),
                             mul(b, gt(a, Tensor::scalar(0, dtype)))), 0.0) << at;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::activation_backward(cuda::Activation::Sigmoid, db, on_gpu(ys))),
                             mul(b, mul(ys, sub(Tensor::scalar(1, dtype), ys)))), tol(dtype)) << at;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::activation_backward(cuda::Activation::Tanh, db, on_gpu(yt))),
                             mul(b, sub(Tensor::scalar(1, dtype), mul(yt, yt)))), tol(dtype)) << at;
      Tensor dy = on_gpu(a);
      cuda::axpy_(dy, -0.25, db);
      Tensor y = a.clone();
      add_(y, b, -0.25);
      EXPECT_LE(max_abs_diff(on_cpu(dy), y), tol(dtype)) << at;
    }
}

TEST_F(Ch12Gpu, ElementwiseOpsBroadcastAndTakeStridedViews) {
  Generator g(8);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor x = g.normal({33, 5, 7}, 0, 1, dtype), row = g.normal({7}, 0, 1, dtype);
    const Tensor col = g.normal({33, 1, 1}, 0, 1, dtype);
    const Tensor dx = on_gpu(x), drow = on_gpu(row), dcol = on_gpu(col);
    EXPECT_LE(max_abs_diff(on_cpu(cuda::add(dx, drow)), add(x, row)), 0.0);
    EXPECT_LE(max_abs_diff(on_cpu(cuda::mul(dcol, dx)), mul(col, x)), 0.0);
    EXPECT_LE(max_abs_diff(on_cpu(cuda::add(dx.permute({2, 0, 1}), dx.permute({2, 0, 1}))),
                           add(x.permute({2, 0, 1}), x.permute({2, 0, 1}))), 0.0);
    EXPECT_LE(max_abs_diff(on_cpu(cuda::mul(dx.slice(2, 1, 7, 2), dcol)), mul(x.slice(2, 1, 7, 2), col)), 0.0);
    EXPECT_LE(max_abs_diff(on_cpu(cuda::activation(cuda::Activation::Tanh, dx.transpose(0, 2))),
                           tanh(x.transpose(0, 2))), tol(dtype));
    EXPECT_LE(max_abs_diff(on_cpu(cuda::add(on_gpu(Tensor::scalar(3, dtype)), dx)), add(x, 3.0)), 0.0);
  }
  expect_error([] { cuda::add(on_gpu(Tensor::ones({2, 3})), on_gpu(Tensor::ones({4}))); }, "cannot be broadcast");
}

TEST_F(Ch12Gpu, AdamStepMatchesTheCpuOptimiser) {
  Generator g(3);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (bool decoupled : {false, true}) {
      const Tensor p0 = g.normal({1000, 3}, 0, 1, dtype);
      Var p(p0.clone(), true);
      Adam opt({p}, 0.01, 0.8, 0.95, 1e-6, 0.1, decoupled);
      Tensor dp = on_gpu(p0), dm = on_gpu(Tensor::zeros(p0.shape(), dtype)), dv = on_gpu(Tensor::zeros(p0.shape(), dtype));
      for (int64_t t = 1; t <= 3; ++t) {
        const Tensor c = g.normal(p0.shape(), 0, 1, dtype);
        opt.zero_grad();
        backward(sum(p * Var(c)));
        opt.step();
        cuda::adam_step_(dp, on_gpu(c), dm, dv, 0.01, 0.8, 0.95, 1e-6, 0.1, decoupled, t);
      }
      EXPECT_LE(max_abs_diff(on_cpu(dp), p.value()), dtype == DType::Float32 ? 1e-5 : 1e-13);
    }
}

TEST_F(Ch12Gpu, SumMatchesTheCpu) {
  Generator g(4);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(255), int64_t(257), int64_t(1000003)}) {
      const Tensor x = g.uniform({n}, -1, 1, dtype);
      const double want = sum(x.to(DType::Float64)).item();
      const double got = on_cpu(cuda::sum(on_gpu(x))).item();
      // Rounding grows like sqrt(n) for a tree of sums of values in [-1, 1].
      EXPECT_NEAR(got, want, (dtype == DType::Float32 ? 1e-4 : 1e-12) * (1 + std::sqrt(double(n)))) << n;
      // Deterministic: the same sum twice.
      EXPECT_EQ(on_cpu(cuda::sum(on_gpu(x))).item(), got);
    }
}

TEST_F(Ch12Gpu, SoftmaxFamilyAndCrossEntropyMatchTheCpu) {
  Generator g(5);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const Shape& shape : std::vector<Shape>{{1, 1}, {7, 10}, {513, 10}, {3, 1001}}) {
      const Tensor x = g.uniform(shape, -40, 40, dtype);
      std::vector<int64_t> labels(shape[0]);
      for (auto& l : labels) l = g.randint(0, shape[1]);
      const Tensor lab = Tensor::from_int64(labels, {shape[0]});
      const double t = dtype == DType::Float32 ? 3e-5 : 1e-12;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::softmax(on_gpu(x))), softmax(x, 1)), t);
      EXPECT_LE(max_abs_diff(on_cpu(cuda::log_softmax(on_gpu(x))), log_softmax(x, 1)), t);
      const Var xv(x, true);
      const Var ce = cross_entropy(xv, lab);
      EXPECT_NEAR(on_cpu(cuda::cross_entropy(on_gpu(x), on_gpu(lab))).item(), ce.item(), t * (1 + std::abs(ce.item())));
      EXPECT_LE(max_abs_diff(on_cpu(cuda::cross_entropy_backward(on_gpu(x), on_gpu(lab))), grad({ce}, {xv})[0].value()), t);
    }
  const Tensor x = on_gpu(Tensor::zeros({2, 3}));
  expect_error([&] { cuda::cross_entropy(x, on_gpu(Tensor::from_int64({0, 3}, {2}))); }, "outside [0, 3)");
}

TEST_F(Ch12Gpu, MatmulMatchesTheCpuIncludingBatchesAndOddSizes) {
  Generator g(6);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (int trial = 0; trial < 8; ++trial) {
      const int64_t m = g.randint(1, 70), k = g.randint(0, 70), n = g.randint(1, 70);
      const bool batched = trial % 2;
      const int64_t B = g.randint(1, 5);
      const Shape sa = batched ? Shape{B, m, k} : Shape{m, k}, sb = batched ? Shape{B, k, n} : Shape{k, n};
      const Tensor a = g.normal(sa, 0, 1, dtype), b = g.normal(sb, 0, 1, dtype);
      const Tensor want = matmul_naive(a, b);
      EXPECT_LE(max_abs_diff(on_cpu(cuda::matmul(on_gpu(a), on_gpu(b))), want),
                (dtype == DType::Float32 ? 1e-5 : 1e-12) * (1 + double(k)))
          << shape_str(sa) << " x " << shape_str(sb);
    }
  expect_error([] { cuda::matmul(on_gpu(Tensor::ones({2, 3})), on_gpu(Tensor::ones({2, 3}))); }, "inner sizes");
}

TEST_F(Ch12Gpu, NaiveConvolutionMatchesTheCpu) {
  Generator g(7);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (int trial = 0; trial < 6; ++trial) {
      const int64_t c = g.randint(1, 5), o = g.randint(1, 6), kh = g.randint(1, 4), kw = g.randint(1, 4);
      const int64_t stride = g.randint(1, 3), padding = g.randint(0, 2);
      const Shape sx{g.randint(1, 4), c, g.randint(kh, 12), g.randint(kw, 12)};
      const Tensor x = g.normal(sx, 0, 1, dtype), w = g.normal({o, c, kh, kw}, 0, 1, dtype);
      const Tensor b = trial % 2 ? g.normal({o}, 0, 1, dtype) : Tensor();
      const Tensor want = conv2d_naive(x, w, b, stride, padding);
      const Tensor got = on_cpu(cuda::conv2d_naive(on_gpu(x), on_gpu(w), b.defined() ? on_gpu(b) : Tensor(), stride, padding));
      EXPECT_LE(max_abs_diff(got, want), dtype == DType::Float32 ? 1e-4 : 1e-12) << shape_str(sx);
    }
}

TEST_F(Ch12Gpu, ConvolutionAdjointsAndPoolingMatchTheCpu) {
  Generator g(9);
  for (DType dtype : {DType::Float32, DType::Float64})
    for (int trial = 0; trial < 6; ++trial) {
      const int64_t c = g.randint(1, 5), o = g.randint(1, 6), kh = g.randint(1, 4), kw = g.randint(1, 4);
      const int64_t stride = g.randint(1, 3), padding = g.randint(0, 2);
      const Shape sx{g.randint(1, 4), c, g.randint(kh, 12), g.randint(kw, 12)};
      const Tensor x = g.normal(sx, 0, 1, dtype), w = g.normal({o, c, kh, kw}, 0, 1, dtype);
      const Tensor gy = g.normal(conv2d(x, w, Tensor(), stride, padding).shape(), 0, 1, dtype);
      const double t = dtype == DType::Float32 ? 1e-4 : 1e-12;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::conv2d_input_adjoint_naive(on_gpu(gy), on_gpu(w), {sx[2], sx[3]}, stride, padding)),
                             conv2d_input_adjoint_naive(gy, w, {sx[2], sx[3]}, stride, padding)), t) << shape_str(sx);
      EXPECT_LE(max_abs_diff(on_cpu(cuda::conv2d_weight_adjoint_naive(on_gpu(x), on_gpu(gy), {kh, kw}, stride, padding)),
                             conv2d_weight_adjoint_naive(x, gy, {kh, kw}, stride, padding)), t * 10) << shape_str(sx);
      const int64_t k = std::min<int64_t>({g.randint(1, 4), sx[2], sx[3]}), ps = g.randint(1, 3), pp = g.randint(0, k / 2 + 1);
      Tensor idx, cpu_idx;
      EXPECT_LE(max_abs_diff(on_cpu(cuda::avg_pool2d(on_gpu(x), k, ps, pp)), avg_pool2d(x, k, ps, pp)), t);
      EXPECT_LE(max_abs_diff(on_cpu(cuda::max_pool2d(on_gpu(x), k, ps, pp, &idx)), max_pool2d(x, k, ps, pp, &cpu_idx)), 0.0);
      EXPECT_EQ(on_cpu(idx).to_vector(), cpu_idx.to_vector());
    }
}

// The core API on CUDA tensors (core/device_ops.h): the same calls as on the CPU, on the device.
TEST_F(Ch12Gpu, CoreOpsDispatchToTheDevice) {
  Generator g(10);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor a = g.normal({37, 19}, 0, 1, dtype), b = g.normal({19}, 0, 1, dtype);
    const Tensor m = g.normal({37, 23}, 0, 1, dtype);
    const Tensor da = on_gpu(a), db = on_gpu(b), dm = on_gpu(m);
    const double t = dtype == DType::Float32 ? 1e-4 : 1e-11;  // values of order 1, sums of 37 products
    auto check = [&](const Tensor& got, const Tensor& want) {
      EXPECT_EQ(got.device(), kGpu);
      EXPECT_LE(max_abs_diff(on_cpu(got), want), t);
    };
    check(add(da, db), add(a, b));
    check(mul(da, db), mul(a, b));
    check(sub(da, db), sub(a, b));
    check(div(da, add(db, 3.0)), div(a, add(b, 3.0)));  // a scalar form, dispatched as well
    check(2.5 * da, 2.5 * a);
    check(relu(da), relu(a));
    check(sigmoid(da), sigmoid(a));
    check(tanh(da), tanh(a));
    check(matmul(da.t(), dm), matmul(a.t(), m));  // a transposed view: made contiguous on the device
    EXPECT_NEAR(sum(da).item(), sum(a).item(), t * a.numel());  // item() reads back from the device
    check(da.t().contiguous(), a.t().contiguous());
    check(da.t().reshape({19 * 37}), a.t().reshape({19 * 37}));
    EXPECT_EQ(on_gpu(Tensor::from_int64({3, 1, 4}, {3})).clone().to_int64(), (std::vector<int64_t>{3, 1, 4}));
    // A forward pass through the tape stays on the device.
    const Var h = tanh(matmul(Var(da.t()), Var(dm)) + Var(on_gpu(g.normal({23}, 0, 1, dtype))));
    EXPECT_EQ(h.value().device(), kGpu);
  }
  expect_error([] { add(Tensor::ones({2}), on_gpu(Tensor::ones({2}))); }, "operands on cpu and cuda:0");
}

// One Adam step of a two-layer perceptron with cross-entropy, written out with the kernels
// (forward, the backward pass by hand, the update), against the same step through the CPU tape.
TEST_F(Ch12Gpu, AnMlpTrainingStepMatchesTheCpuStep) {
  Generator g(11);
  const int64_t batch = 37, in = 13, hidden = 29, classes = 10;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor x = g.normal({batch, in}, 0, 1, dtype);
    std::vector<int64_t> label_values(batch);
    for (auto& l : label_values) l = g.randint(0, classes);
    const Tensor labels = Tensor::from_int64(label_values, {batch});
    const Tensor w1 = g.normal({in, hidden}, 0, 0.3, dtype), b1 = g.normal({hidden}, 0, 0.1, dtype);
    const Tensor w2 = g.normal({hidden, classes}, 0, 0.3, dtype), b2 = g.normal({classes}, 0, 0.1, dtype);
    // A large eps: Adam's first step is lr * g / (|g| + eps), which for eps -> 0 turns a rounding
    // difference in a tiny gradient into a difference of lr; with eps = 0.01 it is at most the
    // gradient's difference.
    const double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-2;

    // CPU: the tape and train/optim.h.
    std::vector<Var> params = {Var(w1.clone(), true), Var(b1.clone(), true), Var(w2.clone(), true),
                               Var(b2.clone(), true)};
    const Var logits = matmul(relu(matmul(Var(x), params[0]) + params[1]), params[2]) + params[3];
    const Var loss = cross_entropy(logits, labels);
    backward(loss);
    Adam opt(params, lr, beta1, beta2, eps);
    opt.step();

    // GPU: the same step with the kernels.
    const Tensor dx = on_gpu(x), dl = on_gpu(labels), ones = on_gpu(Tensor::ones({1, batch}, dtype));
    std::vector<Tensor> dp = {on_gpu(w1), on_gpu(b1), on_gpu(w2), on_gpu(b2)};
    const Tensor z1 = cuda::add(cuda::matmul(dx, dp[0]), dp[1]);
    const Tensor h = cuda::activation(cuda::Activation::Relu, z1);
    const Tensor z2 = cuda::add(cuda::matmul(h, dp[2]), dp[3]);
    const double device_loss = on_cpu(cuda::cross_entropy(z2, dl)).item();
    const Tensor g2 = cuda::cross_entropy_backward(z2, dl);                        // [batch, classes]
    const Tensor gh = cuda::matmul(g2, cuda::contiguous(dp[2].t()));               // [batch, hidden]
    const Tensor g1 = cuda::activation_backward(cuda::Activation::Relu, gh, z1);   // [batch, hidden]
    const std::vector<Tensor> grads = {
        cuda::matmul(cuda::contiguous(dx.t()), g1), cuda::matmul(ones, g1).reshape({hidden}),
        cuda::matmul(cuda::contiguous(h.t()), g2), cuda::matmul(ones, g2).reshape({classes})};
    for (size_t i = 0; i < dp.size(); ++i) {
      Tensor m = on_gpu(Tensor::zeros(dp[i].shape(), dtype)), v = on_gpu(Tensor::zeros(dp[i].shape(), dtype));
      cuda::adam_step_(dp[i], grads[i], m, v, lr, beta1, beta2, eps, 0.0, false, 1);
    }

    const double t = dtype == DType::Float32 ? 1e-5 : 1e-12;
    EXPECT_NEAR(device_loss, loss.item(), t * 10);
    for (size_t i = 0; i < dp.size(); ++i) {
      EXPECT_LE(max_abs_diff(on_cpu(grads[i]), params[i].grad().value()), t) << "gradient " << i;
      EXPECT_LE(max_abs_diff(on_cpu(dp[i]), params[i].value()), dtype == DType::Float32 ? 1e-4 : 1e-10)
          << "parameter " << i;
    }
  }
}

TEST_F(Ch12Gpu, KernelsRejectCpuTensorsAndMismatchesClearly) {
  expect_error([] { cuda::add(Tensor::ones({2}), Tensor::ones({2})); }, "expected a CUDA tensor");
  expect_error([] { cuda::add(on_gpu(Tensor::ones({2})), on_gpu(Tensor::ones({2}, DType::Float64))); }, "dtypes");
  expect_error([] {
    Tensor y = on_gpu(Tensor::ones({2}));
    cuda::axpy_(y, 1.0, on_gpu(Tensor::ones({3})));
  }, "differ");
  expect_error([] { cuda::sum(on_gpu(Tensor::ones({2, 3})).t()); }, "must be contiguous");
  expect_error([] { on_gpu(Tensor::ones({2})).data<float>(); }, "lives on cuda:0");
}
