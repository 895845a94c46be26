// core/elementwise.cpp — element-wise ops with NumPy broadcasting (chapter 1).
//
// Every op is one line (a lambda) handed to one of three drivers: unary, binary and where. The
// drivers broadcast, check dtypes, and walk any strides through detail::for_each_strided, with the
// common all-contiguous and tensor-with-scalar cases as plain loops the compiler vectorises.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/device_ops.h"
#include "core/dispatch.h"
#include "core/ops.h"

namespace stablenn {
namespace {

// Transcendental functions cost ~20x an add, so they go parallel on shorter ranges.
constexpr int64_t kCheapGrain = kDefaultGrain;
constexpr int64_t kCostlyGrain = kDefaultGrain / 8;

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  SNN_CHECK(a.defined() && b.defined(), op, ": an operand is undefined");
  SNN_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch, ", dtype_name(a.dtype()), " ",
            shape_str(a.shape()), " and ", dtype_name(b.dtype()), " ", shape_str(b.shape()),
            " (convert one with .to())");
}

// out = op(a, b) elementwise, broadcast. `out_dtype_same` is always true here: comparisons give 0/1
// in the operands' dtype, so one output type suffices. `fast`, when given, does contiguous float32
// runs instead of `op`: fast(a, b, out, count).
template <class Op, class Fast = std::nullptr_t>
Tensor binary(const Tensor& a, const Tensor& b, const char* name, bool float_only, const Op& op,
              int64_t grain = kCheapGrain, const Fast& fast = nullptr) {
  check_same_dtype(a, b, name);
  if (float_only) SNN_CHECK(is_floating(a.dtype()), name, ": expected float tensors, got int64");
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, a.dtype());
  const Tensor ea = a.expand(shape), eb = b.expand(shape);
  detail::dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T* x = ea.data<T>();
    const T* y = eb.data<T>();
    detail::for_each_strided<3>(
        shape, {&out.strides(), &ea.strides(), &eb.strides()}, grain,
        [&](const std::array<int64_t, 3>& off, const std::array<int64_t, 3>& s, int64_t n) {
          T* po = o + off[0];
          const T* px = x + off[1];
          const T* py = y + off[2];
          if constexpr (std::is_same_v<T, float> && !std::is_same_v<Fast, std::nullptr_t>) {
            if (s[0] == 1 && s[1] == 1 && s[2] == 1) return fast(px, py, po, n);
          }
          if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
            for (int64_t k = 0; k < n; ++k) po[k] = static_cast<T>(op(px[k], py[k]));
          } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
            const T c = *py;
            for (int64_t k = 0; k < n; ++k) po[k] = static_cast<T>(op(px[k], c));
          } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
            const T c = *px;
            for (int64_t k = 0; k < n; ++k) po[k] = static_cast<T>(op(c, py[k]));
          } else {
            for (int64_t k = 0; k < n; ++k)
              po[k * s[0]] = static_cast<T>(op(px[k * s[1]], py[k * s[2]]));
          }
        });
  });
  return out;
}

// `fast`, when given, does contiguous float32 runs instead of `op`: fast(in, out, count).
template <class Op, class Fast = std::nullptr_t>
Tensor unary(const Tensor& x, const char* name, int64_t grain, const Op& op, const Fast& fast = nullptr) {
  SNN_CHECK(x.defined(), name, ": the operand is undefined");
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  detail::dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T* in = x.data<T>();
    detail::for_each_strided<2>(
        x.shape(), {&out.strides(), &x.strides()}, grain,
        [&](const std::array<int64_t, 2>& off, const std::array<int64_t, 2>& s, int64_t n) {
          T* po = o + off[0];
          const T* pi = in + off[1];
          // A local copy of the op: its captured constants (a slope, clamp bounds) could otherwise
          // alias the output, be reloaded after every store, and keep the loop from vectorising.
          const Op f = op;
          if constexpr (std::is_same_v<T, float> && !std::is_same_v<Fast, std::nullptr_t>) {
            if (s[0] == 1 && s[1] == 1) return fast(pi, po, n);
          }
          if (s[1] == 1)
            for (int64_t k = 0; k < n; ++k) po[k] = static_cast<T>(f(pi[k]));
          else
            for (int64_t k = 0; k < n; ++k) po[k] = static_cast<T>(f(pi[k * s[1]]));
        });
  });
  return out;
}

