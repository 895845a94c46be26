// core/conv_shifted.h — stride-1 convolution as shifted GEMMs over zero-padded samples (chapter 1).
// Internal to core/: core/conv.cpp sends every stride-1 convolution here (except 1x1 unpadded ones).
// Arguments are contiguous NCHW buffers of a checked geometry; T is float or double.
#pragma once
#include "core/conv_geometry.h"

namespace stablenn {

// x: [N, C, H, W], w: [O, C, kh, kw], bias: [O] or nullptr -> y: [N, O, Ho, Wo]
template <class T>
void conv_shifted_forward(const T* x, const T* w, const T* bias, const ConvGeometry& g, T* y);
// gy: [N, O, Ho, Wo], w: [O, C, kh, kw] -> gx: [N, C, H, W]
template <class T>
void conv_shifted_input_adjoint(const T* gy, const T* w, const ConvGeometry& g, T* gx);
// x: [N, C, H, W], gy: [N, O, Ho, Wo] -> gw: [O, C, kh, kw] (overwritten)
template <class T>
void conv_shifted_weight_adjoint(const T* x, const T* gy, const ConvGeometry& g, T* gw);

}  // namespace stablenn
