// ode/fixed_grid.h — the one fixed-grid time loop, shared by the Runge–Kutta, symplectic and
// implicit solvers (chapter 4).
//
// A fixed-step solver is a step function and this loop: n equal steps h = (t1 − t0)/n from (t0, y0),
// the trajectory recorded every output_every steps and at the end. The methods differ only in the
// step (and in what it caches between steps, which the step function keeps itself).
#pragma once
#include <cmath>
#include <cstdint>
#include <utility>

#include "core/error.h"
#include "ode/solution.h"

namespace stablenn {

// Chapter 4: n_steps steps of `step` from (t0, y0) to t1 (t1 < t0 integrates backwards).
//   step(n, t, y, h, stats) -> the state at t + h; n is the step index (0 for the first step, when a
//   method may need one evaluation more), stats the solution's counters, for the evaluations it makes.
// Returns the states at steps 0, output_every, 2·output_every, ... and always the last one (the last
// time is exactly t1); stats.accepted_steps, step_starts and step_sizes are filled here. `solver`
// names the caller in errors.
template <class State, class Step>
OdeSolution<State> solve_on_fixed_grid(const char* solver, const State& y0, double t0, double t1,
                                       int64_t n_steps, int64_t output_every, Step&& step) {
  SNN_CHECK(n_steps >= 1, solver, ": n_steps must be >= 1, got ", n_steps);
  SNN_CHECK(output_every >= 1, solver, ": output_every must be >= 1, got ", output_every);
  SNN_CHECK(std::isfinite(t0) && std::isfinite(t1), solver, ": times must be finite, got t0 = ", t0,
            ", t1 = ", t1);
  const double h = (t1 - t0) / static_cast<double>(n_steps);
  OdeSolution<State> solution;
  SolverStats& stats = solution.stats;
  solution.times.push_back(t0);
  solution.states.push_back(y0);
  State y = y0;
  for (int64_t n = 0; n < n_steps; ++n) {
    const double t = t0 + static_cast<double>(n) * h;
    y = step(n, t, static_cast<const State&>(y), h, stats);
    stats.accepted_steps += 1;
    stats.step_starts.push_back(t);
    stats.step_sizes.push_back(h);
    if ((n + 1) % output_every == 0 || n + 1 == n_steps) {
      solution.times.push_back(n + 1 == n_steps ? t1 : t0 + static_cast<double>(n + 1) * h);
      solution.states.push_back(y);
    }
  }
  solution.last_time = t1;
  solution.last_state = std::move(y);
  return solution;
}

}  // namespace stablenn
