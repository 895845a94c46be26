// core/conv_direct.cpp — the direct stride-1 convolution of one padded float32 sample (chapter 1);
// see core/conv_direct.h. The functions that use AVX2 carry a target attribute, so the rest of the
// project still builds for any x86-64 (and other CPUs never call them).
#include "core/conv_direct.h"

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/padded_sample.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define STABLENN_DIRECT_CONV 1
#include <immintrin.h>
// Fully unrolled loops over the rows of a block, so that the accumulator arrays become registers
// (without it GCC kept them on the stack and stored them after every multiply-add: half the speed).
#if defined(__clang__)
#define STABLENN_UNROLL _Pragma("unroll")
#else
#define STABLENN_UNROLL _Pragma("GCC unroll 4")
#endif
#endif

namespace stablenn {

#ifdef STABLENN_DIRECT_CONV

namespace {

constexpr int kLanes = 8;             // floats per AVX register
constexpr int kColumns = 2 * kLanes;  // output columns per block: two registers per output row

// The sizes the kernels read, from the geometry and its padded sample.
struct Sizes {
  int64_t out_channels, in_channels, kernel_h, kernel_w, width, plane, row_length;
  Sizes(const ConvGeometry& g, const PaddedSample& ps)
      : out_channels(g.out_channels), in_channels(g.in_channels), kernel_h(g.kernel_h), kernel_w(g.kernel_w),
        width(ps.width), plane(ps.plane), row_length(ps.row_length) {}
};

// R output rows (channels o0 .. o0+R-1) by kColumns columns starting at p: R*2 accumulators, loaded
// from y, fed by every tap and channel, stored back. R <= 4 keeps them and the operands in the 16
// AVX registers.
template <int R>
__attribute__((target("avx2,fma"))) void accumulate_block(const float* w_taps, const float* xp, const Sizes& s,
                                                          int64_t o0, int64_t p, float* y) {
  const int64_t out_channels = s.out_channels, in_channels = s.in_channels, plane = s.plane;
  const int64_t row_length = s.row_length;
  __m256 lo[R], hi[R];
  STABLENN_UNROLL
  for (int r = 0; r < R; ++r) {
    lo[r] = _mm256_loadu_ps(y + (o0 + r) * row_length + p);
    hi[r] = _mm256_loadu_ps(y + (o0 + r) * row_length + p + kLanes);
  }
  for (int64_t i = 0; i < s.kernel_h; ++i)
    for (int64_t j = 0; j < s.kernel_w; ++j) {
      const float* x_tap = xp + i * s.width + j + p;
      const float* w_tap = w_taps + ((i * s.kernel_w + j) * out_channels + o0) * in_channels;
      for (int64_t c = 0; c < in_channels; ++c) {
        const __m256 x_lo = _mm256_loadu_ps(x_tap + c * plane);
        const __m256 x_hi = _mm256_loadu_ps(x_tap + c * plane + kLanes);
        STABLENN_UNROLL
        for (int r = 0; r < R; ++r) {
          const __m256 w = _mm256_broadcast_ss(w_tap + r * in_channels + c);
          lo[r] = _mm256_fmadd_ps(w, x_lo, lo[r]);
          hi[r] = _mm256_fmadd_ps(w, x_hi, hi[r]);
        }
      }
    }
  STABLENN_UNROLL
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(y + (o0 + r) * row_length + p, lo[r]);
    _mm256_storeu_ps(y + (o0 + r) * row_length + p + kLanes, hi[r]);
  }
}

template <int R>
void accumulate_rows(const float* w_taps, const float* xp, const Sizes& s, int64_t o0, float* y) {
  int64_t p = 0;
  for (; p + kColumns <= s.row_length; p += kColumns) accumulate_block<R>(w_taps, xp, s, o0, p, y);
  for (; p < s.row_length; ++p)  // the last columns of a row length that is not a multiple of 16
    for (int64_t o = o0; o < o0 + R; ++o) {
      float sum = y[o * s.row_length + p];
      for (int64_t i = 0; i < s.kernel_h; ++i)
        for (int64_t j = 0; j < s.kernel_w; ++j)
          for (int64_t c = 0; c < s.in_channels; ++c)
            sum += w_taps[((i * s.kernel_w + j) * s.out_channels + o) * s.in_channels + c] *
                   xp[c * s.plane + i * s.width + j + p];
      y[o * s.row_length + p] = sum;
    }
}

bool disabled_by_environment() {
  const char* value = std::getenv("STABLENN_DIRECT_CONV");
  return value != nullptr && std::string(value) == "0";
}

}  // namespace

bool direct_conv_available() {
  // STABLENN_DIRECT_CONV=0 turns the kernel off, to time the shifted GEMMs against it.
  static const bool available = !disabled_by_environment() && __builtin_cpu_supports("avx2") &&
                                __builtin_cpu_supports("fma");
  return available;
}

void direct_conv_accumulate(const float* w_taps, const float* xp, const ConvGeometry& g, float* y_wide) {
  const Sizes s(g, PaddedSample(g));
  int64_t o0 = 0;
  for (; o0 + 4 <= s.out_channels; o0 += 4) accumulate_rows<4>(w_taps, xp, s, o0, y_wide);
  for (; o0 < s.out_channels; ++o0) accumulate_rows<1>(w_taps, xp, s, o0, y_wide);
}

#else  // not x86-64: the shifted GEMMs do all the work

bool direct_conv_available() { return false; }

void direct_conv_accumulate(const float*, const float*, const ConvGeometry&, float*) {
  SNN_CHECK(false, "direct_conv_accumulate: this CPU has no AVX2 (check direct_conv_available first)");
}

#endif

}  // namespace stablenn
