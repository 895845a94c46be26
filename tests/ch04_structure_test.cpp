// tests/ch04_structure_test.cpp — symplectic and implicit methods (chapter 4): orders, exact invariants
// of the harmonic oscillator, bounded pendulum energy over 100,000 steps against explicit Euler's drift,
// stiff stability, Newton with finite-difference and exact Jacobians, dense linear solves.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>
#include <string>

#include "tests/ch04_ode_test_util.h"

namespace stablenn {
namespace {

using testing::Vec;
using Phase = PhaseState<Vec>;

// The harmonic oscillator H = p²/2 + q²/2 and the pendulum H = p²/2 − cos q, separable.
SeparableHamiltonian<Vec> oscillator() {
  return {[](double, const Vec& p) { return p; }, [](double, const Vec& q) { return q; }};
}
SeparableHamiltonian<Vec> pendulum() {
  return {[](double, const Vec& p) { return p; },
          [](double, const Vec& q) { return Vec{std::sin(q[0])}; }};
}
double pendulum_energy(double q, double p) { return 0.5 * p * p - std::cos(q); }

TEST(Ch04Symplectic, MeasuredOrders) {
  const double t_end = 2.0;
  for (const auto& [method, order] : {std::pair{SymplecticMethod::kSymplecticEuler, 1},
                                      std::pair{SymplecticMethod::kStormerVerlet, 2}}) {
    std::vector<double> hs, errors;
    for (int steps = 40; steps <= 320; steps *= 2) {
      const auto solution = solve_symplectic(method, oscillator(), Phase{{1.0}, {0.0}}, 0.0, t_end, steps);
      hs.push_back(t_end / steps);
      errors.push_back(std::hypot(solution.last_state.q[0] - std::cos(t_end),
                                  solution.last_state.p[0] + std::sin(t_end)));
    }
    EXPECT_NEAR(testing::fitted_order(hs, errors), order, 0.15) << "order " << order;
  }
}

TEST(Ch04Symplectic, ExactInvariantsOfTheOscillator) {
  // Both maps are linear here and conserve a modified energy exactly:
  //   symplectic Euler  p² + q² − h p q,     Störmer–Verlet  p² + (1 − h²/4) q².
  const double h = 0.3;
  const int steps = 2000;
  const auto euler = solve_symplectic(SymplecticMethod::kSymplecticEuler, oscillator(),
                                      Phase{{1.0}, {0.5}}, 0.0, h * steps, steps);
  const auto verlet = solve_symplectic(SymplecticMethod::kStormerVerlet, oscillator(),
                                       Phase{{1.0}, {0.5}}, 0.0, h * steps, steps);
  const double euler0 = 0.25 + 1.0 - h * 0.5, verlet0 = 0.25 + (1 - h * h / 4);
  for (int n = 0; n <= steps; n += 100) {
    const Phase& a = euler.states[n];
    const Phase& b = verlet.states[n];
    EXPECT_NEAR(a.p[0] * a.p[0] + a.q[0] * a.q[0] - h * a.p[0] * a.q[0], euler0, 1e-12);
    EXPECT_NEAR(b.p[0] * b.p[0] + (1 - h * h / 4) * b.q[0] * b.q[0], verlet0, 1e-12);
  }
  // Verlet reuses the force of the step's end: 2 gradient calls per step plus one at the start.
  EXPECT_EQ(verlet.stats.function_evaluations, 2 * steps + 1);
  EXPECT_EQ(euler.stats.function_evaluations, 2 * steps);
}

TEST(Ch04Symplectic, PendulumEnergyBoundedOver100000StepsWhileEulerDrifts) {
  const double h = 0.1;
  const int64_t steps = 100000;
  const double q0 = 1.0, p0 = 0.0, energy0 = pendulum_energy(q0, p0);
  // Largest |H − H0| over a range of stored states.
  auto worst = [&](const std::vector<Phase>& states, size_t begin, size_t end) {
    double m = 0.0;
    for (size_t i = begin; i < end; ++i)
      m = std::max(m, std::fabs(pendulum_energy(states[i].q[0], states[i].p[0]) - energy0));
    return m;
  };
  for (const auto& [method, bound] : {std::pair{SymplecticMethod::kSymplecticEuler, 0.1},
                                      std::pair{SymplecticMethod::kStormerVerlet, 0.005}}) {
    const auto solution = solve_symplectic(method, pendulum(), Phase{{q0}, {p0}}, 0.0, h * steps, steps, 10);
    const size_t n = solution.states.size(), tenth = n / 10;
    const double early = worst(solution.states, 0, tenth);
    const double late = worst(solution.states, n - tenth, n);
    EXPECT_LT(late, bound);  // O(h) and O(h²) at t = 10,000
    EXPECT_LT(late, 1.2 * early + 1e-12) << "the energy error grows: drift";
  }
  // Explicit Euler multiplies the oscillation's energy by about 1 + h²ω² per step.
  const OdeFunction<Vec> f = [](double, const Vec& y) { return Vec{y[1], -std::sin(y[0])}; };
  const auto euler = solve_fixed(explicit_euler(), f, Vec{q0, p0}, 0.0, h * steps, steps, 1000);
  const Vec& end = euler.last_state;
  EXPECT_GT(pendulum_energy(end[0], end[1]) - energy0, 1.0);
  const Vec& early = euler.states[10];  // t = 1,000
  EXPECT_GT(pendulum_energy(end[0], end[1]), pendulum_energy(early[0], early[1]));
}

// ---- implicit methods ----

TEST(Ch04Implicit, MeasuredOrders) {
  const OdeFunction<Vec> f = testing::exp_sin_rhs;
  const double t_end = 2.0;
  for (const auto& [method, order] : {std::pair{ImplicitMethod::kImplicitEuler, 1},
                                      std::pair{ImplicitMethod::kImplicitMidpoint, 2}}) {
    std::vector<double> hs, errors;
    for (int steps = 40; steps <= 320; steps *= 2) {
      const auto solution = solve_implicit(method, f, Vec{1.0}, 0.0, t_end, steps);
      hs.push_back(t_end / steps);
      errors.push_back(std::fabs(solution.last_state[0] - testing::exp_sin_exact(t_end)));
    }
    EXPECT_NEAR(testing::fitted_order(hs, errors), order, 0.15) << implicit_method_name(method);
  }
}

TEST(Ch04Implicit, StiffProblemStableWhereExplicitEulerBlowsUp) {
  // Prothero–Robinson: y' = λ(y − cos t) − sin t, y(0) = 1, solution cos t, λ = −10⁴. With h = 0.01,
  // explicit Euler multiplies errors by |1 + hλ| = 99 per step; implicit Euler damps them.
  const double lambda = -1e4;
  const OdeFunction<Vec> f = [&](double t, const Vec& y) {
    return Vec{lambda * (y[0] - std::cos(t)) - std::sin(t)};
  };
  const auto implicit = solve_implicit(ImplicitMethod::kImplicitEuler, f, Vec{1.0}, 0.0, 1.0, 100);
  for (size_t i = 0; i < implicit.times.size(); ++i)
    EXPECT_NEAR(implicit.states[i][0], std::cos(implicit.times[i]), 1e-5);
  const auto midpoint = solve_implicit(ImplicitMethod::kImplicitMidpoint, f, Vec{1.0}, 0.0, 1.0, 100);
  EXPECT_NEAR(midpoint.last_state[0], std::cos(1.0), 1e-3);  // A-stable: bounded too
  const auto explicit_solution = solve_fixed(explicit_euler(), f, Vec{1.0 + 1e-12}, 0.0, 1.0, 100);
  const double y_end = explicit_solution.last_state[0];
  EXPECT_TRUE(!std::isfinite(y_end) || std::fabs(y_end) > 1e10) << y_end;
}

TEST(Ch04Implicit, MidpointKeepsQuadraticInvariantsAndJacobiansAgree) {
  // Implicit midpoint conserves q² + p² of the oscillator exactly (up to the Newton tolerance).
  const OdeFunction<Vec> f = testing::oscillator_rhs;
  NewtonOptions exact;
  exact.tolerance = 1e-13;
  exact.jacobian = [](double, const Vec&) { return Vec{0, 1, -1, 0}; };
  NewtonOptions differences;
  differences.tolerance = 1e-13;
  const auto with_jacobian = solve_implicit(ImplicitMethod::kImplicitMidpoint, f, Vec{1.0, 0.5}, 0.0, 50.0, 500, exact);
  const auto with_fd = solve_implicit(ImplicitMethod::kImplicitMidpoint, f, Vec{1.0, 0.5}, 0.0, 50.0, 500, differences);
  for (const Vec& y : with_jacobian.states) EXPECT_NEAR(y[0] * y[0] + y[1] * y[1], 1.25, 1e-11);
  EXPECT_LT(testing::max_abs_difference(with_jacobian.last_state, with_fd.last_state), 1e-9);
  // The statistics count Newton's work: a linear problem converges in 2 iterations per step, and
  // finite differences cost n = 2 extra evaluations per iteration.
  EXPECT_EQ(with_jacobian.stats.newton_iterations, 2 * 500);
  EXPECT_EQ(with_jacobian.stats.function_evaluations, with_jacobian.stats.newton_iterations);
  EXPECT_EQ(with_fd.stats.function_evaluations, 3 * with_fd.stats.newton_iterations);
  EXPECT_EQ(with_fd.stats.jacobian_evaluations, with_fd.stats.newton_iterations);
}

TEST(Ch04Implicit, FiniteDifferenceJacobianMatchesTheExactOne) {
  const OdeFunction<Vec> f = [](double t, const Vec& y) {
    return Vec{std::sin(y[0]) * y[1] + t, y[0] * y[0] - 3 * y[1]};
  };
  const Vec y = {0.7, -1.2};
  const Vec jacobian = finite_difference_jacobian(f, 0.5, y, f(0.5, y));
  const Vec expected = {std::cos(y[0]) * y[1], std::sin(y[0]), 2 * y[0], -3.0};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(jacobian[i], expected[i], 1e-6);
}

TEST(Ch04Implicit, NewtonFailureAndBadInputAreReported) {
  // y' = y², y = 1, h = 1: implicit Euler needs Y = 1 + Y², which has no real root.
  const OdeFunction<Vec> f = [](double, const Vec& y) { return Vec{y[0] * y[0]}; };
  try {
    implicit_step(ImplicitMethod::kImplicitEuler, f, 0.0, Vec{1.0}, 1.0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("implicit Euler"), std::string::npos) << e.what();
  }
  NewtonOptions wrong;
  wrong.jacobian = [](double, const Vec&) { return Vec{1.0, 2.0}; };  // 2 entries for n = 1
  EXPECT_THROW(implicit_step(ImplicitMethod::kImplicitEuler, f, 0.0, Vec{0.1}, 0.1, wrong), Error);
  EXPECT_THROW(solve_implicit(ImplicitMethod::kImplicitMidpoint, f, Vec{0.1}, 0.0, 1.0, 0), Error);
}

// ---- dense linear solves ----

TEST(Ch04LinearSolve, SolvesRandomSystemsAndNeedsPivoting) {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  const int n = 6;
  Vec a(n * n), b(n);
  for (double& v : a) v = normal(rng);
  for (double& v : b) v = normal(rng);
  const Vec x = solve_dense(a, b);
  for (int i = 0; i < n; ++i) {
    double row = 0;
    for (int j = 0; j < n; ++j) row += a[i * n + j] * x[j];
    EXPECT_NEAR(row, b[i], 1e-12);
  }
  // A zero on the diagonal: elimination without row exchanges would divide by zero.
  const Vec swapped = solve_dense(Vec{0, 1, 1, 0}, Vec{2, 3});
  EXPECT_DOUBLE_EQ(swapped[0], 3.0);
  EXPECT_DOUBLE_EQ(swapped[1], 2.0);
  EXPECT_THROW(solve_dense(Vec{1, 2, 2, 4}, Vec{1, 1}), Error);  // singular
  EXPECT_THROW(solve_dense(Vec{1, 2, 3}, Vec{1, 1}), Error);     // wrong size
  // Complex entries: (1 + i) x = 2 gives x = 1 − i.
  const auto z = solve_dense(std::vector<std::complex<double>>{{1, 1}}, {{2, 0}});
  EXPECT_NEAR(z[0].real(), 1.0, 1e-15);
  EXPECT_NEAR(z[0].imag(), -1.0, 1e-15);
}

}  // namespace
}  // namespace stablenn
