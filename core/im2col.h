// core/im2col.h — unfold one image into the columns a convolution's GEMM multiplies, and fold them
// back (chapter 1). Internal to core/: used by core/conv.cpp for strides above 1 (stride 1 takes the
// shifted GEMMs of core/conv_shifted.cpp, which need no column matrix). T is float or double.
#pragma once
#include "core/conv_geometry.h"

namespace stablenn {

// Chapter 1: x: [C, H, W] (one sample, contiguous) -> cols: [C*kh*kw, Ho*Wo], where
// cols[(c*kh + i)*kw + j, oh*Wo + ow] = x[c, oh*stride - padding + i, ow*stride - padding + j],
// and 0 where that position falls in the padding.
template <class T>
void im2col(const T* x, const ConvGeometry& g, T* cols);
// Chapter 1: the adjoint of im2col. cols: [C*kh*kw, Ho*Wo] -> gx: [C, H, W], *added* to gx: every
// column entry is summed into the input pixel it was copied from.
template <class T>
void col2im_add(const T* cols, const ConvGeometry& g, T* gx);

}  // namespace stablenn
