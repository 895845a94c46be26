// core/conv.cpp — conv2d and its two adjoints: checks, dispatch, and the im2col + GEMM kernels
// (chapter 1).
//
// Three kernels, all one sample per GEMM step and the batch split over threads:
//  - stride 1 (the common case): shifted GEMMs over a zero-padded sample, core/conv_shifted.cpp;
//  - 1x1 kernel, stride 1, no padding: x[n] already is the column matrix, so plain GEMMs below;
//  - any other stride: im2col + GEMM below, with cols = im2col(x[n]) of shape [C*kh*kw, Ho*Wo]:
//      forward          y[n]  (O x HoWo)   = W (O x CKK) * cols + bias
//      input adjoint    gx[n]              = col2im(W^T (CKK x O) * gy[n] (O x HoWo))
//      weight adjoint   gW^T  (CKK x O)   += cols (CKK x HoWo) * gy[n]^T (HoWo x O)
// Inside our parallel region OpenBLAS (OpenMP build) runs single-threaded, so BLAS and our loops
// share the cores instead of fighting over them. The naive oracles are in core/conv_naive.cpp.
#include <algorithm>
#include <vector>

#include "core/blas_gemm.h"
#include "core/conv.h"
#include "core/conv_geometry.h"
#include "core/conv_shifted.h"
#include "core/im2col.h"
#include "core/parallel.h"

namespace stablenn {
namespace {

bool use_shifted(const ConvGeometry& g) { return g.stride == 1 && !g.is_pointwise(); }

// The column matrix of sample x_n [C, H, W]: x_n itself when pointwise, else im2col into `cols`.
template <class T>
const T* columns_of(const T* x_n, const ConvGeometry& g, std::vector<T>& cols) {
  if (g.is_pointwise()) return x_n;
  cols.resize(g.patch_size() * g.out_plane());
  im2col(x_n, g, cols.data());
  return cols.data();
}

template <class T>
void im2col_forward(const T* x, const T* w, const T* bias, const ConvGeometry& g, T* y) {
  // x: [N, C, H, W], w: [O, C*kh*kw], bias: [O] or nullptr -> y: [N, O, Ho*Wo]
  const int64_t ckk = g.patch_size(), plane = g.out_plane(), o = g.out_channels;
  parallel_for(0, g.batch, g.samples_grain(), [&](int64_t lo, int64_t hi) {
    std::vector<T> cols;
    for (int64_t n = lo; n < hi; ++n) {
      const T* cols_n = columns_of(x + n * g.in_channels * g.in_plane(), g, cols);
      T* y_n = y + n * o * plane;
      // With a bias, y starts as the bias and the GEMM adds to it (beta = 1), saving a pass.
      if (bias) {
        for (int64_t oc = 0; oc < o; ++oc) std::fill(y_n + oc * plane, y_n + (oc + 1) * plane, bias[oc]);
      }
      gemm(false, false, o, plane, ckk, w, ckk, cols_n, plane, bias ? T(1) : T(0), y_n, plane);
    }
  });
}

template <class T>
void im2col_input_adjoint(const T* gy, const T* w, const ConvGeometry& g, T* gx) {
  // gy: [N, O, Ho*Wo], w: [O, C*kh*kw] -> gx: [N, C, H, W]
  const int64_t ckk = g.patch_size(), plane = g.out_plane(), o = g.out_channels;
  const int64_t in_size = g.in_channels * g.in_plane();
  parallel_for(0, g.batch, g.samples_grain(), [&](int64_t lo, int64_t hi) {
    std::vector<T> cols(g.is_pointwise() ? 0 : ckk * plane);
    for (int64_t n = lo; n < hi; ++n) {
      const T* gy_n = gy + n * o * plane;
      T* gx_n = gx + n * in_size;
      if (g.is_pointwise()) {  // col2im is the identity: W^T gy goes straight into gx
        gemm(true, false, ckk, plane, o, w, ckk, gy_n, plane, T(0), gx_n, plane);
        continue;
      }
      gemm(true, false, ckk, plane, o, w, ckk, gy_n, plane, T(0), cols.data(), plane);
      std::fill(gx_n, gx_n + in_size, T(0));
      col2im_add(cols.data(), g, gx_n);
    }
  });
}

template <class T>
void im2col_weight_adjoint(const T* x, const T* gy, const ConvGeometry& g, T* gw) {
  // x: [N, C, H, W], gy: [N, O, Ho*Wo] -> gw: [O, C*kh*kw]
  const int64_t ckk = g.patch_size(), plane = g.out_plane(), o = g.out_channels;
  const int64_t chunks = g.weight_adjoint_chunks();
  // One accumulator per chunk, transposed: gW^T = cols * gy^T runs faster in OpenBLAS than
  // gW = gy * cols^T for these thin shapes.
  std::vector<T> partial(chunks * ckk * o, T(0));
  const int64_t grain = std::max<int64_t>(1, g.samples_grain() * chunks / std::max<int64_t>(1, g.batch));
  parallel_for(0, chunks, grain, [&](int64_t lo, int64_t hi) {
    std::vector<T> cols;
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      T* acc = partial.data() + chunk * ckk * o;
      for (int64_t n = chunk * g.batch / chunks; n < (chunk + 1) * g.batch / chunks; ++n) {
        const T* cols_n = columns_of(x + n * g.in_channels * g.in_plane(), g, cols);
        gemm(false, true, ckk, o, plane, cols_n, plane, gy + n * o * plane, plane, T(1), acc, o);
      }
    }
  });
  std::fill(gw, gw + o * ckk, T(0));
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {  // in chunk order: deterministic
    const T* acc = partial.data() + chunk * ckk * o;
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t r = 0; r < ckk; ++r) gw[oc * ckk + r] += acc[r * o + oc];
  }
}

