// core/cuda/kernels.cu — the kernels of core/cuda/kernels.h (chapter 12).
//
// Every element-wise kernel is a grid-stride loop (any size with a bounded grid) around a body of
// core/cuda/elementwise_ops.h. Launches go to the default stream; the copies back to the host
// (Tensor::to) synchronise.
#include "core/cuda/kernels.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "core/cuda/cuda_check.h"
#include "core/cuda/conv_ops.h"
#include "core/cuda/elementwise_ops.h"
#include "core/cuda/strided_index.h"

namespace stablenn::cuda {

using detail::check_cuda;
using detail::check_cublas;
using detail::check_launch;

namespace {

constexpr int kThreads = 256;

// Enough blocks to fill the device, never more than the work needs.
int blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(wanted, 4096)));
}

void check_operand(const Tensor& t, const char* op, const char* name, bool contiguous = true) {
  SNN_CHECK(t.defined(), op, ": ", name, " is undefined");
  SNN_CHECK(t.device().is_cuda(), op, ": ", name, " lives on ", t.device().str(),
            ", expected a CUDA tensor (call .to(Device::cuda()))");
  SNN_CHECK(!contiguous || t.is_contiguous(), op, ": ", name, " (shape ", shape_str(t.shape()),
            ") must be contiguous on the device");
  SNN_CHECK(is_floating(t.dtype()), op, ": ", name, " must be float32 or float64, got ",
            dtype_name(t.dtype()));
}
void check_same(const Tensor& a, const Tensor& b, const char* op) {
  SNN_CHECK(a.device() == b.device(), op, ": operands on ", a.device().str(), " and ", b.device().str());
  SNN_CHECK(a.dtype() == b.dtype(), op, ": dtypes ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  SNN_CHECK(a.shape() == b.shape(), op, ": shapes ", shape_str(a.shape()), " and ",
            shape_str(b.shape()), " differ (in-place updates take equal shapes)");
}

Tensor empty_on(const Shape& shape, DType dtype, Device device) {
  const size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  return Tensor(device_backend(device).allocate(nbytes, dtype, device), shape,
                contiguous_strides(shape), 0);
}

// Device pointers to a tensor's first element (Tensor::data<T>() is for CPU tensors only).
template <class T>
const T* ptr(const Tensor& t) { return static_cast<const T*>(t.storage()->data()) + t.offset(); }
template <class T>
T* mut(const Tensor& t) { return static_cast<T*>(t.storage()->data()) + t.offset(); }

// Calls f(T{}) with T float or double.
template <class F>
void dispatch(DType dtype, F&& f) {
  if (dtype == DType::Float32) f(float{});
  else f(double{});
}

// ---- element-wise ----
template <class T, class Body>
__global__ void map1(const T* x, T* y, int64_t n, Body body) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    y[i] = body(x[i]);
}
template <class T, class Body>
__global__ void map2(const T* a, const T* b, T* y, int64_t n, Body body) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    y[i] = body(a[i], b[i]);
}

// Broadcast or strided operands: each thread finds its elements through the indexer. `a` and
// `b` are the storages' first elements; the indexer's offsets include the views' own.
template <class T, class Body>
__global__ void map1_strided(const T* x, T* y, int64_t n, StridedIndexer<1> ix, Body body) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[1];
    ix.offsets(i, off);
    y[i] = body(x[off[0]]);
  }
}
template <class T, class Body>
__global__ void map2_strided(const T* a, const T* b, T* y, int64_t n, StridedIndexer<2> ix, Body body) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) {
    int64_t off[2];
    ix.offsets(i, off);
    y[i] = body(a[off[0]], b[off[1]]);
  }
}
template <class T>
const T* storage_base(const Tensor& t) { return static_cast<const T*>(t.storage()->data()); }

