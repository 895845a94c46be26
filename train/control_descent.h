// train/control_descent.h — training a controlled neural ODE (train/control_ode.h): steepest descent
// with Armijo backtracking, and Adam for comparison (chapter 11).
//
// Steepest descent on all parameters v = (θ_0, ..., θ_{K-1}, C, c): v ← v − α ∇J(v), with α the first
// of α₀, α₀/2, α₀/4, ... that decreases J enough: J(v − α∇J) ≤ J(v) − c α |∇J|² (Armijo, c = 1e-4).
// The next iteration starts its search from 2α (so the step can grow back after a cautious phase).
// Full batch: J is the goal over all samples, so the descent is monotone.
#pragma once
#include <cstdint>
#include <vector>

#include "train/control_ode.h"

namespace stablenn {

// Chapter 11: the training rule.
enum class ControlOptimizer { kArmijoDescent, kAdam };

// Chapter 11: options of `train_controls`.
struct DescentOptions {
  ControlOptimizer method = ControlOptimizer::kArmijoDescent;
  int64_t iterations = 200;
  double initial_step = 1.0;   // α₀ of the first Armijo search; Adam's learning rate
  double armijo = 1e-4;        // c
  double shrink = 0.5;         // backtracking factor
  double grow = 2.0;           // the next search starts from grow · α
  int64_t max_backtracks = 40;
  double max_step = 1e3;       // the search never starts above this
};

// Chapter 11: what a training run did. Cost is counted in layer passes: one layer applied to the
// whole training set forward, or its adjoint step backward (the work of a run is cost × N d²).
struct DescentResult {
  GoalValue final_goal;
  double last_step = 0;
  int64_t layer_passes = 0;
  std::vector<double> goal_history;  // J after each iteration
};

// Chapter 11: `iterations` steps of the chosen rule on `model` (changed in place). `state` carries the
// Armijo step and Adam's moments between calls (reset when the parameter count changes, i.e. after a
// refinement); pass the same object to continue a run: calls of n and then m iterations with the
// same state end where one call of n + m does, bit for bit (their layer passes add up), which is how
// a stopped training continues from a checkpoint (train/control_checkpoint.h).
struct DescentState {
  double step = 0;  // 0: start from options.initial_step
  std::vector<double> m, v;
  int64_t t = 0;
};
DescentResult train_controls(ControlledOde& model, const ControlSamples& samples, const GoalOptions& goal,
                             const DescentOptions& options, DescentState& state);

}  // namespace stablenn
