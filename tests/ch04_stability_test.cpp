// tests/ch04_stability_test.cpp — stability functions, regions, intervals, contractivity radii and
// algebraic stability (chapter 4), against closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>

#include "tests/ch04_ode_test_util.h"

namespace stablenn {
namespace {

using Complex = std::complex<double>;
using testing::Vec;

Complex taylor_exp(Complex z, int degree) {
  Complex sum = 0.0, term = 1.0;
  for (int k = 0; k <= degree; ++k) {
    sum += term;
    term *= z / double(k + 1);
  }
  return sum;
}

std::vector<Complex> sample_points() {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  std::vector<Complex> points;
  for (int i = 0; i < 20; ++i) points.emplace_back(u(rng), u(rng));
  return points;
}

// The strong-stability-preserving 3-stage method of Shu and Osher: a known radius of 1.
ButcherTableau ssp_rk3() {
  ButcherTableau t;
  t.name = "SSPRK3";
  t.c = {0.0, 1.0, 0.5};
  t.a = {{0, 0, 0}, {1, 0, 0}, {0.25, 0.25, 0}};
  t.b = {1.0 / 6, 1.0 / 6, 2.0 / 3};
  t.order = 3;
  return t;
}

TEST(Ch04Stability, ExplicitMethodsHaveTaylorPolynomials) {
  // Methods with s = p <= 4 have R(z) = Σ_{k<=p} z^k/k!; Bogacki–Shampine's fourth stage has b_4 = 0;
  // Dormand–Prince adds z⁶/600 to the degree-5 Taylor polynomial.
  for (const Complex z : sample_points()) {
    EXPECT_NEAR(std::abs(stability_function(rk4(), z) - taylor_exp(z, 4)), 0.0, 1e-12);
    EXPECT_NEAR(std::abs(stability_function(explicit_euler(), z) - (1.0 + z)), 0.0, 1e-14);
    EXPECT_NEAR(std::abs(stability_function(heun(), z) - taylor_exp(z, 2)), 0.0, 1e-13);
    EXPECT_NEAR(std::abs(stability_function(explicit_midpoint(), z) - taylor_exp(z, 2)), 0.0, 1e-13);
    EXPECT_NEAR(std::abs(stability_function(bogacki_shampine(), z) - taylor_exp(z, 3)), 0.0, 1e-12);
    EXPECT_NEAR(std::abs(stability_function(dormand_prince(), z) -
                         (taylor_exp(z, 5) + std::pow(z, 6) / 600.0)),
                0.0, 1e-10);
  }
  // The polynomial coefficients agree with the complex evaluation.
  for (const ButcherTableau& t : explicit_methods()) {
    const Vec gamma = stability_polynomial(t);
    EXPECT_EQ(gamma.size(), size_t(t.stages() + 1));
    const Complex z(-0.7, 1.1);
    Complex value = 0.0, power = 1.0;
    for (double g : gamma) {
      value += g * power;
      power *= z;
    }
    EXPECT_NEAR(std::abs(value - stability_function(t, z)), 0.0, 1e-12) << t.name;
  }
  EXPECT_THROW(stability_polynomial(implicit_euler_tableau()), Error);
}

TEST(Ch04Stability, ImplicitMethodsHaveRationalFunctions) {
  for (const Complex z : sample_points()) {
    EXPECT_NEAR(std::abs(stability_function(implicit_euler_tableau(), z) - 1.0 / (1.0 - z)), 0.0, 1e-12);
    EXPECT_NEAR(std::abs(stability_function(implicit_midpoint_tableau(), z) - (1.0 + z / 2.0) / (1.0 - z / 2.0)),
                0.0, 1e-12);
    EXPECT_NEAR(std::abs(stability_function(gauss_legendre_2(), z) -
                         (1.0 + z / 2.0 + z * z / 12.0) / (1.0 - z / 2.0 + z * z / 12.0)),
                0.0, 1e-12);
  }
  // A pole of R: I − zA is singular at z = 1 for implicit Euler.
  EXPECT_THROW(stability_function(implicit_euler_tableau(), Complex(1.0, 0.0)), Error);
}

// The root in (lo, hi) of a polynomial with p(lo), p(hi) of opposite signs, by bisection.
double polynomial_root(const Vec& coefficients, double lo, double hi) {
  auto p = [&](double x) {
    double v = 0;
    for (size_t k = coefficients.size(); k-- > 0;) v = v * x + coefficients[k];
    return v;
  };
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    ((p(mid) > 0) == (p(lo) > 0) ? lo : hi) = mid;
  }
  return lo;
}

TEST(Ch04Stability, IntervalsOnTheNegativeRealAxis) {
  EXPECT_NEAR(stability_interval(explicit_euler()), 2.0, 1e-10);
  EXPECT_NEAR(stability_interval(heun()), 2.0, 1e-10);
  EXPECT_NEAR(stability_interval(explicit_midpoint()), 2.0, 1e-10);
  // RK4: R(−x) = 1 at x > 0 where x³ − 4x² + 12x − 24 = 0 (≈ 2.7853).
  const double rk4_end = polynomial_root({-24, 12, -4, 1}, 2.0, 3.0);
  EXPECT_NEAR(rk4_end, 2.7853, 1e-4);
  EXPECT_NEAR(stability_interval(rk4()), rk4_end, 1e-9);
  // Bogacki–Shampine: R(−x) = −1 where x³ − 3x² + 6x − 12 = 0 (≈ 2.5127).
  EXPECT_NEAR(stability_interval(bogacki_shampine()), polynomial_root({-12, 6, -3, 1}, 2.0, 3.0), 1e-9);
  EXPECT_NEAR(stability_interval(dormand_prince()), 3.3066, 1e-3);  // literature value
  // A-stable methods: the whole negative axis.
  EXPECT_TRUE(std::isinf(stability_interval(implicit_euler_tableau())));
  EXPECT_TRUE(std::isinf(stability_interval(implicit_midpoint_tableau())));
  EXPECT_TRUE(std::isinf(stability_interval(gauss_legendre_2())));
}

TEST(Ch04Stability, GridSamplesTheRegion) {
  const StabilityGrid grid = stability_grid(explicit_euler(), -3.0, 1.0, -2.0, 2.0, 40, 30);
  ASSERT_EQ(grid.abs_r.size(), 40u * 30u);
  const Complex top_left = grid.point(0, 0);
  EXPECT_NEAR(top_left.real(), -3.0 + 0.05, 1e-12);
  EXPECT_NEAR(top_left.imag(), 2.0 - 4.0 / 60, 1e-12);
  for (int64_t row = 0; row < grid.height; row += 7)
    for (int64_t col = 0; col < grid.width; col += 5)
      EXPECT_NEAR(grid.abs_r[row * grid.width + col], std::abs(1.0 + grid.point(row, col)), 1e-14);
  EXPECT_THROW(stability_grid(rk4(), 1.0, -1.0, -1.0, 1.0, 10, 10), Error);
}

TEST(Ch04Stability, CircleContractivityBounds) {
  // Lower bound: Kraaijevanger's radius of absolute monotonicity; upper: the largest disk
  // {|z + r| <= r} inside the stability region. Known values of the lower bound: Euler, Heun and
  // SSPRK3 1, RK4 and explicit midpoint 0, implicit midpoint 2, implicit Euler unbounded.
  EXPECT_NEAR(absolute_monotonicity_radius(explicit_euler()), 1.0, 1e-9);
  EXPECT_NEAR(absolute_monotonicity_radius(heun()), 1.0, 1e-9);
  EXPECT_NEAR(absolute_monotonicity_radius(ssp_rk3()), 1.0, 1e-9);
  EXPECT_EQ(absolute_monotonicity_radius(rk4()), 0.0);
  EXPECT_EQ(absolute_monotonicity_radius(explicit_midpoint()), 0.0);
  EXPECT_NEAR(absolute_monotonicity_radius(implicit_midpoint_tableau()), 2.0, 1e-9);
  EXPECT_TRUE(std::isinf(absolute_monotonicity_radius(implicit_euler_tableau())));
  // Euler's region is exactly the unit disk around −1; Heun's largest disk also has radius 1.
  EXPECT_NEAR(largest_stable_disk(explicit_euler()), 1.0, 1e-6);
  EXPECT_NEAR(largest_stable_disk(heun()), 1.0, 1e-6);
  EXPECT_TRUE(std::isinf(largest_stable_disk(implicit_euler_tableau())));
  // Every method: lower <= upper; the radius stored in a tableau lies between them.
  for (const ButcherTableau& t : explicit_methods()) {
    const double lower = absolute_monotonicity_radius(t), upper = largest_stable_disk(t);
    EXPECT_LE(lower, upper + 1e-9) << t.name;
    // A disk of radius r reaches −2r on the real axis, so it cannot pass the stability interval.
    EXPECT_LE(2 * upper, stability_interval(t) + 1e-6) << t.name;
    if (t.circle_contractivity_radius > 0) {
      EXPECT_NEAR(t.circle_contractivity_radius, lower, 1e-6) << t.name;
      EXPECT_NEAR(t.circle_contractivity_radius, upper, 1e-6) << t.name;
    }
  }
  EXPECT_EQ(explicit_euler().circle_contractivity_radius, 1.0);
  // Unbounded radii are claimed only for algebraically stable methods (with an unbounded disk).
  for (const ButcherTableau& t : {implicit_euler_tableau(), implicit_midpoint_tableau(), gauss_legendre_2()}) {
    EXPECT_TRUE(std::isinf(t.circle_contractivity_radius)) << t.name;
    EXPECT_TRUE(algebraic_stability(t).algebraically_stable) << t.name;
    EXPECT_TRUE(std::isinf(largest_stable_disk(t))) << t.name;
  }
}

TEST(Ch04Stability, AlgebraicStabilityMatrix) {
  // Gauss methods (implicit midpoint, 2-stage Gauss–Legendre) have M = 0 exactly.
  for (const ButcherTableau& t : {implicit_midpoint_tableau(), gauss_legendre_2()}) {
    const AlgebraicStability a = algebraic_stability(t);
    for (double m : a.m) EXPECT_NEAR(m, 0.0, 1e-15) << t.name;
    EXPECT_TRUE(a.algebraically_stable) << t.name;
  }
  // Implicit Euler: M = b a + a b − b² = 1 > 0.
  const AlgebraicStability implicit = algebraic_stability(implicit_euler_tableau());
  EXPECT_DOUBLE_EQ(implicit.m[0], 1.0);
  EXPECT_TRUE(implicit.algebraically_stable);
  // Explicit methods: a_ii = 0 makes M_ii = −b_i², so M is never positive semidefinite.
  for (const ButcherTableau& t : explicit_methods()) {
    const AlgebraicStability a = algebraic_stability(t);
    EXPECT_FALSE(a.algebraically_stable) << t.name;
    EXPECT_LT(a.eigenvalues.front(), 0.0) << t.name;
    for (int i = 0; i < t.stages(); ++i) EXPECT_DOUBLE_EQ(a.m[i * t.stages() + i], -t.b[i] * t.b[i]);
  }
  EXPECT_DOUBLE_EQ(algebraic_stability(explicit_euler()).m[0], -1.0);
}

TEST(Ch04Stability, SymmetricEigenvaluesOfAKnownSpectrum) {
  // M = Q diag(d) Qᵀ with a Householder reflection Q = I − 2vvᵀ/vᵀv has eigenvalues d.
  const int n = 5;
  const Vec d = {-2.5, -0.1, 0.0, 1.0, 3.25};
  const Vec v = {0.3, -1.2, 0.8, 0.5, -0.4};
  double vv = 0;
  for (double x : v) vv += x * x;
  Vec q(n * n), m(n * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) q[i * n + j] = (i == j ? 1.0 : 0.0) - 2 * v[i] * v[j] / vv;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k) m[i * n + j] += q[i * n + k] * d[k] * q[j * n + k];
  const Vec eigenvalues = symmetric_eigenvalues(m, n);
  for (int i = 0; i < n; ++i) EXPECT_NEAR(eigenvalues[i], d[i], 1e-12);
  EXPECT_THROW(symmetric_eigenvalues({1, 2, 3, 4}, 2), Error);  // not symmetric
}

}  // namespace
}  // namespace stablenn
