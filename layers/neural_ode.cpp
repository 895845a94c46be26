// layers/neural_ode.cpp — the neural ODE block (chapter 5).
#include "layers/neural_ode.h"

#include <sstream>

#include "core/error.h"

namespace stablenn {

NeuralOde::NeuralOde(std::shared_ptr<Module> field, NeuralOdeOptions opts)
    : NeuralOde(std::vector<std::shared_ptr<Module>>{std::move(field)}, std::move(opts)) {}

NeuralOde::NeuralOde(std::vector<std::shared_ptr<Module>> fields, NeuralOdeOptions opts)
    : options(std::move(opts)), fields_(std::move(fields)) {
  SNN_CHECK(!fields_.empty(), "NeuralOde: give at least one field module");
  for (size_t k = 0; k < fields_.size(); ++k) {
    SNN_CHECK(fields_[k] != nullptr, "NeuralOde: field ", k, " is null");
    register_module(std::to_string(k), fields_[k]);
  }
  SNN_CHECK(options.t1 != options.t0, "NeuralOde: t0 and t1 must differ, got ", options.t0);
  const int64_t k = static_cast<int64_t>(fields_.size());
  SNN_CHECK(options.solver.adaptive || options.solver.steps % k == 0, "NeuralOde: options.solver.steps = ",
            options.solver.steps, " must be a multiple of the number of intervals (", k, ")");
}

Var NeuralOde::field_value(size_t interval, double t, const Var& x) {
  // x: [N, d] -> [N, d]
  Module& field = *fields_.at(interval);
  if (!options.time_input) return field(x);
  SNN_CHECK(x.dim() == 2, "NeuralOde: time_input needs states [N, d], got ", shape_str(x.shape()));
  const Var time_column(Tensor::full({x.size(0), 1}, t, x.dtype()));
  return field(concat({x, time_column}, 1));
}

OdeFunction<Var> NeuralOde::interval_function(size_t interval) {
  return [this, interval](double t, const Var& x) { return field_value(interval, t, x); };
}

Var NeuralOde::forward(const Var& x) {
  // x: [N, d] -> [N, d]
  stats_ = std::make_shared<OdeintStats>();  // the previous backward keeps its own counters
  const size_t k = fields_.size();
  const double span = (options.t1 - options.t0) / static_cast<double>(k);
  OdeintOptions solver = options.solver;
  if (!solver.adaptive) solver.steps /= static_cast<int64_t>(k);
  if (solver.adjoint_steps > 0) solver.adjoint_steps = std::max<int64_t>(1, solver.adjoint_steps / k);
  Var state = x;
  for (size_t i = 0; i < k; ++i) {
    const double a = options.t0 + span * static_cast<double>(i);
    const double b = i + 1 == k ? options.t1 : a + span;
    state = odeint(interval_function(i), state, fields_[i]->parameters(), a, b, solver, stats_);
  }
  return state;
}

std::vector<Tensor> NeuralOde::trajectory(const Tensor& x0, int64_t n_points) {
  const int64_t k = static_cast<int64_t>(fields_.size());
  SNN_CHECK(n_points >= 1 && n_points % k == 0, "NeuralOde::trajectory: n_points = ", n_points,
            " must be a positive multiple of the number of intervals (", k, ")");
  NoGrad no_grad;
  const double span = (options.t1 - options.t0) / static_cast<double>(k);
  OdeintOptions solver = options.solver;
  if (!solver.adaptive) solver.steps /= k;
  std::vector<Tensor> states{x0};
  const int64_t per_interval = n_points / k;
  for (int64_t i = 0; i < k; ++i) {
    const double a = options.t0 + span * static_cast<double>(i);
    std::vector<double> times;
    for (int64_t j = 0; j <= per_interval; ++j)
      times.push_back(a + span * static_cast<double>(j) / static_cast<double>(per_interval));
    const std::vector<Var> part =
        odeint_trajectory(interval_function(static_cast<size_t>(i)), Var(states.back()), times, solver);
    for (size_t j = 1; j < part.size(); ++j) states.push_back(part[j].value());
  }
  return states;
}

std::string NeuralOde::describe() const {
  std::ostringstream s;
  s << "NeuralOde(" << options.solver.tableau.name << ", "
    << (options.solver.adaptive ? "adaptive" : std::to_string(options.solver.steps) + " steps") << ", t "
    << options.t0 << " -> " << options.t1 << ", " << gradient_method_name(options.solver.gradient);
  if (fields_.size() > 1) s << ", " << fields_.size() << " intervals";
  if (options.time_input) s << ", time input";
  s << ")";
  return s.str();
}

}  // namespace stablenn
