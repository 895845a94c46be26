// ode/odeint.h — differentiable ODE solves for neural ODEs: backprop through the solver or the
// adjoint method (chapter 5).
//
//   x(t1) = odeint(f, x0, params, t0, t1, options)
//
// f(t, x) is any differentiable function of the state that reads the Vars in `params` (the network
// weights it closes over). Two ways to get dL/dx0 and dL/dθ:
//  - kBackprop (discretise-then-optimise): the solver's steps are recorded on the tape like any other
//    ops and backward() replays them. Exact gradient of the discrete map; memory grows with the steps.
//  - kAdjoint (optimise-then-discretise, Chen et al. 2018): the forward solve runs under NoGrad and
//    keeps only x(t1); one tape node is recorded whose backward integrates the augmented system
//        ẋ = f(t, x),  ȧ = −aᵀ ∂f/∂x,  ġ = −aᵀ ∂f/∂θ
//    from t1 (x(t1), a = dL/dx1, g = 0) back to t0 with the same method, re-integrating x backwards.
//    Then a(t0) = dL/dx0 and g(t0) = ∫ aᵀ ∂f/∂θ dt = dL/dθ. Each augmented evaluation is one call
//    of f and one vector-Jacobian product (grad()). Memory does not grow with the number of steps;
//    the gradient differs from the discrete one by the solver's error (O(h^p) for fixed steps).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "autodiff/var.h"
#include "ode/butcher.h"
#include "ode/solution.h"
#include "ode/solve_adaptive.h"

namespace stablenn {

// Chapter 5: how gradients of a solve are computed.
enum class GradientMethod { kBackprop, kAdjoint };
const char* gradient_method_name(GradientMethod method);

// Chapter 5: the method of a differentiable solve.
struct OdeintOptions {
  ButcherTableau tableau = rk4();
  bool adaptive = false;            // false: `steps` equal steps; true: solve_adaptive (embedded pair)
  int64_t steps = 10;               // fixed steps from t0 to t1
  AdaptiveOptions adaptive_options; // rtol, atol, ... (adaptive only; also used backwards)
  GradientMethod gradient = GradientMethod::kBackprop;
  int64_t adjoint_steps = 0;        // fixed-step adjoint: steps backwards (0: the same as `steps`)
};

// Chapter 5: counters of one differentiable solve. The backward fields are filled when the adjoint's
// backward runs (kBackprop replays the tape instead: backward_evaluations stays 0).
struct OdeintStats {
  int64_t forward_evaluations = 0;   // calls of f in the forward solve
  int64_t forward_steps = 0;         // accepted steps
  int64_t forward_rejected = 0;
  int64_t backward_evaluations = 0;  // augmented evaluations (each: one call of f + one vjp)
  int64_t backward_steps = 0;
  int64_t backward_rejected = 0;
  int64_t backward_calls = 0;        // how many adjoint backwards ran
};

// Chapter 5: x(t1) of ẋ = f(t, x), x(t0) = x0, differentiable with respect to x0 and `params`.
// For kAdjoint every entry of params must be a leaf (a parameter), f must return x's shape and dtype,
// and create_graph through the result is refused (the adjoint node has no second-order rule).
// `stats` (optional) receives the counters, the backward ones once backward has run.
Var odeint(const OdeFunction<Var>& f, const Var& x0, const std::vector<Var>& params, double t0,
           double t1, const OdeintOptions& options,
           const std::shared_ptr<OdeintStats>& stats = nullptr);

// Chapter 5: the states at `times` (monotone, times[0] = t0) under the current recording mode,
// for drawing trajectories. Fixed steps: each segment gets its share of `options.steps` (at least 1),
// so times on the solver's own grid reproduce odeint's states exactly.
std::vector<Var> odeint_trajectory(const OdeFunction<Var>& f, const Var& x0,
                                   const std::vector<double>& times, const OdeintOptions& options);

}  // namespace stablenn
