// tests/ch06_stability_test.cpp — chapter 6, "Stability": Lipschitz constants of layers against
// measured ratios ‖f(x) − f(y)‖/‖x − y‖, contractive flows, explicit Euler on a gradient flow, the
// contractivity radii of Euler, Heun and RK4 against an independent computation, algebraic
// stability, and circle contractivity of the block steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <memory>
#include <random>
#include <vector>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/stable/block_integrators.h"
#include "layers/stable/gradient_step_block.h"
#include "layers/stable/spectral_norm.h"
#include "ode/ode.h"
#include "robust/certificates.h"
#include "robust/lipschitz.h"

namespace stablenn {
namespace {

using Vec = std::vector<double>;
using Complex = std::complex<double>;
constexpr DType kF64 = DType::Float64;
constexpr double kPi = 3.14159265358979323846;

double norm(const Vec& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}
Vec minus(const Vec& a, const Vec& b) {
  Vec d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}
// ‖f(x) − f(y)‖ / ‖x − y‖ for a module on one row each.
double ratio(Module& m, const Tensor& x, const Tensor& y) {
  const Vec fx = m(Var(x)).value().to_vector(), fy = m(Var(y)).value().to_vector();
  return norm(minus(fx, fy)) / norm(minus(x.to_vector(), y.to_vector()));
}

// ---- cell 1: Lipschitz constants of layers and compositions ----

TEST(Ch06LayerBounds, ActivationConstantsAgainstMeasuredRatios) {
  // Each activation carries Lip(σ) and, element-wise, its slopes [a, b]. Measured: every difference
  // quotient lies in [a, b] and every ratio is <= Lip; pairs close to the point of steepest slope
  // reach Lip (so the constant is not just an upper bound but the tight one).
  struct Case {
    std::shared_ptr<Activation> layer;
    double steepest;  // where |σ'| is largest (approached), for the tightness check
  };
  const std::vector<Case> cases = {{ReLU(), 1.0},      {LeakyReLU(0.2), 1.0}, {LeakyReLU(2.0), -1.0},
                                   {Tanh(), 0.0},      {Sigmoid(), 0.0},      {Softplus(), 30.0},
                                   {ELU(0.5), 1.0},    {ELU(2.0), -1e-6},     {GroupSort(2), 0.0},
                                   {GroupSort(4), 0.0}};
  Generator g(61);
  for (const Case& c : cases) {
    Activation& a = *c.layer;
    SCOPED_TRACE(a.describe());
    EXPECT_EQ(lipschitz_bound(a), a.lipschitz());  // robust/ reads the constant the type carries
    double worst = 0;
    for (int trial = 0; trial < 200; ++trial) {
      const double scale = trial % 2 ? 0.05 : 3.0;  // near pairs and far pairs
      const Tensor x = g.normal({1, 8}, 0, 2, kF64);
      const Tensor y = add(x, g.normal({1, 8}, 0, scale, kF64));
      worst = std::max(worst, ratio(a, x, y));
      if (!a.elementwise()) continue;
      const Vec u = x.to_vector(), v = y.to_vector();
      const Vec su = a(Var(x)).value().to_vector(), sv = a(Var(y)).value().to_vector();
      for (size_t i = 0; i < u.size(); ++i) {
        const double d = (su[i] - sv[i]) / (u[i] - v[i]);
        EXPECT_GE(d, a.slopes().min - 1e-9);
        EXPECT_LE(d, a.slopes().max + 1e-9);
      }
    }
    EXPECT_LE(worst, a.lipschitz() * (1 + 1e-12));
    if (a.elementwise()) {
      // A tiny step at the steepest point: the ratio approaches the largest slope magnitude.
      const Tensor x = Tensor::full({1, 8}, c.steepest, kF64);
      const Tensor y = Tensor::full({1, 8}, c.steepest + 1e-7, kF64);
      EXPECT_NEAR(ratio(a, x, y), a.lipschitz(), 1e-5 * a.lipschitz());
    } else {
      // GroupSort permutes each group: the norm is kept, so Lip = 1 exactly (ratio 1 from 0).
      const Tensor x = g.normal({1, 8}, 0, 1, kF64);
      EXPECT_NEAR(ratio(a, x, Tensor::zeros({1, 8}, kF64)), 1.0, 1e-12);
    }
  }
}

// The top right singular vector of a Linear layer's weight, by power iteration on WᵀW.
Vec top_right_singular_vector(const Tensor& w) {
  const int64_t rows = w.size(0), cols = w.size(1);
  const Vec m = w.to_vector();
  Vec v(cols, 1.0);
  for (int it = 0; it < 500; ++it) {
    Vec wv(rows, 0.0), next(cols, 0.0);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) wv[i] += m[i * cols + j] * v[j];
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) next[j] += m[i * cols + j] * wv[i];
    const double n = norm(next);
    for (double& x : next) x /= n;
    v = next;
  }
  return v;
}

