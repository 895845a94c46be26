// ode/implicit.h — implicit Euler and implicit midpoint, solved by Newton's method (chapter 4).
//
//   implicit Euler:     y_1 = y + h f(t + h, y_1)                 order 1, L-stable (stiff problems)
//   implicit midpoint:  y_1 = y + h f(t + h/2, (y + y_1)/2)       order 2, A-stable, symplectic, keeps
//                                                                  every quadratic invariant (energy of
//                                                                  linear oscillators) exactly
// Each step solves G(Y) = 0 for Y = y_1 by Newton: J_G ΔY = −G(Y), Y += ΔY, with
// J_G = I − θ h ∂f/∂y (θ = 1 or 1/2) from a user Jacobian or forward finite differences. These work on
// std::vector<double> states only: they are for numerical experiments, not network layers.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "ode/solution.h"

namespace stablenn {

// Chapter 4: ∂f/∂y at (t, y) as an [n*n] row-major matrix (entry (i, j) = ∂f_i/∂y_j).
using JacobianFunction = std::function<std::vector<double>(double t, const std::vector<double>& y)>;

// Chapter 4: the implicit methods.
enum class ImplicitMethod { kImplicitEuler, kImplicitMidpoint };

// Chapter 4: Newton's method inside each implicit step.
struct NewtonOptions {
  double tolerance = 1e-10;   // stop when max_i |ΔY_i| <= tolerance · (1 + max_i |Y_i|)
  int max_iterations = 50;    // then throw: the step is too large or the Jacobian is wrong
  JacobianFunction jacobian;  // empty: forward differences (n extra calls of f per iteration)
};

// Chapter 4: the finite-difference Jacobian used when none is given: column j is
// (f(t, y + δ_j e_j) − f(t, y)) / δ_j with δ_j = √ε · max(1, |y_j|). fy = f(t, y). [n*n] row-major.
std::vector<double> finite_difference_jacobian(const OdeFunction<std::vector<double>>& f, double t,
                                               const std::vector<double>& y,
                                               const std::vector<double>& fy);

// Chapter 4: one implicit step of size h from (t, y); adds to the counters in *stats when given.
std::vector<double> implicit_step(ImplicitMethod method, const OdeFunction<std::vector<double>>& f,
                                  double t, const std::vector<double>& y, double h,
                                  const NewtonOptions& options = {}, SolverStats* stats = nullptr);

// Chapter 4: n_steps equal implicit steps from (t0, y0) to t1; states at steps 0, output_every, ...
// and always the last one.
OdeSolution<std::vector<double>> solve_implicit(ImplicitMethod method,
                                                const OdeFunction<std::vector<double>>& f,
                                                const std::vector<double>& y0, double t0, double t1,
                                                int64_t n_steps, const NewtonOptions& options = {},
                                                int64_t output_every = 1);

const char* implicit_method_name(ImplicitMethod method);

}  // namespace stablenn
