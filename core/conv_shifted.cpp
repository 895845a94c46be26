// core/conv_shifted.cpp — stride-1 convolution as shifted GEMMs over zero-padded samples (chapter 1).
//
// Copy a sample into a zero-bordered buffer xp [C, Hp, Wp] (core/padded_sample.h). Kernel tap (i, j)
// then reads, for output pixel (oh, ow) and channel c, the flat element
// c*Hp*Wp + i*Wp + j + (oh*Wp + ow): for each channel one contiguous run. So the tap's input is a
// matrix X_ij [C x Ho*Wp] with row stride Hp*Wp that BLAS reads in place, and with "wide" output rows
// of Wp columns (the last Wp - Wo of each row are junk) the convolution is a sum over the taps:
//   forward          Y_wide (O x HoWp)   = sum_ij W_ij (O x C) * X_ij
//   input adjoint    GXp_ij (C x HoWp)  += W_ij^T (C x O) * GY_wide (O x HoWp)
//   weight adjoint   GW_ij^T (C x O)    += X_ij * GY_wide^T
// with W_ij = w[:, :, i, j] and GY_wide = gy with zeros in the junk columns, so junk never reaches a
// result (it is dropped in the forward pass, and multiplies zeros in the adjoints). Compared with
// im2col + one GEMM this writes no column matrix and needs no col2im. Samples are split over threads;
// inside our parallel region OpenBLAS runs single-threaded, so BLAS and our loops share the cores
// instead of fighting over them.
//
// In float32 on a CPU with AVX2, with at most 16 channels in and out, the forward pass and the input
// adjoint instead run all taps of a sample in one direct kernel (core/conv_direct.h), faster there.
// The input adjoint is then itself a convolution: gy padded by k-1-p, correlated with the kernel
// rotated by 180 degrees and its channel axes swapped. (A direct kernel for the weight adjoint was
// no faster than the GEMMs.)
#include "core/conv_shifted.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "core/blas_gemm.h"
#include "core/conv_direct.h"
#include "core/padded_sample.h"
#include "core/parallel.h"

namespace stablenn {
namespace {

// w: [O, C, kh, kw] -> taps: [kh*kw, O, C], so that each W_ij is a plain row-major matrix.
template <class T>
std::vector<T> weights_by_tap(const T* w, const ConvGeometry& g) {
  const int64_t taps = g.kernel_h * g.kernel_w, o = g.out_channels, c = g.in_channels;
  std::vector<T> out(taps * o * c);
  for (int64_t oc = 0; oc < o; ++oc)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t t = 0; t < taps; ++t) out[(t * o + oc) * c + ic] = w[(oc * c + ic) * taps + t];
  return out;
}

// Up to this many channels in and out, the direct kernel beat the shifted GEMMs (forward plus input
// adjoint, batch 128, 2 threads: 8 and 16 channels at 14x14 to 32x32 by 3-26 %); from 48 channels
// on, the GEMMs were faster by 7-28 %, and at 32 it went either way.
constexpr int64_t kDirectMaxChannels = 16;

// Whether the direct kernel runs this convolution: float32, few channels, a CPU with AVX2 and FMA.
template <class T>
bool use_direct(const ConvGeometry& g) {
  return std::is_same_v<T, float> && g.in_channels <= kDirectMaxChannels &&
         g.out_channels <= kDirectMaxChannels && direct_conv_available();
}

// y_wide += sum over taps of W_ij * X_ij for one padded sample: the direct kernel or nine GEMMs.
template <class T>
void accumulate_taps(const T* w_taps, const T* xp, const ConvGeometry& g, T* y_wide) {
  if constexpr (std::is_same_v<T, float>) {
    if (use_direct<T>(g)) return direct_conv_accumulate(w_taps, xp, g, y_wide);
  }
  const PaddedSample ps(g);
  const int64_t o = g.out_channels, c = g.in_channels;
  for (int64_t i = 0; i < g.kernel_h; ++i)
    for (int64_t j = 0; j < g.kernel_w; ++j)
      gemm(false, false, o, ps.row_length, c, &w_taps[(i * g.kernel_w + j) * o * c], c, xp + ps.tap_offset(i, j),
           ps.plane, T(1), y_wide, ps.row_length);
}

// The input adjoint as a forward convolution (square kernels with padding p <= k - 1): its input is
// gy [N, O, Ho, Wo] padded by k - 1 - p, its output gx [N, C, H, W], and its kernel [C, O, kh, kw]
// is w rotated by 180 degrees with in and out channels swapped.
ConvGeometry input_adjoint_as_forward(const ConvGeometry& g) {
  ConvGeometry a = g;
  a.in_channels = g.out_channels;
  a.in_h = g.out_h;
  a.in_w = g.out_w;
  a.out_channels = g.in_channels;
  a.out_h = g.in_h;
  a.out_w = g.in_w;
  a.padding = g.kernel_h - 1 - g.padding;
  return a;
}

template <class T>
std::vector<T> rotated_kernel(const T* w, const ConvGeometry& g) {
  // w: [O, C, kh, kw] -> [C, O, kh, kw], taps reversed
  const int64_t kh = g.kernel_h, kw = g.kernel_w, o = g.out_channels, c = g.in_channels;
  std::vector<T> out(c * o * kh * kw);
  for (int64_t oc = 0; oc < o; ++oc)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j)
          out[((ic * o + oc) * kh + (kh - 1 - i)) * kw + (kw - 1 - j)] = w[((oc * c + ic) * kh + i) * kw + j];
  return out;
}

}  // namespace

