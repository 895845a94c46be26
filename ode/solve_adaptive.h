// ode/solve_adaptive.h — adaptive step-size control for embedded Runge–Kutta pairs (chapter 4).
//
// Each attempt of size h gives y_1 and the error estimate e = h Σ (b_i − b̂_i) k_i. The controller
// (as in torchdiffeq, book/A-references.md §A.3):
//   ratio = rms(e / (atol + rtol·max(|y_0|, |y_1|)));  accept when ratio <= 1;
//   h_new = h · min(max_factor, max(min_factor, safety · ratio^(−1/(q+1))))
// where q + 1 is the order of the local error estimate (5 for Dormand–Prince, 3 for
// Bogacki–Shampine). Solutions at the requested output times come from the dense output, so the
// output times do not shorten the steps.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "ode/rk_step.h"

namespace stablenn {

// Chapter 4: the knobs of an adaptive solve.
struct AdaptiveOptions {
  double rtol = 1e-6;
  double atol = 1e-9;             // must be > 0: components near zero are measured against it
  double first_step = 0.0;        // |h| of the first attempt; 0: Hairer's automatic selection
  double safety = 0.9;            // aim a little below the tolerance, so fewer steps are rejected
  double min_factor = 0.2;        // a step shrinks at most by this factor per attempt
  double max_factor = 10.0;       // and grows at most by this one
  double min_step = 0.0;          // a proposed |h| below this is a failure (kStepTooSmall)
  double max_step = std::numeric_limits<double>::infinity();
  int64_t max_steps = 100000;     // step attempts (accepted + rejected) before giving up
  FailurePolicy on_failure = FailurePolicy::kThrow;
};

// Chapter 4: throws stablenn::Error naming the first option out of range.
void validate_adaptive_options(const AdaptiveOptions& options);

// Chapter 4: the factor h_new / h after an attempt with this error ratio, for an error estimate of
// order `error_order` (local error ~ h^error_order). Non-finite ratios (a blow-up) shrink by min_factor.
double step_size_factor(double ratio, int error_order, const AdaptiveOptions& options);

// Chapter 4: Hairer's initial step size (Hairer, Nørsett & Wanner, Solving ODEs I, §II.4):
// h0 from |y0| / |f0|, one explicit Euler trial step of size h0 to estimate |f'|, then
// h1 = (0.01 / max(|f0|, |f'|))^(1/error_order) and h = min(100 h0, h1); norms are scaled_rms with
// the tolerances. Makes one call of f (counted in *evaluations when given). Returns |h| > 0.
template <class State>
double initial_step_size(const OdeFunction<State>& f, double t0, const State& y0, const State& f0,
                         int error_order, double direction, double rtol, double atol,
                         int64_t* evaluations = nullptr) {
  const double d0 = scaled_rms(y0, y0, rtol, atol);
  const double d1 = scaled_rms(f0, y0, rtol, atol);
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  const State y1 = lincomb(y0, direction * h0, {&f0}, {1.0});
  const State f1 = f(t0 + direction * h0, y1);
  if (evaluations != nullptr) ++*evaluations;
  const State df = lincomb(f1, -1.0, {&f0}, {1.0});  // f1 − f0
  const double d2 = scaled_rms(df, y0, rtol, atol) / h0;
  const double largest = std::max(d1, d2);
  const double h1 = (!(largest > 1e-15)) ? std::max(1e-6, h0 * 1e-3)  // also catches NaN
                                         : std::pow(0.01 / largest, 1.0 / error_order);
  return std::min(100.0 * h0, h1);
}

// Chapter 4: integrates y' = f(t, y) with an embedded explicit pair (bogacki_shampine(),
// dormand_prince()) from output_times[0] to output_times.back() and returns the solution at every
// output time (strictly increasing, or strictly decreasing to integrate backwards; states[0] = y0).
template <class State>
OdeSolution<State> solve_adaptive(const ButcherTableau& tableau, const OdeFunction<State>& f,
                                  const State& y0, const std::vector<double>& output_times,
                                  const AdaptiveOptions& options = {}) {
  validate_tableau(tableau);
  validate_adaptive_options(options);
  const std::string& name = tableau.name;
  SNN_CHECK(tableau.is_explicit() && tableau.has_error_estimate(), "solve_adaptive: tableau '", name,
            "' must be explicit with embedded weights b_hat (use bogacki_shampine() or "
            "dormand_prince(), or solve_fixed for fixed steps)");
  SNN_CHECK(!tableau.dense.empty() || tableau.is_fsal(), "solve_adaptive: tableau '", name,
            "' has neither dense-output coefficients nor the FSAL property, so it cannot interpolate");
  SNN_CHECK(!output_times.empty(), "solve_adaptive: output_times is empty; give at least t0");
  for (double t : output_times)
    SNN_CHECK(std::isfinite(t), "solve_adaptive: output_times has a non-finite entry ", t);
  const double t0 = output_times.front(), t_end = output_times.back();
  const double direction = t_end >= t0 ? 1.0 : -1.0;
  for (size_t i = 1; i < output_times.size(); ++i)
    SNN_CHECK((output_times[i] - output_times[i - 1]) * direction > 0, "solve_adaptive: output_times ",
              "must be strictly monotone; entries ", i - 1, " and ", i, " are ", output_times[i - 1],
              " and ", output_times[i]);

  const int s = tableau.stages();
  const int error_order = std::min(tableau.order, tableau.embedded_order) + 1;
  std::vector<double> err_coeffs(s);
  for (int i = 0; i < s; ++i) err_coeffs[i] = tableau.b[i] - tableau.b_hat[i];

  OdeSolution<State> solution;
  SolverStats& stats = solution.stats;
  stats.evaluations_per_step = tableau.is_fsal() ? s - 1 : s;
  solution.times.push_back(t0);
  solution.states.push_back(y0);
  solution.last_time = t0;
  solution.last_state = y0;
  if (output_times.size() == 1) return solution;

  State k1 = f(t0, y0);
  stats.function_evaluations += 1;
  stats.initial_step_evaluations += 1;
  double h_abs = options.first_step;
  if (h_abs == 0.0) {
    h_abs = initial_step_size(f, t0, y0, k1, error_order, direction, options.rtol, options.atol,
                              &stats.function_evaluations);
    stats.initial_step_evaluations += 1;
  }
  h_abs = std::min(h_abs, options.max_step);

  double t = t0;
  State y = y0;
  size_t next_output = 1;
  std::vector<State> stages;
  int64_t attempts = 0;
  // Stops the solve: throws, or records where it stopped and returns, as the caller chose.
  auto stop = [&](SolveStatus status, const std::string& message) {
    solution.status = status;
    solution.last_time = t;
    solution.last_state = y;
    if (options.on_failure == FailurePolicy::kThrow) fail(message);
  };
  while (next_output < output_times.size()) {
    const double remaining = std::fabs(t_end - t);
    const bool last_step = h_abs >= remaining;
    const double h = direction * (last_step ? remaining : h_abs);
    if (attempts >= options.max_steps) {
      std::ostringstream message;
      message << "solve_adaptive(" << name << "): reached max_steps = " << options.max_steps
              << " step attempts at t = " << t << " on the way from " << t0 << " to " << t_end
              << " (accepted " << stats.accepted_steps << ", rejected " << stats.rejected_steps
              << ", |h| = " << h_abs << "); raise AdaptiveOptions::max_steps, loosen rtol/atol, "
              << "or check for stiffness (use an implicit method) or a blow-up";
      stop(SolveStatus::kMaxStepsReached, message.str());
      return solution;
    }
    if (!last_step && (h_abs < options.min_step || t + h == t)) {
      std::ostringstream message;
      message << "solve_adaptive(" << name << "): step size |h| = " << h_abs << " fell below "
              << (h_abs < options.min_step ? "min_step" : "the rounding of t") << " at t = " << t
              << " on the way to " << t_end << "; the solution may blow up or be stiff near t, "
              << "or the tolerances (rtol " << options.rtol << ", atol " << options.atol
              << ") are too tight";
      stop(SolveStatus::kStepTooSmall, message.str());
      return solution;
    }
    ++attempts;
    State y1 = rk_step(tableau, f, t, y, h, stages, &k1, &stats.function_evaluations);
    const std::vector<const State*> ks = stage_pointers(stages);
    const double ratio = error_ratio(y, y1, h, ks, err_coeffs, options.rtol, options.atol);
    const double factor = step_size_factor(ratio, error_order, options);
    if (!(ratio <= 1.0)) {  // rejected (NaN included): retry from the same (t, y) with k1 kept
      stats.rejected_steps += 1;
      h_abs = std::fabs(h) * factor;
      continue;
    }
    const double t_new = last_step ? t_end : t + h;
    stats.accepted_steps += 1;
    stats.step_starts.push_back(t);
    stats.step_sizes.push_back(h);
    // Outputs inside (t, t_new] from the interpolant y + h Σ b_i(θ) k_i.
    while (next_output < output_times.size() &&
           (t_new - output_times[next_output]) * direction >= 0) {
      const double t_out = output_times[next_output];
      solution.times.push_back(t_out);
      if (t_out == t_new) {
        solution.states.push_back(y1);
      } else {
        const double theta = (t_out - t) / h;
        solution.states.push_back(lincomb(y, h, ks, dense_output_weights(tableau, theta)));
      }
      ++next_output;
    }
    t = t_new;
    y = std::move(y1);
    if (next_output < output_times.size()) {
      if (tableau.is_fsal()) {
        k1 = stages.back();
      } else {
        k1 = f(t, y);
        stats.function_evaluations += 1;
      }
    }
    h_abs = std::min(std::fabs(h) * factor, options.max_step);
  }
  solution.last_time = t;
  solution.last_state = y;
  return solution;
}

}  // namespace stablenn