TEST(Ch06LayerBounds, NetworkBoundIsTheProductAndAboveEveryMeasuredRatio) {
  // The MLP of cell 1: 8 -> 16 -> 16 -> 4 with tanh. Each layer's bound is attained or respected by
  // measurement; the network's bound is their product and lies above the measured ratios.
  Generator g(62);
  Sequential net;
  net.add(std::make_shared<Linear>(8, 16, true, g, kF64));
  net.add(Tanh());
  net.add(std::make_shared<Linear>(16, 16, true, g, kF64));
  net.add(Tanh());
  net.add(std::make_shared<Linear>(16, 4, true, g, kF64));
  const std::vector<LayerBound> rows = layer_bounds(net);
  ASSERT_EQ(rows.size(), 5u);
  double product = 1;
  for (const LayerBound& row : rows) product *= row.bound;
  EXPECT_NEAR(lipschitz_bound(net), product, 1e-12 * product);
  EXPECT_EQ(rows[1].bound, 1.0);  // tanh
  // A Linear layer's bound σ_max(W) is its exact constant: reached along the top singular vector.
  for (size_t i : {0u, 2u, 4u}) {
    auto& linear = dynamic_cast<Linear&>(net[i]);
    const Vec v = top_right_singular_vector(linear.weight.value());
    const Tensor x = g.normal({1, linear.weight.value().size(1)}, 0, 1, kF64);
    Vec shifted = x.to_vector();
    for (size_t j = 0; j < shifted.size(); ++j) shifted[j] += 0.3 * v[j];
    const Tensor y = Tensor::from_vector(shifted, x.shape(), kF64);
    EXPECT_NEAR(ratio(linear, x, y), rows[i].bound, 1e-9 * rows[i].bound) << "layer " << i;
  }
  // Random pairs and an adversarial search never exceed the product; tanh' < 1 and misaligned
  // singular directions leave a gap.
  EmpiricalLipschitzOptions search;
  search.random_pairs = 256;
  search.ascent_pairs = 8;
  search.ascent_steps = 60;
  search.seed = 62;
  const EmpiricalLipschitzResult measured = empirical_lipschitz(net, g.normal({32, 8}, 0, 1, kF64), search);
  EXPECT_GT(measured.best(), 0.0);
  EXPECT_LE(measured.best(), product * (1 + 1e-9));
}

// ---- cells 2 and 3: contractive flows, explicit Euler on a gradient flow ----

