// ode/state_vector.cpp — lincomb, scaled_rms and error_ratio on std::vector<double> (chapter 4).
#include "ode/state_vector.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace stablenn {

namespace {

void check_terms(size_t n, const std::vector<const std::vector<double>*>& ks,
                 const std::vector<double>& coeffs, const char* op) {
  SNN_CHECK(ks.size() == coeffs.size(), op, ": ", ks.size(), " stage vectors but ", coeffs.size(),
            " coefficients");
  for (size_t i = 0; i < ks.size(); ++i) {
    SNN_CHECK(ks[i] != nullptr, op, ": stage vector ", i, " is null");
    SNN_CHECK(ks[i]->size() == n, op, ": stage vector ", i, " has length ", ks[i]->size(),
              ", the state has length ", n,
              " (does the right-hand side return a vector of the state's length?)");
  }
}

}  // namespace

std::vector<double> lincomb(const std::vector<double>& y, double h,
                            const std::vector<const std::vector<double>*>& ks,
                            const std::vector<double>& coeffs) {
  // y: [n], ks: m vectors [n] -> [n]
  check_terms(y.size(), ks, coeffs, "lincomb");
  std::vector<double> out = y;
  for (size_t i = 0; i < ks.size(); ++i) {
    if (coeffs[i] == 0.0) continue;
    const double scale = h * coeffs[i];
    const std::vector<double>& k = *ks[i];
    for (size_t j = 0; j < out.size(); ++j) out[j] += scale * k[j];
  }
  return out;
}

double scaled_rms(const std::vector<double>& x, const std::vector<double>& reference, double rtol,
                  double atol) {
  // x, reference: [n] -> scalar
  SNN_CHECK(x.size() == reference.size(), "scaled_rms: x has length ", x.size(),
            ", reference has length ", reference.size());
  if (x.empty()) return 0.0;
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double scaled = x[i] / (atol + rtol * std::fabs(reference[i]));
    sum += scaled * scaled;
  }
  return std::sqrt(sum / static_cast<double>(x.size()));
}

double error_ratio(const std::vector<double>& y0, const std::vector<double>& y1, double h,
                   const std::vector<const std::vector<double>*>& ks,
                   const std::vector<double>& err_coeffs, double rtol, double atol) {
  // y0, y1: [n], ks: m vectors [n] -> scalar
  SNN_CHECK(y0.size() == y1.size(), "error_ratio: y0 has length ", y0.size(), ", y1 has length ",
            y1.size());
  check_terms(y0.size(), ks, err_coeffs, "error_ratio");
  if (y0.empty()) return 0.0;
  double sum = 0.0;
  for (size_t j = 0; j < y0.size(); ++j) {
    double err = 0.0;
    for (size_t i = 0; i < ks.size(); ++i) err += err_coeffs[i] * (*ks[i])[j];
    err *= h;
    const double scaled = err / (atol + rtol * std::max(std::fabs(y0[j]), std::fabs(y1[j])));
    sum += scaled * scaled;
  }
  return std::sqrt(sum / static_cast<double>(y0.size()));
}

}  // namespace stablenn
