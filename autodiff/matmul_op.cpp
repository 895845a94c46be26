// autodiff/matmul_op.cpp — the matrix product and its backward rule (chapter 2).
//   C = A B   =>   dA = dC B^T,   dB = A^T dC   (summed over broadcast batch axes)
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/linalg.h"

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

}  // namespace stablenn
