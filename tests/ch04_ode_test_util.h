// tests/ch04_ode_test_util.h — test problems with exact solutions and the order fit (chapter 4).
#pragma once
#include <cmath>
#include <vector>

#include "ode/ode.h"

namespace stablenn::testing {

using Vec = std::vector<double>;

// Least-squares slope of log(error) against log(h): the measured order of convergence.
inline double fitted_order(const std::vector<double>& step_sizes, const std::vector<double>& errors) {
  const size_t n = step_sizes.size();
  double mean_x = 0, mean_y = 0;
  for (size_t i = 0; i < n; ++i) {
    mean_x += std::log(step_sizes[i]) / n;
    mean_y += std::log(errors[i]) / n;
  }
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = std::log(step_sizes[i]) - mean_x;
    sxy += dx * (std::log(errors[i]) - mean_y);
    sxx += dx * dx;
  }
  return sxy / sxx;
}

// y' = cos(t) y, y(0) = 1: y(t) = exp(sin t). Non-autonomous, so the nodes c_i matter.
inline Vec exp_sin_rhs(double t, const Vec& y) { return {std::cos(t) * y[0]}; }
inline double exp_sin_exact(double t) { return std::exp(std::sin(t)); }

// The harmonic oscillator q' = p, p' = −q as one first-order system y = (q, p).
inline Vec oscillator_rhs(double, const Vec& y) { return {y[1], -y[0]}; }

inline double max_abs_difference(const Vec& a, const Vec& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace stablenn::testing
