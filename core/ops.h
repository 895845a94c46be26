// core/ops.h — element-wise ops, reductions, softmax family, concat/stack (chapter 1).
// All binary ops follow NumPy broadcasting (size-1 and size-0 axes, 0-d scalars, any strides). Both
// operands must have the same dtype; a mismatch throws naming the op and both dtypes.
#pragma once
#include "core/tensor.h"

namespace stablenn {

// ---- binary element-wise (chapter 1) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// Comparisons give 1 or 0 in the operands' dtype.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
// where(cond, a, b): a where cond != 0, else b; all three broadcast together. cond may be any dtype.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor clamp(const Tensor& x, double lo, double hi);

// Scalar forms: the scalar takes the tensor's dtype.
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor pow(const Tensor& a, double s);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator*(double s, const Tensor& a);
Tensor operator-(const Tensor& a);

// In-place: a (a non-broadcast destination) op= b (broadcast to a's shape). Used by optimisers and
// gradient accumulation.
void add_(Tensor& a, const Tensor& b, double alpha = 1.0);  // a += alpha * b
void mul_(Tensor& a, double s);

// ---- unary element-wise (float dtypes) ----
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope);
Tensor softplus(const Tensor& x);  // log(1 + e^x), computed without overflow
// Chapter 10: σ(x) = αx + (1 − α)·softplus(x), slopes in [α, 1], and the product g·σ'(x), fused.
Tensor slope_restricted(const Tensor& x, double alpha);
Tensor slope_restricted_gate(const Tensor& g, const Tensor& x, double alpha);
Tensor elu(const Tensor& x, double alpha = 1.0);

// ---- reductions (chapter 1) ----
// `axes` may be empty, meaning all axes. Negative axes count from the end; repeated axes throw.
Tensor sum(const Tensor& x, const Shape& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& axes = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Shape& axes = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& axes = {}, bool keepdim = false);
// Variance with `correction` (0: population, 1: unbiased), computed in two passes for accuracy.
Tensor var(const Tensor& x, const Shape& axes = {}, int64_t correction = 0, bool keepdim = false);
// Index of the first maximum / minimum along one axis, as Int64.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t axis, bool keepdim = false);
// Numerically stable: the maximum is subtracted before exponentiating.
Tensor logsumexp(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor softmax(const Tensor& x, int64_t axis);
Tensor log_softmax(const Tensor& x, int64_t axis);
// Sums a broadcast result back to `shape` (the adjoint of expand); used by autodiff.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- joining (chapter 1) ----
Tensor concat(const std::vector<Tensor>& parts, int64_t axis);
Tensor stack(const std::vector<Tensor>& parts, int64_t axis);

// ---- comparison helpers for tests ----
// Largest |a - b| over all elements (shapes must match exactly).
double max_abs_diff(const Tensor& a, const Tensor& b);
// True when |a - b| <= atol + rtol * |b| everywhere.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

}  // namespace stablenn
