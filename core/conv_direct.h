// core/conv_direct.h — the stride-1 convolution of one zero-padded float32 sample as a direct,
// register-blocked loop over all kernel taps at once (chapter 1). Internal to core/: used by
// core/conv_shifted.cpp for up to 16 channels when the CPU has AVX2 and FMA; the shifted GEMMs remain
// the path for more channels, for float64 and for other CPUs, and core/conv_naive.cpp is the
// reference both are tested against.
//
// Why: with few channels (chapter 10's field has 16 in and 16 out) each of the nine shifted GEMMs
// is 16 x 224 x 16, so small that OpenBLAS's packing copies took a third of its time (chapter 10's
// profile: 17 % of the epoch against 37 % in its multiply kernel).
// Here the padded sample (16 KB) stays in L1, 16 pixels of 4 output channels live in registers
// while all taps and channels are summed into them, and nothing is copied.
#pragma once
#include "core/conv_geometry.h"

namespace stablenn {

// Chapter 1: whether this CPU can run direct_conv_accumulate (x86-64 with AVX2 and FMA; asked once),
// and STABLENN_DIRECT_CONV=0 does not turn it off (to time the shifted GEMMs against it).
bool direct_conv_available();

// Chapter 1: y_wide[o, p] += sum over taps (i, j) and channels c of
//   w_taps[((i*kw + j)*O + o)*C + c] * xp[c*plane + i*width + j + p],   for p < row_length,
// with plane, width and row_length those of PaddedSample(g): xp is one padded sample [C, Hp, Wp] (plus
// its slack), y_wide one output sample [O, Ho, Wp] whose last Wp - Wo columns per row are junk.
// Only g's channels, kernel and spatial sizes are read. Needs direct_conv_available().
void direct_conv_accumulate(const float* w_taps, const float* xp, const ConvGeometry& g, float* y_wide);

}  // namespace stablenn
