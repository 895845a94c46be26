// ode/solve_fixed.h — fixed-step integration with any explicit tableau (chapter 4).
#pragma once
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/error.h"
#include "ode/rk_step.h"

namespace stablenn {

// Chapter 4: n_steps equal steps h = (t1 − t0) / n_steps of an explicit tableau from (t0, y0).
// Returns the grid points 0, output_every, 2·output_every, ... and always the last one (output_every = 1:
// all n_steps + 1 states, the first is y0); t1 < t0 integrates backwards.
// FSAL tableaux reuse their last stage as the next first stage (s − 1 new evaluations per step).
template <class State>
OdeSolution<State> solve_fixed(const ButcherTableau& tableau, const OdeFunction<State>& f,
                               const State& y0, double t0, double t1, int64_t n_steps,
                               int64_t output_every = 1) {
  validate_tableau(tableau);
  SNN_CHECK(n_steps >= 1, "solve_fixed: n_steps must be >= 1, got ", n_steps);
  SNN_CHECK(output_every >= 1, "solve_fixed: output_every must be >= 1, got ", output_every);
  SNN_CHECK(std::isfinite(t0) && std::isfinite(t1), "solve_fixed: times must be finite, got t0 = ",
            t0, ", t1 = ", t1);
  const double h = (t1 - t0) / static_cast<double>(n_steps);
  const bool reuse_last_stage = tableau.is_fsal();
  OdeSolution<State> solution;
  SolverStats& stats = solution.stats;
  stats.evaluations_per_step = reuse_last_stage ? tableau.stages() - 1 : tableau.stages();
  stats.initial_step_evaluations = reuse_last_stage ? 1 : 0;
  solution.times.push_back(t0);
  solution.states.push_back(y0);

  State y = y0;
  std::vector<State> stages;
  State next_first_stage{};
  bool have_first_stage = false;
  for (int64_t n = 0; n < n_steps; ++n) {
    const double t = t0 + static_cast<double>(n) * h;
    State y1 = rk_step(tableau, f, t, y, h, stages,
                       have_first_stage ? &next_first_stage : nullptr, &stats.function_evaluations);
    if (reuse_last_stage) {
      next_first_stage = stages.back();
      have_first_stage = true;
    }
    stats.accepted_steps += 1;
    stats.step_starts.push_back(t);
    stats.step_sizes.push_back(h);
    y = std::move(y1);
    if ((n + 1) % output_every == 0 || n + 1 == n_steps) {
      solution.times.push_back(n + 1 == n_steps ? t1 : t0 + static_cast<double>(n + 1) * h);
      solution.states.push_back(y);
    }
  }
  solution.last_time = t1;
  solution.last_state = y;
  return solution;
}

}  // namespace stablenn
