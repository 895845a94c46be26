// core/im2col.h — unfold one image into the columns a convolution's GEMM multiplies, and fold them
// back (chapter 1). Internal to core/: used by core/conv.cpp.
#pragma once
#include "core/conv_geometry.h"

namespace stablenn {

// Chapter 1: x: [C, H, W] (one sample, contiguous) -> cols: [C*kh*kw, Ho*Wo], where
// cols[(c*kh + i)*kw + j, oh*Wo + ow] = x[c, oh*stride - padding + i, ow*stride - padding + j],
// and 0 where that position falls in the padding.
void im2col(const float* x, const ConvGeometry& g, float* cols);
void im2col(const double* x, const ConvGeometry& g, double* cols);

// Chapter 1: the adjoint of im2col. cols: [C*kh*kw, Ho*Wo] -> gx: [C, H, W], *added* to gx: every
// column entry is summed into the input pixel it was copied from.
void col2im_add(const float* cols, const ConvGeometry& g, float* gx);
void col2im_add(const double* cols, const ConvGeometry& g, double* gx);

}  // namespace stablenn
