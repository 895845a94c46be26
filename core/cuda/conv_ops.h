// core/cuda/conv_ops.h — the per-element bodies of the direct convolution, its two adjoints and
// pooling (chapter 12).
//
// One output element per call, so a kernel runs one thread per element with no atomics and no
// scratch memory: simple and deterministic, the reference the faster GPU paths are checked against.
// SNN_HOST_DEVICE, so tests/ch12_cuda_host_test.cpp checks every body on the CPU against core/conv.h.
// Layout NCHW, sizes as core/conv.h defines them.
#pragma once
#include <cstdint>

#include "core/cuda/host_device.h"

namespace stablenn::cuda {

// Chapter 12: the sizes of one convolution (or pooling, with in_channels = out_channels = planes).
struct ConvShape {
  int64_t batch, in_channels, in_h, in_w, out_channels, kernel_h, kernel_w, stride, padding;
  SNN_HOST_DEVICE int64_t out_h() const { return (in_h + 2 * padding - kernel_h) / stride + 1; }
  SNN_HOST_DEVICE int64_t out_w() const { return (in_w + 2 * padding - kernel_w) / stride + 1; }
};

// Chapter 12: element `index` (flat, [N, O, Ho, Wo]) of conv2d(x, w) + bias; bias may be null.
template <class T>
SNN_HOST_DEVICE inline T conv2d_output_element(const T* x, const T* w, const T* bias,
                                               const ConvShape& s, int64_t index) {
  const int64_t ow = s.out_w(), oh = s.out_h();
  const int64_t j = index % ow, i = (index / ow) % oh;
  const int64_t o = (index / (ow * oh)) % s.out_channels, b = index / (ow * oh * s.out_channels);
  T acc = bias ? bias[o] : T(0);
  for (int64_t c = 0; c < s.in_channels; ++c) {
    const T* xp = x + (b * s.in_channels + c) * s.in_h * s.in_w;
    const T* wp = w + (o * s.in_channels + c) * s.kernel_h * s.kernel_w;
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      const int64_t h = i * s.stride - s.padding + p;
      if (h < 0 || h >= s.in_h) continue;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const int64_t v = j * s.stride - s.padding + q;
        if (v < 0 || v >= s.in_w) continue;
        acc += xp[h * s.in_w + v] * wp[p * s.kernel_w + q];
      }
    }
  }
  return acc;
}

// Chapter 12: element `index` (flat, [N, C, H, W]) of the input adjoint (the transposed
// convolution) of gy [N, O, Ho, Wo] with w [O, C, kh, kw]: the sum over the outputs whose window
// covers input pixel (h, v), gathered rather than scattered so no two threads write one element.
template <class T>
SNN_HOST_DEVICE inline T conv2d_input_adjoint_element(const T* gy, const T* w, const ConvShape& s,
                                                      int64_t index) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  const int64_t v = index % s.in_w, h = (index / s.in_w) % s.in_h;
  const int64_t c = (index / (s.in_w * s.in_h)) % s.in_channels;
  const int64_t b = index / (s.in_w * s.in_h * s.in_channels);
  T acc = T(0);
  for (int64_t o = 0; o < s.out_channels; ++o) {
    const T* gp = gy + (b * s.out_channels + o) * oh * ow;
    const T* wp = w + (o * s.in_channels + c) * s.kernel_h * s.kernel_w;
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      const int64_t hh = h + s.padding - p;  // = i * stride for the output row i that uses (h, p)
      if (hh < 0 || hh % s.stride != 0 || hh / s.stride >= oh) continue;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const int64_t vv = v + s.padding - q;
        if (vv < 0 || vv % s.stride != 0 || vv / s.stride >= ow) continue;
        acc += gp[(hh / s.stride) * ow + vv / s.stride] * wp[p * s.kernel_w + q];
      }
    }
  }
  return acc;
}

// Chapter 12: element `index` (flat, [O, C, kh, kw]) of the weight adjoint: the sum over the batch
// and the output positions of gy times the input pixel under kernel tap (p, q).
template <class T>
SNN_HOST_DEVICE inline T conv2d_weight_adjoint_element(const T* x, const T* gy, const ConvShape& s,
                                                       int64_t index) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  const int64_t q = index % s.kernel_w, p = (index / s.kernel_w) % s.kernel_h;
  const int64_t c = (index / (s.kernel_w * s.kernel_h)) % s.in_channels;
  const int64_t o = index / (s.kernel_w * s.kernel_h * s.in_channels);
  T acc = T(0);
  for (int64_t b = 0; b < s.batch; ++b) {
    const T* xp = x + (b * s.in_channels + c) * s.in_h * s.in_w;
    const T* gp = gy + (b * s.out_channels + o) * oh * ow;
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t h = i * s.stride - s.padding + p;
      if (h < 0 || h >= s.in_h) continue;
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t v = j * s.stride - s.padding + q;
        if (v < 0 || v >= s.in_w) continue;
        acc += gp[i * ow + j] * xp[h * s.in_w + v];
      }
    }
  }
  return acc;
}

// Chapter 12: element `index` (flat, [N, C, Ho, Wo]) of average pooling; padding counts in the
// average (PyTorch's count_include_pad=True, as core/conv.h). Uses kernel_h = kernel_w = k and
// in_channels = out_channels = C.
template <class T>
SNN_HOST_DEVICE inline T avg_pool2d_element(const T* x, const ConvShape& s, int64_t index) {
  const int64_t ow = s.out_w(), oh = s.out_h();
  const int64_t j = index % ow, i = (index / ow) % oh, plane = index / (ow * oh);
  const T* xp = x + plane * s.in_h * s.in_w;
  T acc = T(0);
  for (int64_t p = 0; p < s.kernel_h; ++p) {
    const int64_t h = i * s.stride - s.padding + p;
    if (h < 0 || h >= s.in_h) continue;
    for (int64_t q = 0; q < s.kernel_w; ++q) {
      const int64_t v = j * s.stride - s.padding + q;
      if (v >= 0 && v < s.in_w) acc += xp[h * s.in_w + v];
    }
  }
  return acc / T(s.kernel_h * s.kernel_w);
}

// Chapter 12: element `index` of max pooling and, in *argmax, the flat position h * W + w of the
// first maximum in its input plane. Padding never wins; NaN does (as PyTorch and core/pool.cpp).
template <class T>
SNN_HOST_DEVICE inline T max_pool2d_element(const T* x, const ConvShape& s, int64_t index,
                                            int64_t* argmax) {
  const int64_t ow = s.out_w(), oh = s.out_h();
  const int64_t j = index % ow, i = (index / ow) % oh, plane = index / (ow * oh);
  const T* xp = x + plane * s.in_h * s.in_w;
  T best = T(0);
  int64_t best_index = -1;
  for (int64_t p = 0; p < s.kernel_h; ++p) {
    const int64_t h = i * s.stride - s.padding + p;
    if (h < 0 || h >= s.in_h) continue;
    for (int64_t q = 0; q < s.kernel_w; ++q) {
      const int64_t v = j * s.stride - s.padding + q;
      if (v < 0 || v >= s.in_w) continue;
      const T value = xp[h * s.in_w + v];
      if (best_index < 0 || value > best || value != value) {
        best = value;
        best_index = h * s.in_w + v;
      }
    }
  }
  if (argmax) *argmax = best_index;
  return best;
}

}  // namespace stablenn::cuda
