// core/conv.h — 2-D convolution by im2col + GEMM, its adjoints, and pooling (chapter 1).
// Layout is NCHW throughout. Output size: Ho = (H + 2*padding - kh) / stride + 1, likewise Wo.
#pragma once
#include "core/tensor.h"

namespace stablenn {

// Chapter 1: y = conv2d(x, w) + bias.   x: [N, C, H, W], w: [O, C, kh, kw], bias: [O] or undefined
// -> y: [N, O, Ho, Wo]. (Cross-correlation, as in every deep learning library.)
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride = 1,
              int64_t padding = 0);
// Chapter 1: adjoint with respect to the input (the transposed convolution, no bias).
// gy: [N, O, Ho, Wo], w: [O, C, kh, kw] -> [N, C, H, W] with H, W taken from `input_hw`.
// Satisfies <gy, conv2d(x, w)> = <conv2d_input_adjoint(gy, w), x> for every x.
Tensor conv2d_input_adjoint(const Tensor& gy, const Tensor& w, const Shape& input_hw,
                            int64_t stride = 1, int64_t padding = 0);
// Chapter 1: adjoint with respect to the weight. x: [N, C, H, W], gy: [N, O, Ho, Wo]
// -> [O, C, kh, kw] with kh, kw taken from `kernel_hw`.
Tensor conv2d_weight_adjoint(const Tensor& x, const Tensor& gy, const Shape& kernel_hw,
                             int64_t stride = 1, int64_t padding = 0);
// Naive direct loops, accumulating in double: the test oracles for the three functions above.
Tensor conv2d_naive(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride = 1,
                    int64_t padding = 0);
Tensor conv2d_input_adjoint_naive(const Tensor& gy, const Tensor& w, const Shape& input_hw,
                                  int64_t stride = 1, int64_t padding = 0);
Tensor conv2d_weight_adjoint_naive(const Tensor& x, const Tensor& gy, const Shape& kernel_hw,
                                   int64_t stride = 1, int64_t padding = 0);

// Chapter 1: average pooling over k x k windows (zero padding counts in the average, as PyTorch's
// default count_include_pad=True). x: [N, C, H, W] -> [N, C, Ho, Wo].
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor avg_pool2d_adjoint(const Tensor& gy, const Shape& input_hw, int64_t kernel, int64_t stride,
                          int64_t padding = 0);
// Chapter 1: max pooling (padding never wins). Returns the values and, in `indices` (Int64, same shape
// as the output), the flat position h*W + w of each maximum in its input plane, for the adjoint.
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, Tensor* indices);
Tensor max_pool2d_adjoint(const Tensor& gy, const Tensor& indices, const Shape& input_hw);

}  // namespace stablenn
