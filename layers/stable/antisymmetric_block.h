// layers/stable/antisymmetric_block.h — the antisymmetric block of Haber & Ruthotto ("Stable architectures
// for deep neural networks", Inverse Problems 2017) (chapter 9).
//
//     x ↦ x + h σ(Kx + b),   K = ½(W − Wᵀ) − γI
// ½(W − Wᵀ) is skew-symmetric, so its eigenvalues are purely imaginary: the linearised ODE
// ẋ = σ'(·)Kx neither blows up nor dies out (γ > 0 adds a little damping, which forward Euler
// needs: its stability region does not contain the imaginary axis, so h must be small compared to
// γ/‖K‖²). Dense: W [d, d]; convolutional: K x = ½(conv(x, W) − convᵀ(x, W)) − γx with W [C, C, k, k],
// where convᵀ is the exact adjoint at the input size (so ½(A − Aᵀ) is skew-symmetric as an operator).
#pragma once
#include "layers/module.h"
#include "layers/activations.h"
#include "layers/stable/linear_operator.h"
#include "layers/stable/lipschitz_bounded.h"

namespace stablenn {

// Chapter 9: options of the antisymmetric block.
struct AntisymmetricOptions {
  double step = 0.1;     // h
  double damping = 0.01; // γ
  Activation activation = Activation::tanh();
  bool bias = true;
};

// Chapter 9: x + h σ(Kx + b). x: [N, ...sample] -> same.
class AntisymmetricBlock : public Module, public LipschitzBounded {
 public:
  AntisymmetricBlock(const MapGeometry& geometry, AntisymmetricOptions options = {},
                     Generator& g = default_generator(), DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  // 1 + h·Lip(σ)·‖K‖, with ‖K‖ <= ‖W‖ + γ (exact SVD of K for dense maps).
  double lipschitz_bound() override;
  // K x (no bias), on the tape.
  Var apply_k(const Var& x) const;
  LinearOperator op() const { return LinearOperator::from_geometry(geometry, weight); }
  Var weight, bias;
  MapGeometry geometry;
  AntisymmetricOptions options;
};

}  // namespace stablenn
