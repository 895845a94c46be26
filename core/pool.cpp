// core/pool.cpp — average and max pooling over k x k windows, and their adjoints (chapter 1).
// Window (oh, ow) covers input rows oh*stride - padding .. + kernel - 1, likewise columns. Every
// (sample, channel) plane is independent, so planes are split over threads and each output element is
// written by exactly one thread: results never depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/conv.h"
#include "core/parallel.h"

namespace stablenn {
namespace {

struct PoolGeometry {
  int64_t planes = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel = 1, stride = 1, padding = 0;
  // Planes per thread chunk: about kDefaultGrain window reads each.
  int64_t grain() const {
    return std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, out_h * out_w * kernel * kernel));
  }
};

void check_float_4d(const char* op, const char* name, const Tensor& t) {
  SNN_CHECK(t.defined(), op, ": ", name, " is undefined");
  SNN_CHECK(t.dim() == 4, op, ": ", name, " must be 4-D [N, C, H, W], got shape ",
            shape_str(t.shape()));
  SNN_CHECK(is_floating(t.dtype()), op, ": ", name, " must be float32 or float64, got ",
            dtype_name(t.dtype()));
}

// Checks kernel/stride/padding against an input of size in_h x in_w and fills the output size.
PoolGeometry pool_geometry(const char* op, int64_t planes, int64_t in_h, int64_t in_w,
                           int64_t kernel, int64_t stride, int64_t padding) {
  SNN_CHECK(kernel >= 1, op, ": kernel must be >= 1, got ", kernel);
  SNN_CHECK(stride >= 1, op, ": stride must be >= 1, got ", stride);
  // As in PyTorch: at most half the window may hang over the edge, so every window sees the input.
  SNN_CHECK(padding >= 0 && padding <= kernel / 2, op, ": padding must be in [0, kernel/2] = [0, ",
            kernel / 2, "], got ", padding);
  SNN_CHECK(in_h >= 1 && in_w >= 1 && kernel <= in_h + 2 * padding && kernel <= in_w + 2 * padding,
            op, ": kernel ", kernel, " is larger than the padded input ",
            shape_str({in_h + 2 * padding, in_w + 2 * padding}), " (input ", shape_str({in_h, in_w}),
            ", padding ", padding, ")");
  PoolGeometry g;
  g.planes = planes, g.in_h = in_h, g.in_w = in_w;
  g.kernel = kernel, g.stride = stride, g.padding = padding;
  g.out_h = (in_h + 2 * padding - kernel) / stride + 1;
  g.out_w = (in_w + 2 * padding - kernel) / stride + 1;
  return g;
}

void check_input_hw(const char* op, const Shape& input_hw) {
  SNN_CHECK(input_hw.size() == 2 && input_hw[0] >= 1 && input_hw[1] >= 1, op,
            ": input_hw must be two positive sizes {h, w}, got ", shape_str(input_hw));
}

void check_gy_matches(const char* op, const Tensor& gy, const PoolGeometry& g,
                      const Shape& input_hw) {
  SNN_CHECK(gy.size(2) == g.out_h && gy.size(3) == g.out_w, op, ": gy ", shape_str(gy.shape()),
            " does not match the output size ", shape_str({g.out_h, g.out_w}), " of input ",
            shape_str(input_hw), " with kernel ", g.kernel, ", stride ", g.stride, ", padding ",
            g.padding);
}

// Calls fn(ih, iw) for every input position of window (oh, ow) that is not padding.
template <class F>
void for_each_in_window(const PoolGeometry& g, int64_t oh, int64_t ow, const F& fn) {
  const int64_t h0 = oh * g.stride - g.padding, w0 = ow * g.stride - g.padding;
  const int64_t h_begin = std::max<int64_t>(h0, 0), h_end = std::min(h0 + g.kernel, g.in_h);
  const int64_t w_begin = std::max<int64_t>(w0, 0), w_end = std::min(w0 + g.kernel, g.in_w);
  for (int64_t ih = h_begin; ih < h_end; ++ih)
    for (int64_t iw = w_begin; iw < w_end; ++iw) fn(ih, iw);
}

template <class T>
void avg_pool_impl(const Tensor& x, const PoolGeometry& g, Tensor& y) {
  // x: [planes, H, W] -> y: [planes, Ho, Wo]; padding counts as zeros in the k*k average
  const T* x_data = x.data<T>();
  T* y_data = y.data<T>();
  const T inv_area = T(1) / T(g.kernel * g.kernel);
  parallel_for(0, g.planes, g.grain(), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* x_plane = x_data + p * g.in_h * g.in_w;
      T* y_plane = y_data + p * g.out_h * g.out_w;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          T sum = 0;
          for_each_in_window(g, oh, ow, [&](int64_t ih, int64_t iw) { sum += x_plane[ih * g.in_w + iw]; });
          y_plane[oh * g.out_w + ow] = sum * inv_area;
        }
    }
  });
}

