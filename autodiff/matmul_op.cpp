// autodiff/matmul_op.cpp — the matrix product and the dense affine map, with backward rules
// (chapter 2).
//   C = A B        =>   dA = dC B^T,   dB = A^T dC   (summed over broadcast batch axes)
//   y = x W^T + b  =>   dx = dy W,     dW = dy^T x,  db = sum of dy over rows
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/linalg.h"
#include "core/ops.h"

namespace stablenn {
namespace {

// a: [..., m, k], b: [..., k, n], both at least 2-D -> [..., m, n].
Var matmul_2d_or_more(const Var& a, const Var& b) {
  return record("matmul", matmul(a.value(), b.value()), {a, b}, Saves::inputs(), [](const BackwardContext& c) {
    const Var &x = c.inputs[0], &y = c.inputs[1];
    Var gx, gy;
    if (c.needs_grad(0)) gx = sum_to(matmul(c.grad, transpose(y, -1, -2)), x.shape());
    if (c.needs_grad(1)) {
      if (y.dim() == 2 && x.dim() > 2) {
        // A batched input against one matrix: fold the batch into the rows, one GEMM instead of a
        // batch of products summed afterwards.
        const int64_t k = x.size(-1), n = c.grad.size(-1);
        gy = matmul(transpose(reshape(x, {-1, k}), 0, 1), reshape(c.grad, {-1, n}));
      } else {
        gy = sum_to(matmul(transpose(x, -1, -2), c.grad), y.shape());
      }
    }
    return grads(gx, gy);
  });
}

}  // namespace

Var matmul(const Var& a, const Var& b) {
  SNN_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: operands must be at least 1-D, got shapes ",
            shape_str(a.shape()), " and ", shape_str(b.shape()));
  // 1-D operands become a row (left) or a column (right), and that axis is dropped again, as in NumPy.
  const bool a_vector = a.dim() == 1, b_vector = b.dim() == 1;
  Var out = matmul_2d_or_more(a_vector ? unsqueeze(a, 0) : a, b_vector ? unsqueeze(b, 1) : b);
  if (b_vector) out = squeeze(out, -1);
  if (a_vector) out = squeeze(out, b_vector ? -1 : -2);
  return out;
}

Var linear(const Var& x, const Var& w, const Var& b) {
  // x: [..., in], w: [out, in], b: [out] or undefined -> [..., out]
  SNN_CHECK(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1), "linear: input ", shape_str(x.shape()),
            " and weight ", shape_str(w.shape()), " do not fit (expected [..., in] and [out, in])");
  const int64_t in = w.size(1), out = w.size(0);
  SNN_CHECK(!b.defined() || b.shape() == Shape{out}, "linear: bias of shape ", shape_str(b.shape()),
            ", expected [", out, "]");
  Shape out_shape = x.shape();
  out_shape.back() = out;
  // One GEMM against the transposed view of w (no copy), onto the bias rows.
  const Tensor x2 = x.value().reshape({-1, in}), wt = w.value().t();
  const Tensor y = b.defined() ? matmul_bias(x2, wt, b.value()) : matmul(x2, wt);
  return record("linear", y.reshape(out_shape), {x, w, b}, Saves{0b011, false}, [in, out](const BackwardContext& c) {
    const Var g = reshape(c.grad, {-1, out});
    const Var &input = c.inputs[0], &weight = c.inputs[1];
    Var gx, gw, gb;
    if (c.needs_grad(0)) gx = reshape(matmul(g, weight), input.shape());
    // dW = dy^T x lands in w's own [out, in] layout: no transposed copy of the gradient.
    if (c.needs_grad(1)) gw = matmul(transpose(g, 0, 1), reshape(input, {-1, in}));
    if (c.needs_grad(2)) gb = sum(g, {0});
    return grads(gx, gw, gb);
  });
}

}  // namespace stablenn
