// core/conv_geometry.h — shape and dtype checks shared by the fast and the naive convolutions
// (chapter 1). Internal to core/: the public API is core/conv.h.
#pragma once
#include <algorithm>

#include "core/parallel.h"
#include "core/tensor.h"

namespace stablenn {

// Chapter 1: the sizes of one convolution, NCHW. out_h/out_w follow the formula in core/conv.h.
struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, kernel_h = 0, kernel_w = 0;
  int64_t stride = 1, padding = 0;
  int64_t out_h = 0, out_w = 0;
  DType dtype = DType::Float32;

  int64_t patch_size() const { return in_channels * kernel_h * kernel_w; }  // rows of im2col
  int64_t in_plane() const { return in_h * in_w; }
  int64_t out_plane() const { return out_h * out_w; }  // columns of im2col
  // A 1x1 kernel with stride 1 and no padding: im2col(x) is x itself, so the copy is skipped.
  bool is_pointwise() const { return kernel_h == 1 && kernel_w == 1 && stride == 1 && padding == 0; }
  // Samples per parallel chunk: enough multiply-adds per thread to pay for starting one.
  int64_t samples_grain() const {
    const int64_t work = std::max<int64_t>(1, out_channels * patch_size() * out_plane());
    return std::max<int64_t>(1, kDefaultGrain / work);
  }
  // The weight adjoint sums over the batch. It is cut into this many fixed chunks (fewer for small
  // batches), each summed in sample order into its own accumulator, and the accumulators are added
  // in chunk order: the result is the same for every thread count and every run.
  int64_t weight_adjoint_chunks() const { return std::min<int64_t>(batch, 8); }
};

// Each checks its arguments (4-D, one float dtype, matching channels, stride >= 1, padding >= 0,
// kernel no larger than the padded input) and throws stablenn::Error naming `op` and the shapes.
ConvGeometry conv_forward_geometry(const char* op, const Tensor& x, const Tensor& w,
                                   const Tensor& bias, int64_t stride, int64_t padding);
ConvGeometry conv_input_adjoint_geometry(const char* op, const Tensor& gy, const Tensor& w,
                                         const Shape& input_hw, int64_t stride, int64_t padding);
ConvGeometry conv_weight_adjoint_geometry(const char* op, const Tensor& x, const Tensor& gy,
                                          const Shape& kernel_hw, int64_t stride, int64_t padding);

}  // namespace stablenn