template <class T>
void avg_pool_adjoint_impl(const Tensor& gy, const PoolGeometry& g, Tensor& gx) {
  // gy: [planes, Ho, Wo] -> gx: [planes, H, W] (starts at zero)
  const T* gy_data = gy.data<T>();
  T* gx_data = gx.data<T>();
  const T inv_area = T(1) / T(g.kernel * g.kernel);
  parallel_for(0, g.planes, g.grain(), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* gy_plane = gy_data + p * g.out_h * g.out_w;
      T* gx_plane = gx_data + p * g.in_h * g.in_w;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const T share = gy_plane[oh * g.out_w + ow] * inv_area;
          for_each_in_window(g, oh, ow, [&](int64_t ih, int64_t iw) { gx_plane[ih * g.in_w + iw] += share; });
        }
    }
  });
}

// The usual "halve the resolution" pool (2x2 windows, stride 2, no padding) with the four
// candidates written out: the same order, ties and NaN rule as the general loop below. The inner
// loop has selects but no branches, so it vectorises; it records which candidate won (0..3) and a
// second loop turns that into the flat index. (The general loop's per-element window bookkeeping
// and unpredictable branches made max pooling a quarter of a small CNN's training time.)
template <class T>
void max_pool_2x2_impl(const T* x_data, const PoolGeometry& g, T* y_data, int64_t* indices) {
  parallel_for(0, g.planes, g.grain(), [&](int64_t lo, int64_t hi) {
    std::vector<int32_t> which(static_cast<size_t>(g.out_w));
    int32_t* w = which.data();
    for (int64_t p = lo; p < hi; ++p) {
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const T* r0 = x_data + p * g.in_h * g.in_w + 2 * oh * g.in_w;
        const T* r1 = r0 + g.in_w;
        T* y_row = y_data + (p * g.out_h + oh) * g.out_w;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const T c[4] = {r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
          T best = c[0];
          int32_t won = 0;
          for (int32_t k = 1; k < 4; ++k) {
            const bool wins = c[k] > best || c[k] != c[k];  // c != c: NaN wins, as in the general loop
            best = wins ? c[k] : best;
            won = wins ? k : won;
          }
          y_row[ow] = best;
          w[ow] = won;
        }
        if (!indices) continue;
        int64_t* index_row = indices + (p * g.out_h + oh) * g.out_w;
        for (int64_t ow = 0; ow < g.out_w; ++ow)
          index_row[ow] = (2 * oh + (w[ow] >> 1)) * g.in_w + 2 * ow + (w[ow] & 1);
      }
    }
  });
}

template <class T>
void max_pool_impl(const Tensor& x, const PoolGeometry& g, Tensor& y, int64_t* indices) {
  // x: [planes, H, W] -> y, indices: [planes, Ho, Wo]; index = ih*W + iw of the window's maximum
  const T* x_data = x.data<T>();
  T* y_data = y.data<T>();
  if (g.kernel == 2 && g.stride == 2 && g.padding == 0) {
    max_pool_2x2_impl(x_data, g, y_data, indices);
    return;
  }
  parallel_for(0, g.planes, g.grain(), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* x_plane = x_data + p * g.in_h * g.in_w;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          T best = -std::numeric_limits<T>::infinity();
          int64_t best_index = -1;
          for_each_in_window(g, oh, ow, [&](int64_t ih, int64_t iw) {
            const T v = x_plane[ih * g.in_w + iw];
            // NaN wins, as in PyTorch, so a NaN input shows in the output instead of vanishing.
            if (best_index < 0 || v > best || std::isnan(v)) best = v, best_index = ih * g.in_w + iw;
          });
          const int64_t out = (p * g.out_h + oh) * g.out_w + ow;
          y_data[out] = best;
          if (indices) indices[out] = best_index;
        }
    }
  });
}

