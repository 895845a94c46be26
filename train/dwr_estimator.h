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
// to the goal to first order: ⟨p_{k+1}, δ_k⟩. A trained network sits near a minimum of the loss as a
// function of its outputs, where this first-order term is small and the loss's curvature dominates
// (measured: without it the estimate has the wrong sign on the trained 2-D classifiers). So the
// indicator keeps the quadratic remainder of the loss:
//   v_k = δ_k carried to t_K by the linearised Euler steps, v ← v + τ_j diag(σ'(z_j)) W_j v (j > k),
//   η_k = Σ_i ⟨p_{k+1}^i, δ_k^i⟩ + (1/2N) Σ_i ⟨C v_k^i, H_i C v_k^i⟩,
// H_i the Hessian of ℓ in the outputs (softmax: diag(π) − ππᵀ; squared error: I). η_k predicts the
// change of the goal's loss term when interval k alone is split into two halves with copied controls.
// The estimate for uniform refinement is Σ_k (first-order part) + (1/2N) Σ_i ⟨C V^i, H_i C V^i⟩,
// V = Σ_k v_k (the cross terms kept). The regulariser's change under splitting is known exactly and is
// not estimated. Euler is first order, so the discretisation error of the loss term itself,
// loss(exact flow) − loss(mesh), is ≈ twice the estimate on fine meshes. Cost: K(K+1)/2 linearised
// layer passes for the v_k (cheap next to training).
#pragma once
#include <cstdint>
#include <vector>

#include "train/control_ode.h"

namespace stablenn {

// Chapter 11: the estimator's parts.
struct DwrEstimate {
  std::vector<double> first_order;  // Σ_i ⟨p_{k+1}, δ_k⟩ per interval
  std::vector<double> indicators;   // η_k (with the quadratic remainder), signed
  double estimate = 0;              // the prediction for uniform refinement (cross terms kept)
};
// Chapter 11: the estimate from a gradient already computed for `model` on `samples` (no extra
// forward or adjoint sweep).
DwrEstimate dwr_estimate(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options,
                         const GoalGradient& gradient);
// Chapter 11: η_k for every interval, from one forward and one adjoint sweep.
std::vector<double> dwr_indicators(const ControlledOde& model, const ControlSamples& samples,
                                   const GoalOptions& options);

// Chapter 11: the network with every interval split into two (copied controls).
ControlledOde refine_uniformly(const ControlledOde& model);

// Chapter 11: the estimate against the actual change of the loss term under uniform refinement.
struct Effectivity {
  double estimate = 0;  // DwrEstimate::estimate
  double actual = 0;    // loss(refined) − loss(model)
  double index() const { return actual != 0 ? estimate / actual : 0.0; }
};
Effectivity effectivity(const ControlledOde& model, const ControlSamples& samples, const GoalOptions& options);

// Chapter 11: Dörfler (bulk) marking: the smallest set M of intervals with
// Σ_{k∈M} |η_k| ≥ fraction · Σ_k |η_k| (largest |η_k| first; ties by lower index). Returns the
// indices in increasing order; empty when all indicators vanish. Throws unless 0 < fraction ≤ 1.
std::vector<int64_t> dorfler_mark(const std::vector<double>& indicators, double fraction);

}  // namespace stablenn
