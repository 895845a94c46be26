// core/conv_naive.cpp — direct-loop convolution and its adjoints, accumulating in double (chapter 1).
// These are the test oracles for core/conv.cpp: written straight from the definition
//   y[n, o, oh, ow] = bias[o] + sum_{c, i, j} x[n, c, oh*s - p + i, ow*s - p + j] * w[o, c, i, j]
// (terms in the padding are zero), and the adjoints as the same sum with the roles swapped.
// Slow on purpose; no blocking, no threads.
#include <vector>

#include "core/conv.h"
#include "core/conv_geometry.h"

namespace stablenn {
namespace {

// Calls fn(n, o, oh, ow, c, i, j, input_index) for every term of the convolution sum that lies
// inside the input; input_index is the flat index of x[n, c, ih, iw].
template <class F>
void for_each_term(const ConvGeometry& g, const F& fn) {
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t o = 0; o < g.out_channels; ++o)
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow)
          for (int64_t c = 0; c < g.in_channels; ++c)
            for (int64_t i = 0; i < g.kernel_h; ++i)
              for (int64_t j = 0; j < g.kernel_w; ++j) {
                const int64_t ih = oh * g.stride - g.padding + i;
                const int64_t iw = ow * g.stride - g.padding + j;
                if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
                fn(n, o, oh, ow, c, i, j, ((n * g.in_channels + c) * g.in_h + ih) * g.in_w + iw);
              }
}

int64_t output_index(const ConvGeometry& g, int64_t n, int64_t o, int64_t oh, int64_t ow) {
  return ((n * g.out_channels + o) * g.out_h + oh) * g.out_w + ow;
}
int64_t weight_index(const ConvGeometry& g, int64_t o, int64_t c, int64_t i, int64_t j) {
  return ((o * g.in_channels + c) * g.kernel_h + i) * g.kernel_w + j;
}

// The values of a tensor, in row-major order, as doubles.
template <class T>
std::vector<double> as_doubles(const Tensor& t) {
  const Tensor tc = t.contiguous();
  const T* data = tc.data<T>();
  return std::vector<double>(data, data + tc.numel());
}

template <class T>
Tensor from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  Tensor out = Tensor::empty(shape, dtype);
  T* data = out.data<T>();
  for (size_t k = 0; k < values.size(); ++k) data[k] = static_cast<T>(values[k]);
  return out;
}

template <class T>
Tensor forward_naive(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvGeometry& g) {
  // x: [N, C, H, W], w: [O, C, kh, kw], bias: [O] or none -> y: [N, O, Ho, Wo]
  const std::vector<double> xv = as_doubles<T>(x), wv = as_doubles<T>(w);
  const std::vector<double> bv = bias.defined() ? as_doubles<T>(bias) : std::vector<double>();
  std::vector<double> y(g.batch * g.out_channels * g.out_plane(), 0.0);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t o = 0; o < g.out_channels; ++o)
      for (int64_t k = 0; k < g.out_plane(); ++k)
        y[(n * g.out_channels + o) * g.out_plane() + k] = bv.empty() ? 0.0 : bv[o];
  for_each_term(g, [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t c, int64_t i, int64_t j,
                       int64_t x_index) {
    y[output_index(g, n, o, oh, ow)] += xv[x_index] * wv[weight_index(g, o, c, i, j)];
  });
  return from_doubles<T>(y, {g.batch, g.out_channels, g.out_h, g.out_w}, g.dtype);
}

template <class T>
Tensor input_adjoint_naive(const Tensor& gy, const Tensor& w, const ConvGeometry& g) {
  // gy: [N, O, Ho, Wo], w: [O, C, kh, kw] -> gx: [N, C, H, W]
  const std::vector<double> gyv = as_doubles<T>(gy), wv = as_doubles<T>(w);
  std::vector<double> gx(g.batch * g.in_channels * g.in_plane(), 0.0);
  for_each_term(g, [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t c, int64_t i, int64_t j,
                       int64_t x_index) {
    gx[x_index] += gyv[output_index(g, n, o, oh, ow)] * wv[weight_index(g, o, c, i, j)];
  });
  return from_doubles<T>(gx, {g.batch, g.in_channels, g.in_h, g.in_w}, g.dtype);
}

template <class T>
Tensor weight_adjoint_naive(const Tensor& x, const Tensor& gy, const ConvGeometry& g) {
  // x: [N, C, H, W], gy: [N, O, Ho, Wo] -> gw: [O, C, kh, kw]
  const std::vector<double> xv = as_doubles<T>(x), gyv = as_doubles<T>(gy);
  std::vector<double> gw(g.out_channels * g.patch_size(), 0.0);
  for_each_term(g, [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t c, int64_t i, int64_t j,
                       int64_t x_index) {
    gw[weight_index(g, o, c, i, j)] += gyv[output_index(g, n, o, oh, ow)] * xv[x_index];
  });
  return from_doubles<T>(gw, {g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}, g.dtype);
}

}  // namespace

Tensor conv2d_naive(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride,
                    int64_t padding) {
  const ConvGeometry g = conv_forward_geometry("conv2d_naive", x, w, bias, stride, padding);
  return g.dtype == DType::Float32 ? forward_naive<float>(x, w, bias, g)
                                   : forward_naive<double>(x, w, bias, g);
}

Tensor conv2d_input_adjoint_naive(const Tensor& gy, const Tensor& w, const Shape& input_hw,
                                  int64_t stride, int64_t padding) {
  const ConvGeometry g =
      conv_input_adjoint_geometry("conv2d_input_adjoint_naive", gy, w, input_hw, stride, padding);
  return g.dtype == DType::Float32 ? input_adjoint_naive<float>(gy, w, g)
                                   : input_adjoint_naive<double>(gy, w, g);
}

Tensor conv2d_weight_adjoint_naive(const Tensor& x, const Tensor& gy, const Shape& kernel_hw,
                                   int64_t stride, int64_t padding) {
  const ConvGeometry g =
      conv_weight_adjoint_geometry("conv2d_weight_adjoint_naive", x, gy, kernel_hw, stride, padding);
  return g.dtype == DType::Float32 ? weight_adjoint_naive<float>(x, gy, g)
                                   : weight_adjoint_naive<double>(x, gy, g);
}

}  // namespace stablenn