TEST(Ch06Flows, OneSidedLipschitzConstantBoundsTheSeparation) {
  // ‖x(t) − y(t)‖ <= e^{νt}‖x0 − y0‖. The spiral x' = [[ν, −1], [1, ν]]x separates exactly like e^{νt};
  // the gradient flow of a convex V (ν <= 0) never separates.
  const double nu = 0.1;
  const OdeFunction<Vec> spiral = [nu](double, const Vec& x) { return Vec{nu * x[0] - x[1], x[0] + nu * x[1]}; };
  // V(x) = Σ_i γ(a_iᵀx + b_i) with γ' = LeakyReLU(0.2): ∇V = Aᵀσ(Ax + b).
  const Vec A = {1.2, 0.3, -0.4, 1.0, 0.9, -1.1}, b = {0.2, -0.5, 0.1};
  const OdeFunction<Vec> gradient_flow = [&](double, const Vec& x) {
    Vec f(2, 0.0);
    for (int i = 0; i < 3; ++i) {
      double pre = A[2 * i] * x[0] + A[2 * i + 1] * x[1] + b[i];
      pre = pre > 0 ? pre : 0.2 * pre;
      f[0] -= A[2 * i] * pre;
      f[1] -= A[2 * i + 1] * pre;
    }
    return f;
  };
  const Vec x0 = {1.5, -1.0}, y0 = {-0.5, 1.2};
  const double d0 = norm(minus(x0, y0));
  const auto sx = solve_fixed(rk4(), spiral, x0, 0.0, 4.0, 400), sy = solve_fixed(rk4(), spiral, y0, 0.0, 4.0, 400);
  for (size_t i = 0; i < sx.states.size(); i += 50)
    EXPECT_NEAR(norm(minus(sx.states[i], sy.states[i])), d0 * std::exp(nu * sx.times[i]), 1e-8);
  const auto gx = solve_fixed(rk4(), gradient_flow, x0, 0.0, 4.0, 400);
  const auto gy = solve_fixed(rk4(), gradient_flow, y0, 0.0, 4.0, 400);
  double previous = d0;
  for (size_t i = 1; i < gx.states.size(); ++i) {
    const double d = norm(minus(gx.states[i], gy.states[i]));
    EXPECT_LE(d, previous * (1 + 1e-12)) << "t = " << gx.times[i];
    previous = d;
  }
  EXPECT_LT(previous, 0.9 * d0);  // and here it actually contracts
}

TEST(Ch06EulerOnGradientFlow, NonExpansiveExactlyUpToHLEqualsTwo) {
  // V(x) = ½‖Ax‖²: an Euler step multiplies differences by I − hAᵀA, whose norm is
  // max(|1 − hL|, |1 − hλ_min|); along the top eigenvector the one-step ratio is |1 − hL| exactly.
  const Vec A = {1.2, 0.3, -0.4, 1.0, 0.9, -1.1};  // 3 x 2
  double p = 0, q = 0, r = 0;  // AᵀA = [[p, q], [q, r]]
  for (int i = 0; i < 3; ++i) p += A[2 * i] * A[2 * i], q += A[2 * i] * A[2 * i + 1], r += A[2 * i + 1] * A[2 * i + 1];
  const double L = 0.5 * (p + r) + std::sqrt(0.25 * (p - r) * (p - r) + q * q);
  const Vec top = {q, L - p};  // (AᵀA − L I) top = 0
  auto euler = [&](const Vec& x, double h) { return Vec{x[0] - h * (p * x[0] + q * x[1]), x[1] - h * (q * x[0] + r * x[1])}; };
  std::mt19937 rng(63);
  std::normal_distribution<double> normal;
  for (double z : {0.5, 1.0, 1.9, 2.0, 2.2, 2.6}) {
    const double h = z / L;
    double worst = 0;
    for (int k = 0; k < 500; ++k) {
      const Vec x = {normal(rng), normal(rng)}, y = {normal(rng), normal(rng)};
      worst = std::max(worst, norm(minus(euler(x, h), euler(y, h))) / norm(minus(x, y)));
    }
    const double along_top = norm(euler(top, h)) / norm(top);
    EXPECT_NEAR(along_top, std::abs(1 - z), 1e-12) << "hL = " << z;
    if (z <= 2.0) {
      EXPECT_LE(worst, 1.0 + 1e-12) << "hL = " << z;
    } else {
      EXPECT_GT(along_top, 1.0) << "hL = " << z;
    }
  }
}

