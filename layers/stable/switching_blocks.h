// layers/stable/switching_blocks.h — contractive and expansive steps and their switching (Celledoni et al.,
// "Dynamical systems-based neural networks", SIAM J. Sci. Comput. 2023) (chapter 9).
//
//   contractive step  x ↦ x − h A_cᵀσ_a(A_c x + b_c), σ_a' in [a, 1] (LeakyReLU with slope a)
//   expansive step    x ↦ x + h σ(A_e x + b_e),        Lip(σ) = 1
// With A_c an isometry (A_cᵀA_c = I) the contractive step has factor c(h) = √(1 − 2ah + h²) < 1 for
// 0 < h < 2a, and with ‖A_e‖ <= 1 the expansive step has factor e(h) = 1 + h. A pair run as S
// alternating sub-steps of sizes h_c/S and h_e/S is 1-Lipschitz when (c(h_c/S)·e(h_e/S))^S <= 1:
//   prescribed switching: a = 0.5, S = 2, h_c in [0.3, 1] and
//       h_e = (4 − 2√(h_c² − 2h_c + 4)) / √(h_c² − 2h_c + 4),
//     which makes c(h_c/2)·e(h_e/2) = 1 exactly (√(h_c² − 2h_c + 4) = 2c(h_c/2), so 1 + h_e/2 = 1/c);
//   flexible switching: h_c learnable in [h_min, h_max] and h_e = θ·h_e,max(h_c), θ in (0, 1)
//     learnable, h_e,max = S(1/c(h_c/S) − 1), so the pair is 1-Lipschitz for every parameter value.
// Both maps are divided by max(1, ‖A‖) (power iteration in training; in evaluation the stored upper
// bound of SpectralNormEstimator, buffers "power_u_c", "eval_norm_c", "eval_norm_key_c" and the same
// with _e), and A_c is pushed towards an isometry by an orthogonality penalty added to the loss.
// The penalty does not make A_c exactly orthogonal, so the bound this module reports is the
// rigorous one for the actual weights: the contractive step's difference map is I − τA_cᵀDA_c with
// D diagonal in [a, 1], whose norm is
//   max(|1 − τ a σ_min(A_c)²|, |1 − τ ‖A_c‖²|)      (<= c(τ) when A_c is an isometry),
// and the expansive step's is at most 1 + τ‖A_e‖.
#pragma once
#include <memory>

#include "layers/module.h"
#include "layers/activations.h"
#include "layers/stable/linear_operator.h"
#include "layers/stable/lipschitz_bounded.h"
#include "layers/stable/spectral_norm.h"

namespace stablenn {

// Chapter 9: c(h) = √(1 − 2ah + h²), the contraction factor of one step with an isometric A.
double contractive_factor(double h, double min_slope);
// Chapter 9: the prescribed h_e for a given h_c (a = 0.5, S = 2), the exact formula above.
double prescribed_expansive_step(double contractive_step);
// Chapter 9: the largest h_e with (c(h_c/S)·(1 + h_e/S))^S <= 1: S(1/c(h_c/S) − 1).
double max_expansive_step(double contractive_step, double min_slope, int64_t substeps);

// Chapter 9: how the pair picks its steps.
enum class SwitchingMode { kPrescribed, kFlexible };

// Chapter 9: options of a contractive/expansive pair.
struct SwitchingOptions {
  SwitchingMode mode = SwitchingMode::kPrescribed;
  double contractive_step = 0.5;         // h_c (prescribed), the starting h_c (flexible)
  double min_step = 0.3, max_step = 1.0; // flexible: the range of h_c
  double initial_fraction = 0.5;         // flexible: the starting θ = h_e / h_e,max
  int64_t substeps = 2;                  // S
  double min_slope = 0.5;                // a: the contractive activation is LeakyReLU(a)
  Activation expansive_activation = Activation::leaky_relu(0.5);
  bool bias = true;
  PowerIterationSchedule power;
};

// Chapter 9: S alternating contractive and expansive sub-steps. x: [N, ...sample] -> same.
// Dense: A_c, A_e square d x d; convolutional: C -> C, k x k, at input size H x W.
// Kernels start delta-orthogonal (convolutions) or orthogonal (dense): isometries.
class SwitchingPair : public Module, public LipschitzBounded {
 public:
  SwitchingPair(const MapGeometry& geometry, SwitchingOptions options = {},
                Generator& g = default_generator(), DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  // (c·e)^S with the rigorous step factors above, the stored upper bounds of the norms, and
  // σ_min(A_c) by SVD (less its rounding margin) for dense maps and small convolutions (0, i.e. no
  // contraction claimed, for larger convolutions).
  double lipschitz_bound() override;
  // Chapter 9: ‖A_cᵀA_c − I‖_F² (dense; ‖A_cA_cᵀ − I‖ when wide), or for a kernel K the condition of
  // Wang et al. (CVPR 2020), ‖conv(K, K, padding k−1) − δ_centre ⊗ I‖_F²: zero when the
  // convolution's rows are orthonormal. Add λ·penalty to the loss.
  Var orthogonality_penalty() const;
  // The steps the next forward pass takes (values of the learnable ones in flexible mode).
  double contractive_step() const;
  double expansive_step() const;
  LinearOperator op_c() const { return LinearOperator::from_geometry(geometry, weight_c); }
  LinearOperator op_e() const { return LinearOperator::from_geometry(geometry, weight_e); }

  Var weight_c, bias_c, weight_e, bias_e;
  Var raw_contractive, raw_fraction;  // flexible mode only (0-d): h_c and θ before the sigmoids
  MapGeometry geometry;
  SwitchingOptions options;

 private:
  // h_c and h_e as Vars (constants in prescribed mode).
  void steps(Var& h_c, Var& h_e) const;
  SpectralNormEstimator norm_c_, norm_e_;
};

// Chapter 9: the orthogonality penalty of every SwitchingPair below `module`, summed (undefined Var
// when there is none).
Var total_orthogonality_penalty(const Module& module);

}  // namespace stablenn
