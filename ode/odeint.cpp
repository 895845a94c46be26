// ode/odeint.cpp — differentiable solves: backprop through the solver, and the adjoint node
// (chapter 5).
#include "ode/odeint.h"

#include <omp.h>

#include <cmath>
#include <exception>
#include <functional>
#include <thread>

#include "autodiff/backward.h"
#include "autodiff/node.h"
#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "ode/solve_fixed.h"
#include "ode/state_var.h"

namespace stablenn {

const char* gradient_method_name(GradientMethod method) {
  return method == GradientMethod::kAdjoint ? "adjoint" : "backprop";
}

namespace {

void validate(const OdeintOptions& options, double t0, double t1, const char* who) {
  validate_tableau(options.tableau);
  SNN_CHECK(std::isfinite(t0) && std::isfinite(t1) && t0 != t1, who, ": t0 and t1 must be finite and ",
            "different, got t0 = ", t0, ", t1 = ", t1);
  SNN_CHECK(options.adaptive || options.steps >= 1, who, ": options.steps must be >= 1, got ",
            options.steps);
  SNN_CHECK(options.adjoint_steps >= 0, who, ": options.adjoint_steps must be >= 0 (0: as steps), got ",
            options.adjoint_steps);
  SNN_CHECK(!options.adaptive || options.tableau.has_error_estimate(), who, ": adaptive solves need an ",
            "embedded pair (dormand_prince(), bogacki_shampine()), got tableau '", options.tableau.name, "'");
}

// One solve from t0 to t1 (either direction) with the chosen method, keeping only both ends.
OdeSolution<Var> solve_once(const OdeFunction<Var>& f, const Var& x0, double t0, double t1,
                            const OdeintOptions& options, int64_t fixed_steps) {
  if (options.adaptive) return solve_adaptive(options.tableau, f, x0, {t0, t1}, options.adaptive_options);
  return solve_fixed(options.tableau, f, x0, t0, t1, fixed_steps, fixed_steps);
}

// Runs `work` on a thread of its own and waits for it. Why: the adjoint's vector-Jacobian products
// run inside a backward walk, and while a walk runs the tape does not sweep its dead entries (the
// walk holds indices into it). Thousands of small VJP graphs would pile up there, and memory would
// grow with the number of steps. A fresh thread has a fresh tape (tapes are per thread) that sweeps
// as usual; the parameters are leaves, which belong to no tape, so they can be read there.
void run_on_own_tape(const std::function<void()>& work) {
  std::exception_ptr error;
  const int threads = num_threads();
  std::thread worker([&] {
    // OpenMP's thread count is a per-thread setting: without this the worker (and OpenBLAS, which
    // follows it) would use every core, not the count chosen with set_num_threads.
    omp_set_num_threads(threads);
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
}

// The augmented state [x, a, g_1, ..., g_m] of the adjoint method packed into one flat Var, so that
// the unchanged solvers (which integrate one State) can carry it.
struct AugmentedLayout {
  Shape x_shape;
  int64_t x_numel = 0;
  std::vector<Shape> param_shapes;
  std::vector<int64_t> offsets;  // start of g_i in the flat state
  int64_t total = 0;

  AugmentedLayout(const Shape& xs, const std::vector<Var>& params) : x_shape(xs) {
    x_numel = 1;
    for (int64_t d : xs) x_numel *= d;
    total = 2 * x_numel;
    for (const Var& p : params) {
      param_shapes.push_back(p.shape());
      offsets.push_back(total);
      total += p.numel();
    }
  }
  Tensor part(const Tensor& flat, int64_t start, int64_t n, const Shape& shape) const {
    return flat.narrow(0, start, n).reshape(shape);
  }
};

// dz/dt of the augmented system at (t, z):  [f(t, x), −aᵀ∂f/∂x, −aᵀ∂f/∂θ_1, ...]. One call of f
// and one vjp; recorded on this thread's tape only for the vjp and released right after.
Var augmented_dynamics(const OdeFunction<Var>& f, const std::vector<Var>& params,
                       const AugmentedLayout& layout, double t, const Var& z) {
  // z: [total] -> [total]
  const Tensor& flat = z.value();
  Var x(layout.part(flat, 0, layout.x_numel, layout.x_shape).clone(), true);
  const Tensor a = layout.part(flat, layout.x_numel, layout.x_numel, layout.x_shape);
  Tensor fx_value;
  std::vector<Var> vjps;
  {
    GradModeScope recording(true);
    const Var fx = f(t, x);
    SNN_CHECK(fx.shape() == layout.x_shape && fx.dtype() == x.dtype(), "odeint (adjoint): f returned ",
              shape_str(fx.shape()), " ", dtype_name(fx.dtype()), ", expected the state's ",
              shape_str(layout.x_shape), " ", dtype_name(x.dtype()));
    std::vector<Var> wrt{x};
    wrt.insert(wrt.end(), params.begin(), params.end());
    fx_value = fx.value();
    if (fx.requires_grad()) {
      GradOptions options;
      options.allow_unused = true;
      vjps = grad({fx}, wrt, {Var(a)}, options);
    } else {
      vjps.assign(wrt.size(), Var());  // f does not depend on x or θ (a constant field)
    }
  }
  std::vector<Tensor> parts;
  parts.reserve(vjps.size() + 1);
  parts.push_back(fx_value.reshape({-1}));
  for (size_t i = 0; i < vjps.size(); ++i) {
    const int64_t n = i == 0 ? layout.x_numel : params[i - 1].numel();
    parts.push_back(vjps[i].defined() ? neg(vjps[i].value()).reshape({-1})
                                      : Tensor::zeros({n}, flat.dtype()));
  }
  return Var(concat(parts, 0));
}

// The adjoint node's backward: dL/dx0 and dL/dθ from dL/dx1 = grad by the augmented solve.
std::vector<Var> adjoint_backward(const OdeFunction<Var>& f, const std::vector<Var>& params, double t0,
                                  double t1, const OdeintOptions& options, const Tensor& x1,
                                  const Tensor& grad_x1, OdeintStats* stats,
                                  const std::vector<bool>& wanted) {
  const AugmentedLayout layout(x1.shape(), params);
  std::vector<Tensor> start{x1.reshape({-1}), grad_x1.contiguous().reshape({-1})};
  for (const Var& p : params) start.push_back(Tensor::zeros({p.numel()}, x1.dtype()));
  const Var z1(concat(start, 0));
  const OdeFunction<Var> g = [&](double t, const Var& z) {
    return augmented_dynamics(f, params, layout, t, z);
  };
  OdeSolution<Var> solution;
  run_on_own_tape([&] {
    const int64_t steps = options.adjoint_steps > 0 ? options.adjoint_steps : options.steps;
    solution = solve_once(g, z1, t1, t0, options, steps);  // backwards in time
  });
  if (stats != nullptr) {
    stats->backward_evaluations += solution.stats.function_evaluations;
    stats->backward_steps += solution.stats.accepted_steps;
    stats->backward_rejected += solution.stats.rejected_steps;
    stats->backward_calls += 1;
  }
  const Tensor& z0 = solution.last_state.value();
  std::vector<Var> out(params.size() + 1);
  if (wanted[0]) out[0] = Var(layout.part(z0, layout.x_numel, layout.x_numel, layout.x_shape).clone());
  for (size_t i = 0; i < params.size(); ++i)
    if (wanted[i + 1])
      out[i + 1] = Var(layout.part(z0, layout.offsets[i], params[i].numel(), layout.param_shapes[i]).clone());
  return out;
}

Var odeint_adjoint(const OdeFunction<Var>& f, const Var& x0, const std::vector<Var>& params, double t0,
                   double t1, const OdeintOptions& options, const std::shared_ptr<OdeintStats>& stats) {
  for (size_t i = 0; i < params.size(); ++i) {
    SNN_CHECK(params[i].defined(), "odeint (adjoint): params[", i, "] is undefined");
    SNN_CHECK(params[i].is_leaf(), "odeint (adjoint): params[", i, "] (shape ", shape_str(params[i].shape()),
              ") is computed by other ops; the adjoint needs the leaves f reads (the parameters). "
              "Use GradientMethod::kBackprop for fields built from derived tensors");
    SNN_CHECK(params[i].dtype() == x0.dtype(), "odeint (adjoint): params[", i, "] is ",
              dtype_name(params[i].dtype()), " but the state is ", dtype_name(x0.dtype()));
  }
  Tensor x1;
  {
    NoGrad no_grad;  // forward: nothing recorded, only the final state is kept
    const OdeSolution<Var> solution = solve_once(f, x0.detach(), t0, t1, options, options.steps);
    x1 = solution.last_state.value();
    if (stats) {
      stats->forward_evaluations += solution.stats.function_evaluations;
      stats->forward_steps += solution.stats.accepted_steps;
      stats->forward_rejected += solution.stats.rejected_steps;
    }
  }
  std::vector<Var> inputs{x0};
  inputs.insert(inputs.end(), params.begin(), params.end());
  // The rule reads the parameters' values (through f) and the output x1: refuse if either changed.
  return record("odeint_adjoint", x1, inputs, Saves::inputs_and_output(),
                [f, params, t0, t1, options, stats](const BackwardContext& c) {
                  SNN_CHECK(!grad_enabled(), "odeint (adjoint): create_graph (higher-order gradients) "
                            "through the adjoint method is not supported; use "
                            "GradientMethod::kBackprop to differentiate the gradient again");
                  return adjoint_backward(f, params, t0, t1, options, c.output.value(), c.grad.value(),
                                          stats.get(), c.wanted);
                });
}

}  // namespace

Var odeint(const OdeFunction<Var>& f, const Var& x0, const std::vector<Var>& params, double t0,
           double t1, const OdeintOptions& options, const std::shared_ptr<OdeintStats>& stats) {
  validate(options, t0, t1, "odeint");
  SNN_CHECK(x0.defined(), "odeint: the initial state x0 is undefined");
  if (options.gradient == GradientMethod::kAdjoint) return odeint_adjoint(f, x0, params, t0, t1, options, stats);
  const OdeSolution<Var> solution = solve_once(f, x0, t0, t1, options, options.steps);
  if (stats) {
    stats->forward_evaluations += solution.stats.function_evaluations;
    stats->forward_steps += solution.stats.accepted_steps;
    stats->forward_rejected += solution.stats.rejected_steps;
  }
  return solution.last_state;
}

std::vector<Var> odeint_trajectory(const OdeFunction<Var>& f, const Var& x0,
                                   const std::vector<double>& times, const OdeintOptions& options) {
  SNN_CHECK(times.size() >= 2, "odeint_trajectory: give at least two times, got ", times.size());
  validate(options, times.front(), times.back(), "odeint_trajectory");
  std::vector<Var> states{x0};
  if (options.adaptive) {
    const OdeSolution<Var> solution =
        solve_adaptive(options.tableau, f, x0, times, options.adaptive_options);
    states.assign(solution.states.begin(), solution.states.end());
    return states;
  }
  const double span = times.back() - times.front();
  for (size_t i = 1; i < times.size(); ++i) {
    const double share = (times[i] - times[i - 1]) / span;
    SNN_CHECK(share > 0, "odeint_trajectory: times must be strictly monotone; entries ", i - 1, " and ", i,
              " are ", times[i - 1], " and ", times[i]);
    const int64_t steps = std::max<int64_t>(1, std::llround(share * static_cast<double>(options.steps)));
    states.push_back(solve_fixed(options.tableau, f, states.back(), times[i - 1], times[i], steps, steps)
                         .last_state);
  }
  return states;
}

}  // namespace stablenn
