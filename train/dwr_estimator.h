// train/dwr_estimator.h — the dual-weighted-residual estimate of each layer's contribution to the
// error of the goal, its effectivity, and Dörfler marking (chapter 11).
//
// The estimator (a derivation: the paper's exact form is not public). On interval k the Euler step
// x_{k+1} = x_k + τ_k s_k, s_k = σ(W_k x_k + b_k), is compared with the higher-order reconstruction
// "two Euler half-steps with the same control" (a midpoint-type step):
//   x̂_{k+1} = x_k + (τ_k/2) s_k + (τ_k/2) σ(W_k (x_k + (τ_k/2) s_k) + b_k),
// whose residual against the discrete state equation is
//   δ_k = x̂_{k+1} − x_{k+1} = (τ_k/2) (σ(W_k (x_k + (τ_k/2) s_k) + b_k) − s_k)   (= O(τ_k²)).
// The discrete adjoint p_{k+1} (train/control_ode.h, 1/N included) carries a perturbation of x_{k+1}
// to the goal, so the indicator of interval k is
//   η_k = Σ_i ⟨p_{k+1}^i, δ_k^i⟩,
// a first-order prediction of the change of the goal's loss term when interval k alone is split into
// two halves with copied controls; Σ_k η_k predicts the change under uniform refinement (the
// regulariser's change under splitting is known exactly and is not estimated). Since Euler is first
// order, the discretisation error of the loss term itself, loss(exact flow) − loss(mesh), is ≈ 2 Σ η_k.
#pragma once
#include <cstdint>
#include <vector>

#include "train/control_ode.h"

namespace stablenn {

// Chapter 11: η_k for every interval (signed), from one forward and one adjoint sweep.
std::vector<double> dwr_indicators(const ControlledOde& model, const ControlSamples& samples,
                                   const GoalOptions& options);
// Chapter 11: the same from a gradient already computed for `model` (no extra sweeps).
std::vector<double> dwr_indicators(const ControlledOde& model, const GoalGradient& gradient);

// Chapter 11: the network with every interval split into two (copied controls).
ControlledOde refine_uniformly(const ControlledOde& model);

// Chapter 11: the estimate against the actual change of the loss term under uniform refinement.
struct Effectivity {
  double estimate = 0;  // Σ_k η_k
  double actual = 0;    // loss(refined) − loss(model)
  double index() const { return actual != 0 ? estimate / actual : 0.0; }
};
Effectivity effectivity(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options);

// Chapter 11: Dörfler (bulk) marking: the smallest set M of intervals with
// Σ_{k∈M} |η_k| ≥ fraction · Σ_k |η_k| (largest |η_k| first; ties by lower index). Returns the
// indices in increasing order; empty when all indicators vanish. Throws unless 0 < fraction ≤ 1.
std::vector<int64_t> dorfler_mark(const std::vector<double>& indicators, double fraction);

}  // namespace stablenn
