// core/padded_sample.cpp — copying samples into and out of zero-bordered buffers (chapter 1).
#include "core/padded_sample.h"

namespace stablenn {

template <class T>
void copy_rows(const T* src, int64_t src_pitch, T* dst, int64_t dst_pitch, int64_t rows,
               int64_t width) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* s = src + r * src_pitch;
    T* d = dst + r * dst_pitch;
    for (int64_t t = 0; t < width; ++t) d[t] = s[t];
  }
}

template <class T>
void pad_sample(const T* x, const ConvGeometry& g, T* xp) {
  // x: [C, H, W] -> xp: [C, H+2p, W+2p] (interior)
  const PaddedSample ps(g);
  const int64_t corner = ps.tap_offset(g.padding, g.padding);
  for (int64_t c = 0; c < g.in_channels; ++c)
    copy_rows(x + c * g.in_plane(), g.in_w, xp + c * ps.plane + corner, ps.width, g.in_h, g.in_w);
}

template <class T>
void unpad_sample(const T* gxp, const ConvGeometry& g, T* gx) {
  // gxp: [C, H+2p, W+2p] (interior) -> gx: [C, H, W]
  const PaddedSample ps(g);
  const int64_t corner = ps.tap_offset(g.padding, g.padding);
  for (int64_t c = 0; c < g.in_channels; ++c)
    copy_rows(gxp + c * ps.plane + corner, ps.width, gx + c * g.in_plane(), g.in_w, g.in_h, g.in_w);
}

template void copy_rows<float>(const float*, int64_t, float*, int64_t, int64_t, int64_t);
template void copy_rows<double>(const double*, int64_t, double*, int64_t, int64_t, int64_t);
template void pad_sample<float>(const float*, const ConvGeometry&, float*);
template void pad_sample<double>(const double*, const ConvGeometry&, double*);
template void unpad_sample<float>(const float*, const ConvGeometry&, float*);
template void unpad_sample<double>(const double*, const ConvGeometry&, double*);

}  // namespace stablenn