// ---- cell 5 (and chapter 4's functions): the radii of Euler, Heun and RK4 ----

// R(z) of an explicit method with coefficients γ_k, evaluated directly (independent of the library).
Complex polynomial(const Vec& gamma, Complex z) {
  Complex sum = 0, power = 1;
  for (double g : gamma) sum += g * power, power *= z;
  return sum;
}
const Vec kEuler = {1, 1}, kHeun = {1, 1, 0.5}, kRK4 = {1, 1, 0.5, 1.0 / 6, 1.0 / 24};

// The largest r with |R| <= 1 on the circle |z + r| = r, sampled at 4000 points and bisected.
// The disks {|z + r| <= r} are nested (all touch 0), and |R| is largest on the boundary.
double sampled_largest_disk(const Vec& gamma) {
  auto inside = [&](double r) {
    for (int k = 0; k < 4000; ++k) {
      const double theta = 2 * kPi * k / 4000;
      if (std::abs(polynomial(gamma, Complex(-r + r * std::cos(theta), r * std::sin(theta)))) > 1 + 1e-12) return false;
    }
    return true;
  };
  double lo = 0.01, hi = 5;
  for (int it = 0; it < 60; ++it) (inside(0.5 * (lo + hi)) ? lo : hi) = 0.5 * (lo + hi);
  return lo;
}
// The stability interval [−x, 0]: the first x > 0 with |R(−x)| > 1, scanned and bisected.
double sampled_interval(const Vec& gamma) {
  double x = 1e-3;
  while (std::abs(polynomial(gamma, -x)) <= 1) x += 1e-3;
  double lo = x - 1e-3, hi = x;
  for (int it = 0; it < 60; ++it) (std::abs(polynomial(gamma, -0.5 * (lo + hi))) <= 1 ? lo : hi) = 0.5 * (lo + hi);
  return lo;
}

TEST(Ch06Radii, EulerHeunAndRK4AgainstASampledComputation) {
  const ButcherTableau methods[3] = {explicit_euler(), heun(), rk4()};
  const Vec* gammas[3] = {&kEuler, &kHeun, &kRK4};
  for (int m = 0; m < 3; ++m) {
    const ButcherTableau& t = methods[m];
    SCOPED_TRACE(t.name);
    // The library's polynomial is the Taylor polynomial of e^z of degree s (order s <= 4).
    const Vec gamma = stability_polynomial(t);
    ASSERT_EQ(gamma.size(), gammas[m]->size());
    for (size_t k = 0; k < gamma.size(); ++k) EXPECT_NEAR(gamma[k], (*gammas[m])[k], 1e-14);
    EXPECT_NEAR(stability_interval(t), sampled_interval(*gammas[m]), 1e-9);
    EXPECT_NEAR(largest_stable_disk(t), sampled_largest_disk(*gammas[m]), 1e-6);
  }
  // Closed forms: Euler's region is the disk |z + 1| <= 1 itself (r = 1, interval 2); Heun also has
  // r = 1 and interval 2; RK4's interval ends at the real root of x³ − 4x² + 12x − 24 (2.785293...),
  // and its largest disk reaches exactly that point.
  EXPECT_NEAR(largest_stable_disk(explicit_euler()), 1.0, 1e-6);
  EXPECT_NEAR(largest_stable_disk(heun()), 1.0, 1e-6);
  EXPECT_NEAR(stability_interval(rk4()), 2.785293563405282, 1e-9);
  // RK4's disk is limited where it meets the real axis: r = interval / 2 = 1.3926...
  EXPECT_NEAR(largest_stable_disk(rk4()), 0.5 * stability_interval(rk4()), 1e-6);
  // Euler: |R| = 1 on the whole circle of radius 1.
  for (int k = 1; k < 16; ++k) {
    const double theta = 2 * kPi * k / 16;
    EXPECT_NEAR(std::abs(stability_function(explicit_euler(), Complex(-1 + std::cos(theta), std::sin(theta)))), 1.0, 1e-14);
  }
}