template <class T>
void max_pool_adjoint_impl(const Tensor& gy, const Tensor& indices, const PoolGeometry& g,
                           Tensor& gx) {
  // gy, indices: [planes, Ho, Wo] -> gx: [planes, H, W] (starts at zero)
  const T* gy_data = gy.data<T>();
  const int64_t* index_data = indices.data<int64_t>();
  T* gx_data = gx.data<T>();
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  // Checked before any thread starts, so a bad index throws cleanly instead of writing out of bounds.
  for (int64_t k = 0; k < g.planes * out_plane; ++k) {
    SNN_CHECK(index_data[k] >= 0 && index_data[k] < in_plane, "max_pool2d_adjoint: index ",
              index_data[k], " at position ", k, " is outside the input plane of ", in_plane,
              " elements; pass the indices that max_pool2d returned for this input size");
  }
  parallel_for(0, g.planes, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, out_plane)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t p = lo; p < hi; ++p)
                   for (int64_t k = 0; k < out_plane; ++k)
                     gx_data[p * in_plane + index_data[p * out_plane + k]] += gy_data[p * out_plane + k];
               });
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  check_float_4d("avg_pool2d", "x", x);
  const PoolGeometry g = pool_geometry("avg_pool2d", x.size(0) * x.size(1), x.size(2), x.size(3),
                                       kernel, stride, padding);
  const Tensor xc = x.contiguous();
  Tensor y = Tensor::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.dtype());
  if (x.dtype() == DType::Float32) {
    avg_pool_impl<float>(xc, g, y);
  } else {
    avg_pool_impl<double>(xc, g, y);
  }
  return y;
}

Tensor avg_pool2d_adjoint(const Tensor& gy, const Shape& input_hw, int64_t kernel, int64_t stride,
                          int64_t padding) {
  const char* op = "avg_pool2d_adjoint";
  check_float_4d(op, "gy", gy);
  check_input_hw(op, input_hw);
  const PoolGeometry g = pool_geometry(op, gy.size(0) * gy.size(1), input_hw[0], input_hw[1],
                                       kernel, stride, padding);
  check_gy_matches(op, gy, g, input_hw);
  const Tensor gyc = gy.contiguous();
  Tensor gx = Tensor::zeros({gy.size(0), gy.size(1), g.in_h, g.in_w}, gy.dtype());
  if (gy.dtype() == DType::Float32) {
    avg_pool_adjoint_impl<float>(gyc, g, gx);
  } else {
    avg_pool_adjoint_impl<double>(gyc, g, gx);
  }
  return gx;
}

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding,
                  Tensor* indices) {
  check_float_4d("max_pool2d", "x", x);
  const PoolGeometry g = pool_geometry("max_pool2d", x.size(0) * x.size(1), x.size(2), x.size(3),
                                       kernel, stride, padding);
  const Tensor xc = x.contiguous();
  const Shape out_shape{x.size(0), x.size(1), g.out_h, g.out_w};
  Tensor y = Tensor::empty(out_shape, x.dtype());
  int64_t* index_data = nullptr;
  if (indices) {
    *indices = Tensor::empty(out_shape, DType::Int64);
    index_data = indices->data<int64_t>();
  }
  if (x.dtype() == DType::Float32) {
    max_pool_impl<float>(xc, g, y, index_data);
  } else {
    max_pool_impl<double>(xc, g, y, index_data);
  }
  return y;
}

Tensor max_pool2d_adjoint(const Tensor& gy, const Tensor& indices, const Shape& input_hw) {
  const char* op = "max_pool2d_adjoint";
  check_float_4d(op, "gy", gy);
  check_input_hw(op, input_hw);
  SNN_CHECK(indices.defined() && indices.dtype() == DType::Int64, op,
            ": indices must be the int64 tensor filled by max_pool2d, got ",
            indices.defined() ? dtype_name(indices.dtype()) : "an undefined tensor");
  SNN_CHECK(indices.shape() == gy.shape(), op, ": indices ", shape_str(indices.shape()),
            " and gy ", shape_str(gy.shape()), " must have the same shape");
  PoolGeometry g;  // only the plane sizes matter: the indices already say where each maximum was
  g.planes = gy.size(0) * gy.size(1), g.in_h = input_hw[0], g.in_w = input_hw[1];
  g.out_h = gy.size(2), g.out_w = gy.size(3);
  const Tensor gyc = gy.contiguous(), indices_c = indices.contiguous();
  Tensor gx = Tensor::zeros({gy.size(0), gy.size(1), g.in_h, g.in_w}, gy.dtype());
  if (gy.dtype() == DType::Float32) {
    max_pool_adjoint_impl<float>(gyc, indices_c, g, gx);
  } else {
    max_pool_adjoint_impl<double>(gyc, indices_c, g, gx);
  }
  return gx;
}

}  // namespace stablenn
