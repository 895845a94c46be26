// autodiff/ops.h — the differentiable ops on Var (chapter 2).
//
// Each op computes its value with the core (core/ops.h, core/linalg.h, core/conv.h) and records one tape
// node whose backward rule sits beside the forward in the op family's file:
//   elementwise_ops.cpp  arithmetic, comparisons-based ops (maximum, where, clamp), unary maths
//   activation_ops.cpp   relu, leaky_relu, tanh, sigmoid, softplus, slope_restricted, elu
//   reduce_ops.cpp       sum, mean, amax, amin, var, sum_to
//   softmax_ops.cpp      logsumexp, softmax, log_softmax
//   view_ops.cpp         reshape, permute, slice, expand, squeeze, concat, stack, ...
//   matmul_op.cpp        matmul, linear
//   conv_ops.cpp         conv2d and its two adjoints
//   pool_ops.cpp         avg_pool2d, max_pool2d and their adjoints
//   groupsort_ops.cpp    maxmin, group_sort
// Semantics (broadcasting, axes, keepdim) are those of the core functions of the same name. Binary ops
// broadcast, and their backward sums the gradient back to each input's shape.
#pragma once
#include <vector>

#include "autodiff/var.h"

namespace stablenn {

// ---- constants ----
Var ones_like(const Var& x);   // Chapter 2: a constant of ones with x's shape and dtype
Var zeros_like(const Var& x);  // Chapter 2: a constant of zeros with x's shape and dtype

// ---- binary element-wise, broadcasting (chapter 2) ----
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var pow(const Var& a, const Var& b);  // d/db = a^b log a: keep a > 0 when b needs a gradient
Var maximum(const Var& a, const Var& b);  // ties split the gradient in half, as PyTorch does
Var minimum(const Var& a, const Var& b);
// a where cond != 0, else b. cond is a constant (no gradient flows to it).
Var where(const Tensor& cond, const Var& a, const Var& b);
// Gradient 1 inside [lo, hi] (bounds included), 0 outside.
Var clamp(const Var& x, double lo, double hi);

// Scalar forms (the scalar takes x's dtype).
Var add(const Var& a, double s);
Var sub(const Var& a, double s);
Var sub(double s, const Var& a);  // s - a
Var mul(const Var& a, double s);
Var div(const Var& a, double s);
// Chapter 4: y + alpha·x for x of y's shape and dtype, one pass and one tape entry (the update of
// every explicit ODE step and residual block); the values of add(y, mul(x, alpha)) bit for bit.
// Other shapes: exactly add(y, mul(x, alpha)).
Var axpy(const Var& y, const Var& x, double alpha);
Var div(double s, const Var& a);  // s / a
Var pow(const Var& a, double s);

Var operator+(const Var& a, const Var& b);
Var operator-(const Var& a, const Var& b);
Var operator*(const Var& a, const Var& b);
Var operator/(const Var& a, const Var& b);
Var operator+(const Var& a, double s);
Var operator+(double s, const Var& a);
Var operator-(const Var& a, double s);
Var operator-(double s, const Var& a);
Var operator*(const Var& a, double s);
Var operator*(double s, const Var& a);
Var operator/(const Var& a, double s);
Var operator/(double s, const Var& a);
Var operator-(const Var& a);

// ---- unary element-wise (chapter 2) ----
Var neg(const Var& x);
Var abs(const Var& x);  // gradient sign(x); 0 at x = 0
Var exp(const Var& x);
Var log(const Var& x);
Var sqrt(const Var& x);
Var square(const Var& x);
Var reciprocal(const Var& x);
Var sin(const Var& x);
Var cos(const Var& x);

// ---- activations (chapter 2) ----
Var relu(const Var& x);  // gradient 0 at x = 0
Var leaky_relu(const Var& x, double slope);
Var tanh(const Var& x);
Var sigmoid(const Var& x);
Var softplus(const Var& x);
// Chapter 10: αx + (1 − α)·softplus(x) and its slope times g (both fused, both differentiable).
Var slope_restricted(const Var& x, double alpha);
Var slope_restricted_gate(const Var& g, const Var& x, double alpha);
Var elu(const Var& x, double alpha = 1.0);

// ---- reductions (chapter 2); empty axes = all axes ----
Var sum(const Var& x, const Shape& axes = {}, bool keepdim = false);
Var mean(const Var& x, const Shape& axes = {}, bool keepdim = false);
Var amax(const Var& x, const Shape& axes = {}, bool keepdim = false);  // ties share the gradient
Var amin(const Var& x, const Shape& axes = {}, bool keepdim = false);
Var var(const Var& x, const Shape& axes = {}, int64_t correction = 0, bool keepdim = false);
// Sums a broadcast value back to `shape` (the adjoint of expand).
Var sum_to(const Var& x, const Shape& shape);

// ---- softmax family (chapter 2) ----
Var logsumexp(const Var& x, int64_t axis, bool keepdim = false);
Var softmax(const Var& x, int64_t axis);
Var log_softmax(const Var& x, int64_t axis);

// ---- views and joining (chapter 2) ----
Var reshape(const Var& x, const Shape& shape);
Var flatten(const Var& x, int64_t start_axis = 0, int64_t end_axis = -1);
Var permute(const Var& x, const Shape& order);
Var transpose(const Var& x, int64_t a, int64_t b);
Var t(const Var& x);  // 2-D transpose
Var slice(const Var& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Var narrow(const Var& x, int64_t axis, int64_t start, int64_t length);
Var select(const Var& x, int64_t axis, int64_t index);
Var expand(const Var& x, const Shape& shape);
Var squeeze(const Var& x, int64_t axis);
Var squeeze(const Var& x);  // all size-1 axes
Var unsqueeze(const Var& x, int64_t axis);
Var contiguous(const Var& x);
Var clone(const Var& x);
// A copy in another float dtype; the gradient is cast back (e.g. float32 layers inside a float64 check).
Var cast(const Var& x, DType dtype);
Var concat(const std::vector<Var>& parts, int64_t axis);
Var stack(const std::vector<Var>& parts, int64_t axis);
// The adjoint of slice: a zero tensor of `input_shape` with g written into the sliced positions.
Var slice_adjoint(const Var& g, const Shape& input_shape, int64_t axis, int64_t start, int64_t end,
                  int64_t step);

// ---- matrix product (chapter 2) ----
Var matmul(const Var& a, const Var& b);
// The affine map of a dense layer, y = x w^T + b, as one op: x [..., in], w [out, in], b [out] or
// undefined -> [..., out]. Same values as matmul(x, t(w)) + b, but backward computes dw = dy^T x
// directly in w's layout (one GEMM, no transposed copy).
Var linear(const Var& x, const Var& w, const Var& b);

// ---- convolution (chapter 2); bias may be an undefined Var ----
Var conv2d(const Var& x, const Var& w, const Var& bias, int64_t stride = 1, int64_t padding = 0);
Var conv2d_input_adjoint(const Var& gy, const Var& w, const Shape& input_hw, int64_t stride = 1,
                         int64_t padding = 0);
Var conv2d_weight_adjoint(const Var& x, const Var& gy, const Shape& kernel_hw, int64_t stride = 1,
                          int64_t padding = 0);

// ---- pooling (chapter 2) ----
Var avg_pool2d(const Var& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Var avg_pool2d_adjoint(const Var& gy, const Shape& input_hw, int64_t kernel, int64_t stride,
                       int64_t padding = 0);
Var max_pool2d(const Var& x, int64_t kernel, int64_t stride, int64_t padding = 0);
// max_pool2d's backward and its own adjoint: scatter into / gather from the argmax positions
// (`indices` as returned by the core's max_pool2d). Linear in their Var argument.
Var max_pool2d_scatter(const Var& gy, const Tensor& indices, const Shape& input_hw);
Var max_pool2d_gather(const Var& gx, const Tensor& indices);

// ---- GroupSort (chapter 2; used by 1-Lipschitz networks in chapter 7) ----
// MaxMin: along `axis` (even size), each adjacent pair (x[2i], x[2i+1]) becomes (max, min).
Var maxmin(const Var& x, int64_t axis);
// GroupSort: sorts each run of `group_size` adjacent entries along `axis` in descending order, so
// group_sort(x, 2, axis) == maxmin(x, axis). The gradient is the same permutation, reversed.
Var group_sort(const Var& x, int64_t group_size, int64_t axis);
// The permutation primitives behind group_sort, each the other's adjoint. `index` is Int64.
// gather_flat: out (index's shape), out.flat[i] = x.flat[index.flat[i]] in row-major order.
// scatter_add_flat: a zero tensor of `shape` with g.flat[i] added at position index.flat[i].
Var gather_flat(const Var& x, const Tensor& index);
Var scatter_add_flat(const Var& g, const Tensor& index, const Shape& shape);

}  // namespace stablenn