TEST(Ch06Radii, TheBlocksRadiusLiesWithinTheBounds) {
  // The radius the blocks use is the tableau's (one home, ode/butcher.h). It must not exceed the
  // linear upper bound (symmetric linear fields are gradient fields), and where the circle radius is
  // known the two agree; for RK4 it is above the general lower bound 0, the case the book flags.
  for (BlockIntegrator method : {BlockIntegrator::kEuler, BlockIntegrator::kHeun, BlockIntegrator::kRK4}) {
    const ButcherTableau& t = block_integrator_tableau(method);
    SCOPED_TRACE(t.name);
    const double r = block_integrator_radius(method);
    EXPECT_EQ(r, t.gradient_field_radius);
    EXPECT_GT(r, 0.0);
    EXPECT_LE(r, largest_stable_disk(t) + 1e-6);
    // Linear symmetric fields: eigenvalues in [−L, 0], so hL = 2r must stay in the interval.
    EXPECT_LE(2 * r, stability_interval(t) + 1e-9);
    if (t.circle_contractivity_radius > 0) {
      EXPECT_EQ(r, t.circle_contractivity_radius);
    }
  }
  EXPECT_EQ(absolute_monotonicity_radius(rk4()), 0.0);
  EXPECT_EQ(rk4().circle_contractivity_radius, 0.0);  // "not known": no claim for the general case
}

// ---- cell 4: B-stability and algebraic stability ----

TEST(Ch06AlgebraicStability, RadauIIAByHandAndContractivityOfImplicitSteps) {
  // Exercise 2: two-stage Radau IIA. M = BA + AᵀB − bbᵀ = (1/16)[[1, −1], [−1, 1]], eigenvalues 0 and
  // 1/8, b > 0: algebraically stable.
  ButcherTableau radau;
  radau.name = "Radau IIA (2 stages)";
  radau.c = {1.0 / 3, 1.0};
  radau.a = {{5.0 / 12, -1.0 / 12}, {0.75, 0.25}};
  radau.b = {0.75, 0.25};
  radau.order = 3;
  const AlgebraicStability s = algebraic_stability(radau);
  const Vec expected = {1.0 / 16, -1.0 / 16, -1.0 / 16, 1.0 / 16};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(s.m[i], expected[i], 1e-15);
  EXPECT_NEAR(s.eigenvalues[0], 0.0, 1e-14);
  EXPECT_NEAR(s.eigenvalues[1], 0.125, 1e-14);
  EXPECT_TRUE(s.weights_nonnegative);
  EXPECT_TRUE(s.algebraically_stable);
  // Explicit methods never qualify (M_11 = −b_1² < 0); Gauss methods do.
  for (const ButcherTableau& t : {explicit_euler(), heun(), rk4()}) EXPECT_FALSE(algebraic_stability(t).algebraically_stable) << t.name;
  for (const ButcherTableau& t : {implicit_euler_tableau(), implicit_midpoint_tableau()}) EXPECT_TRUE(algebraic_stability(t).algebraically_stable) << t.name;

  // B-stability in action: f(y) = Sy − y³ (S antisymmetric) is dissipative, ⟨f(x) − f(y), x − y⟩ <= 0.
  // Implicit Euler and implicit midpoint (algebraically stable) are non-expansive at a large step;
  // explicit Euler at the same step is not.
  const OdeFunction<Vec> f = [](double, const Vec& y) {
    return Vec{2 * y[1] - y[0] * y[0] * y[0], -2 * y[0] - y[1] * y[1] * y[1]};
  };
  const double h = 2.0;
  std::mt19937 rng(64);
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  double implicit_worst = 0, explicit_worst = 0;
  for (int k = 0; k < 100; ++k) {
    const Vec x = {u(rng), u(rng)}, y = {u(rng), u(rng)};
    for (ImplicitMethod method : {ImplicitMethod::kImplicitEuler, ImplicitMethod::kImplicitMidpoint}) {
      const Vec fx = implicit_step(method, f, 0.0, x, h), fy = implicit_step(method, f, 0.0, y, h);
      implicit_worst = std::max(implicit_worst, norm(minus(fx, fy)) / norm(minus(x, y)));
    }
    const Vec ex = solve_fixed(explicit_euler(), f, x, 0.0, h, 1).last_state;
    const Vec ey = solve_fixed(explicit_euler(), f, y, 0.0, h, 1).last_state;
    explicit_worst = std::max(explicit_worst, norm(minus(ex, ey)) / norm(minus(x, y)));
  }
  EXPECT_LE(implicit_worst, 1.0 + 1e-8);
  EXPECT_GT(explicit_worst, 2.0);
}