// a op b with NumPy broadcasting and any strides, into a fresh contiguous tensor. Same-shape
// contiguous operands take the plain loop.
template <class Body>
Tensor binary(const Tensor& a, const Tensor& b, const char* op, Body body) {
  check_operand(a, op, "a", false);
  check_operand(b, op, "b", false);
  SNN_CHECK(a.device() == b.device(), op, ": operands on ", a.device().str(), " and ", b.device().str());
  SNN_CHECK(a.dtype() == b.dtype(), op, ": dtypes ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  detail::DeviceGuard guard(a.device().index);
  Tensor y = empty_on(shape, a.dtype(), a.device());
  const int64_t n = y.numel();
  if (n == 0) return y;
  const bool plain = a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous();
  dispatch(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (plain) {
      map2<<<blocks_for(n), kThreads>>>(ptr<T>(a), ptr<T>(b), mut<T>(y), n, body);
    } else {
      const StridedIndexer<2> ix = make_indexer<2>(shape, {&a, &b}, op);
      map2_strided<<<blocks_for(n), kThreads>>>(storage_base<T>(a), storage_base<T>(b), mut<T>(y), n, ix, body);
    }
  });
  check_launch(op);
  return y;
}

// Functors rather than extended lambdas: no --extended-lambda flag, and they name the body.
struct AddBody { template <class T> __device__ T operator()(T a, T b) const { return add_forward(a, b); } };
struct SubBody { template <class T> __device__ T operator()(T a, T b) const { return sub_forward(a, b); } };
struct MulBody { template <class T> __device__ T operator()(T a, T b) const { return mul_forward(a, b); } };
struct DivBody { template <class T> __device__ T operator()(T a, T b) const { return div_forward(a, b); } };
struct IdentityBody { template <class T> __device__ T operator()(T x) const { return x; } };
struct ReluBody { template <class T> __device__ T operator()(T x) const { return relu_forward(x); } };
struct SigmoidBody { template <class T> __device__ T operator()(T x) const { return sigmoid_forward(x); } };
struct TanhBody { template <class T> __device__ T operator()(T x) const { return tanh_forward(x); } };
struct ReluBackBody { template <class T> __device__ T operator()(T g, T x) const { return relu_backward(g, x); } };
struct SigmoidBackBody { template <class T> __device__ T operator()(T g, T y) const { return sigmoid_backward(g, y); } };
struct TanhBackBody { template <class T> __device__ T operator()(T g, T y) const { return tanh_backward(g, y); } };
template <class T>
struct AxpyBody {
  T alpha;
  __device__ T operator()(T y, T x) const { return axpy(y, alpha, x); }
};

template <class T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, int64_t n, AdamConstants<T> c) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    adam_update(p[i], g[i], m[i], v[i], c);
}

// ---- reduction: per-block partial sums, then one block over the partials ----
template <class T>
__global__ void sum_kernel(const T* x, T* out, int64_t n) {
  __shared__ T partial[kThreads];
  T acc = T(0);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    acc += x[i];
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {  // a fixed tree: deterministic
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

// ---- rows ----
template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(blockDim.x) * gridDim.x) {
    if (log) row_log_softmax(x + r * n, y + r * n, n);
    else row_softmax(x + r * n, y + r * n, n);
  }
}
template <class T>
__global__ void cross_entropy_kernel(const T* x, const int64_t* labels, T* loss, T* grad,
                                     int64_t rows, int64_t n, T scale, int* bad_label) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(blockDim.x) * gridDim.x) {
    const int64_t label = labels[r];
    if (label < 0 || label >= n) {  // reported on the host; never read out of bounds
      atomicExch(bad_label, 1);
      continue;
    }
    if (grad) row_cross_entropy_backward(x + r * n, grad + r * n, n, label, scale);
    else loss[r] = row_cross_entropy(x + r * n, n, label);
  }
}

