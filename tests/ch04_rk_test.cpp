// tests/ch04_rk_test.cpp — Butcher tableaux and the generic explicit Runge–Kutta driver (chapter 4):
// order conditions, closed-form solutions, measured convergence orders, FSAL reuse, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <string>

#include "tests/ch04_ode_test_util.h"

namespace stablenn {
namespace {

using testing::Vec;

// ---- order conditions (Butcher): Σ_i b_i Φ_i(tree) = 1/γ(tree) for every rooted tree up to order p ----

Vec mat_vec(const ButcherTableau& t, const Vec& v) {
  Vec out(v.size(), 0.0);
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t j = 0; j < v.size(); ++j) out[i] += t.a[i][j] * v[j];
  return out;
}
Vec times(const Vec& x, const Vec& y) {
  Vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * y[i];
  return out;
}
double dot(const Vec& x, const Vec& y) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

// The largest p such that all order conditions of orders 1..p hold for weights w (checked up to 5).
int satisfied_order(const ButcherTableau& t, const Vec& w) {
  const Vec e(t.c.size(), 1.0);
  const Vec& c = t.c;
  const Vec c2 = times(c, c), c3 = times(c2, c);
  const Vec ac = mat_vec(t, c), ac2 = mat_vec(t, c2), a2c = mat_vec(t, ac);
  // {value of Σ w_i Φ_i, expected 1/γ} grouped by order.
  const std::vector<std::vector<std::pair<double, double>>> levels = {
      {{dot(w, e), 1.0}},
      {{dot(w, c), 1.0 / 2}},
      {{dot(w, c2), 1.0 / 3}, {dot(w, ac), 1.0 / 6}},
      {{dot(w, c3), 1.0 / 4}, {dot(w, times(c, ac)), 1.0 / 8}, {dot(w, ac2), 1.0 / 12},
       {dot(w, a2c), 1.0 / 24}},
      {{dot(w, times(c3, c)), 1.0 / 5}, {dot(w, times(c2, ac)), 1.0 / 10},
       {dot(w, times(c, ac2)), 1.0 / 15}, {dot(w, times(c, a2c)), 1.0 / 30},
       {dot(w, times(ac, ac)), 1.0 / 20}, {dot(w, mat_vec(t, c3)), 1.0 / 20},
       {dot(w, mat_vec(t, times(c, ac))), 1.0 / 40}, {dot(w, mat_vec(t, ac2)), 1.0 / 60},
       {dot(w, mat_vec(t, a2c)), 1.0 / 120}}};
  int order = 0;
  for (const auto& level : levels) {
    for (const auto& [value, expected] : level)
      if (std::fabs(value - expected) > 1e-13) return order;
    ++order;
  }
  return order;
}

TEST(Ch04Tableau, OrderConditionsMatchTheDeclaredOrders) {
  for (const ButcherTableau& t : explicit_methods()) {
    SCOPED_TRACE(t.name);
    EXPECT_NO_THROW(validate_tableau(t));
    EXPECT_TRUE(t.is_explicit());
    EXPECT_EQ(satisfied_order(t, t.b), t.order);  // order 5 is the top level checked
    if (t.has_error_estimate()) {
      EXPECT_EQ(satisfied_order(t, t.b_hat), t.embedded_order);
    }
  }
  for (const ButcherTableau& t : {implicit_euler_tableau(), implicit_midpoint_tableau(), gauss_legendre_2()}) {
    SCOPED_TRACE(t.name);
    EXPECT_FALSE(t.is_explicit());
    EXPECT_EQ(satisfied_order(t, t.b), t.order);
  }
}

TEST(Ch04Tableau, FsalAndDenseOutputEndpoints) {
  EXPECT_TRUE(bogacki_shampine().is_fsal());
  EXPECT_TRUE(dormand_prince().is_fsal());
  EXPECT_FALSE(rk4().is_fsal());
  EXPECT_FALSE(heun().is_fsal());
  for (const ButcherTableau& t : {bogacki_shampine(), dormand_prince()}) {
    SCOPED_TRACE(t.name);
    // The interpolant starts at y (all weights 0) and ends at y_1 (weights b).
    const Vec at0 = dense_output_weights(t, 0.0), at1 = dense_output_weights(t, 1.0);
    for (int i = 0; i < t.stages(); ++i) {
      EXPECT_NEAR(at0[i], 0.0, 1e-15);
      EXPECT_NEAR(at1[i], t.b[i], 1e-12);
    }
    // Its derivative at θ = 0 is k_1 = f(t, y): d/dθ Σ b_i(θ) k_i = e_1 there.
    const double eps = 1e-7;
    const Vec near0 = dense_output_weights(t, eps);
    EXPECT_NEAR(near0[0] / eps, 1.0, 1e-5);
  }
  EXPECT_THROW(dense_output_weights(rk4(), 0.5), Error);
}

TEST(Ch04Tableau, ValidationNamesTheBrokenRule) {
  ButcherTableau bad = rk4();
  bad.a[2][1] = 0.4;  // row sum 0.4 != c_2 = 0.5
  try {
    validate_tableau(bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row sum"), std::string::npos) << e.what();
  }
  ButcherTableau short_b = heun();
  short_b.b = {1.0};
  EXPECT_THROW(validate_tableau(short_b), Error);
  ButcherTableau inconsistent = heun();
  inconsistent.b = {0.5, 0.6};
  EXPECT_THROW(validate_tableau(inconsistent), Error);
  // The explicit driver refuses implicit tableaux instead of silently ignoring a_ii.
  std::vector<Vec> stages;
  const OdeFunction<Vec> f = testing::exp_sin_rhs;
  EXPECT_THROW(rk_step(implicit_euler_tableau(), f, 0.0, Vec{1.0}, 0.1, stages), Error);
  EXPECT_THROW(solve_fixed(rk4(), f, Vec{1.0}, 0.0, 1.0, 0), Error);
  // A right-hand side returning the wrong length is caught.
  const OdeFunction<Vec> wrong = [](double, const Vec&) { return Vec{1.0, 2.0}; };
  EXPECT_THROW(solve_fixed(rk4(), wrong, Vec{1.0}, 0.0, 1.0, 4), Error);
}

// ---- closed forms ----

TEST(Ch04Rk, LinearProblemGivesTheStabilityFunctionPower) {
  // On y' = λy every explicit RK step multiplies by R(hλ) exactly, so y_n = R(hλ)^n y_0, with R
  // evaluated independently from its polynomial coefficients.
  const double lambda = -1.3, h = 0.2;
  const int steps = 10;
  const OdeFunction<Vec> f = [&](double, const Vec& y) { return Vec{lambda * y[0], lambda * y[1]}; };
  for (const ButcherTableau& t : explicit_methods()) {
    SCOPED_TRACE(t.name);
    const Vec gamma = stability_polynomial(t);
    double r = 0.0, power = 1.0;
    for (double g : gamma) {
      r += g * power;
      power *= h * lambda;
    }
    const auto solution = solve_fixed(t, f, Vec{1.0, -2.0}, 0.0, steps * h, steps);
    EXPECT_NEAR(solution.last_state[0], std::pow(r, steps), 1e-13);
    EXPECT_NEAR(solution.last_state[1], -2.0 * std::pow(r, steps), 1e-13);
    EXPECT_EQ(solution.states.size(), size_t(steps + 1));
  }
}

TEST(Ch04Rk, Rk4IsExactForCubicPolynomialsInTime) {
  // y' = 4t³ − 3t² + 1 has y = t⁴ − t³ + t: Simpson's rule (RK4 on quadrature) is exact up to degree 3
  // in f, i.e. degree 4 in y.
  const OdeFunction<Vec> f = [](double t, const Vec&) { return Vec{4 * t * t * t - 3 * t * t + 1}; };
  const auto solution = solve_fixed(rk4(), f, Vec{0.0}, 0.0, 2.0, 3);
  EXPECT_NEAR(solution.last_state[0], 16.0 - 8.0 + 2.0, 1e-12);
}

TEST(Ch04Rk, HarmonicOscillatorAndBackwardsIntegration) {
  const OdeFunction<Vec> f = testing::oscillator_rhs;
  const double t1 = 2.0;
  const auto forward = solve_fixed(dormand_prince(), f, Vec{1.0, 0.0}, 0.0, t1, 200);
  EXPECT_NEAR(forward.last_state[0], std::cos(t1), 1e-12);
  EXPECT_NEAR(forward.last_state[1], -std::sin(t1), 1e-12);
  // t1 < t0 integrates backwards: back to the start.
  const auto backward = solve_fixed(dormand_prince(), f, forward.last_state, t1, 0.0, 200);
  EXPECT_NEAR(backward.last_state[0], 1.0, 1e-11);
  EXPECT_NEAR(backward.last_state[1], 0.0, 1e-11);
  EXPECT_DOUBLE_EQ(backward.times.back(), 0.0);
}

// ---- measured orders ----

double error_exp_sin(const ButcherTableau& t, int steps, double t_end) {
  const OdeFunction<Vec> f = testing::exp_sin_rhs;
  return std::fabs(solve_fixed(t, f, Vec{1.0}, 0.0, t_end, steps).last_state[0] -
                   testing::exp_sin_exact(t_end));
}

// The same method with the embedded weights b̂ as its solution weights.
ButcherTableau embedded_method(const ButcherTableau& pair) {
  ButcherTableau t = pair;
  t.name = pair.name + " (embedded)";
  t.b = pair.b_hat;
  t.order = pair.embedded_order;
  t.b_hat.clear();
  t.embedded_order = 0;
  t.dense.clear();
  return t;
}

TEST(Ch04Rk, MeasuredOrdersMatchTheory) {
  std::vector<ButcherTableau> methods = explicit_methods();
  methods.push_back(embedded_method(bogacki_shampine()));
  methods.push_back(embedded_method(dormand_prince()));
  const double t_end = 2.0;
  for (const ButcherTableau& t : methods) {
    // Step counts in the asymptotic range and above rounding (errors 1e-2 .. 1e-13): fewer steps
    // and fewer halvings for higher orders.
    const int first = t.order >= 4 ? 40 : 80;
    const int last = t.order >= 5 ? 4 * first : 8 * first;
    std::vector<double> hs, errors;
    for (int steps = first; steps <= last; steps *= 2) {
      hs.push_back(t_end / steps);
      errors.push_back(error_exp_sin(t, steps, t_end));
    }
    const double measured = testing::fitted_order(hs, errors);
    EXPECT_NEAR(measured, t.order, 0.15) << t.name << ": errors " << errors[0] << " .. " << errors.back();
  }
}

TEST(Ch04Rk, FsalReuseCountsEvaluations) {
  int calls = 0;
  const OdeFunction<Vec> f = [&](double t, const Vec& y) {
    ++calls;
    return testing::exp_sin_rhs(t, y);
  };
  const auto dp = solve_fixed(dormand_prince(), f, Vec{1.0}, 0.0, 1.0, 10);
  EXPECT_EQ(calls, 6 * 10 + 1);  // the 7th stage is the next step's first
  EXPECT_EQ(dp.stats.function_evaluations, calls);
  EXPECT_EQ(dp.stats.function_evaluations,
            dp.stats.evaluations_per_step * dp.stats.accepted_steps + dp.stats.initial_step_evaluations);
  calls = 0;
  const auto classic = solve_fixed(rk4(), f, Vec{1.0}, 0.0, 1.0, 10);
  EXPECT_EQ(calls, 40);
  EXPECT_EQ(classic.stats.function_evaluations, 40);
  // Reusing the last stage changes nothing in the result: step again, evaluating every stage.
  Vec y = {1.0};
  std::vector<Vec> stages;
  for (int n = 0; n < 10; ++n) y = rk_step(dormand_prince(), f, 0.1 * n, y, 0.1, stages);
  EXPECT_NEAR(y[0], dp.last_state[0], 1e-15);
}

TEST(Ch04Rk, OutputEveryThinsTheTrajectory) {
  const OdeFunction<Vec> f = testing::oscillator_rhs;
  const auto all = solve_fixed(rk4(), f, Vec{1.0, 0.0}, 0.0, 1.0, 10);
  const auto thin = solve_fixed(rk4(), f, Vec{1.0, 0.0}, 0.0, 1.0, 10, 4);
  ASSERT_EQ(thin.times.size(), 4u);  // steps 0, 4, 8 and the last (10)
  EXPECT_DOUBLE_EQ(thin.times[1], all.times[4]);
  EXPECT_EQ(thin.states[2], all.states[8]);
  EXPECT_EQ(thin.states[3], all.states[10]);
  EXPECT_EQ(thin.last_state, all.last_state);
}

}  // namespace
}  // namespace stablenn
