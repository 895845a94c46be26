// layers/fast_tanh.cpp — vectorisable tanh (chapter 5).
#include "layers/fast_tanh.h"

#include <algorithm>
#include <cmath>

#include "autodiff/node.h"
#include "core/error.h"
#include "core/parallel.h"

namespace stablenn {
namespace {

// Eigen's generic_fast_tanh_float coefficients.
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
  // Below 4e-4, tanh(x) = x to float precision; the select keeps the loop branch-free.
  return std::fabs(x) < 0.0004f ? x : p / q;
}

}  // namespace

Tensor fast_tanh(const Tensor& x) {
  // x: [...] -> [...]
  SNN_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, "fast_tanh: expected a float32 or ",
            "float64 tensor, got ", dtype_name(x.dtype()));
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const int64_t n = in.numel();
  if (x.dtype() == DType::Float64) {
    const double* src = in.data<double>();
    double* dst = out.data<double>();
    for (int64_t i = 0; i < n; ++i) dst[i] = std::tanh(src[i]);
    return out;
  }
  const float* src = in.data<float>();
  float* dst = out.data<float>();
  parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) dst[i] = rational_tanh(src[i]);
  });
  return out;
}

Var fast_tanh(const Var& x) {
  return record("fast_tanh", fast_tanh(x.value()), {x}, Saves::output_only(), [](const BackwardContext& c) {
    return grads(c.grad * (1.0 - square(c.output)));
  });
}

std::shared_ptr<Activation> FastTanh() {
  return std::make_shared<Activation>("Tanh", [](const Var& x) { return fast_tanh(x); });
}

}  // namespace stablenn
