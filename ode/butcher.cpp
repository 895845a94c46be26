// ode/butcher.cpp — the tableaux of chapter 4 and their checks.
#include "ode/butcher.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace stablenn {

namespace {
// Algebraically stable methods are non-expansive for every h on dissipative f, and the circle
// condition makes f dissipative in inner-product norms: their radius is unbounded.
constexpr double kUnbounded = std::numeric_limits<double>::infinity();
}  // namespace

bool ButcherTableau::is_explicit() const {
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = i; j < a[i].size(); ++j)
      if (a[i][j] != 0.0) return false;
  return true;
}

bool ButcherTableau::is_fsal() const {
  const int s = stages();
  if (s < 2 || c[s - 1] != 1.0) return false;
  for (int j = 0; j < s; ++j)
    if (a[s - 1][j] != b[j]) return false;
  return true;
}

void validate_tableau(const ButcherTableau& tableau) {
  const std::string& name = tableau.name;
  const size_t s = tableau.c.size();
  SNN_CHECK(s >= 1, "tableau '", name, "': needs at least one stage (c is empty)");
  SNN_CHECK(tableau.a.size() == s, "tableau '", name, "': a has ", tableau.a.size(),
            " rows, expected s = ", s, " (the length of c)");
  SNN_CHECK(tableau.b.size() == s, "tableau '", name, "': b has ", tableau.b.size(),
            " entries, expected s = ", s);
  SNN_CHECK(tableau.b_hat.empty() || tableau.b_hat.size() == s, "tableau '", name, "': b_hat has ",
            tableau.b_hat.size(), " entries, expected 0 or s = ", s);
  SNN_CHECK(tableau.dense.empty() || tableau.dense.size() == s, "tableau '", name, "': dense has ",
            tableau.dense.size(), " rows, expected 0 or s = ", s);
  SNN_CHECK(tableau.order >= 1, "tableau '", name, "': order must be >= 1, got ", tableau.order);
  SNN_CHECK(tableau.b_hat.empty() == (tableau.embedded_order == 0), "tableau '", name,
            "': embedded_order must be > 0 exactly when b_hat is given");
  double weight_sum = 0.0;
  for (size_t i = 0; i < s; ++i) {
    SNN_CHECK(tableau.a[i].size() == s, "tableau '", name, "': row ", i, " of a has ",
              tableau.a[i].size(), " entries, expected ", s);
    double row_sum = 0.0;
    for (double v : tableau.a[i]) {
      SNN_CHECK(std::isfinite(v), "tableau '", name, "': a has a non-finite entry in row ", i);
      row_sum += v;
    }
    // The stages see consistent times only when c_i = Σ_j a_ij.
    SNN_CHECK(std::fabs(row_sum - tableau.c[i]) <= 1e-12, "tableau '", name, "': row sum of a in row ",
              i, " is ", row_sum, " but c_", i, " = ", tableau.c[i]);
    SNN_CHECK(std::isfinite(tableau.b[i]), "tableau '", name, "': b has a non-finite entry");
    weight_sum += tableau.b[i];
    if (!tableau.dense.empty())
      SNN_CHECK(tableau.dense[i].size() == tableau.dense[0].size(), "tableau '", name,
                "': the rows of dense differ in length");
  }
  SNN_CHECK(std::fabs(weight_sum - 1.0) <= 1e-12, "tableau '", name,
            "': the weights b sum to ", weight_sum, ", a consistent method needs 1");
}

std::vector<double> dense_output_weights(const ButcherTableau& tableau, double theta) {
  const int s = tableau.stages();
  std::vector<double> weights(s, 0.0);
  if (!tableau.dense.empty()) {
    for (int i = 0; i < s; ++i) {
      double power = theta;  // θ^(k+1)
      for (double coefficient : tableau.dense[i]) {
        weights[i] += coefficient * power;
        power *= theta;
      }
    }
    return weights;
  }
  SNN_CHECK(tableau.is_fsal(), "dense_output_weights: tableau '", tableau.name,
            "' has no dense output and is not FSAL, so no interpolant is available");
  // Cubic Hermite through y, f(t, y) = k_1 and y_1, f(t + h, y_1) = k_s, written in the stages:
  // y(θ) = y + (3θ² − 2θ³)(y_1 − y) + (θ − 2θ² + θ³) h k_1 + (θ³ − θ²) h k_s.
  const double t2 = theta * theta, t3 = t2 * theta;
  for (int i = 0; i < s; ++i) weights[i] = (3 * t2 - 2 * t3) * tableau.b[i];
  weights[0] += theta - 2 * t2 + t3;
  weights[s - 1] += t3 - t2;
  return weights;
}

ButcherTableau explicit_euler() {
  ButcherTableau t;
  t.name = "explicit Euler";
  t.c = {0.0};
  t.a = {{0.0}};
  t.b = {1.0};
  t.order = 1;
  t.circle_contractivity_radius = 1.0;  // |1 + z| <= 1 is exactly the disk |z + 1| <= 1
  t.gradient_field_radius = 1.0;
  return t;
}

