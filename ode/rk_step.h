// ode/rk_step.h — the one generic explicit Runge–Kutta step, for any tableau and any State (chapter 4).
//
// State is std::vector<double> (ode/state_vector.h) or an autodiff Var (ode/state_var.h); the step
// is built only from lincomb(y, h, ks, coeffs) = y + h Σ coeffs_i ks_i, so on Vars it is recorded
// on the tape and can be differentiated.
#pragma once
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "ode/butcher.h"
#include "ode/solution.h"
#include "ode/state_vector.h"

namespace stablenn {

// Chapter 4: pointers to the stages, as lincomb takes them. The vector must outlive the pointers.
template <class State>
std::vector<const State*> stage_pointers(const std::vector<State>& stages) {
  std::vector<const State*> pointers;
  pointers.reserve(stages.size());
  for (const State& k : stages) pointers.push_back(&k);
  return pointers;
}

// Chapter 4: one explicit Runge–Kutta step of size h from (t, y); returns y_1 = y + h Σ b_i k_i.
//   stages (out): the s stage derivatives k_i, kept for error estimates and dense output.
//   first_stage:  k_1 = f(t, y) when the caller already has it (FSAL, a retried step), else null.
//   evaluations:  incremented by the number of calls of f made, when not null.
template <class State>
State rk_step(const ButcherTableau& tableau, const OdeFunction<State>& f, double t, const State& y,
              double h, std::vector<State>& stages, const State* first_stage = nullptr,
              int64_t* evaluations = nullptr) {
  validate_tableau(tableau);  // O(s²), negligible next to s calls of f
  SNN_CHECK(tableau.is_explicit(), "rk_step: tableau '", tableau.name,
            "' is implicit; use ode/implicit.h for implicit methods");
  const int s = tableau.stages();
  stages.clear();
  stages.reserve(s);  // no reallocation below, so the pointers in `previous` stay valid
  std::vector<const State*> previous;
  previous.reserve(s);
  std::vector<double> row;
  for (int i = 0; i < s; ++i) {
    if (i == 0) {
      stages.push_back(first_stage != nullptr ? *first_stage : f(t, y));
      if (first_stage == nullptr && evaluations != nullptr) ++*evaluations;
    } else {
      row.assign(tableau.a[i].begin(), tableau.a[i].begin() + i);
      const State stage_input = lincomb(y, h, previous, row);  // y + h Σ_{j<i} a_ij k_j
      stages.push_back(f(t + tableau.c[i] * h, stage_input));
      if (evaluations != nullptr) ++*evaluations;
    }
    previous.push_back(&stages.back());
  }
  return lincomb(y, h, previous, tableau.b);
}

}  // namespace stablenn
