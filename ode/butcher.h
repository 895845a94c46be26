// ode/butcher.h — Runge–Kutta methods as data: Butcher tableaux (chapter 4).
//
// A Runge–Kutta method with s stages takes a step of size h from (t, y) by
//   k_i = f(t + c_i h, y + h Σ_j a_ij k_j)      i = 1..s
//   y_1 = y + h Σ_i b_i k_i                      (order p = `order`)
//   ŷ_1 = y + h Σ_i b̂_i k_i                      (embedded pair: order q = `embedded_order`)
// and the difference y_1 − ŷ_1 = h Σ (b_i − b̂_i) k_i estimates the local error. A method is its
// tableau; one driver (ode/rk_step.h, ode/solve_adaptive.h) runs any explicit tableau.
#pragma once
#include <string>
#include <vector>

namespace stablenn {

// Chapter 4: the coefficients of one Runge–Kutta method.
struct ButcherTableau {
  std::string name;
  std::vector<double> c;               // [s] nodes: stage i is evaluated at t + c_i h
  std::vector<std::vector<double>> a;  // [s][s] stage coefficients; explicit: zero on/above the diagonal
  std::vector<double> b;               // [s] weights of the step (order `order`)
  std::vector<double> b_hat;           // [s] embedded weights (order `embedded_order`); empty: none
  int order = 0;
  int embedded_order = 0;              // 0 when b_hat is empty
  // [s][m] continuous extension: the solution at t + θh is y + h Σ_i b_i(θ) k_i with
  // b_i(θ) = Σ_k dense[i][k] θ^(k+1). Empty: none (FSAL pairs then use cubic Hermite interpolation).
  std::vector<std::vector<double>> dense;
  // Circle-contractivity radius r in inner-product norms (ℓ2, as the network blocks use): for f with
  // ‖f(x) − f(y) + ρ(x − y)‖ ≤ ρ‖x − y‖, one step is non-expansive when hρ ≤ r
  // (book/A-references.md §A.2).
  // 0 means "not known" (ode/stability.h computes a lower and an upper bound); +inf for algebraically
  // stable methods, since the circle condition implies ⟨f(x) − f(y), x − y⟩ ≤ 0.
  double circle_contractivity_radius = 0.0;
  // The radius r the stable blocks of chapter 7 use for gradient fields f = −∇V, V convex and
  // L-smooth (ρ = L/2, rule hL <= 2r). Their stage Jacobians −AᵀDA are symmetric, a narrower class
  // than the circle condition: r equals circle_contractivity_radius where that is known (Euler, Heun:
  // 1); for RK4 it is 1, the value of Sherry et al. (Physica D 2024), supported by adversarial
  // searches (tests/ch07_blocks_test.cpp, book chapter 6) but not proved, while its general circle
  // radius is 0 (Kraaijevanger). 0: not known.
  double gradient_field_radius = 0.0;

  int stages() const { return static_cast<int>(c.size()); }
  bool is_explicit() const;          // a_ij = 0 for j >= i
  bool has_error_estimate() const { return !b_hat.empty(); }
  // First Same As Last: the last stage is f(t + h, y_1), so it is the next step's first stage.
  bool is_fsal() const;
};

// Chapter 4: checks sizes (c, a, b, b_hat, dense agree on s), finiteness, the row-sum condition
// c_i = Σ_j a_ij and Σ b_i = 1; throws stablenn::Error naming the tableau and the broken rule.
void validate_tableau(const ButcherTableau& tableau);

// Chapter 4: the weights b_i(θ) of the solution at t + θh, θ ∈ [0, 1]: the tableau's own dense
// output if it has one, else the cubic Hermite interpolant through (y, k_1) and (y_1, k_s) of an FSAL
// pair. Throws for a tableau that has neither.
std::vector<double> dense_output_weights(const ButcherTableau& tableau, double theta);

// ---- explicit methods (chapter 4) ----
ButcherTableau explicit_euler();     // order 1, r = 1
ButcherTableau heun();               // order 2 (explicit trapezoidal rule), r = 1
ButcherTableau explicit_midpoint();  // order 2
ButcherTableau rk4();                // classical Runge–Kutta, order 4
ButcherTableau bogacki_shampine();   // 3(2) FSAL pair
ButcherTableau dormand_prince();     // 5(4) FSAL pair with Shampine's 4th-order dense output

// ---- implicit methods, as tableaux for stability analysis (chapter 4; solved in ode/implicit.h) ----
ButcherTableau implicit_euler_tableau();     // order 1, L-stable, algebraically stable, r = inf
ButcherTableau implicit_midpoint_tableau();  // 1-stage Gauss, order 2, algebraically stable, r = inf
ButcherTableau gauss_legendre_2();           // 2-stage Gauss, order 4, algebraically stable, r = inf

// Chapter 4: the six explicit methods above, in the order listed.
std::vector<ButcherTableau> explicit_methods();

}  // namespace stablenn
