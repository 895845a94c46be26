// ode/stability.h — linear and nonlinear stability of Runge–Kutta methods (chapters 4 and 6).
//
// On the test equation y' = λy one step multiplies y by R(z), z = hλ, with the stability function
//   R(z) = 1 + z bᵀ(I − zA)⁻¹ 1
// (a polynomial of degree <= s for explicit methods). The step is stable when |R(z)| <= 1; the set of
// such z is the stability region. Contractivity for nonlinear f needs more (see the radius functions
// and algebraic_stability below).
#pragma once
#include <complex>
#include <cstdint>
#include <vector>

#include "ode/butcher.h"

namespace stablenn {

// Chapter 4: R(z) for any tableau (explicit or implicit), by solving (I − zA) x = 1. Throws when
// I − zA is singular (z at a pole of R).
std::complex<double> stability_function(const ButcherTableau& tableau, std::complex<double> z);

// Chapter 4: the coefficients γ_0..γ_s of R(z) = Σ_k γ_k z^k for an explicit tableau:
// γ_0 = 1, γ_k = bᵀ A^(k−1) 1. Throws for implicit tableaux (their R is rational).
std::vector<double> stability_polynomial(const ButcherTableau& tableau);

// Chapter 4: |R(z)| on a width × height grid of the rectangle [re_min, re_max] × [im_min, im_max],
// for drawing the stability region. Row 0 is the top (im = im_max), column 0 the left (re = re_min);
// pixel centres, so the point of (row, col) is re_min + (col + ½)(re_max − re_min)/width, etc.
struct StabilityGrid {
  double re_min = 0, re_max = 0, im_min = 0, im_max = 0;
  int64_t width = 0, height = 0;
  std::vector<double> abs_r;  // [height * width] row-major; +inf at poles of R
  std::complex<double> point(int64_t row, int64_t col) const;
};
StabilityGrid stability_grid(const ButcherTableau& tableau, double re_min, double re_max,
                             double im_min, double im_max, int64_t width, int64_t height);

// Chapter 4: the length x of the stability interval [−x, 0] on the negative real axis: the first
// s > 0 with |R(−s)| > 1, found by scanning and bisection (to ~1e-12). Returns +inf when
// |R(−s)| <= 1 for all s <= search_limit (A-stable methods).
double stability_interval(const ButcherTableau& tableau, double search_limit = 100.0);

// Chapter 4: the radius r of the largest disk {z : |z + r| <= r} inside the stability region. The
// scalar problems y' = λy with |λ + ρ| <= ρ satisfy the circle condition, so a method is circle
// contractive only for hρ <= this radius: an UPPER bound of the circle-contractivity radius.
double largest_stable_disk(const ButcherTableau& tableau, double search_limit = 100.0);

// Chapter 4: Kraaijevanger's radius of absolute monotonicity R(A, b) (= the SSP coefficient): the
// largest r with (I + rA) invertible and, entrywise, A(I + rA)⁻¹ >= 0, bᵀ(I + rA)⁻¹ >= 0,
// (I + rA)⁻¹1 >= 0 and r bᵀ(I + rA)⁻¹1 <= 1 (the step is then a convex combination of Euler steps
// of size h/r). Under the circle condition a step is non-expansive in ANY norm when
// hρ <= R(A, b): a LOWER bound of the circle-contractivity radius. +inf when the conditions hold up to
// search_limit (e.g. implicit Euler).
double absolute_monotonicity_radius(const ButcherTableau& tableau, double search_limit = 100.0);

// Chapter 6 (computed here with the other stability tests): algebraic stability (Burrage–Butcher).
// M = BA + AᵀB − bbᵀ with B = diag(b); a method is algebraically stable (contractive on every
// dissipative f, for any h) when b >= 0 and M is positive semidefinite.
struct AlgebraicStability {
  std::vector<double> m;            // [s*s] row-major, symmetric
  std::vector<double> eigenvalues;  // of M, ascending
  bool weights_nonnegative = false;
  bool algebraically_stable = false;  // weights_nonnegative and every eigenvalue >= −1e-12
};
AlgebraicStability algebraic_stability(const ButcherTableau& tableau);

// Chapter 6: eigenvalues (ascending) of a symmetric [n*n] row-major matrix by cyclic Jacobi rotations.
std::vector<double> symmetric_eigenvalues(std::vector<double> matrix, int64_t n);

// Chapter 10: the same with the eigenvectors: column i of `vectors` ([n*n], row-major) is the unit
// eigenvector of values[i]. (The Lanczos estimate of μ₂ needs the top eigenvector of a small matrix.)
struct SymmetricEigen {
  std::vector<double> values;
  std::vector<double> vectors;
};
SymmetricEigen symmetric_eigen(std::vector<double> matrix, int64_t n);

}  // namespace stablenn