// ---- convolution and pooling: y[i] = body(i), one thread per output element ----
template <class T, class Body>
__global__ void generate(T* y, int64_t n, Body body) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x)
    y[i] = body(i);
}
template <class T>
struct ConvForward {
  const T *x, *w, *bias;
  ConvShape s;
  __device__ T operator()(int64_t i) const { return conv2d_output_element(x, w, bias, s, i); }
};
template <class T>
struct ConvInputAdjoint {
  const T *gy, *w;
  ConvShape s;
  __device__ T operator()(int64_t i) const { return conv2d_input_adjoint_element(gy, w, s, i); }
};
template <class T>
struct ConvWeightAdjoint {
  const T *x, *gy;
  ConvShape s;
  __device__ T operator()(int64_t i) const { return conv2d_weight_adjoint_element(x, gy, s, i); }
};
template <class T>
struct AvgPool {
  const T* x;
  ConvShape s;
  __device__ T operator()(int64_t i) const { return avg_pool2d_element(x, s, i); }
};
template <class T>
struct MaxPool {
  const T* x;
  int64_t* indices;  // may be null
  ConvShape s;
  __device__ T operator()(int64_t i) const {
    int64_t arg = 0;
    const T v = max_pool2d_element(x, s, i, &arg);
    if (indices) indices[i] = arg;
    return v;
  }
};

// One cuBLAS handle per device, made on first use and kept (as the allocators).
cublasHandle_t cublas_handle(int index) {
  static std::mutex mutex;
  static auto* handles = new std::vector<cublasHandle_t>();
  std::lock_guard<std::mutex> lock(mutex);
  if (static_cast<int>(handles->size()) <= index) handles->resize(index + 1, nullptr);
  cublasHandle_t& h = (*handles)[index];
  if (!h) check_cublas(cublasCreate(&h), "cublasCreate");
  return h;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, "cuda::add", AddBody{}); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, "cuda::sub", SubBody{}); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, "cuda::mul", MulBody{}); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, "cuda::div", DivBody{}); }

template <class Body>
Tensor unary(const Tensor& x, const char* op, Body body) {
  check_operand(x, op, "x", false);
  detail::DeviceGuard guard(x.device().index);
  Tensor y = empty_on(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  if (n == 0) return y;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (x.is_contiguous()) {
      map1<<<blocks_for(n), kThreads>>>(ptr<T>(x), mut<T>(y), n, body);
    } else {
      const StridedIndexer<1> ix = make_indexer<1>(x.shape(), {&x}, op);
      map1_strided<<<blocks_for(n), kThreads>>>(storage_base<T>(x), mut<T>(y), n, ix, body);
    }
  });
  check_launch(op);
  return y;
}

Tensor contiguous(const Tensor& x) {
  return x.defined() && x.is_contiguous() ? x : clone(x);
}

Tensor clone(const Tensor& x) {
  SNN_CHECK(x.defined(), "cuda::clone: the tensor is undefined");
  if (x.dtype() == DType::Int64)  // labels and indices: small, and no kernel needed for a rare copy
    return x.to(Device::cpu()).to(x.device());
  return unary(x, "cuda::clone", IdentityBody{});
}

Tensor activation(Activation f, const Tensor& x) {
  switch (f) {
    case Activation::Relu: return unary(x, "cuda::activation", ReluBody{});
    case Activation::Sigmoid: return unary(x, "cuda::activation", SigmoidBody{});
    default: return unary(x, "cuda::activation", TanhBody{});
  }
}

Tensor activation_backward(Activation f, const Tensor& g, const Tensor& saved) {
  switch (f) {
    case Activation::Relu: return binary(g, saved, "cuda::activation_backward", ReluBackBody{});
    case Activation::Sigmoid: return binary(g, saved, "cuda::activation_backward", SigmoidBackBody{});
    default: return binary(g, saved, "cuda::activation_backward", TanhBackBody{});
  }
}

