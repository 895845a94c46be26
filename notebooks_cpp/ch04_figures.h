// notebooks_cpp/ch04_figures.h — the window of chapter 4's stability-region figure, chosen from the
// regions themselves so that no region is clipped (RK4 reaches Im z = ±2.83, Dormand–Prince further).
// A header of the chapter program, shared with tests/ch04_plot_stability_window_test.cpp.
#pragma once
#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "core/error.h"
#include "ode/stability.h"

namespace stablenn {

// Chapter 4: a rectangle of the complex plane, [re_lo, re_hi] x [im_lo, im_hi].
struct PlaneWindow {
  double re_lo = 0, re_hi = 0, im_lo = 0, im_hi = 0;
};

// Chapter 4: the smallest window holding the whole stability region {|R(z)| <= 1} of an explicit
// method, plus a margin of `margin` times its larger side. Explicit methods have a polynomial R with
// |R(z)| -> inf, so the region is bounded: it lies in the disk |z| <= rho where the leading term
// outgrows the others, and a grid over that disk finds its extent. Implicit methods (unbounded
// regions) are an error.
inline PlaneWindow stability_window(const ButcherTableau& tableau, double margin = 0.08) {
  const std::vector<double> gamma = stability_polynomial(tableau);  // throws for implicit tableaux
  size_t degree = gamma.size() - 1;
  while (degree > 0 && gamma[degree] == 0) --degree;
  SNN_CHECK(degree > 0, "stability_window(", tableau.name, "): R is constant, the region is the whole plane");
  // rho: |gamma_p| rho^p > 1 + sum_{k<p} |gamma_k| rho^k, so |R(z)| > 1 for every |z| >= rho.
  auto outgrows = [&](double r) {
    double rest = 1;
    for (size_t k = 0; k < degree; ++k) rest += std::abs(gamma[k]) * std::pow(r, double(k));
    return std::abs(gamma[degree]) * std::pow(r, double(degree)) > rest;
  };
  double rho = 1;
  while (!outgrows(rho)) rho *= 1.25;
  auto abs_r = [&](double re, double im) {  // Horner
    std::complex<double> value = 0, z(re, im);
    for (size_t k = degree + 1; k-- > 0;) value = value * z + gamma[k];
    return std::abs(value);
  };
  // The region is symmetric about the real axis (real coefficients): scan the upper half. A point
  // of the region at most one grid step from a scanned inside point is covered by padding one step.
  const int steps = 600;
  const double h = 2 * rho / steps;
  double re_lo = 0, re_hi = 0, im_hi = 0;  // z = 0 is always on the boundary (R(0) = 1)
  for (int i = 0; i <= steps; ++i)
    for (int j = 0; j <= steps / 2; ++j) {
      const double re = -rho + i * h, im = j * h;
      if (abs_r(re, im) > 1) continue;
      re_lo = std::min(re_lo, re), re_hi = std::max(re_hi, re), im_hi = std::max(im_hi, im);
    }
  const double pad = h + margin * std::max(re_hi - re_lo, 2 * im_hi);
  return {re_lo - pad, re_hi + pad, -im_hi - pad, im_hi + pad};
}

// Chapter 4: the smallest window holding all of `windows`.
inline PlaneWindow union_window(const std::vector<PlaneWindow>& windows) {
  PlaneWindow out = windows.at(0);
  for (const PlaneWindow& w : windows) {
    out.re_lo = std::min(out.re_lo, w.re_lo), out.re_hi = std::max(out.re_hi, w.re_hi);
    out.im_lo = std::min(out.im_lo, w.im_lo), out.im_hi = std::max(out.im_hi, w.im_hi);
  }
  return out;
}

// Chapter 4: `window` grown (about its centre) along one axis so that a plot of `width` x `height`
// pixels has the same scale on both axes: circles stay round.
inline PlaneWindow equal_aspect(PlaneWindow window, int width, int height) {
  const double re_span = window.re_hi - window.re_lo, im_span = window.im_hi - window.im_lo;
  const double want_im = re_span * height / width, want_re = im_span * width / height;
  if (want_im > im_span) {
    const double mid = 0.5 * (window.im_lo + window.im_hi);
    window.im_lo = mid - 0.5 * want_im, window.im_hi = mid + 0.5 * want_im;
  } else {
    const double mid = 0.5 * (window.re_lo + window.re_hi);
    window.re_lo = mid - 0.5 * want_re, window.re_hi = mid + 0.5 * want_re;
  }
  return window;
}

}  // namespace stablenn
