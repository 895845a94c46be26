// layers/neural_ode.h — the neural ODE block ẋ = f(t, x; θ) as a Module (chapter 5).
//
//   auto field = std::make_shared<Sequential>(...);      // [N, d + 1] -> [N, d] with time_input
//   NeuralOdeOptions o;  o.time_input = true;  o.solver.steps = 20;
//   o.solver.gradient = GradientMethod::kAdjoint;
//   auto block = std::make_shared<NeuralOde>(field, o);
//   Var x1 = (*block)(x0);                                 // x(t1), [N, d]
//
// Time dependence, two ways (both may be combined):
//  - time_input: the field sees concat(x, t) along the last axis, so f(t, x) = net([x, t]);
//  - piecewise-constant parameters: one field per interval of K equal intervals of [t0, t1]; each
//    interval is solved on its own (steps / K steps each), so a stage never straddles two intervals.
// The solve itself (backprop through the solver, or the adjoint node) is ode/odeint.h.
#pragma once
#include <memory>
#include <vector>

#include "layers/module.h"
#include "ode/odeint.h"

namespace stablenn {

// Chapter 5: the block's time span, solver and time dependence.
struct NeuralOdeOptions {
  double t0 = 0.0, t1 = 1.0;
  OdeintOptions solver;     // tableau, fixed steps or adaptive (rtol/atol), gradient method
  bool time_input = false;  // the field receives concat(x, t): its input has one more feature
};

// Chapter 5: a neural ODE block. forward(x0) = x(t1). x: [N, d] (time_input needs 2-D states).
class NeuralOde : public Module {
 public:
  NeuralOde(std::shared_ptr<Module> field, NeuralOdeOptions options);
  // Piecewise-constant parameters: fields[k] acts on [t0 + k T/K, t0 + (k+1) T/K]. With fixed steps,
  // options.solver.steps (the total) must be a multiple of K.
  NeuralOde(std::vector<std::shared_ptr<Module>> fields, NeuralOdeOptions options);

  Var forward(const Var& x) override;
  std::string describe() const override;

  // f(t, x) of interval k, exactly as the solver calls it.
  Var field_value(size_t interval, double t, const Var& x);
  // The states at n_points + 1 equally spaced times from t0 to t1, computed under NoGrad
  // (for drawing trajectories). With fixed steps and n_points = steps they are the solver's own states.
  std::vector<Tensor> trajectory(const Tensor& x0, int64_t n_points);

  NeuralOdeOptions options;
  // Counters of the latest forward (and of its backward, once it ran, for the adjoint).
  const OdeintStats& stats() const { return *stats_; }
  size_t intervals() const { return fields_.size(); }

 private:
  OdeFunction<Var> interval_function(size_t interval);
  std::vector<std::shared_ptr<Module>> fields_;
  std::shared_ptr<OdeintStats> stats_ = std::make_shared<OdeintStats>();
};

}  // namespace stablenn
