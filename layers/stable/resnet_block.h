// layers/stable/resnet_block.h — the unconstrained Euler ResNet step, the baseline of chapters 7–9.
//
//     x ↦ x + h·Bσ(Ax + b)
// is one explicit Euler step of ẋ = Bσ(Ax + b). Nothing ties B to A, so nothing keeps the step
// non-expansive: its Lipschitz constant is at most 1 + h‖A‖‖B‖Lip(σ), and a trained network of such
// blocks typically has a product bound in the hundreds or more. (With B = −Aᵀ and h small enough it
// is the gradient step of gradient_step_block.h.) Dense: x [N, d], A: d -> m, B: m -> d.
// Convolutional: x [N, C, H, W], A: C -> m channels and B: m -> C channels, k x k, same padding.
#pragma once
#include <memory>

#include "layers/module.h"
#include "layers/activations.h"
#include "layers/stable/linear_operator.h"
#include "layers/stable/lipschitz_bounded.h"

namespace stablenn {

// Chapter 7: options of the ResNet step.
struct ResNetStepOptions {
  double step = 1.0;  // h
  Activation activation = Activation::leaky_relu(0.1);
  bool bias = true;
};

// Chapter 7: x + h·Bσ(Ax + b). geometry describes A (in = d or C, out = m); B is its mirror image.
class EulerResNetBlock : public Module, public LipschitzBounded {
 public:
  EulerResNetBlock(const MapGeometry& geometry, ResNetStepOptions options = {},
                   Generator& g = default_generator(), DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  // 1 + h·Lip(σ)·‖A‖·‖B‖ with upper bounds of the norms (spectral_norm_upper_bound).
  double lipschitz_bound() override;
  LinearOperator op_a() const { return LinearOperator::from_geometry(geometry, weight_a); }
  LinearOperator op_b() const;
  Var weight_a, bias, weight_b;
  MapGeometry geometry;
  ResNetStepOptions options;
};

// Chapter 7: shorthand constructors.
std::shared_ptr<EulerResNetBlock> dense_resnet_step(int64_t features, int64_t hidden,
                                                    ResNetStepOptions options = {},
                                                    Generator& g = default_generator(),
                                                    DType dtype = DType::Float32);
std::shared_ptr<EulerResNetBlock> conv_resnet_step(int64_t channels, int64_t hidden_channels,
                                                   int64_t height, int64_t width,
                                                   ResNetStepOptions options = {}, int64_t kernel = 3,
                                                   Generator& g = default_generator(),
                                                   DType dtype = DType::Float32);

}  // namespace stablenn