void axpy_(Tensor& y, double alpha, const Tensor& x) {
  check_operand(y, "cuda::axpy_", "y");
  check_operand(x, "cuda::axpy_", "x");
  check_same(y, x, "cuda::axpy_");
  detail::DeviceGuard guard(y.device().index);
  const int64_t n = y.numel();
  if (n == 0) return;
  dispatch(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map2<<<blocks_for(n), kThreads>>>(ptr<T>(y), ptr<T>(x), mut<T>(y), n, AxpyBody<T>{T(alpha)});
  });
  check_launch("cuda::axpy_");
}

void adam_step_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, double lr,
                double beta1, double beta2, double eps, double weight_decay, bool decoupled, int64_t t) {
  const char* op = "cuda::adam_step_";
  check_operand(param, op, "param");
  check_operand(grad, op, "grad");
  check_operand(exp_avg, op, "exp_avg");
  check_operand(exp_avg_sq, op, "exp_avg_sq");
  check_same(param, grad, op);
  check_same(param, exp_avg, op);
  check_same(param, exp_avg_sq, op);
  SNN_CHECK(t >= 1, op, ": the step count t starts at 1, got ", t);
  detail::DeviceGuard guard(param.device().index);
  const int64_t n = param.numel();
  if (n == 0) return;
  dispatch(param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const AdamConstants<T> c = adam_constants<T>(lr, beta1, beta2, eps, weight_decay, decoupled, t);
    adam_kernel<<<blocks_for(n), kThreads>>>(mut<T>(param), ptr<T>(grad), mut<T>(exp_avg),
                                             mut<T>(exp_avg_sq), n, c);
  });
  check_launch(op);
}

Tensor sum(const Tensor& x) {
  check_operand(x, "cuda::sum", "x");
  detail::DeviceGuard guard(x.device().index);
  const int64_t n = x.numel();
  const int blocks = static_cast<int>(std::min<int64_t>(1024, std::max<int64_t>(1, (n + kThreads - 1) / kThreads)));
  Tensor partial = empty_on({blocks}, x.dtype(), x.device());
  Tensor out = empty_on({}, x.dtype(), x.device());
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    sum_kernel<<<blocks, kThreads>>>(ptr<T>(x), mut<T>(partial), n);
    check_launch("cuda::sum (blocks)");
    sum_kernel<<<1, kThreads>>>(ptr<T>(partial), mut<T>(out), int64_t(blocks));
  });
  check_launch("cuda::sum (partials)");
  return out;
}

static Tensor softmax_family(const Tensor& x, bool log, const char* op) {
  check_operand(x, op, "x");
  SNN_CHECK(x.dim() == 2 && x.size(1) > 0, op, ": expected [rows, n] with n >= 1, got ", shape_str(x.shape()));
  detail::DeviceGuard guard(x.device().index);
  Tensor y = empty_on(x.shape(), x.dtype(), x.device());
  const int64_t rows = x.size(0), n = x.size(1);
  if (rows == 0) return y;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    softmax_kernel<<<blocks_for(rows), kThreads>>>(ptr<T>(x), mut<T>(y), rows, n, log);
  });
  check_launch(op);
  return y;
}
Tensor softmax(const Tensor& x) { return softmax_family(x, false, "cuda::softmax"); }
Tensor log_softmax(const Tensor& x) { return softmax_family(x, true, "cuda::log_softmax"); }

