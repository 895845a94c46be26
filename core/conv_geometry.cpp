// core/conv_geometry.cpp — the checks behind core/conv_geometry.h (chapter 1).
#include "core/conv_geometry.h"

#include <climits>

namespace stablenn {
namespace {

void check_4d(const char* op, const char* name, const Tensor& t, const char* layout) {
  SNN_CHECK(t.defined(), op, ": ", name, " is undefined");
  SNN_CHECK(t.dim() == 4, op, ": ", name, " must be 4-D ", layout, ", got shape ",
            shape_str(t.shape()));
}

void check_same_float_dtype(const char* op, const char* name_a, const Tensor& a,
                            const char* name_b, const Tensor& b) {
  SNN_CHECK(is_floating(a.dtype()), op, ": ", name_a, " must be float32 or float64, got ",
            dtype_name(a.dtype()));
  SNN_CHECK(a.dtype() == b.dtype(), op, ": ", name_a, " is ", dtype_name(a.dtype()), " but ",
            name_b, " is ", dtype_name(b.dtype()), "; convert one with .to() so they match");
}

void check_pair(const char* op, const char* name, const Shape& hw) {
  SNN_CHECK(hw.size() == 2 && hw[0] >= 1 && hw[1] >= 1, op, ": ", name,
            " must be two positive sizes {h, w}, got ", shape_str(hw));
}

// Fills out_h/out_w from the input size, kernel, stride and padding, after checking them.
void set_output_size(const char* op, ConvGeometry& g) {
  SNN_CHECK(g.stride >= 1, op, ": stride must be >= 1, got ", g.stride);
  SNN_CHECK(g.padding >= 0, op, ": padding must be >= 0, got ", g.padding);
  SNN_CHECK(g.in_channels >= 1 && g.out_channels >= 1 && g.in_h >= 1 && g.in_w >= 1,
            op, ": channels and spatial sizes must be positive (input ",
            shape_str({g.batch, g.in_channels, g.in_h, g.in_w}), ", ", g.out_channels,
            " output channels)");
  const int64_t padded_h = g.in_h + 2 * g.padding, padded_w = g.in_w + 2 * g.padding;
  SNN_CHECK(g.kernel_h <= padded_h && g.kernel_w <= padded_w, op, ": kernel ",
            shape_str({g.kernel_h, g.kernel_w}), " is larger than the padded input ",
            shape_str({padded_h, padded_w}), " (input ", shape_str({g.in_h, g.in_w}),
            ", padding ", g.padding, ")");
  g.out_h = (padded_h - g.kernel_h) / g.stride + 1;
  g.out_w = (padded_w - g.kernel_w) / g.stride + 1;
  // The GEMMs take int sizes and leading dimensions; one sample's matrices must fit.
  const int64_t padded_sample = g.in_channels * padded_h * padded_w;
  SNN_CHECK(g.patch_size() * g.out_plane() <= INT_MAX && g.out_channels * g.out_plane() <= INT_MAX &&
                padded_sample <= INT_MAX / 2,
            op, ": one sample is too large for the GEMM buffers (", g.patch_size(), " x ",
            g.out_plane(), ")");
}

}  // namespace

ConvGeometry conv_forward_geometry(const char* op, const Tensor& x, const Tensor& w,
                                   const Tensor& bias, int64_t stride, int64_t padding) {
  check_4d(op, "x", x, "[N, C, H, W]");
  check_4d(op, "w", w, "[O, C, kh, kw]");
  check_same_float_dtype(op, "x", x, "w", w);
  SNN_CHECK(x.size(1) == w.size(1), op, ": x has ", x.size(1), " channels (shape ",
            shape_str(x.shape()), ") but w expects ", w.size(1), " (shape ", shape_str(w.shape()),
            ")");
  if (bias.defined()) {
    check_same_float_dtype(op, "bias", bias, "x", x);
    SNN_CHECK(bias.dim() == 1 && bias.size(0) == w.size(0), op, ": bias must have shape [",
              w.size(0), "] (one per output channel of w ", shape_str(w.shape()), "), got ",
              shape_str(bias.shape()));
  }
  ConvGeometry g;
  g.batch = x.size(0), g.in_channels = x.size(1), g.in_h = x.size(2), g.in_w = x.size(3);
  g.out_channels = w.size(0), g.kernel_h = w.size(2), g.kernel_w = w.size(3);
  g.stride = stride, g.padding = padding, g.dtype = x.dtype();
  set_output_size(op, g);
  return g;
}

ConvGeometry conv_input_adjoint_geometry(const char* op, const Tensor& gy, const Tensor& w,
                                         const Shape& input_hw, int64_t stride, int64_t padding) {
  check_4d(op, "gy", gy, "[N, O, Ho, Wo]");
  check_4d(op, "w", w, "[O, C, kh, kw]");
  check_same_float_dtype(op, "gy", gy, "w", w);
  check_pair(op, "input_hw", input_hw);
  SNN_CHECK(gy.size(1) == w.size(0), op, ": gy has ", gy.size(1), " channels (shape ",
            shape_str(gy.shape()), ") but w has ", w.size(0), " output channels (shape ",
            shape_str(w.shape()), ")");
  ConvGeometry g;
  g.batch = gy.size(0), g.in_channels = w.size(1), g.in_h = input_hw[0], g.in_w = input_hw[1];
  g.out_channels = w.size(0), g.kernel_h = w.size(2), g.kernel_w = w.size(3);
  g.stride = stride, g.padding = padding, g.dtype = gy.dtype();
  set_output_size(op, g);
  SNN_CHECK(gy.size(2) == g.out_h && gy.size(3) == g.out_w, op, ": gy ", shape_str(gy.shape()),
            " does not match the output size ", shape_str({g.out_h, g.out_w}), " of input ",
            shape_str(input_hw), " with kernel ", shape_str({g.kernel_h, g.kernel_w}), ", stride ",
            stride, ", padding ", padding);
  return g;
}

ConvGeometry conv_weight_adjoint_geometry(const char* op, const Tensor& x, const Tensor& gy,
                                          const Shape& kernel_hw, int64_t stride, int64_t padding) {
  check_4d(op, "x", x, "[N, C, H, W]");
  check_4d(op, "gy", gy, "[N, O, Ho, Wo]");
  check_same_float_dtype(op, "x", x, "gy", gy);
  check_pair(op, "kernel_hw", kernel_hw);
  SNN_CHECK(x.size(0) == gy.size(0), op, ": x ", shape_str(x.shape()), " and gy ",
            shape_str(gy.shape()), " have different batch sizes");
  ConvGeometry g;
  g.batch = x.size(0), g.in_channels = x.size(1), g.in_h = x.size(2), g.in_w = x.size(3);
  g.out_channels = gy.size(1), g.kernel_h = kernel_hw[0], g.kernel_w = kernel_hw[1];
  g.stride = stride, g.padding = padding, g.dtype = x.dtype();
  set_output_size(op, g);
  SNN_CHECK(gy.size(2) == g.out_h && gy.size(3) == g.out_w, op, ": gy ", shape_str(gy.shape()),
            " does not match the output size ", shape_str({g.out_h, g.out_w}), " of x ",
            shape_str(x.shape()), " with kernel ", shape_str(kernel_hw), ", stride ", stride,
            ", padding ", padding);
  return g;
}

}  // namespace stablenn