Tensor scalar_like(const Tensor& a, double s) { return Tensor::scalar(s, a.dtype()); }

// tanh for float32 as the rational function Eigen uses (odd degree-13 over even degree-6, input
// clamped to ±7.9, where tanh rounds to ±1 in float32): a few ulp, and branch-free, so the loop
// vectorises. The C library's tanhf, one call per element, was 60 % of a neural-ODE training step
// (chapter 5). Float64 keeps std::tanh, which is also the test oracle.
inline float rational_tanh(float x) {
  const float clamped = std::min(7.90531110763549805f, std::max(-7.90531110763549805f, x));
  const float x2 = clamped * clamped;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * clamped;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  // Below 4e-4, tanh(x) = x to float precision. The select (and the clamp) vectorise only under
  // -fno-trapping-math (set in CMakeLists.txt); without it this loop was scalar, 44 % of a chapter 5 step.
  return std::fabs(x) < 0.0004f ? x : p / q;
}

// e^x for float32 and x <= 0 (what sigmoid and softplus need): x = n·ln 2 + r with |r| <= ln2/2,
// e^r by Cephes' degree-5 polynomial, 2^n written into the exponent bits. About 1 ulp; below
// −87.3 it returns e^−87.3 ≈ 1.2e−38 instead of a subnormal or 0. Branch-free, so the loops
// vectorise: the C library's expf and log1pf, one call per element, were a quarter of a chapter 10
// training step.
inline float exp_nonpositive(float x) {
  x = std::max(-87.3365447504019f, x);
  const float magic = 12582912.0f;  // 1.5·2^23: adding and subtracting it rounds to an integer
  const float n = (x * 1.44269504088896341f + magic) - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// log(1 + e) for float32 and e in [0, 1]: 2·atanh(s) with s = e/(2 + e) <= 1/3, by its series to
// s^15 (the next term is below 2^−26 relative). Accurate in relative terms even for tiny e, where
// log(1 + e) computed as log of the rounded 1 + e is not.
inline float log1p_unit(float e) {
  const float s = e / (2.0f + e);
  const float s2 = s * s;
  float p = 1.0f / 15.0f;
  p = p * s2 + 1.0f / 13.0f;
  p = p * s2 + 1.0f / 11.0f;
  p = p * s2 + 1.0f / 9.0f;
  p = p * s2 + 1.0f / 7.0f;
  p = p * s2 + 1.0f / 5.0f;
  p = p * s2 + 1.0f / 3.0f;
  p = p * s2 + 1.0f;
  return 2.0f * s * p;
}

// The logistic function; two branches so that exp never overflows (float32: branch-free, so it
// vectorises; float64 keeps std::exp).
template <class T>
inline T sigmoid_value(T v) {
  if constexpr (std::is_same_v<T, float>) {
    const float e = exp_nonpositive(-std::fabs(v));
    return (v >= 0 ? 1.0f : e) / (1.0f + e);
  }
  if (v >= 0) return T(1) / (T(1) + std::exp(-v));
  const T e = std::exp(v);
  return e / (T(1) + e);
}

// log(1 + e^v) = max(v, 0) + log1p(e^-|v|): no overflow for large |v|.
template <class T>
inline T softplus_value(T v) {
  if constexpr (std::is_same_v<T, float>) return std::max(v, 0.0f) + log1p_unit(exp_nonpositive(-std::fabs(v)));
  return std::max(v, T(0)) + std::log1p(std::exp(-std::abs(v)));
}

// The float32 loops of the costly activations, compiled twice on x86-64: for AVX2 with FMA (8 lanes,
// chosen at run time on CPUs that have both) and for the baseline (4 lanes), so a portable build
// still runs the wide loop. Each body is written once, as an always-inlined template.
enum class Costly { kTanh, kSigmoid, kSoftplus, kSlopeRestricted };

// `a` and `b` = 1 − a are the slope-restricted activation's weights (unused by the others).
template <Costly kind>
__attribute__((always_inline)) inline void costly_loop(float a, float b, const float* __restrict in,
                                                       float* __restrict out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    if constexpr (kind == Costly::kTanh) out[k] = rational_tanh(in[k]);
    if constexpr (kind == Costly::kSigmoid) out[k] = sigmoid_value(in[k]);
    if constexpr (kind == Costly::kSoftplus) out[k] = softplus_value(in[k]);
    if constexpr (kind == Costly::kSlopeRestricted) out[k] = a * in[k] + b * softplus_value(in[k]);
  }
}