static Tensor cross_entropy_impl(const Tensor& logits, const Tensor& labels, bool backward, const char* op) {
  check_operand(logits, op, "logits");
  SNN_CHECK(logits.dim() == 2 && logits.size(0) > 0 && logits.size(1) > 0, op,
            ": expected logits [rows >= 1, classes >= 1], got ", shape_str(logits.shape()));
  SNN_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.device() == logits.device() &&
                labels.is_contiguous() && labels.shape() == Shape{logits.size(0)},
            op, ": labels must be a contiguous int64 tensor [", logits.size(0), "] on ", logits.device().str());
  detail::DeviceGuard guard(logits.device().index);
  const int64_t rows = logits.size(0), n = logits.size(1);
  Tensor bad = empty_on({1}, DType::Float32, logits.device());  // an int flag, 4 bytes
  check_cuda(cudaMemset(bad.storage()->data(), 0, sizeof(int)), op);
  Tensor out = empty_on(backward ? logits.shape() : Shape{rows}, logits.dtype(), logits.device());
  dispatch(logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_kernel<<<blocks_for(rows), kThreads>>>(
        ptr<T>(logits), static_cast<const int64_t*>(labels.storage()->data()) + labels.offset(),
        backward ? nullptr : mut<T>(out), backward ? mut<T>(out) : nullptr, rows, n, T(1.0 / rows),
        static_cast<int*>(bad.storage()->data()));
  });
  check_launch(op);
  int bad_host = 0;
  check_cuda(cudaMemcpy(&bad_host, bad.storage()->data(), sizeof(int), cudaMemcpyDeviceToHost), op);
  SNN_CHECK(bad_host == 0, op, ": a label is outside [0, ", n, ")");
  if (backward) return out;
  const Tensor total = sum(out);  // the mean, as layers/losses.h
  Tensor scale = Tensor::scalar(1.0 / double(rows), logits.dtype()).to(logits.device());
  return mul(total, scale);
}
Tensor cross_entropy(const Tensor& logits, const Tensor& labels) {
  return cross_entropy_impl(logits, labels, false, "cuda::cross_entropy");
}
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels) {
  return cross_entropy_impl(logits, labels, true, "cuda::cross_entropy_backward");
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  const char* op = "cuda::matmul";
  check_operand(a, op, "a");
  check_operand(b, op, "b");
  SNN_CHECK(a.device() == b.device() && a.dtype() == b.dtype(), op, ": a and b differ in device or dtype");
  SNN_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0)),
            op, ": expected [m, k] x [k, n] or [B, m, k] x [B, k, n], got ", shape_str(a.shape()),
            " and ", shape_str(b.shape()));
  SNN_CHECK(a.size(-1) == b.size(-2), op, ": inner sizes differ: ", shape_str(a.shape()), " and ",
            shape_str(b.shape()));
  const bool batched = a.dim() == 3;
  const int64_t batch = batched ? a.size(0) : 1, m = a.size(-2), k = a.size(-1), n = b.size(-1);
  SNN_CHECK(m < (int64_t(1) << 31) && n < (int64_t(1) << 31) && k < (int64_t(1) << 31) && batch < (int64_t(1) << 31),
            op, ": sizes beyond cuBLAS's 32-bit int");
  detail::DeviceGuard guard(a.device().index);
  Tensor c = empty_on(batched ? Shape{batch, m, n} : Shape{m, n}, a.dtype(), a.device());
  if (c.numel() == 0) return c;
  if (k == 0) {
    check_cuda(cudaMemset(c.storage()->data(), 0, c.numel() * dtype_size(c.dtype())), op);
    return c;
  }
  // Row-major C = A B is column-major C^T = B^T A^T: swap the operands, no transposes.
  cublasHandle_t h = cublas_handle(a.device().index);
  const int M = int(m), N = int(n), K = int(k), B = int(batch);
  if (a.dtype() == DType::Float32) {
    const float one = 1, zero = 0;
    check_cublas(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, ptr<float>(b), N,
                                           k * n, ptr<float>(a), K, m * k, &zero, mut<float>(c), N, m * n, B),
                 op);
  } else {
    const double one = 1, zero = 0;
    check_cublas(cublasDgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, ptr<double>(b), N,
                                           k * n, ptr<double>(a), K, m * k, &zero, mut<double>(c), N, m * n, B),
                 op);
  }
  return c;
}

