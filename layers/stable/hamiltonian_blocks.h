// layers/stable/hamiltonian_blocks.h — Hamiltonian blocks: two-state Verlet networks (Haber & Ruthotto
// 2017) and H-DNNs (Galimberti, Furieri, Xu, Ferrari-Trecate, "Hamiltonian deep neural networks
// guaranteeing non-vanishing gradients by design", IEEE TAC 2023) (chapter 9).
//
// A Hamiltonian flow preserves volume and the symplectic form, so its Jacobian can neither blow up
// nor collapse in every direction at once: signals and gradients keep their size through any depth.
// Two states (y, z), stacked along axis 1: dense x = [y, z] of shape [N, 2d]; convolutional x of
// shape [N, 2C, H, W] with y, z the first and last C channels.
//
//   kHaberRuthottoVerlet  z ← z − h σ(Kᵀy + b₁),  y ← y + h σ(Kz + b₂)
//       (the published form). Each half is a shear, so the map preserves volume (det J = 1), but it is
//       symplectic only when diag(σ')Kᵀ is symmetric: σ sits outside K, so (y, z) is not a canonical
//       pair of a Hamiltonian in general. tests/ch09_hamiltonian_test.cpp checks both facts.
//   kStormerVerlet, kSymplecticEuler  the separable Hamiltonian H(y, z) = V(y) + T(z) with
//       V(y) = 1ᵀγ(K_y y + b_y), T(z) = 1ᵀγ(K_z z + b_z), γ' = σ, so ∇V = K_yᵀσ(K_y y + b_y): the
//       equations ẏ = ∇T(z), ż = −∇V(y) integrated by ode/symplectic.h, whose maps are exactly
//       symplectic (JᵀΩJ = Ω, Ω = [[0, I], [−I, 0]]).
#pragma once
#include "layers/module.h"
#include "layers/activations.h"
#include "layers/stable/linear_operator.h"
#include "layers/stable/lipschitz_bounded.h"

namespace stablenn {

// Chapter 9: the two-state schemes.
enum class HamiltonianScheme { kHaberRuthottoVerlet, kStormerVerlet, kSymplecticEuler };
const char* hamiltonian_scheme_name(HamiltonianScheme scheme);

// Chapter 9: options of the two-state block.
struct HamiltonianOptions {
  HamiltonianScheme scheme = HamiltonianScheme::kStormerVerlet;
  double step = 0.1;   // h
  int64_t steps = 1;   // steps of size h per forward pass
  Activation activation = Activation::tanh();
  bool bias = true;
};

// Chapter 9: the two-state block. `state` describes the map of ONE state (d -> d, or C -> C).
class HamiltonianBlock : public Module, public LipschitzBounded {
 public:
  HamiltonianBlock(const MapGeometry& state, HamiltonianOptions options = {},
                   Generator& g = default_generator(), DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  // The product of the shears' bounds: a shear (y, z) ↦ (y, z − h g(y)) with Lip(g) = ℓ has Lipschitz
  // constant at most (hℓ + √(h²ℓ² + 4))/2 (the norm of [[1, 0], [hℓ, 1]]).
  double lipschitz_bound() override;
  LinearOperator op_y() const { return LinearOperator::from_geometry(geometry, weight_y); }
  LinearOperator op_z() const;
  Var weight_y, bias_y, weight_z, bias_z;  // weight_z: separable schemes only (H-R uses K = weight_y)
  MapGeometry geometry;
  HamiltonianOptions options;
};

// Chapter 9: the H-DNN schemes.
enum class HDNNScheme { kForwardEuler, kSymplecticEuler };

// Chapter 9: options of the H-DNN block.
struct HDNNOptions {
  HDNNScheme scheme = HDNNScheme::kForwardEuler;
  double step = 0.1;
  int64_t steps = 1;
  Activation activation = Activation::tanh();  // H = 1ᵀ log cosh(Ky + b)
  bool bias = true;
};

// Chapter 9: the H-DNN block on one state y of width 2n (features, or channels for convolutions):
//   kForwardEuler:    y ← y + h J Kᵀσ(Ky + b), J = X − Xᵀ learnable (skew-symmetric), K: 2n -> 2n;
//   kSymplecticEuler: y = (p, q) halves, J = [[0, I], [−I, 0]], K = diag(K_p, K_q) so H is separable:
//                     p ← p + h K_qᵀσ(K_q q + b_q),  q ← q − h K_pᵀσ(K_p p + b_p): symplectic.
// For convolutions J mixes channels at each pixel (a 1x1 convolution with a skew matrix).
class HDNNBlock : public Module, public LipschitzBounded {
 public:
  // `state` describes the map K of the whole state (forward Euler) — for symplectic Euler its in/out
  // are the full width 2n and K_p, K_q act on halves.
  HDNNBlock(const MapGeometry& state, HDNNOptions options = {}, Generator& g = default_generator(),
            DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  // Forward Euler: (1 + h‖J‖Lip(σ)‖K‖²)^steps; symplectic Euler: two shears per step.
  double lipschitz_bound() override;
  Var weight_k, bias_k, weight_x;  // forward Euler: K and X (J = X − Xᵀ)
  Var weight_p, bias_p, weight_q, bias_q;  // symplectic Euler: K_p, K_q
  MapGeometry geometry;
  HDNNOptions options;

 private:
  MapGeometry half_geometry() const;
  Var skew_j() const;  // X − Xᵀ
};

}  // namespace stablenn
