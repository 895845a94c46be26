// layers/stable/gradient_step_block.h — the non-expansive gradient-step block (chapter 7).
//
// Explicit Euler on the gradient flow ẋ = −∇V(x), V(x) = 1ᵀγ(Ax + b), γ' = σ (σ non-decreasing):
//     x ↦ x − h Aᵀσ(Ax + b).
// V is convex and L_V-smooth with L_V = Lip(σ)‖A‖², and for such V
//     ‖y₊ − x₊‖² <= ‖y − x‖² + (h² − 2h/L_V)‖∇V(y) − ∇V(x)‖²,
// so the step is 1-Lipschitz when h <= 2/L_V. Two ways keep h there while A is trained:
//   kAdaptive (Sherry et al.): fix the block's integration time T and take
//       n = ⌈T·Lip(σ)‖A‖²/(2r)⌉ sub-steps of h = T/n   (r: the method's radius, Euler 1),
//     so h·Lip(σ)‖A‖² <= 2r at every forward pass;
//   kLearnableClamped: one step with a learnable h clamped to [0, 2r/(Lip(σ)‖A‖²)].
// ‖A‖ comes from the warm-started power iteration (buffer "power_u") in training, one iteration per
// step; in evaluation from spectral_norm_upper_bound, stored in the buffers "eval_norm" and
// "eval_norm_key" (see SpectralNormEstimator), so the rule holds for the true ‖A‖ and a checkpoint
// reloads to the same sub-steps bit for bit. Dense A: x [N, d], A: d -> m.
// Convolutional A: x [N, C, H, W], A a k x k convolution C -> m channels at that input size.
#pragma once
#include <memory>

#include "layers/module.h"
#include "layers/activations.h"
#include "layers/stable/block_integrators.h"
#include "layers/stable/linear_operator.h"
#include "layers/stable/lipschitz_bounded.h"
#include "layers/stable/spectral_norm.h"

namespace stablenn {

// Chapter 7: how a block chooses its step.
enum class StepRule { kAdaptive, kLearnableClamped };

// Chapter 7: options of the gradient-step block.
struct GradientStepOptions {
  double time = 1.0;  // T, the integration time of the block (kAdaptive)
  BlockIntegrator integrator = BlockIntegrator::kEuler;
  StepRule step_rule = StepRule::kAdaptive;
  double initial_step = 1.0;  // kLearnableClamped: the starting value of h (before clamping)
  Activation activation = Activation::leaky_relu(0.1);
  bool bias = true;
  PowerIterationSchedule power;
};

// Chapter 7: n = ⌈T·Lip(σ)·σ_A²/(2r)⌉, at least 1: the number of sub-steps of the adaptive rule.
int64_t adaptive_substeps(double time, double lipschitz, double norm, double radius);

// Chapter 7: the non-expansive block x ↦ x − h Aᵀσ(Ax + b), integrated over time T (or one clamped
// learnable step). x: [N, ...sample] -> same shape.
class GradientStepBlock : public Module, public LipschitzBounded {
 public:
  GradientStepBlock(const MapGeometry& geometry, GradientStepOptions options = {},
                    Generator& g = default_generator(), DType dtype = DType::Float32);
  Var forward(const Var& x) override;
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override;
  // The bound of the evaluation-mode map: gradient_step_lipschitz(method, h·Lip(σ)·σ̄²)^n with σ̄
  // the stored upper bound of ‖A‖ the evaluation step was chosen with: exactly 1 for the adaptive
  // and clamped rules.
  double lipschitz_bound() override;
  LinearOperator op() const { return LinearOperator::from_geometry(geometry, weight); }
  // The step actually taken: what the last forward pass (or lipschitz_bound) used.
  struct StepInfo {
    double norm = 0;       // the ‖A‖ used: the estimate (training) or the upper bound (evaluation)
    int64_t substeps = 0;  // n
    double step = 0;       // h
  };
  const StepInfo& last_step() const { return last_; }
  // The step for a norm estimate (what forward does with it).
  StepInfo step_for(double norm) const;
  // kLearnableClamped: the largest h with h·Lip(σ)·norm² <= 2r (infinity for norm 0).
  double max_clamped_step(double norm) const;
  // The integration (no power iteration): x after n steps of size h (h_var: learnable, may be undefined).
  Var integrate(const Var& x, int64_t substeps, double h, const Var& h_var) const;

  Var weight, bias, step;  // step: kLearnableClamped only (0-d)
  MapGeometry geometry;
  GradientStepOptions options;

 private:
  SpectralNormEstimator norm_;
  StepInfo last_;
};

// Chapter 7: exactly one step of size h of `block`, whatever its step rule says, as a module, to
// step past the non-expansive limit on purpose (chapters 6 and 7). `block` must outlive it.
class FixedGradientStep : public Module {
 public:
  FixedGradientStep(GradientStepBlock& block, double h) : block_(block), h_(h) {}
  Var forward(const Var& x) override { return block_.integrate(x, 1, h_, Var()); }
  bool own_forward_shards_safely() const override { return true; }
  std::string describe() const override { return "one gradient step"; }

 private:
  GradientStepBlock& block_;
  double h_;
};

// Chapter 7: shorthand constructors.
std::shared_ptr<GradientStepBlock> dense_gradient_step(int64_t features, int64_t hidden,
                                                       GradientStepOptions options = {},
                                                       Generator& g = default_generator(),
                                                       DType dtype = DType::Float32);
std::shared_ptr<GradientStepBlock> conv_gradient_step(int64_t channels, int64_t hidden_channels,
                                                      int64_t height, int64_t width,
                                                      GradientStepOptions options = {},
                                                      int64_t kernel = 3,
                                                      Generator& g = default_generator(),
                                                      DType dtype = DType::Float32);

}  // namespace stablenn
