// ode/solve_fixed.h — fixed-step integration with any explicit tableau (chapter 4).
#pragma once
#include <cstdint>
#include <vector>

#include "ode/fixed_grid.h"
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
  const bool reuse_last_stage = tableau.is_fsal();
  std::vector<State> stages;
  State next_first_stage{};
  OdeSolution<State> solution = solve_on_fixed_grid(
      "solve_fixed", y0, t0, t1, n_steps, output_every,
      [&](int64_t n, double t, const State& y, double h, SolverStats& stats) {
        State y1 = rk_step(tableau, f, t, y, h, stages,
                           reuse_last_stage && n > 0 ? &next_first_stage : nullptr,
                           &stats.function_evaluations);
        if (reuse_last_stage) next_first_stage = stages.back();
        return y1;
      });
  solution.stats.evaluations_per_step = reuse_last_stage ? tableau.stages() - 1 : tableau.stages();
  solution.stats.initial_step_evaluations = reuse_last_stage ? 1 : 0;
  return solution;
}

}  // namespace stablenn