// Checks shared by the convolutions: 4-D operands of one dtype on one device, stride >= 1,
// padding >= 0, a kernel no larger than the padded input; throws naming `op`.
static void check_conv(const char* op, const Tensor& a, const char* a_name, const Tensor& b,
                       const char* b_name, const ConvShape& s) {
  check_operand(a, op, a_name);
  check_operand(b, op, b_name);
  SNN_CHECK(a.dim() == 4 && b.dim() == 4, op, ": expected 4-D ", a_name, " and ", b_name, ", got ",
            shape_str(a.shape()), " and ", shape_str(b.shape()));
  SNN_CHECK(a.device() == b.device() && a.dtype() == b.dtype(), op, ": ", a_name, " and ", b_name,
            " differ in device or dtype");
  SNN_CHECK(s.stride >= 1 && s.padding >= 0, op, ": stride must be >= 1 and padding >= 0, got ",
            s.stride, " and ", s.padding);
  SNN_CHECK(s.kernel_h >= 1 && s.kernel_w >= 1 && s.kernel_h <= s.in_h + 2 * s.padding &&
                s.kernel_w <= s.in_w + 2 * s.padding,
            op, ": a ", s.kernel_h, "x", s.kernel_w, " kernel does not fit the padded ", s.in_h, "x",
            s.in_w, " input");
}

Tensor conv2d_naive(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride, int64_t padding) {
  const char* op = "cuda::conv2d_naive";
  SNN_CHECK(x.dim() == 4 && w.dim() == 4, op, ": expected x [N, C, H, W] and w [O, C, kh, kw], got ",
            shape_str(x.shape()), " and ", shape_str(w.shape()));
  const ConvShape s{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), stride, padding};
  check_conv(op, x, "x", w, "w", s);
  SNN_CHECK(x.size(1) == w.size(1), op, ": x has ", x.size(1), " channels but w expects ", w.size(1));
  if (bias.defined()) {
    check_operand(bias, op, "bias");
    SNN_CHECK(bias.shape() == Shape{s.out_channels} && bias.dtype() == x.dtype() && bias.device() == x.device(),
              op, ": bias must be [", s.out_channels, "] of x's dtype on x's device");
  }
  detail::DeviceGuard guard(x.device().index);
  Tensor y = empty_on({s.batch, s.out_channels, s.out_h(), s.out_w()}, x.dtype(), x.device());
  const int64_t n = y.numel();
  if (n == 0) return y;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<<<blocks_for(n), kThreads>>>(
        mut<T>(y), n, ConvForward<T>{ptr<T>(x), ptr<T>(w), bias.defined() ? ptr<T>(bias) : nullptr, s});
  });
  check_launch(op);
  return y;
}

Tensor conv2d_input_adjoint_naive(const Tensor& gy, const Tensor& w, const Shape& input_hw,
                                  int64_t stride, int64_t padding) {
  const char* op = "cuda::conv2d_input_adjoint_naive";
  SNN_CHECK(gy.dim() == 4 && w.dim() == 4 && input_hw.size() == 2, op,
            ": expected gy [N, O, Ho, Wo], w [O, C, kh, kw] and input_hw [H, W], got ",
            shape_str(gy.shape()), ", ", shape_str(w.shape()), " and ", shape_str(input_hw));
  const ConvShape s{gy.size(0), w.size(1), input_hw[0], input_hw[1], w.size(0), w.size(2), w.size(3), stride, padding};
  check_conv(op, gy, "gy", w, "w", s);
  SNN_CHECK(gy.size(1) == w.size(0) && gy.size(2) == s.out_h() && gy.size(3) == s.out_w(), op, ": gy ",
            shape_str(gy.shape()), " is not the output shape [", s.batch, ", ", s.out_channels, ", ",
            s.out_h(), ", ", s.out_w(), "] of this convolution");
  detail::DeviceGuard guard(gy.device().index);
  Tensor gx = empty_on({s.batch, s.in_channels, s.in_h, s.in_w}, gy.dtype(), gy.device());
  const int64_t n = gx.numel();
  if (n == 0) return gx;
  dispatch(gy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<<<blocks_for(n), kThreads>>>(mut<T>(gx), n, ConvInputAdjoint<T>{ptr<T>(gy), ptr<T>(w), s});
  });
  check_launch(op);
  return gx;
}