template <class T>
void conv_shifted_forward(const T* x, const T* w, const T* bias, const ConvGeometry& g, T* y) {
  // x: [N, C, H, W], w: [O, C, kh, kw], bias: [O] or nullptr -> y: [N, O, Ho, Wo]
  const PaddedSample ps(g);
  const std::vector<T> w_taps = weights_by_tap(w, g);
  const int64_t o = g.out_channels, c = g.in_channels, len = ps.row_length;
  parallel_for(0, g.batch, g.samples_grain(), [&](int64_t lo, int64_t hi) {
    std::vector<T> padded(ps.buffer_size, T(0));  // border stays zero: only the interior is written
    std::vector<T> wide(o * len);                  // y_n with Wp columns per output row
    for (int64_t n = lo; n < hi; ++n) {
      pad_sample(x + n * c * g.in_plane(), g, padded.data());
      // The output starts as the bias (or zero) and every tap adds to it.
      for (int64_t oc = 0; oc < o; ++oc) std::fill(&wide[oc * len], &wide[oc * len] + len, bias ? bias[oc] : T(0));
      accumulate_taps(w_taps.data(), padded.data(), g, wide.data());
      copy_rows(wide.data(), ps.width, y + n * o * g.out_plane(), g.out_w, o * g.out_h, g.out_w);
    }
  });
}

template <class T>
void conv_shifted_input_adjoint(const T* gy, const T* w, const ConvGeometry& g, T* gx) {
  // gy: [N, O, Ho, Wo], w: [O, C, kh, kw] -> gx: [N, C, H, W]
  if (use_direct<T>(g) && g.kernel_h == g.kernel_w && g.padding <= g.kernel_h - 1) {
    const std::vector<T> rotated = rotated_kernel(w, g);
    return conv_shifted_forward(gy, rotated.data(), static_cast<const T*>(nullptr), input_adjoint_as_forward(g), gx);
  }
  const PaddedSample ps(g);
  const std::vector<T> w_taps = weights_by_tap(w, g);
  const int64_t o = g.out_channels, c = g.in_channels, len = ps.row_length;
  parallel_for(0, g.batch, g.samples_grain(), [&](int64_t lo, int64_t hi) {
    std::vector<T> padded(ps.buffer_size);  // gx_n with its border, accumulated tap by tap
    std::vector<T> wide(o * len, T(0));     // gy_n with zero junk columns (never written)
    for (int64_t n = lo; n < hi; ++n) {
      copy_rows(gy + n * o * g.out_plane(), g.out_w, wide.data(), ps.width, o * g.out_h, g.out_w);
      std::fill(padded.begin(), padded.end(), T(0));
      for (int64_t i = 0; i < g.kernel_h; ++i)
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          const int64_t tap = i * g.kernel_w + j;
          gemm(true, false, c, len, o, &w_taps[tap * o * c], c, wide.data(), len, T(1),
               padded.data() + ps.tap_offset(i, j), ps.plane);
        }
      unpad_sample(padded.data(), g, gx + n * c * g.in_plane());
    }
  });
}

template <class T>
void conv_shifted_weight_adjoint(const T* x, const T* gy, const ConvGeometry& g, T* gw) {
  // x: [N, C, H, W], gy: [N, O, Ho, Wo] -> gw: [O, C, kh, kw]
  const PaddedSample ps(g);
  const int64_t o = g.out_channels, c = g.in_channels, len = ps.row_length;
  const int64_t taps = g.kernel_h * g.kernel_w, chunks = g.weight_adjoint_chunks();
  // One accumulator [kh*kw, C, O] per chunk of the batch (see weight_adjoint_chunks).
  std::vector<T> partial(chunks * taps * c * o, T(0));
  const int64_t grain = std::max<int64_t>(1, g.samples_grain() * chunks / std::max<int64_t>(1, g.batch));
  parallel_for(0, chunks, grain, [&](int64_t lo, int64_t hi) {
    std::vector<T> padded(ps.buffer_size, T(0));
    std::vector<T> wide(o * len, T(0));
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      T* acc = partial.data() + chunk * taps * c * o;
      for (int64_t n = chunk * g.batch / chunks; n < (chunk + 1) * g.batch / chunks; ++n) {
        pad_sample(x + n * c * g.in_plane(), g, padded.data());
        copy_rows(gy + n * o * g.out_plane(), g.out_w, wide.data(), ps.width, o * g.out_h, g.out_w);
        for (int64_t i = 0; i < g.kernel_h; ++i)
          for (int64_t j = 0; j < g.kernel_w; ++j) {
            const int64_t tap = i * g.kernel_w + j;
            gemm(false, true, c, o, len, padded.data() + ps.tap_offset(i, j), ps.plane, wide.data(),
                 len, T(1), acc + tap * c * o, o);
          }
      }
    }
  });
  std::fill(gw, gw + o * c * taps, T(0));
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const T* acc = partial.data() + chunk * taps * c * o;
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t ic = 0; ic < c; ++ic)
        for (int64_t t = 0; t < taps; ++t) gw[(oc * c + ic) * taps + t] += acc[(t * c + ic) * o + oc];
  }
}

template void conv_shifted_forward<float>(const float*, const float*, const float*, const ConvGeometry&, float*);
template void conv_shifted_forward<double>(const double*, const double*, const double*, const ConvGeometry&,
                                           double*);
template void conv_shifted_input_adjoint<float>(const float*, const float*, const ConvGeometry&, float*);
template void conv_shifted_input_adjoint<double>(const double*, const double*, const ConvGeometry&, double*);
template void conv_shifted_weight_adjoint<float>(const float*, const float*, const ConvGeometry&, float*);
template void conv_shifted_weight_adjoint<double>(const double*, const double*, const ConvGeometry&, double*);

}  // namespace stablenn