template <class T>
void forward_any(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvGeometry& g,
                 Tensor& y) {
  const T* b = bias.defined() ? bias.data<T>() : nullptr;
  if (use_shifted(g)) {
    conv_shifted_forward(x.data<T>(), w.data<T>(), b, g, y.data<T>());
  } else {
    im2col_forward(x.data<T>(), w.data<T>(), b, g, y.data<T>());
  }
}

template <class T>
void input_adjoint_any(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx) {
  if (use_shifted(g)) {
    conv_shifted_input_adjoint(gy.data<T>(), w.data<T>(), g, gx.data<T>());
  } else {
    im2col_input_adjoint(gy.data<T>(), w.data<T>(), g, gx.data<T>());
  }
}

template <class T>
void weight_adjoint_any(const Tensor& x, const Tensor& gy, const ConvGeometry& g, Tensor& gw) {
  if (use_shifted(g)) {
    conv_shifted_weight_adjoint(x.data<T>(), gy.data<T>(), g, gw.data<T>());
  } else {
    im2col_weight_adjoint(x.data<T>(), gy.data<T>(), g, gw.data<T>());
  }
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride,
              int64_t padding) {
  const ConvGeometry g = conv_forward_geometry("conv2d", x, w, bias, stride, padding);
  const Tensor xc = x.contiguous(), wc = w.contiguous();
  const Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty({g.batch, g.out_channels, g.out_h, g.out_w}, g.dtype);
  if (g.dtype == DType::Float32) {
    forward_any<float>(xc, wc, bc, g, y);
  } else {
    forward_any<double>(xc, wc, bc, g, y);
  }
  return y;
}

Tensor conv2d_input_adjoint(const Tensor& gy, const Tensor& w, const Shape& input_hw,
                            int64_t stride, int64_t padding) {
  const ConvGeometry g =
      conv_input_adjoint_geometry("conv2d_input_adjoint", gy, w, input_hw, stride, padding);
  const Tensor gyc = gy.contiguous(), wc = w.contiguous();
  Tensor gx = Tensor::empty({g.batch, g.in_channels, g.in_h, g.in_w}, g.dtype);
  if (g.dtype == DType::Float32) {
    input_adjoint_any<float>(gyc, wc, g, gx);
  } else {
    input_adjoint_any<double>(gyc, wc, g, gx);
  }
  return gx;
}

Tensor conv2d_weight_adjoint(const Tensor& x, const Tensor& gy, const Shape& kernel_hw,
                             int64_t stride, int64_t padding) {
  const ConvGeometry g =
      conv_weight_adjoint_geometry("conv2d_weight_adjoint", x, gy, kernel_hw, stride, padding);
  const Tensor xc = x.contiguous(), gyc = gy.contiguous();
  Tensor gw = Tensor::empty({g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}, g.dtype);
  if (g.dtype == DType::Float32) {
    weight_adjoint_any<float>(xc, gyc, g, gw);
  } else {
    weight_adjoint_any<double>(xc, gyc, g, gw);
  }
  return gw;
}

}  // namespace stablenn