// g·(a + b·sigmoid(x)): the slope of the slope-restricted activation applied to a gradient.
__attribute__((always_inline)) inline void slope_gate_loop(float a, float b, const float* __restrict g,
                                                           const float* __restrict x, float* __restrict out,
                                                           int64_t n) {
  for (int64_t k = 0; k < n; ++k) out[k] = g[k] * (a + b * sigmoid_value(x[k]));
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SNN_WIDE_LOOPS 1
template <Costly kind>
__attribute__((target("avx2,fma"))) void costly_loop_wide(float a, float b, const float* in, float* out, int64_t n) {
  costly_loop<kind>(a, b, in, out, n);
}
__attribute__((target("avx2,fma"))) void slope_gate_loop_wide(float a, float b, const float* g, const float* x,
                                                             float* out, int64_t n) {
  slope_gate_loop(a, b, g, x, out, n);
}
const bool kHasAvx2Fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif

// The `fast` argument of unary() for one of the kinds above.
template <Costly kind>
auto costly_kernel(double alpha = 0.0) {
  const float a = static_cast<float>(alpha), b = static_cast<float>(1 - alpha);
  return [a, b](const float* in, float* out, int64_t n) {
#ifdef SNN_WIDE_LOOPS
    if (kHasAvx2Fma) return costly_loop_wide<kind>(a, b, in, out, n);
#endif
    costly_loop<kind>(a, b, in, out, n);
  };
}

// The `fast` argument of binary() for slope_restricted_gate.
auto slope_gate_kernel(double alpha) {
  const float a = static_cast<float>(alpha), b = static_cast<float>(1 - alpha);
  return [a, b](const float* g, const float* x, float* out, int64_t n) {
#ifdef SNN_WIDE_LOOPS
    if (kHasAvx2Fma) return slope_gate_loop_wide(a, b, g, x, out, n);
#endif
    slope_gate_loop(a, b, g, x, out, n);
  };
}

}  // namespace

