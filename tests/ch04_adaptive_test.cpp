// tests/ch04_adaptive_test.cpp — adaptive step control of embedded pairs (chapter 4): tolerances met
// (local and global), evaluation counts, dense output, initial step, max-steps/min-step failures.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tests/ch04_ode_test_util.h"

namespace stablenn {
namespace {

using testing::Vec;

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(a + (b - a) * i / (n - 1));
  return out;
}

AdaptiveOptions tolerances(double rtol) {
  AdaptiveOptions options;
  options.rtol = rtol;
  options.atol = rtol * 1e-3;
  return options;
}

TEST(Ch04Adaptive, MeetsTolerancesLocallyAndGlobally) {
  const OdeFunction<Vec> f = testing::exp_sin_rhs;
  const std::vector<double> times = linspace(0.0, 10.0, 41);
  for (const ButcherTableau& tableau : {bogacki_shampine(), dormand_prince()}) {
    double previous_error = 1e300;
    int64_t previous_evaluations = 0;
    for (double rtol : {1e-5, 1e-7, 1e-9}) {
      SCOPED_TRACE(tableau.name + " rtol " + std::to_string(rtol));
      const AdaptiveOptions options = tolerances(rtol);
      const auto solution = solve_adaptive(tableau, f, Vec{1.0}, times, options);
      ASSERT_EQ(solution.status, SolveStatus::kSuccess);
      ASSERT_EQ(solution.times, times);
      // Local: one step of the accepted size from the exact solution errs by at most the tolerance
      // (the controller estimates the lower-order error; the higher-order result is kept).
      double worst_local = 0.0;
      for (size_t i = 0; i < solution.stats.step_sizes.size(); ++i) {
        const double t = solution.stats.step_starts[i], h = solution.stats.step_sizes[i];
        std::vector<Vec> stages;
        const Vec y1 = rk_step(tableau, f, t, Vec{testing::exp_sin_exact(t)}, h, stages);
        const double exact = testing::exp_sin_exact(t + h);
        worst_local = std::max(worst_local, std::fabs(y1[0] - exact) / (options.atol + rtol * exact));
      }
      EXPECT_LE(worst_local, 1.0);
      // Global: errors accumulate over the steps, but stay a modest multiple of the tolerance.
      double worst_global = 0.0;
      for (size_t i = 0; i < times.size(); ++i) {
        const double exact = testing::exp_sin_exact(times[i]);
        worst_global = std::max(worst_global, std::fabs(solution.states[i][0] - exact) /
                                                  (options.atol + rtol * exact));
      }
      EXPECT_LE(worst_global, 20.0);
      const double absolute_error = worst_global * rtol;
      EXPECT_LT(absolute_error, previous_error);  // tighter tolerance, smaller error ...
      EXPECT_GT(solution.stats.function_evaluations, previous_evaluations);  // ... more work
      previous_error = absolute_error;
      previous_evaluations = solution.stats.function_evaluations;
    }
  }
}

TEST(Ch04Adaptive, EvaluationCountsAreConsistent) {
  int calls = 0;
  const OdeFunction<Vec> f = [&](double t, const Vec& y) {
    ++calls;
    return testing::exp_sin_rhs(t, y);
  };
  for (const ButcherTableau& tableau : {bogacki_shampine(), dormand_prince()}) {
    for (double first_step : {0.0, 3.0}) {  // automatic, or a far too large first step
      SCOPED_TRACE(tableau.name + " first_step " + std::to_string(first_step));
      calls = 0;
      AdaptiveOptions options = tolerances(1e-6);
      options.first_step = first_step;
      const auto solution = solve_adaptive(tableau, f, Vec{1.0}, {0.0, 10.0}, options);
      const SolverStats& stats = solution.stats;
      EXPECT_EQ(stats.function_evaluations, calls);
      EXPECT_EQ(stats.evaluations_per_step, tableau.stages() - 1);  // FSAL
      EXPECT_EQ(stats.initial_step_evaluations, first_step == 0.0 ? 2 : 1);
      EXPECT_EQ(stats.function_evaluations,
                stats.evaluations_per_step * (stats.accepted_steps + stats.rejected_steps) +
                    stats.initial_step_evaluations);
      if (first_step > 0) {
        EXPECT_GE(stats.rejected_steps, 1);
      }
      // The accepted steps tile [0, 10] exactly.
      ASSERT_EQ(stats.step_sizes.size(), size_t(stats.accepted_steps));
      double t = 0.0;
      for (size_t i = 0; i < stats.step_sizes.size(); ++i) {
        EXPECT_NEAR(stats.step_starts[i], t, 1e-12);
        t += stats.step_sizes[i];
      }
      EXPECT_NEAR(t, 10.0, 1e-12);
      // Growth between accepted steps is limited by max_factor.
      for (size_t i = 1; i + 1 < stats.step_sizes.size(); ++i)
        EXPECT_LE(stats.step_sizes[i], options.max_factor * stats.step_sizes[i - 1] * (1 + 1e-12));
    }
  }
}

TEST(Ch04Adaptive, DenseOutputIsAccurateAndLeavesTheStepsAlone) {
  const OdeFunction<Vec> f = testing::oscillator_rhs;
  const AdaptiveOptions options = tolerances(1e-8);
  for (const ButcherTableau& tableau : {bogacki_shampine(), dormand_prince()}) {
    SCOPED_TRACE(tableau.name);
    const auto coarse = solve_adaptive(tableau, f, Vec{1.0, 0.0}, {0.0, 6.0}, options);
    const std::vector<double> times = linspace(0.0, 6.0, 301);
    const auto fine = solve_adaptive(tableau, f, Vec{1.0, 0.0}, times, options);
    // Output times do not shorten the steps: the same step sequence either way.
    EXPECT_EQ(coarse.stats.step_sizes, fine.stats.step_sizes);
    for (size_t i = 0; i < times.size(); ++i) {
      EXPECT_NEAR(fine.states[i][0], std::cos(times[i]), 2e-7) << "t = " << times[i];
      EXPECT_NEAR(fine.states[i][1], -std::sin(times[i]), 2e-7) << "t = " << times[i];
    }
    EXPECT_EQ(fine.states.back(), coarse.states.back());
  }
}

TEST(Ch04Adaptive, InterpolantsHaveTheirOrder) {
  // One step from the exact solution; the interpolant inside the step at θ = 0.37 has local error
  // O(h^(p*+1)): p* = 4 for Dormand–Prince's interpolant, 3 for the cubic Hermite of Bogacki–Shampine.
  const OdeFunction<Vec> f = testing::exp_sin_rhs;
  const double t0 = 0.3, theta = 0.37;
  for (const auto& [tableau, interpolant_order] :
       {std::pair{bogacki_shampine(), 3}, std::pair{dormand_prince(), 4}}) {
    std::vector<double> hs, errors;
    for (double h = 0.4; h > 0.04; h /= 2) {
      const Vec y0 = {testing::exp_sin_exact(t0)};
      std::vector<Vec> stages;
      rk_step(tableau, f, t0, y0, h, stages);
      const Vec inside = lincomb(y0, h, stage_pointers(stages), dense_output_weights(tableau, theta));
      hs.push_back(h);
      errors.push_back(std::fabs(inside[0] - testing::exp_sin_exact(t0 + theta * h)));
    }
    EXPECT_GE(testing::fitted_order(hs, errors), interpolant_order + 1 - 0.15) << tableau.name;
  }
}

TEST(Ch04Adaptive, BackwardsIntegrationRecoversTheStart) {
  const OdeFunction<Vec> f = testing::exp_sin_rhs;
  const auto solution =
      solve_adaptive(dormand_prince(), f, Vec{testing::exp_sin_exact(4.0)}, {4.0, 2.0, 0.0}, tolerances(1e-9));
  EXPECT_NEAR(solution.states[1][0], testing::exp_sin_exact(2.0), 1e-7);
  EXPECT_NEAR(solution.states[2][0], 1.0, 1e-7);
  for (double h : solution.stats.step_sizes) EXPECT_LT(h, 0.0);
}

TEST(Ch04Adaptive, InitialStepFollowsHairersFormula) {
  // y' = λy, y0 = 1: d0 = 1/s, d1 = |λ|/s with s = atol + rtol, h0 = 0.01 d0/d1 = 0.01/|λ|,
  // d2 = |f(y0 + h0 f0) − f0| / (s h0) = λ²/s, h1 = (0.01 / max(d1, d2))^(1/5).
  const double lambda = -3.0, rtol = 1e-6, atol = 1e-9, s = atol + rtol;
  const OdeFunction<Vec> f = [&](double, const Vec& y) { return Vec{lambda * y[0]}; };
  int64_t evaluations = 0;
  const double h = initial_step_size(f, 0.0, Vec{1.0}, Vec{lambda}, 5, 1.0, rtol, atol, &evaluations);
  const double h0 = 0.01 / std::fabs(lambda);
  const double h1 = std::pow(0.01 / std::max(std::fabs(lambda) / s, lambda * lambda / s), 1.0 / 5);
  EXPECT_NEAR(h, std::min(100 * h0, h1), 1e-12 * h);
  EXPECT_EQ(evaluations, 1);
}

TEST(Ch04Adaptive, StepSizeFactorFollowsTheController) {
  const AdaptiveOptions o;
  EXPECT_DOUBLE_EQ(step_size_factor(1.0, 5, o), 0.9);
  EXPECT_DOUBLE_EQ(step_size_factor(2.0, 5, o), 0.9 * std::pow(2.0, -0.2));
  EXPECT_DOUBLE_EQ(step_size_factor(1e-12, 5, o), 10.0);  // growth limit
  EXPECT_DOUBLE_EQ(step_size_factor(0.0, 5, o), 10.0);
  EXPECT_DOUBLE_EQ(step_size_factor(1e6, 5, o), 0.2);     // shrink limit
  EXPECT_DOUBLE_EQ(step_size_factor(std::nan(""), 5, o), 0.2);
}

TEST(Ch04Adaptive, MaxStepsThrowsOrReturnsTheLastStateWithAFlag) {
  const OdeFunction<Vec> f = testing::exp_sin_rhs;
  AdaptiveOptions options = tolerances(1e-10);
  options.max_steps = 20;
  try {
    solve_adaptive(dormand_prince(), f, Vec{1.0}, {0.0, 5.0, 10.0}, options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_steps = 20"), std::string::npos) << e.what();
  }
  options.on_failure = FailurePolicy::kReturnLast;
  const auto solution = solve_adaptive(dormand_prince(), f, Vec{1.0}, {0.0, 5.0, 10.0}, options);
  EXPECT_EQ(solution.status, SolveStatus::kMaxStepsReached);
  EXPECT_EQ(solution.stats.accepted_steps + solution.stats.rejected_steps, 20);
  EXPECT_GT(solution.last_time, 0.0);
  EXPECT_LT(solution.last_time, 10.0);
  // The last state is the solution at last_time, to the tolerance.
  EXPECT_NEAR(solution.last_state[0], testing::exp_sin_exact(solution.last_time), 1e-8);
  EXPECT_LT(solution.times.size(), 3u);  // t = 10 was not reached
  EXPECT_EQ(solution.times.size(), solution.states.size());
}

TEST(Ch04Adaptive, MinStepAndBlowUpAreReported) {
  // y' = y² from y(0) = 1 blows up at t = 1: the steps shrink without end.
  const OdeFunction<Vec> f = [](double, const Vec& y) { return Vec{y[0] * y[0]}; };
  AdaptiveOptions options = tolerances(1e-8);
  options.min_step = 1e-6;
  EXPECT_THROW(solve_adaptive(dormand_prince(), f, Vec{1.0}, {0.0, 2.0}, options), Error);
  options.on_failure = FailurePolicy::kReturnLast;
  const auto solution = solve_adaptive(dormand_prince(), f, Vec{1.0}, {0.0, 2.0}, options);
  EXPECT_EQ(solution.status, SolveStatus::kStepTooSmall);
  EXPECT_LT(solution.last_time, 1.0);
  EXPECT_GT(solution.last_time, 0.99);
  // Near the singularity the relative error grows like 1/(1 − t); still well below 1e-3 here.
  EXPECT_NEAR(solution.last_state[0], 1.0 / (1.0 - solution.last_time),
              1e-3 * solution.last_state[0]);
  // max_step caps every step.
  AdaptiveOptions capped = tolerances(1e-6);
  capped.max_step = 0.05;
  const auto smooth = solve_adaptive(dormand_prince(), OdeFunction<Vec>(testing::exp_sin_rhs), Vec{1.0},
                                     {0.0, 1.0}, capped);
  for (double h : smooth.stats.step_sizes) EXPECT_LE(h, 0.05 + 1e-15);
}

TEST(Ch04Adaptive, BadInputIsRejectedWithAMessage) {
  const OdeFunction<Vec> f = testing::exp_sin_rhs;
  EXPECT_THROW(solve_adaptive(rk4(), f, Vec{1.0}, {0.0, 1.0}), Error);  // no error estimate
  EXPECT_THROW(solve_adaptive(dormand_prince(), f, Vec{1.0}, {0.0, 1.0, 0.5}), Error);
  EXPECT_THROW(solve_adaptive(dormand_prince(), f, Vec{1.0}, {}), Error);
  AdaptiveOptions no_atol;
  no_atol.atol = 0.0;
  EXPECT_THROW(solve_adaptive(dormand_prince(), f, Vec{1.0}, {0.0, 1.0}, no_atol), Error);
  AdaptiveOptions bad_factor;
  bad_factor.max_factor = 0.5;
  EXPECT_THROW(solve_adaptive(dormand_prince(), f, Vec{1.0}, {0.0, 1.0}, bad_factor), Error);
  // A single output time is the initial value, with no evaluation.
  const auto trivial = solve_adaptive(dormand_prince(), f, Vec{2.0}, {0.5});
  EXPECT_EQ(trivial.states.size(), 1u);
  EXPECT_EQ(trivial.stats.function_evaluations, 0);
}

}  // namespace
}  // namespace stablenn
