// core/padded_sample.h — one sample copied into a zero-bordered buffer, the input of the stride-1
// convolution kernels (chapter 1). Internal to core/: used by core/conv_shifted.cpp. T is float or double.
#pragma once
#include "core/conv_geometry.h"

namespace stablenn {

// Chapter 1: sizes of a padded sample [C, H+2p, W+2p]. Output pixel (oh, ow) of kernel tap (i, j)
// reads padded element (oh + i, ow + j); flattened, that is tap_offset(i, j) + oh*width + ow, so for
// each channel a tap sees one contiguous run of `row_length` = Ho*width elements: Ho output rows of
// `width` columns, of which the first Wo are real output pixels and the rest are junk.
struct PaddedSample {
  int64_t height = 0, width = 0;  // H + 2p, W + 2p
  int64_t plane = 0;              // height * width
  int64_t row_length = 0;         // Ho * width
  int64_t buffer_size = 0;        // C * plane plus kw-1 zeros of slack, read by the last junk columns

  explicit PaddedSample(const ConvGeometry& g)
      : height(g.in_h + 2 * g.padding),
        width(g.in_w + 2 * g.padding),
        plane(height * width),
        row_length(g.out_h * width),
        buffer_size(g.in_channels * plane + g.kernel_w - 1) {}
  int64_t tap_offset(int64_t i, int64_t j) const { return i * width + j; }
};

// x: [C, H, W] -> the interior of xp: [C, H+2p, W+2p]. The border and slack of xp are never
// written, so a buffer zeroed once serves every sample.
template <class T>
void pad_sample(const T* x, const ConvGeometry& g, T* xp);
// gxp: [C, H+2p, W+2p] -> gx: [C, H, W], the interior only.
template <class T>
void unpad_sample(const T* gxp, const ConvGeometry& g, T* gx);
// Copies `rows` rows of `width` elements between buffers with different row pitches.
template <class T>
void copy_rows(const T* src, int64_t src_pitch, T* dst, int64_t dst_pitch, int64_t rows,
               int64_t width);

}  // namespace stablenn
