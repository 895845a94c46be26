// layers/stable/linear_operator.cpp — dense and convolutional maps with their exact adjoints (chapter 7).
#include "layers/stable/linear_operator.h"

namespace stablenn {

MapGeometry MapGeometry::dense(int64_t in_features, int64_t out_features) {
  SNN_CHECK(in_features > 0 && out_features > 0, "MapGeometry::dense: sizes must be positive, got ",
            in_features, " -> ", out_features);
  MapGeometry g;
  g.in = in_features;
  g.out = out_features;
  return g;
}

MapGeometry MapGeometry::convolution(int64_t in_channels, int64_t out_channels, int64_t height,
                                     int64_t width, int64_t kernel) {
  SNN_CHECK(in_channels > 0 && out_channels > 0 && height > 0 && width > 0,
            "MapGeometry::convolution: channels and input size must be positive, got ", in_channels,
            " -> ", out_channels, " at ", height, "x", width);
  SNN_CHECK(kernel > 0 && kernel % 2 == 1, "MapGeometry::convolution: the kernel must be odd (same ",
            "padding keeps the size), got ", kernel);
  MapGeometry g;
  g.conv = true;
  g.in = in_channels;
  g.out = out_channels;
  g.height = height;
  g.width = width;
  g.kernel = kernel;
  return g;
}

Shape MapGeometry::weight_shape() const {
  return conv ? Shape{out, in, kernel, kernel} : Shape{out, in};
}

Shape MapGeometry::sample_shape() const { return conv ? Shape{in, height, width} : Shape{in}; }

std::string MapGeometry::str() const {
  std::string s = std::to_string(in) + " -> " + std::to_string(out);
  if (conv)
    s += ", " + std::to_string(kernel) + "x" + std::to_string(kernel) + " at " +
         std::to_string(height) + "x" + std::to_string(width);
  return s;
}

LinearOperator LinearOperator::dense(const Var& weight) {
  SNN_CHECK(weight.defined() && weight.dim() == 2, "LinearOperator::dense: expected a weight [out, in], got ",
            weight.defined() ? shape_str(weight.shape()) : std::string("an undefined Var"));
  LinearOperator op;
  op.weight_ = weight;
  return op;
}

LinearOperator LinearOperator::convolution(const Var& kernel, int64_t stride, int64_t padding,
                                           int64_t height, int64_t width) {
  SNN_CHECK(kernel.defined() && kernel.dim() == 4,
            "LinearOperator::convolution: expected a kernel [O, C, kh, kw], got ",
            kernel.defined() ? shape_str(kernel.shape()) : std::string("an undefined Var"));
  SNN_CHECK(stride > 0 && padding >= 0 && height > 0 && width > 0,
            "LinearOperator::convolution: invalid stride ", stride, ", padding ", padding,
            " or input size ", height, "x", width);
  SNN_CHECK(height + 2 * padding >= kernel.size(2) && width + 2 * padding >= kernel.size(3),
            "LinearOperator::convolution: kernel ", shape_str(kernel.shape()),
            " does not fit the padded input ", height, "x", width, " (padding ", padding, ")");
  LinearOperator op;
  op.weight_ = kernel;
  op.conv_ = true;
  op.stride_ = stride;
  op.padding_ = padding;
  op.height_ = height;
  op.width_ = width;
  return op;
}

LinearOperator LinearOperator::from_geometry(const MapGeometry& geometry, const Var& weight) {
  SNN_CHECK(weight.defined() && weight.shape() == geometry.weight_shape(),
            "LinearOperator::from_geometry: weight ",
            weight.defined() ? shape_str(weight.shape()) : std::string("undefined"),
            " does not match the geometry (", geometry.str(), "), expected ",
            shape_str(geometry.weight_shape()));
  if (!geometry.conv) return dense(weight);
  return convolution(weight, 1, geometry.padding(), geometry.height, geometry.width);
}

LinearOperator LinearOperator::with_weight(const Var& weight) const {
  SNN_CHECK(weight.defined() && weight_.defined() && weight.shape() == weight_.shape(),
            "LinearOperator::with_weight: expected a weight ", shape_str(weight_.shape()));
  LinearOperator op = *this;
  op.weight_ = weight;
  return op;
}

Shape LinearOperator::input_sample_shape() const {
  if (!conv_) return {weight_.size(1)};
  return {weight_.size(1), height_, width_};
}

Shape LinearOperator::output_sample_shape() const {
  if (!conv_) return {weight_.size(0)};
  const int64_t ho = (height_ + 2 * padding_ - weight_.size(2)) / stride_ + 1;
  const int64_t wo = (width_ + 2 * padding_ - weight_.size(3)) / stride_ + 1;
  return {weight_.size(0), ho, wo};
}

Shape LinearOperator::input_shape(int64_t batch) const {
  Shape s = input_sample_shape();
  s.insert(s.begin(), batch);
  return s;
}

Shape LinearOperator::output_shape(int64_t batch) const {
  Shape s = output_sample_shape();
  s.insert(s.begin(), batch);
  return s;
}

int64_t LinearOperator::input_numel() const { return shape_numel(input_sample_shape()); }
int64_t LinearOperator::output_numel() const { return shape_numel(output_sample_shape()); }

std::string LinearOperator::describe() const {
  if (!conv_) return "dense " + shape_str(weight_.shape());
  return "conv " + shape_str(weight_.shape()) + " stride " + std::to_string(stride_) + " pad " +
         std::to_string(padding_) + " at " + std::to_string(height_) + "x" + std::to_string(width_);
}

namespace {
void check_input(const Shape& got, const Shape& expected_sample, const LinearOperator& op,
                 const char* what) {
  bool ok = got.size() == expected_sample.size() + 1;
  for (size_t i = 0; ok && i < expected_sample.size(); ++i) ok = got[i + 1] == expected_sample[i];
  SNN_CHECK(ok, "LinearOperator (", op.describe(), ")::", what, ": expected [N, ",
            shape_str(expected_sample).substr(1), ", got ", shape_str(got));
}
}  // namespace

Var LinearOperator::apply(const Var& x, const Var& bias) const {
  // x: [N, ...input] -> [N, ...output]
  check_input(x.shape(), input_sample_shape(), *this, "apply");
  if (!conv_) return linear(x, weight_, bias);
  return conv2d(x, weight_, bias, stride_, padding_);
}

Var LinearOperator::adjoint(const Var& y) const {
  // y: [N, ...output] -> [N, ...input]
  check_input(y.shape(), output_sample_shape(), *this, "adjoint");
  if (!conv_) return matmul(y, weight_);
  return conv2d_input_adjoint(y, weight_, {height_, width_}, stride_, padding_);
}

Tensor LinearOperator::apply(const Tensor& x) const {
  check_input(x.shape(), input_sample_shape(), *this, "apply");
  if (!conv_) return matmul(x, weight_.value().t());
  return conv2d(x, weight_.value(), Tensor(), stride_, padding_);
}

Tensor LinearOperator::adjoint(const Tensor& y) const {
  check_input(y.shape(), output_sample_shape(), *this, "adjoint");
  if (!conv_) return matmul(y, weight_.value());
  return conv2d_input_adjoint(y, weight_.value(), {height_, width_}, stride_, padding_);
}

}  // namespace stablenn
