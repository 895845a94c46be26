// train/control_descent.cpp — Armijo steepest descent and Adam on a controlled neural ODE (chapter 11).
#include "train/control_descent.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace stablenn {

namespace {

// The parameters and the gradient as one vector: controls, then head.
std::vector<double> flat_gradient(const GoalGradient& g) {
  std::vector<double> v(g.controls);
  v.insert(v.end(), g.head.begin(), g.head.end());
  return v;
}

void add_scaled(ControlledOde& model, const std::vector<double>& base_controls, const std::vector<double>& base_head,
                const std::vector<double>& direction, double alpha) {
  const size_t nc = base_controls.size();
  for (size_t j = 0; j < nc; ++j) model.controls[j] = base_controls[j] - alpha * direction[j];
  for (size_t j = 0; j < base_head.size(); ++j) model.head[j] = base_head[j] - alpha * direction[nc + j];
}

}  // namespace

DescentResult train_controls(ControlledOde& model, const ControlSamples& samples, const GoalOptions& goal,
                             const DescentOptions& options, DescentState& state) {
  if (options.iterations < 0 || !(options.initial_step > 0) || !(options.shrink > 0 && options.shrink < 1))
    throw Error("train_controls: expected iterations >= 0, initial_step > 0 and 0 < shrink < 1");
  DescentResult result;
  const int64_t layers = model.layers();
  const size_t count = static_cast<size_t>(model.parameter_count());
  if (state.m.size() != count) state.m.assign(count, 0.0), state.v.assign(count, 0.0), state.t = 0;
  if (!(state.step > 0)) state.step = options.initial_step;
  GoalGradient g;
  Trajectory workspace;
  for (int64_t it = 0; it < options.iterations; ++it) {
    goal_gradient_into(model, samples, goal, g);
    result.layer_passes += 2 * layers;
    std::vector<double> grad = flat_gradient(g);
    const double j0 = g.value.total();
    if (options.method == ControlOptimizer::kAdam) {
      const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
      ++state.t;
      const double c1 = 1 - std::pow(b1, static_cast<double>(state.t)), c2 = 1 - std::pow(b2, static_cast<double>(state.t));
      for (size_t j = 0; j < count; ++j) {
        state.m[j] = b1 * state.m[j] + (1 - b1) * grad[j];
        state.v[j] = b2 * state.v[j] + (1 - b2) * grad[j] * grad[j];
        grad[j] = (state.m[j] / c1) / (std::sqrt(state.v[j] / c2) + eps);
      }
      add_scaled(model, std::vector<double>(model.controls), std::vector<double>(model.head), grad, options.initial_step);
      result.goal_history.push_back(j0);
      continue;
    }
    double norm2 = 0;
    for (double v : grad) norm2 += v * v;
    if (!(norm2 > 0)) {  // a stationary point: nothing to do
      result.goal_history.push_back(j0);
      continue;
    }
    const std::vector<double> controls = model.controls, head = model.head;
    double alpha = std::min(state.step, options.max_step);
    bool accepted = false;
    for (int64_t b = 0; b <= options.max_backtracks; ++b, alpha *= options.shrink) {
      add_scaled(model, controls, head, grad, alpha);
      const double j1 = evaluate_goal(model, samples, goal, workspace).total();
      result.layer_passes += layers;
      if (j1 <= j0 - options.armijo * alpha * norm2) {
        accepted = true;
        result.goal_history.push_back(j1);
        break;
      }
    }
    if (!accepted) {  // no step decreases J (rounding level): keep the point
      model.controls = controls, model.head = head;
      result.goal_history.push_back(j0);
      state.step = options.initial_step;
      continue;
    }
    result.last_step = alpha;
    state.step = options.grow * alpha;
  }
  result.final_goal = evaluate_goal(model, samples, goal);
  return result;
}

}  // namespace stablenn