// ---- binary ----
Tensor add(const Tensor& a, const Tensor& b) {
  if (detail::off_cpu(a, b)) return detail::run_on_device(DeviceOp::Add, a, b);
  return binary(a, b, "add", false, [](auto x, auto y) { return x + y; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  if (detail::off_cpu(a, b)) return detail::run_on_device(DeviceOp::Sub, a, b);
  return binary(a, b, "sub", false, [](auto x, auto y) { return x - y; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  if (detail::off_cpu(a, b)) return detail::run_on_device(DeviceOp::Mul, a, b);
  return binary(a, b, "mul", false, [](auto x, auto y) { return x * y; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  if (detail::off_cpu(a, b)) return detail::run_on_device(DeviceOp::Div, a, b);
  return binary(a, b, "div", true, [](auto x, auto y) { return x / y; });
}
Tensor pow(const Tensor& a, const Tensor& b) {
  return binary(a, b, "pow", true, [](auto x, auto y) { return std::pow(x, y); });
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary(a, b, "maximum", false, [](auto x, auto y) { return x >= y || x != x ? x : y; });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary(a, b, "minimum", false, [](auto x, auto y) { return x <= y || x != x ? x : y; });
}
Tensor eq(const Tensor& a, const Tensor& b) {
  return binary(a, b, "eq", false, [](auto x, auto y) { return x == y; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return binary(a, b, "ne", false, [](auto x, auto y) { return x != y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return binary(a, b, "lt", false, [](auto x, auto y) { return x < y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return binary(a, b, "le", false, [](auto x, auto y) { return x <= y; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return binary(a, b, "gt", false, [](auto x, auto y) { return x > y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return binary(a, b, "ge", false, [](auto x, auto y) { return x >= y; });
}

Tensor add(const Tensor& a, double s) { return add(a, scalar_like(a, s)); }
Tensor sub(const Tensor& a, double s) { return sub(a, scalar_like(a, s)); }
Tensor mul(const Tensor& a, double s) { return mul(a, scalar_like(a, s)); }
Tensor div(const Tensor& a, double s) { return div(a, scalar_like(a, s)); }
Tensor pow(const Tensor& a, double s) { return pow(a, scalar_like(a, s)); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double s) { return add(a, s); }
Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
Tensor operator/(const Tensor& a, double s) { return div(a, s); }
Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
Tensor operator-(const Tensor& a) { return neg(a); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_dtype(a, b, "where");
  SNN_CHECK(cond.defined(), "where: the condition is undefined");
  const Shape shape =
      broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape(), "where"), "where");
  const Tensor c = cond.to(a.dtype()).expand(shape), ea = a.expand(shape), eb = b.expand(shape);
  Tensor out = Tensor::empty(shape, a.dtype());
  detail::dispatch_all(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T *pc = c.data<T>(), *px = ea.data<T>(), *py = eb.data<T>();
    detail::for_each_strided<4>(
        shape, {&out.strides(), &c.strides(), &ea.strides(), &eb.strides()}, kCheapGrain,
        [&](const std::array<int64_t, 4>& off, const std::array<int64_t, 4>& s, int64_t n) {
          for (int64_t k = 0; k < n; ++k)
            o[off[0] + k * s[0]] = pc[off[1] + k * s[1]] != T(0) ? px[off[2] + k * s[2]]
                                                                 : py[off[3] + k * s[3]];
        });
  });
  return out;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  SNN_CHECK(lo <= hi, "clamp: lower bound ", lo, " exceeds upper bound ", hi);
  return unary(x, "clamp", kCheapGrain, [lo, hi](auto v) {
    using T = decltype(v);
    return v < T(lo) ? T(lo) : (v > T(hi) ? T(hi) : v);
  });
}

// ---- in place ----
void add_(Tensor& a, const Tensor& b, double alpha) {
  check_same_dtype(a, b, "add_");
  for (int64_t d = 0; d < a.dim(); ++d)
    SNN_CHECK(a.strides()[d] != 0 || a.shape()[d] <= 1, "add_: the destination ",
              shape_str(a.shape()), " is a broadcast view; writing to it would race");
  SNN_CHECK(broadcast_shapes(a.shape(), b.shape(), "add_") == a.shape(), "add_: cannot add shape ",
            shape_str(b.shape()), " into shape ", shape_str(a.shape()));
  const Tensor eb = b.expand(a.shape());
  detail::dispatch_float(a.dtype(), "add_", [&](auto tag) {
    using T = decltype(tag);
    T* o = a.data<T>();
    const T* y = eb.data<T>();
    const T c = static_cast<T>(alpha);
    detail::for_each_strided<2>(
        a.shape(), {&a.strides(), &eb.strides()}, kCheapGrain,
        [&](const std::array<int64_t, 2>& off, const std::array<int64_t, 2>& s, int64_t n) {
          T* po = o + off[0];
          const T* py = y + off[1];
          if (s[0] == 1 && s[1] == 1)
            for (int64_t k = 0; k < n; ++k) po[k] += c * py[k];
          else
            for (int64_t k = 0; k < n; ++k) po[k * s[0]] += c * py[k * s[1]];
        });
  });
}

void mul_(Tensor& a, double s) {
  Tensor scaled = mul(a, s);
  a.copy_(scaled);
}

// ---- unary ----
Tensor neg(const Tensor& x) { return unary(x, "neg", kCheapGrain, [](auto v) { return -v; }); }
Tensor abs(const Tensor& x) {
  return unary(x, "abs", kCheapGrain, [](auto v) { return std::abs(v); });
}
Tensor sign(const Tensor& x) {
  return unary(x, "sign", kCheapGrain, [](auto v) { return (v > 0) - (v < 0); });
}
Tensor exp(const Tensor& x) {
  return unary(x, "exp", kCostlyGrain, [](auto v) { return std::exp(v); });
}
Tensor log(const Tensor& x) {
  return unary(x, "log", kCostlyGrain, [](auto v) { return std::log(v); });
}
Tensor sqrt(const Tensor& x) {
  return unary(x, "sqrt", kCostlyGrain, [](auto v) { return std::sqrt(v); });
}
Tensor square(const Tensor& x) {
  return unary(x, "square", kCheapGrain, [](auto v) { return v * v; });
}
Tensor reciprocal(const Tensor& x) {
  return unary(x, "reciprocal", kCheapGrain, [](auto v) { return 1 / v; });
}
Tensor sin(const Tensor& x) {
  return unary(x, "sin", kCostlyGrain, [](auto v) { return std::sin(v); });
}
Tensor cos(const Tensor& x) {
  return unary(x, "cos", kCostlyGrain, [](auto v) { return std::cos(v); });
}
Tensor tanh(const Tensor& x) {
  if (detail::off_cpu(x)) return detail::run_on_device(DeviceOp::Tanh, x);
  return unary(
      x, "tanh", kCheapGrain,
      [](auto v) {
        if constexpr (std::is_same_v<decltype(v), float>) return rational_tanh(v);
        else return std::tanh(v);
      },
      costly_kernel<Costly::kTanh>());
}
Tensor sigmoid(const Tensor& x) {
  if (detail::off_cpu(x)) return detail::run_on_device(DeviceOp::Sigmoid, x);
  return unary(x, "sigmoid", kCostlyGrain, [](auto v) { return sigmoid_value(v); }, costly_kernel<Costly::kSigmoid>());
}
Tensor relu(const Tensor& x) {
  if (detail::off_cpu(x)) return detail::run_on_device(DeviceOp::Relu, x);
  return unary(x, "relu", kCheapGrain, [](auto v) { return v > 0 ? v : decltype(v)(0); });
}
Tensor leaky_relu(const Tensor& x, double slope) {
  return unary(x, "leaky_relu", kCheapGrain, [slope](auto v) {
    using T = decltype(v);
    return v > 0 ? v : static_cast<T>(slope) * v;
  });
}
Tensor softplus(const Tensor& x) {
  return unary(x, "softplus", kCostlyGrain, [](auto v) { return softplus_value(v); }, costly_kernel<Costly::kSoftplus>());
}
// αx + (1 − α)·softplus(x) and g·(α + (1 − α)·sigmoid(x)) in one pass each: chapter 10's field
// applies the activation and its slope at every Euler step (composed, they took nine passes).
Tensor slope_restricted(const Tensor& x, double alpha) {
  return unary(
      x, "slope_restricted", kCostlyGrain,
      [alpha](auto v) {
        using T = decltype(v);
        return static_cast<T>(alpha) * v + static_cast<T>(1 - alpha) * softplus_value(v);
      },
      costly_kernel<Costly::kSlopeRestricted>(alpha));
}
Tensor slope_restricted_gate(const Tensor& g, const Tensor& x, double alpha) {
  return binary(
      g, x, "slope_restricted_gate", true,
      [alpha](auto gv, auto v) {
        using T = decltype(gv);
        return gv * (static_cast<T>(alpha) + static_cast<T>(1 - alpha) * sigmoid_value(static_cast<T>(v)));
      },
      kCostlyGrain,
      slope_gate_kernel(alpha));
}
Tensor elu(const Tensor& x, double alpha) {
  return unary(x, "elu", kCostlyGrain, [alpha](auto v) {
    using T = decltype(v);
    return v > 0 ? v : static_cast<T>(alpha) * std::expm1(v);
  });
}

// ---- test helpers ----
double max_abs_diff(const Tensor& a, const Tensor& b) {
  SNN_CHECK(a.shape() == b.shape(), "max_abs_diff: shapes ", shape_str(a.shape()), " and ",
            shape_str(b.shape()), " differ");
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::abs(x[i] - y[i]);
    if (d > m || d != d) m = d;
  }
  return m;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return false;
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  return true;
}

}  // namespace stablenn
