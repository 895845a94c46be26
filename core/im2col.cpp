// core/im2col.cpp — im2col and its adjoint col2im (chapter 1).
//
// Both walk the same index map: kernel offset (c, i, j) and output row oh read input row
// ih = oh*stride - padding + i, and output column ow reads input column iw = ow*stride - padding + j.
// The valid ow form one contiguous range per kernel column j, computed once, so the inner loops have
// no bounds tests: a plain copy (im2col) or add (col2im) over a run of columns, with stride 1 turned
// into memcpy-like, vectorisable loops.
#include "core/im2col.h"

#include <algorithm>

namespace stablenn {
namespace {

// The output columns [begin, end) whose input column ow*stride - padding + kj lies inside [0, W).
struct ColumnRange {
  int64_t begin, end;
};

ColumnRange valid_columns(int64_t kj, const ConvGeometry& g) {
  const int64_t first = g.padding - kj;           // need ow*stride >= first
  const int64_t last = g.in_w - 1 + g.padding - kj;  // need ow*stride <= last
  int64_t begin = first <= 0 ? 0 : (first + g.stride - 1) / g.stride;
  int64_t end = last < 0 ? 0 : std::min(g.out_w, last / g.stride + 1);
  begin = std::min(begin, end);
  return {begin, end};
}

}  // namespace

template <class T>
void im2col(const T* x, const ConvGeometry& g, T* cols) {
  // x: [C, H, W] -> cols: [C*kh*kw, Ho*Wo]
  const int64_t out_plane = g.out_plane();
  for (int64_t c = 0; c < g.in_channels; ++c) {
    const T* x_plane = x + c * g.in_plane();
    for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
      for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
        T* row = cols + ((c * g.kernel_h + ki) * g.kernel_w + kj) * out_plane;
        const ColumnRange valid = valid_columns(kj, g);
        const int64_t run = valid.end - valid.begin;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          T* out = row + oh * g.out_w;
          const int64_t ih = oh * g.stride - g.padding + ki;
          if (ih < 0 || ih >= g.in_h || run == 0) {
            std::fill(out, out + g.out_w, T(0));
            continue;
          }
          std::fill(out, out + valid.begin, T(0));
          std::fill(out + valid.end, out + g.out_w, T(0));
          const T* src = x_plane + ih * g.in_w + (valid.begin * g.stride - g.padding + kj);
          T* dst = out + valid.begin;
          if (g.stride == 1) {
            std::copy(src, src + run, dst);
          } else {
            for (int64_t t = 0; t < run; ++t) dst[t] = src[t * g.stride];
          }
        }
      }
    }
  }
}

template <class T>
void col2im_add(const T* cols, const ConvGeometry& g, T* gx) {
  // cols: [C*kh*kw, Ho*Wo] -> gx: [C, H, W] (accumulated)
  const int64_t out_plane = g.out_plane();
  for (int64_t c = 0; c < g.in_channels; ++c) {
    T* gx_plane = gx + c * g.in_plane();
    for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
      for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
        const T* row = cols + ((c * g.kernel_h + ki) * g.kernel_w + kj) * out_plane;
        const ColumnRange valid = valid_columns(kj, g);
        const int64_t run = valid.end - valid.begin;
        if (run == 0) continue;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t ih = oh * g.stride - g.padding + ki;
          if (ih < 0 || ih >= g.in_h) continue;
          const T* src = row + oh * g.out_w + valid.begin;
          T* dst = gx_plane + ih * g.in_w + (valid.begin * g.stride - g.padding + kj);
          if (g.stride == 1) {
            for (int64_t t = 0; t < run; ++t) dst[t] += src[t];
          } else {
            for (int64_t t = 0; t < run; ++t) dst[t * g.stride] += src[t];
          }
        }
      }
    }
  }
}

template void im2col<float>(const float*, const ConvGeometry&, float*);
template void im2col<double>(const double*, const ConvGeometry&, double*);
template void col2im_add<float>(const float*, const ConvGeometry&, float*);
template void col2im_add<double>(const double*, const ConvGeometry&, double*);

}  // namespace stablenn
