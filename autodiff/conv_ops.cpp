// autodiff/conv_ops.cpp — conv2d and its two adjoints, each the others' backward (chapter 2).
//
// Write y = conv2d(x, w) = A_w x. Then
//   conv2d_input_adjoint(gy, w)  = A_w^T gy          (the transposed convolution)
//   conv2d_weight_adjoint(x, gy) = B with <B, v> = <gy, conv2d(x, v)> for every kernel v.
// The three are bilinear, and the backward of each is made of the other two (or itself), so second
// derivatives of convolutional networks need no extra kernels.
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "core/conv.h"

namespace stablenn {
namespace {
Shape spatial(const Shape& s) { return {s[2], s[3]}; }
}  // namespace

Var conv2d(const Var& x, const Var& w, const Var& bias, int64_t stride, int64_t padding) {
  Tensor value = conv2d(x.value(), w.value(), bias.defined() ? bias.value() : Tensor(), stride, padding);
  return record("conv2d", std::move(value), {x, w, bias}, Saves{0b011, false},
                [stride, padding](const BackwardContext& c) {
                  const Var &in = c.inputs[0], &weight = c.inputs[1];
                  Var gx, gw, gb;
                  if (c.needs_grad(0))
                    gx = conv2d_input_adjoint(c.grad, weight, spatial(in.shape()), stride, padding);
                  if (c.needs_grad(1))
                    gw = conv2d_weight_adjoint(in, c.grad, spatial(weight.shape()), stride, padding);
                  // Spatial axes first: they are contiguous rows, so neither sum copies the gradient.
                  if (c.needs_grad(2)) gb = sum(sum(c.grad, {2, 3}), {0});
                  return grads(gx, gw, gb);
                });
}

Var conv2d_input_adjoint(const Var& gy, const Var& w, const Shape& input_hw, int64_t stride,
                         int64_t padding) {
  // y = A_w^T gy:  d/dgy <G, y> = A_w G,  d/dw <G, A_w^T gy> = d/dw <A_w G, gy> = B(G, gy)
  Tensor value = conv2d_input_adjoint(gy.value(), w.value(), input_hw, stride, padding);
  return record("conv2d_input_adjoint", std::move(value), {gy, w}, Saves::inputs(),
                [stride, padding](const BackwardContext& c) {
                  const Var &out_grad = c.inputs[0], &weight = c.inputs[1];
                  Var g_gy, g_w;
                  if (c.needs_grad(0)) g_gy = conv2d(c.grad, weight, Var(), stride, padding);
                  if (c.needs_grad(1))
                    g_w = conv2d_weight_adjoint(c.grad, out_grad, spatial(weight.shape()), stride, padding);
                  return grads(g_gy, g_w);
                });
}

Var conv2d_weight_adjoint(const Var& x, const Var& gy, const Shape& kernel_hw, int64_t stride,
                          int64_t padding) {
  // y = B(x, gy):  <G, B(x, gy)> = <gy, conv2d(x, G)> = <A_G^T gy, x>
  Tensor value = conv2d_weight_adjoint(x.value(), gy.value(), kernel_hw, stride, padding);
  return record("conv2d_weight_adjoint", std::move(value), {x, gy}, Saves::inputs(),
                [stride, padding](const BackwardContext& c) {
                  const Var &in = c.inputs[0], &out_grad = c.inputs[1];
                  Var g_x, g_gy;
                  if (c.needs_grad(0))
                    g_x = conv2d_input_adjoint(out_grad, c.grad, spatial(in.shape()), stride, padding);
                  if (c.needs_grad(1)) g_gy = conv2d(in, c.grad, Var(), stride, padding);
                  return grads(g_x, g_gy);
                });
}

}  // namespace stablenn
