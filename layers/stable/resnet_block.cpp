// layers/stable/resnet_block.cpp — the unconstrained Euler ResNet step (chapter 7).
#include "layers/stable/resnet_block.h"

#include <cmath>

#include "layers/init.h"
#include "layers/stable/spectral_norm.h"

namespace stablenn {

namespace {
// B's geometry: A's mirror image (m -> d, same kernel and input size).
MapGeometry mirror(const MapGeometry& a) {
  if (!a.conv) return MapGeometry::dense(a.out, a.in);
  return MapGeometry::convolution(a.out, a.in, a.height, a.width, a.kernel);
}
}  // namespace

EulerResNetBlock::EulerResNetBlock(const MapGeometry& geometry_, ResNetStepOptions options_,
                                   Generator& g, DType dtype)
    : geometry(geometry_), options(std::move(options_)) {
  SNN_CHECK(options.step > 0, "EulerResNetBlock: the step h must be positive, got ", options.step);
  const MapGeometry b_geometry = mirror(geometry);
  weight_a = register_parameter("weight_a", kaiming_uniform(geometry.weight_shape(), g, std::sqrt(5.0), dtype));
  if (options.bias) {
    const double bound = 1 / std::sqrt(double(geometry.fan_in()));
    bias = register_parameter("bias", g.uniform({geometry.out}, -bound, bound, dtype));
  }
  weight_b = register_parameter("weight_b", kaiming_uniform(b_geometry.weight_shape(), g, std::sqrt(5.0), dtype));
}

LinearOperator EulerResNetBlock::op_b() const {
  return LinearOperator::from_geometry(mirror(geometry), weight_b);
}

Var EulerResNetBlock::forward(const Var& x) {
  // x: [N, ...sample] -> [N, ...sample]
  const Var inner = options.activation.apply(op_a().apply(x, bias));
  return axpy(x, op_b().apply(inner), options.step);  // x + h·B(inner), one pass
}

std::string EulerResNetBlock::describe() const {
  std::string h = std::to_string(options.step);
  return "EulerResNet(" + geometry.str() + ", " + options.activation.name() + ", h " +
         h.substr(0, h.find('.') + 3) + ")";
}

double EulerResNetBlock::lipschitz_bound() {
  return 1.0 + options.step * options.activation.lipschitz() * spectral_norm_upper_bound(op_a()) *
                   spectral_norm_upper_bound(op_b());
}

std::shared_ptr<EulerResNetBlock> dense_resnet_step(int64_t features, int64_t hidden,
                                                    ResNetStepOptions options, Generator& g,
                                                    DType dtype) {
  return std::make_shared<EulerResNetBlock>(MapGeometry::dense(features, hidden), std::move(options),
                                            g, dtype);
}

std::shared_ptr<EulerResNetBlock> conv_resnet_step(int64_t channels, int64_t hidden_channels,
                                                   int64_t height, int64_t width,
                                                   ResNetStepOptions options, int64_t kernel,
                                                   Generator& g, DType dtype) {
  return std::make_shared<EulerResNetBlock>(
      MapGeometry::convolution(channels, hidden_channels, height, width, kernel), std::move(options),
      g, dtype);
}

}  // namespace stablenn
