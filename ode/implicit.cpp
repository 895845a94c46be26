// ode/implicit.cpp — Newton iterations for implicit Euler and implicit midpoint (chapter 4).
#include "ode/implicit.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "ode/fixed_grid.h"
#include "ode/linear_solve.h"

namespace stablenn {

namespace {

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// f(t, y) with its length checked, counted in stats.
std::vector<double> evaluate(const OdeFunction<std::vector<double>>& f, double t,
                             const std::vector<double>& y, SolverStats* stats, const char* caller) {
  std::vector<double> out = f(t, y);
  SNN_CHECK(out.size() == y.size(), caller, ": f returned a vector of length ", out.size(),
            " for a state of length ", y.size());
  if (stats != nullptr) stats->function_evaluations += 1;
  return out;
}

}  // namespace

const char* implicit_method_name(ImplicitMethod method) {
  return method == ImplicitMethod::kImplicitEuler ? "implicit Euler" : "implicit midpoint";
}

std::vector<double> finite_difference_jacobian(const OdeFunction<std::vector<double>>& f, double t,
                                               const std::vector<double>& y,
                                               const std::vector<double>& fy) {
  // y, fy: [n] -> J: [n*n], J[i*n + j] = ∂f_i/∂y_j
  const size_t n = y.size();
  SNN_CHECK(fy.size() == n, "finite_difference_jacobian: f(t, y) has length ", fy.size(),
            ", y has length ", n);
  std::vector<double> jacobian(n * n);
  std::vector<double> shifted = y;
  for (size_t j = 0; j < n; ++j) {
    // √ε balances truncation (∝ δ) against rounding (∝ ε/δ) of a forward difference.
    const double delta = std::sqrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, std::fabs(y[j]));
    shifted[j] = y[j] + delta;
    const std::vector<double> f_shifted = f(t, shifted);
    SNN_CHECK(f_shifted.size() == n, "finite_difference_jacobian: f returned length ",
              f_shifted.size(), " for a state of length ", n);
    const double step = shifted[j] - y[j];  // the step actually represented in floating point
    for (size_t i = 0; i < n; ++i) jacobian[i * n + j] = (f_shifted[i] - fy[i]) / step;
    shifted[j] = y[j];
  }
  return jacobian;
}

std::vector<double> implicit_step(ImplicitMethod method, const OdeFunction<std::vector<double>>& f,
                                  double t, const std::vector<double>& y, double h,
                                  const NewtonOptions& options, SolverStats* stats) {
  // y: [n] -> y_1: [n]
  const char* name = implicit_method_name(method);
  SNN_CHECK(options.tolerance > 0 && options.max_iterations >= 1, name,
            ": NewtonOptions needs tolerance > 0 and max_iterations >= 1, got ", options.tolerance,
            " and ", options.max_iterations);
  const size_t n = y.size();
  // Implicit Euler evaluates f at (t + h, Y); implicit midpoint at (t + h/2, (y + Y)/2).
  const bool midpoint = method == ImplicitMethod::kImplicitMidpoint;
  const double theta = midpoint ? 0.5 : 1.0;
  const double t_eval = t + theta * h;
  std::vector<double> Y = y;  // the initial guess: no change
  std::vector<double> point(n);
  for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
    for (size_t i = 0; i < n; ++i) point[i] = midpoint ? 0.5 * (y[i] + Y[i]) : Y[i];
    const std::vector<double> f_point = evaluate(f, t_eval, point, stats, name);
    std::vector<double> jacobian;
    if (options.jacobian) {
      jacobian = options.jacobian(t_eval, point);
      SNN_CHECK(jacobian.size() == n * n, name, ": the Jacobian has ", jacobian.size(),
                " entries, expected ", n, "*", n);
    } else {
      jacobian = finite_difference_jacobian(f, t_eval, point, f_point);
      if (stats != nullptr) stats->function_evaluations += static_cast<int64_t>(n);
    }
    if (stats != nullptr) {
      stats->jacobian_evaluations += 1;
      stats->newton_iterations += 1;
    }
    // G(Y) = Y − y − h f(point);  J_G = I − θ h ∂f/∂y(point).
    std::vector<double> minus_g(n);
    for (size_t i = 0; i < n; ++i) minus_g[i] = -(Y[i] - y[i] - h * f_point[i]);
    std::vector<double> jg(n * n);
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) jg[i * n + j] = (i == j ? 1.0 : 0.0) - theta * h * jacobian[i * n + j];
    const std::vector<double> delta = solve_dense(std::move(jg), std::move(minus_g), name);
    for (size_t i = 0; i < n; ++i) Y[i] += delta[i];
    const double change = max_abs(delta);
    SNN_CHECK(std::isfinite(change), name, ": Newton diverged (non-finite update) at t = ", t,
              ", h = ", h, "; reduce h");
    if (change <= options.tolerance * (1.0 + max_abs(Y))) return Y;
  }
  fail(name, ": Newton did not converge in ", options.max_iterations, " iterations at t = ", t,
       ", h = ", h, " (tolerance ", options.tolerance, "); reduce h, raise max_iterations, or check ",
       "the Jacobian");
}

OdeSolution<std::vector<double>> solve_implicit(ImplicitMethod method,
                                                const OdeFunction<std::vector<double>>& f,
                                                const std::vector<double>& y0, double t0, double t1,
                                                int64_t n_steps, const NewtonOptions& options,
                                                int64_t output_every) {
  return solve_on_fixed_grid(implicit_method_name(method), y0, t0, t1, n_steps, output_every,
                             [&](int64_t, double t, const std::vector<double>& y, double h,
                                 SolverStats& stats) {
                               return implicit_step(method, f, t, y, h, options, &stats);
                             });
}

}  // namespace stablenn
