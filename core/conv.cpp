// core/conv.cpp — conv2d by im2col + GEMM, and its two adjoints (chapter 1).
//
// Per sample n, with cols = im2col(x[n]) of shape [C*kh*kw, Ho*Wo]:
//   forward          y[n]  (O x HoWo)   = W (O x CKK) * cols                + bias
//   input adjoint    gx[n]              = col2im(W^T (CKK x O) * gy[n] (O x HoWo))
//   weight adjoint   gW    (O x CKK)   += gy[n] (O x HoWo) * cols^T (HoWo x CKK)
// The batch is split over threads, each with its own im2col buffer. Inside our parallel region
// OpenBLAS (OpenMP build) runs single-threaded, so BLAS and our loops share the cores, not fight.
// The naive oracles for all three are in core/conv_naive.cpp.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "core/conv.h"
#include "core/conv_geometry.h"
#include "core/im2col.h"
#include "core/parallel.h"

namespace stablenn {
namespace {

// Row-major C (m x n) = op(A) * op(B) + beta * C, one overload per dtype.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              int(m), int(n), int(k), 1.0f, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              int(m), int(n), int(k), 1.0, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

// Samples per parallel chunk: enough multiply-adds per thread to pay for starting one.
int64_t samples_grain(const ConvGeometry& g) {
  const int64_t work = std::max<int64_t>(1, g.out_channels * g.patch_size() * g.out_plane());
  return std::max<int64_t>(1, kDefaultGrain / work);
}

// The weight adjoint sums over the batch. It is cut into this many fixed chunks (fewer for small
// batches), each summed in sample order into its own accumulator, and the accumulators are added in
// chunk order: the result is the same for every thread count and every run.
constexpr int64_t kWeightAdjointChunks = 8;

template <class T>
void forward_impl(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvGeometry& g,
                  Tensor& y) {
  // x: [N, C, H, W], w: [O, C*kh*kw], bias: [O] or none -> y: [N, O, Ho*Wo]
  const T* x_data = x.data<T>();
  const T* w_data = w.data<T>();
  const T* b_data = bias.defined() ? bias.data<T>() : nullptr;
  T* y_data = y.data<T>();
  const int64_t ckk = g.patch_size(), plane = g.out_plane(), o = g.out_channels;
  parallel_for(0, g.batch, samples_grain(g), [&](int64_t lo, int64_t hi) {
    std::vector<T> cols(g.is_pointwise() ? 0 : ckk * plane);
    for (int64_t n = lo; n < hi; ++n) {
      const T* x_n = x_data + n * g.in_channels * g.in_plane();
      T* y_n = y_data + n * o * plane;
      const T* cols_n = x_n;
      if (!g.is_pointwise()) {
        im2col(x_n, g, cols.data());
        cols_n = cols.data();
      }
      // With a bias, y starts as the bias and the GEMM adds to it (beta = 1), saving a pass.
      if (b_data) {
        for (int64_t oc = 0; oc < o; ++oc) std::fill(y_n + oc * plane, y_n + (oc + 1) * plane, b_data[oc]);
      }
      gemm(false, false, o, plane, ckk, w_data, ckk, cols_n, plane, b_data ? T(1) : T(0), y_n, plane);
    }
  });
}

template <class T>
void input_adjoint_impl(const Tensor& gy, const Tensor& w, const ConvGeometry& g, Tensor& gx) {
  // gy: [N, O, Ho*Wo], w: [O, C*kh*kw] -> gx: [N, C, H, W]
  const T* gy_data = gy.data<T>();
  const T* w_data = w.data<T>();
  T* gx_data = gx.data<T>();
  const int64_t ckk = g.patch_size(), plane = g.out_plane(), o = g.out_channels;
  const int64_t in_size = g.in_channels * g.in_plane();
  parallel_for(0, g.batch, samples_grain(g), [&](int64_t lo, int64_t hi) {
    std::vector<T> cols(g.is_pointwise() ? 0 : ckk * plane);
    for (int64_t n = lo; n < hi; ++n) {
      const T* gy_n = gy_data + n * o * plane;
      T* gx_n = gx_data + n * in_size;
      if (g.is_pointwise()) {  // col2im is the identity: write W^T gy straight into gx
        gemm(true, false, ckk, plane, o, w_data, ckk, gy_n, plane, T(0), gx_n, plane);
        continue;
      }
      gemm(true, false, ckk, plane, o, w_data, ckk, gy_n, plane, T(0), cols.data(), plane);
      std::fill(gx_n, gx_n + in_size, T(0));
      col2im_add(cols.data(), g, gx_n);
    }
  });
}

template <class T>
void weight_adjoint_impl(const Tensor& x, const Tensor& gy, const ConvGeometry& g, Tensor& gw) {
  // x: [N, C, H, W], gy: [N, O, Ho*Wo] -> gw: [O, C*kh*kw]
  const T* x_data = x.data<T>();
  const T* gy_data = gy.data<T>();
  const int64_t ckk = g.patch_size(), plane = g.out_plane(), o = g.out_channels;
  const int64_t chunks = std::min(g.batch, kWeightAdjointChunks);
  std::vector<T> partial(chunks * o * ckk, T(0));  // one accumulator per chunk
  const int64_t grain = std::max<int64_t>(1, samples_grain(g) * chunks / std::max<int64_t>(1, g.batch));
  parallel_for(0, chunks, grain, [&](int64_t lo, int64_t hi) {
    std::vector<T> cols(g.is_pointwise() ? 0 : ckk * plane);
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      T* acc = partial.data() + chunk * o * ckk;
      for (int64_t n = chunk * g.batch / chunks; n < (chunk + 1) * g.batch / chunks; ++n) {
        const T* x_n = x_data + n * g.in_channels * g.in_plane();
        const T* cols_n = x_n;
        if (!g.is_pointwise()) {
          im2col(x_n, g, cols.data());
          cols_n = cols.data();
        }
        gemm(false, true, o, ckk, plane, gy_data + n * o * plane, plane, cols_n, plane, T(1), acc, ckk);
      }
    }
  });
  T* gw_data = gw.data<T>();  // gw starts at zero
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const T* acc = partial.data() + chunk * o * ckk;
    for (int64_t i = 0; i < o * ckk; ++i) gw_data[i] += acc[i];
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
    forward_impl<float>(xc, wc, bc, g, y);
  } else {
    forward_impl<double>(xc, wc, bc, g, y);
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
    input_adjoint_impl<float>(gyc, wc, g, gx);
  } else {
    input_adjoint_impl<double>(gyc, wc, g, gx);
  }
  return gx;
}

Tensor conv2d_weight_adjoint(const Tensor& x, const Tensor& gy, const Shape& kernel_hw,
                             int64_t stride, int64_t padding) {
  const ConvGeometry g =
      conv_weight_adjoint_geometry("conv2d_weight_adjoint", x, gy, kernel_hw, stride, padding);
  const Tensor xc = x.contiguous(), gyc = gy.contiguous();
  Tensor gw = Tensor::zeros({g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}, g.dtype);
  if (g.dtype == DType::Float32) {
    weight_adjoint_impl<float>(xc, gyc, g, gw);
  } else {
    weight_adjoint_impl<double>(xc, gyc, g, gw);
  }
  return gw;
}

}  // namespace stablenn
