// ode/linear_solve.cpp — Gaussian elimination with partial pivoting (chapter 4).
#include "ode/linear_solve.h"

#include <cmath>
#include <cstddef>
#include <utility>

#include "core/error.h"

namespace stablenn {

namespace {

// One algorithm for double and std::complex<double>: std::abs gives the pivot size of both.
template <class Scalar>
std::vector<Scalar> eliminate(std::vector<Scalar> m, std::vector<Scalar> x, const char* caller) {
  // m: [n*n] row-major, x: [n] (right-hand side, overwritten by the solution)
  const size_t n = x.size();
  SNN_CHECK(m.size() == n * n, caller, ": the matrix has ", m.size(), " entries, expected ", n, "*",
            n, " for a right-hand side of length ", n);
  double scale = 0.0;  // the largest entry, to judge "zero pivot" relative to the matrix
  for (const Scalar& v : m) {
    SNN_CHECK(std::isfinite(std::abs(v)), caller, ": the matrix has a non-finite entry");
    scale = std::max(scale, static_cast<double>(std::abs(v)));
  }
  for (size_t col = 0; col < n; ++col) {
    // Partial pivoting: the largest entry of the column moves to the diagonal, so the multipliers
    // stay <= 1 in size and rounding errors are not amplified.
    size_t pivot = col;
    for (size_t row = col + 1; row < n; ++row)
      if (std::abs(m[row * n + col]) > std::abs(m[pivot * n + col])) pivot = row;
    SNN_CHECK(std::abs(m[pivot * n + col]) > 1e-14 * scale && scale > 0, caller,
              ": the matrix is singular to working precision (column ", col, " has no pivot)");
    if (pivot != col) {
      for (size_t j = 0; j < n; ++j) std::swap(m[col * n + j], m[pivot * n + j]);
      std::swap(x[col], x[pivot]);
    }
    for (size_t row = col + 1; row < n; ++row) {
      const Scalar factor = m[row * n + col] / m[col * n + col];
      if (factor == Scalar(0)) continue;
      for (size_t j = col; j < n; ++j) m[row * n + j] -= factor * m[col * n + j];
      x[row] -= factor * x[col];
    }
  }
  for (size_t i = n; i-- > 0;) {  // back substitution
    Scalar sum = x[i];
    for (size_t j = i + 1; j < n; ++j) sum -= m[i * n + j] * x[j];
    x[i] = sum / m[i * n + i];
  }
  return x;
}

}  // namespace

std::vector<double> solve_dense(std::vector<double> matrix, std::vector<double> rhs,
                                const char* caller) {
  return eliminate(std::move(matrix), std::move(rhs), caller);
}

std::vector<std::complex<double>> solve_dense(std::vector<std::complex<double>> matrix,
                                              std::vector<std::complex<double>> rhs,
                                              const char* caller) {
  return eliminate(std::move(matrix), std::move(rhs), caller);
}

}  // namespace stablenn