// ---- cell 5: circle contractivity ----

TEST(Ch06CircleContractivity, GradientFieldsSatisfyTheCircleConditionAndStepsAtTheRadiusDoNotExpand) {
  // −∇V for V(x) = 1ᵀγ(Ax + b), γ' = ReLU, satisfies ‖f(x) − f(y) + ρ(x − y)‖ <= ρ‖x − y‖ with
  // ρ = L/2, L = ‖A‖² (co-coercivity). One step of each block method at hρ = r (hL = 2r) is then
  // measured non-expansive; at hL = 3 Euler expands.
  Generator g(65);
  for (BlockIntegrator method : {BlockIntegrator::kEuler, BlockIntegrator::kHeun, BlockIntegrator::kRK4}) {
    SCOPED_TRACE(block_integrator_name(method));
    GradientStepOptions o;
    o.integrator = method;
    o.activation = Activation::relu();
    GradientStepBlock block(MapGeometry::dense(6, 10), o, g, kF64);
    const double L = std::pow(singular_values(block.weight.value())[0], 2);
    const double rho = 0.5 * L;
    // The circle condition, on random pairs: f(x) = −Aᵀσ(Ax + b) is one step of size 1 minus x.
    FixedGradientStep unit(block, 1.0);
    auto euler_field = [&](const Tensor& x) {  // f(x) = (x − h∇V(x)) − x at h = 1, Euler only
      return minus(unit(Var(x)).value().to_vector(), x.to_vector());
    };
    if (method == BlockIntegrator::kEuler) {
      for (int k = 0; k < 200; ++k) {
        const Tensor x = g.normal({1, 6}, 0, 1, kF64), y = g.normal({1, 6}, 0, 1, kF64);
        const Vec fx = euler_field(x), fy = euler_field(y), d = minus(x.to_vector(), y.to_vector());
        Vec lhs(6);
        for (int i = 0; i < 6; ++i) lhs[i] = fx[i] - fy[i] + rho * d[i];
        EXPECT_LE(norm(lhs), rho * norm(d) * (1 + 1e-12));
      }
    }
    const double r = block_integrator_radius(method);
    FixedGradientStep at_radius(block, 2 * r / L);
    EmpiricalLipschitzOptions search;
    search.random_pairs = 256;
    search.ascent_pairs = 8;
    search.ascent_steps = 40;
    search.max_distance = 3.0;
    search.seed = 65;
    const Tensor inputs = g.normal({16, 6}, 0, 1, kF64);
    EXPECT_LE(empirical_lipschitz(at_radius, inputs, search).best(), 1.0 + 1e-9);
    if (method == BlockIntegrator::kEuler) {
      FixedGradientStep too_large(block, 3.0 / L);
      EXPECT_GT(empirical_lipschitz(too_large, inputs, search).best(), 1.01);
    }
  }
}

}  // namespace
}  // namespace stablenn