Tensor conv2d_weight_adjoint_naive(const Tensor& x, const Tensor& gy, const Shape& kernel_hw,
                                   int64_t stride, int64_t padding) {
  const char* op = "cuda::conv2d_weight_adjoint_naive";
  SNN_CHECK(x.dim() == 4 && gy.dim() == 4 && kernel_hw.size() == 2, op,
            ": expected x [N, C, H, W], gy [N, O, Ho, Wo] and kernel_hw [kh, kw], got ",
            shape_str(x.shape()), ", ", shape_str(gy.shape()), " and ", shape_str(kernel_hw));
  const ConvShape s{x.size(0), x.size(1), x.size(2), x.size(3), gy.size(1), kernel_hw[0], kernel_hw[1], stride, padding};
  check_conv(op, x, "x", gy, "gy", s);
  SNN_CHECK(gy.size(0) == x.size(0) && gy.size(2) == s.out_h() && gy.size(3) == s.out_w(), op, ": gy ",
            shape_str(gy.shape()), " is not the output shape of this convolution of x ", shape_str(x.shape()));
  detail::DeviceGuard guard(x.device().index);
  Tensor gw = empty_on({s.out_channels, s.in_channels, s.kernel_h, s.kernel_w}, x.dtype(), x.device());
  const int64_t n = gw.numel();
  if (n == 0) return gw;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<<<blocks_for(n), kThreads>>>(mut<T>(gw), n, ConvWeightAdjoint<T>{ptr<T>(x), ptr<T>(gy), s});
  });
  check_launch(op);
  return gw;
}

static ConvShape pool_shape(const char* op, const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  check_operand(x, op, "x");
  SNN_CHECK(x.dim() == 4, op, ": expected x [N, C, H, W], got ", shape_str(x.shape()));
  SNN_CHECK(kernel >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= kernel, op,
            ": need kernel >= 1, stride >= 1 and 0 <= padding <= kernel / 2; got ", kernel, ", ", stride,
            ", ", padding);
  const ConvShape s{x.size(0), x.size(1), x.size(2), x.size(3), x.size(1), kernel, kernel, stride, padding};
  SNN_CHECK(kernel <= s.in_h + 2 * padding && kernel <= s.in_w + 2 * padding, op, ": a ", kernel,
            "x", kernel, " window does not fit the padded input ", shape_str(x.shape()));
  return s;
}

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  const char* op = "cuda::avg_pool2d";
  const ConvShape s = pool_shape(op, x, kernel, stride, padding);
  detail::DeviceGuard guard(x.device().index);
  Tensor y = empty_on({s.batch, s.in_channels, s.out_h(), s.out_w()}, x.dtype(), x.device());
  const int64_t n = y.numel();
  if (n == 0) return y;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<<<blocks_for(n), kThreads>>>(mut<T>(y), n, AvgPool<T>{ptr<T>(x), s});
  });
  check_launch(op);
  return y;
}

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, Tensor* indices) {
  const char* op = "cuda::max_pool2d";
  const ConvShape s = pool_shape(op, x, kernel, stride, padding);
  const Shape shape{s.batch, s.in_channels, s.out_h(), s.out_w()};
  detail::DeviceGuard guard(x.device().index);
  Tensor y = empty_on(shape, x.dtype(), x.device());
  if (indices) *indices = empty_on(shape, DType::Int64, x.device());
  const int64_t n = y.numel();
  if (n == 0) return y;
  int64_t* index_data = indices ? static_cast<int64_t*>(indices->storage()->data()) : nullptr;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    generate<<<blocks_for(n), kThreads>>>(mut<T>(y), n, MaxPool<T>{ptr<T>(x), index_data, s});
  });
  check_launch(op);
  return y;
}

}  // namespace stablenn::cuda
