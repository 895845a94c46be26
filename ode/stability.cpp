// ode/stability.cpp — stability functions, regions, intervals, contractivity radii (chapter 4).
#include "ode/stability.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "ode/linear_solve.h"

namespace stablenn {

namespace {

using Complex = std::complex<double>;
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846;

// Evaluates |R(z)| many times for one tableau: by Horner's rule on the stability polynomial for
// explicit methods (validated once, no allocation), by a linear solve for implicit ones; +inf at poles.
class AbsStabilityFunction {
 public:
  explicit AbsStabilityFunction(const ButcherTableau& tableau) : tableau_(tableau) {
    validate_tableau(tableau);
    if (tableau.is_explicit()) gamma_ = stability_polynomial(tableau);
  }
  double operator()(Complex z) const {
    if (!gamma_.empty()) {
      Complex value = 0.0;
      for (size_t k = gamma_.size(); k-- > 0;) value = value * z + gamma_[k];
      return std::abs(value);
    }
    try {
      return std::abs(stability_function(tableau_, z));
    } catch (const Error&) {
      return kInfinity;
    }
  }

 private:
  const ButcherTableau& tableau_;
  std::vector<double> gamma_;  // empty for implicit tableaux
};

// Bisection between a point where `holds` is true and one where it is false, to ~1e-13 relative.
template <class Property>
double bisect(const Property& holds, double good, double bad) {
  for (int i = 0; i < 200 && bad - good > 1e-13 * std::max(1.0, good); ++i) {
    const double middle = 0.5 * (good + bad);
    (holds(middle) ? good : bad) = middle;
  }
  return good;
}

// The first point of [0, limit] where `holds` turns false, scanned with a fixed step then bisected
// (for properties that may come back true later, like |R(−s)| <= 1). +inf if it never turns false.
template <class Property>
double first_failure_scanned(const Property& holds, double limit, double scan_step) {
  double good = 0.0;
  for (double x = scan_step; x <= limit; x += scan_step) {
    if (!holds(x)) return bisect(holds, good, x);
    good = x;
  }
  return kInfinity;
}

// The same for a property known to hold on an interval [0, x*] and fail beyond: doubling search,
// then bisection. +inf if it holds at limit.
template <class Property>
double first_failure_monotone(const Property& holds, double limit) {
  double good = 0.0, x = 1e-2;
  while (holds(x)) {
    if (x >= limit) return kInfinity;
    good = x;
    x = std::min(2.0 * x, limit);
  }
  return bisect(holds, good, x);
}

}  // namespace

std::complex<double> stability_function(const ButcherTableau& tableau, std::complex<double> z) {
  // (I − zA) x = 1, R(z) = 1 + z bᵀx. A: [s, s]
  validate_tableau(tableau);
  const int s = tableau.stages();
  std::vector<Complex> matrix(static_cast<size_t>(s) * s);
  for (int i = 0; i < s; ++i)
    for (int j = 0; j < s; ++j) matrix[i * s + j] = (i == j ? 1.0 : 0.0) - z * tableau.a[i][j];
  const std::vector<Complex> x =
      solve_dense(std::move(matrix), std::vector<Complex>(s, 1.0), "stability_function");
  Complex weighted = 0.0;
  for (int i = 0; i < s; ++i) weighted += tableau.b[i] * x[i];
  return 1.0 + z * weighted;
}

std::vector<double> stability_polynomial(const ButcherTableau& tableau) {
  validate_tableau(tableau);
  SNN_CHECK(tableau.is_explicit(), "stability_polynomial: tableau '", tableau.name,
            "' is implicit, so R(z) is rational; use stability_function");
  const int s = tableau.stages();
  std::vector<double> gamma = {1.0};
  std::vector<double> v(s, 1.0);  // A^(k−1) 1
  for (int k = 1; k <= s; ++k) {
    double g = 0.0;
    for (int i = 0; i < s; ++i) g += tableau.b[i] * v[i];
    gamma.push_back(g);
    std::vector<double> next(s, 0.0);
    for (int i = 0; i < s; ++i)
      for (int j = 0; j < s; ++j) next[i] += tableau.a[i][j] * v[j];
    v = next;
  }
  return gamma;
}

std::complex<double> StabilityGrid::point(int64_t row, int64_t col) const {
  const double re = re_min + (static_cast<double>(col) + 0.5) * (re_max - re_min) / width;
  const double im = im_max - (static_cast<double>(row) + 0.5) * (im_max - im_min) / height;
  return {re, im};
}

StabilityGrid stability_grid(const ButcherTableau& tableau, double re_min, double re_max,
                             double im_min, double im_max, int64_t width, int64_t height) {
  validate_tableau(tableau);
  SNN_CHECK(width >= 1 && height >= 1, "stability_grid: width and height must be >= 1, got ", width,
            " x ", height);
  SNN_CHECK(re_min < re_max && im_min < im_max, "stability_grid: need re_min < re_max and im_min < ",
            "im_max, got [", re_min, ", ", re_max, "] x [", im_min, ", ", im_max, "]");
  StabilityGrid grid{re_min, re_max, im_min, im_max, width, height, {}};
  grid.abs_r.resize(static_cast<size_t>(width * height));
  const AbsStabilityFunction abs_r(tableau);
  for (int64_t row = 0; row < height; ++row)
    for (int64_t col = 0; col < width; ++col) grid.abs_r[row * width + col] = abs_r(grid.point(row, col));
  return grid;
}

double stability_interval(const ButcherTableau& tableau, double search_limit) {
  validate_tableau(tableau);
  SNN_CHECK(search_limit > 0, "stability_interval: search_limit must be > 0, got ", search_limit);
  // A hair above 1 so that the exact |R| = 1 at a boundary point (Euler at −2) counts as stable.
  const AbsStabilityFunction abs_r(tableau);
  auto stable = [&](double s) { return abs_r(Complex(-s, 0.0)) <= 1.0 + 1e-13; };
  return first_failure_scanned(stable, search_limit, 1e-2);
}

double largest_stable_disk(const ButcherTableau& tableau, double search_limit) {
  validate_tableau(tableau);
  SNN_CHECK(search_limit > 0, "largest_stable_disk: search_limit must be > 0, got ", search_limit);
  const AbsStabilityFunction abs_r(tableau);
  // Points e^{iφ} − 1 of the unit circle through 0, scaled by r; φ = 0 (z = 0, R = 1) left out.
  const int points = 2048;
  std::vector<Complex> circle;
  for (int k = 1; k < points; ++k) circle.push_back(std::polar(1.0, 2.0 * kPi * k / points) - 1.0);
  auto disk_inside = [&](double r) {
    for (const Complex& w : circle)
      if (abs_r(r * w) > 1.0 + 1e-12) return false;
    return true;
  };
  // Disks {|z + r| <= r} grow with r and are nested, so "inside" holds on an interval [0, r*].
  return first_failure_monotone(disk_inside, search_limit);
}

double absolute_monotonicity_radius(const ButcherTableau& tableau, double search_limit) {
  validate_tableau(tableau);
  SNN_CHECK(search_limit > 0, "absolute_monotonicity_radius: search_limit must be > 0, got ",
            search_limit);
  const int s = tableau.stages();
  const double tolerance = 1e-14;  // rounding in the inverse; a true negative entry grows with r
  auto monotone = [&](double r) {
    // X = (I + rA)⁻¹, column by column. A: [s, s]
    std::vector<double> x(static_cast<size_t>(s) * s);
    std::vector<double> matrix(static_cast<size_t>(s) * s);
    for (int i = 0; i < s; ++i)
      for (int j = 0; j < s; ++j) matrix[i * s + j] = (i == j ? 1.0 : 0.0) + r * tableau.a[i][j];
    try {
      for (int col = 0; col < s; ++col) {
        std::vector<double> unit(s, 0.0);
        unit[col] = 1.0;
        const std::vector<double> column = solve_dense(matrix, unit, "absolute_monotonicity_radius");
        for (int i = 0; i < s; ++i) x[i * s + col] = column[i];
      }
    } catch (const Error&) {
      return false;
    }
    double b_x_ones = 0.0;
    for (int j = 0; j < s; ++j) {
      double b_x = 0.0, x_ones = 0.0;
      for (int i = 0; i < s; ++i) {
        b_x += tableau.b[i] * x[i * s + j];
        x_ones += x[j * s + i];
        double a_x = 0.0;
        for (int k = 0; k < s; ++k) a_x += tableau.a[j][k] * x[k * s + i];
        if (a_x < -tolerance) return false;  // A(I + rA)⁻¹ >= 0
      }
      if (b_x < -tolerance || x_ones < -tolerance) return false;  // bᵀX >= 0, X1 >= 0
      b_x_ones += b_x;
    }
    return r * b_x_ones <= 1.0 + tolerance;
  };
  if (!monotone(0.0)) return 0.0;  // a negative entry of A or b: no Shu–Osher form with r > 0
  const double radius = first_failure_monotone(monotone, search_limit);
  return radius < 1e-9 ? 0.0 : radius;  // bisection toward 0 stops at rounding level
}

SymmetricEigen symmetric_eigen(std::vector<double> a, int64_t n) {
  // a: [n*n] symmetric -> eigenvalues [n], ascending, and their unit eigenvectors
  SNN_CHECK(n >= 0 && static_cast<int64_t>(a.size()) == n * n, "symmetric_eigen: matrix has ",
            a.size(), " entries, expected ", n, "*", n);
  double norm = 0.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      SNN_CHECK(std::fabs(a[i * n + j] - a[j * n + i]) <= 1e-12 * (1.0 + std::fabs(a[i * n + j])),
                "symmetric_eigen: the matrix is not symmetric at (", i, ", ", j, ")");
      norm += a[i * n + j] * a[i * n + j];
    }
  std::vector<double> v(static_cast<size_t>(n * n), 0.0);  // the rotations so far, as columns
  for (int64_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
  // Cyclic Jacobi: each rotation zeroes one off-diagonal pair; the off-diagonal mass falls
  // quadratically once small.
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    if (off <= 1e-32 * norm || off == 0.0) break;
    for (int64_t p = 0; p < n; ++p) {
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0.0) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // columns p and q, of a and of v
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
        for (int64_t k = 0; k < n; ++k) {  // rows p and q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return a[i * n + i] < a[j * n + j]; });
  SymmetricEigen out;
  out.values.resize(static_cast<size_t>(n));
  out.vectors.resize(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i) {
    out.values[i] = a[order[i] * n + order[i]];
    for (int64_t k = 0; k < n; ++k) out.vectors[k * n + i] = v[k * n + order[i]];
  }
  return out;
}

std::vector<double> symmetric_eigenvalues(std::vector<double> matrix, int64_t n) {
  return symmetric_eigen(std::move(matrix), n).values;
}

AlgebraicStability algebraic_stability(const ButcherTableau& tableau) {
  validate_tableau(tableau);
  const int s = tableau.stages();
  const std::vector<double>& b = tableau.b;
  AlgebraicStability result;
  result.m.resize(static_cast<size_t>(s) * s);
  // M = BA + AᵀB − bbᵀ: M_ij = b_i a_ij + b_j a_ji − b_i b_j
  for (int i = 0; i < s; ++i)
    for (int j = 0; j < s; ++j)
      result.m[i * s + j] = b[i] * tableau.a[i][j] + b[j] * tableau.a[j][i] - b[i] * b[j];
  result.eigenvalues = symmetric_eigenvalues(result.m, s);
  result.weights_nonnegative = std::all_of(b.begin(), b.end(), [](double w) { return w >= 0.0; });
  result.algebraically_stable = result.weights_nonnegative && result.eigenvalues.front() >= -1e-12;
  return result;
}

}  // namespace stablenn