ButcherTableau heun() {
  ButcherTableau t;
  t.name = "Heun";
  t.c = {0.0, 1.0};
  t.a = {{0.0, 0.0}, {1.0, 0.0}};
  t.b = {0.5, 0.5};
  t.order = 2;
  // Two Euler steps averaged with y (Shu–Osher form), so r >= 1; the largest disk in the stability
  // region also has radius 1, so r = 1 exactly (ode/stability.h computes both bounds).
  t.circle_contractivity_radius = 1.0;
  t.gradient_field_radius = 1.0;
  return t;
}

ButcherTableau explicit_midpoint() {
  ButcherTableau t;
  t.name = "explicit midpoint";
  t.c = {0.0, 0.5};
  t.a = {{0.0, 0.0}, {0.5, 0.0}};
  t.b = {0.0, 1.0};
  t.order = 2;
  return t;
}

ButcherTableau rk4() {
  ButcherTableau t;
  t.name = "RK4";
  t.c = {0.0, 0.5, 0.5, 1.0};
  t.a = {{0, 0, 0, 0}, {0.5, 0, 0, 0}, {0, 0.5, 0, 0}, {0, 0, 1.0, 0}};
  t.b = {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6};
  t.order = 4;
  // circle_contractivity_radius stays 0 (for the general circle condition it is R(A, b) = 0); the
  // narrower gradient fields of the blocks: see butcher.h.
  t.gradient_field_radius = 1.0;
  return t;
}

ButcherTableau bogacki_shampine() {
  ButcherTableau t;
  t.name = "Bogacki-Shampine 3(2)";
  t.c = {0.0, 0.5, 0.75, 1.0};
  t.a = {{0, 0, 0, 0}, {0.5, 0, 0, 0}, {0, 0.75, 0, 0}, {2.0 / 9, 1.0 / 3, 4.0 / 9, 0}};
  t.b = {2.0 / 9, 1.0 / 3, 4.0 / 9, 0.0};
  t.b_hat = {7.0 / 24, 1.0 / 4, 1.0 / 3, 1.0 / 8};
  t.order = 3;
  t.embedded_order = 2;
  return t;
}

ButcherTableau dormand_prince() {
  ButcherTableau t;
  t.name = "Dormand-Prince 5(4)";
  t.c = {0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0};
  t.a = {{0, 0, 0, 0, 0, 0, 0},
         {1.0 / 5, 0, 0, 0, 0, 0, 0},
         {3.0 / 40, 9.0 / 40, 0, 0, 0, 0, 0},
         {44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0, 0, 0},
         {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0, 0, 0},
         {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656, 0, 0},
         {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0}};
  t.b = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0};
  t.b_hat = {5179.0 / 57600, 0,           7571.0 / 16695, 393.0 / 640,
             -92097.0 / 339200, 187.0 / 2100, 1.0 / 40};
  t.order = 5;
  t.embedded_order = 4;
  // Shampine's 4th-order interpolant (Hairer's CONTD5), expanded into polynomials in θ per stage.
  t.dense = {{1.0, -8048581381.0 / 2820520608, 8663915743.0 / 2820520608,
              -12715105075.0 / 11282082432},
             {0, 0, 0, 0},
             {0, 131558114200.0 / 32700410799, -68118460800.0 / 10900136933,
              87487479700.0 / 32700410799},
             {0, -1754552775.0 / 470086768, 14199869525.0 / 1410260304,
              -10690763975.0 / 1880347072},
             {0, 127303824393.0 / 49829197408, -318862633887.0 / 49829197408,
              701980252875.0 / 199316789632},
             {0, -282668133.0 / 205662961, 2019193451.0 / 616988883, -1453857185.0 / 822651844},
             {0, 40617522.0 / 29380423, -110615467.0 / 29380423, 69997945.0 / 29380423}};
  return t;
}

ButcherTableau implicit_euler_tableau() {
  ButcherTableau t;
  t.name = "implicit Euler";
  t.c = {1.0};
  t.a = {{1.0}};
  t.b = {1.0};
  t.order = 1;
  t.circle_contractivity_radius = kUnbounded;
  t.gradient_field_radius = kUnbounded;
  return t;
}

ButcherTableau implicit_midpoint_tableau() {
  ButcherTableau t;
  t.name = "implicit midpoint";
  t.c = {0.5};
  t.a = {{0.5}};
  t.b = {1.0};
  t.order = 2;
  t.circle_contractivity_radius = kUnbounded;
  t.gradient_field_radius = kUnbounded;
  return t;
}

ButcherTableau gauss_legendre_2() {
  const double r = std::sqrt(3.0) / 6;
  ButcherTableau t;
  t.name = "Gauss-Legendre 2";
  t.c = {0.5 - r, 0.5 + r};
  t.a = {{0.25, 0.25 - r}, {0.25 + r, 0.25}};
  t.b = {0.5, 0.5};
  t.order = 4;
  t.circle_contractivity_radius = kUnbounded;
  t.gradient_field_radius = kUnbounded;
  return t;
}

std::vector<ButcherTableau> explicit_methods() {
  return {explicit_euler(), heun(), explicit_midpoint(), rk4(), bogacki_shampine(), dormand_prince()};
}

}  // namespace stablenn
