// tests/ch04_stability_window_plot_test.cpp — chapter 4's stability-region figure shows each region
// whole: every point with |R(z)| = 1, found along rays independently of the window's own grid scan,
// lies inside the window chosen for it (the old fixed window cut RK4 off at Im z = ±2.5).
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <vector>

#include "core/error.h"
#include "notebooks_cpp/ch04_figures.h"
#include "ode/ode.h"

namespace stablenn {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Points with |R(z)| = 1 along 360 rays from `centre`, out to radius 8: every crossing of the
// level 1 on a fine march, refined by bisection. Uses R through the general stability_function,
// not the polynomial the window is computed from.
std::vector<std::complex<double>> boundary_points(const ButcherTableau& t, std::complex<double> centre) {
  std::vector<std::complex<double>> out;
  auto excess = [&](std::complex<double> z) { return std::abs(stability_function(t, z)) - 1; };
  for (int k = 0; k < 360; ++k) {
    const std::complex<double> dir = std::polar(1.0, 2 * kPi * k / 360);
    double r0 = 0, f0 = excess(centre);
    for (double r1 = 0.01; r1 <= 8; r1 += 0.01) {
      const double f1 = excess(centre + r1 * dir);
      if ((f0 <= 0) != (f1 <= 0)) {
        double lo = r0, hi = r1;
        for (int it = 0; it < 50; ++it) {
          const double mid = 0.5 * (lo + hi);
          ((excess(centre + mid * dir) <= 0) == (f0 <= 0) ? lo : hi) = mid;
        }
        out.push_back(centre + 0.5 * (lo + hi) * dir);
      }
      r0 = r1, f0 = f1;
    }
  }
  return out;
}

TEST(StabilityWindow, HoldsTheWholeBoundaryOfEachExplicitMethod) {
  for (const ButcherTableau& t : {explicit_euler(), heun(), explicit_midpoint(), rk4(), dormand_prince()}) {
    const PlaneWindow w = stability_window(t);
    const auto points = boundary_points(t, {-0.5 * stability_interval(t), 0.0});
    ASSERT_GE(points.size(), 360u) << t.name;  // every ray leaves the region at least once
    double im_max = 0;
    for (const std::complex<double>& z : points) {
      EXPECT_TRUE(z.real() > w.re_lo && z.real() < w.re_hi && z.imag() > w.im_lo && z.imag() < w.im_hi)
          << t.name << ": |R(" << z << ")| = 1 lies outside the window [" << w.re_lo << ", " << w.re_hi
          << "] x [" << w.im_lo << ", " << w.im_hi << "]";
      im_max = std::max(im_max, std::abs(z.imag()));
    }
    // Not absurdly large either: the margin is a fraction of the region's size.
    EXPECT_LT(w.im_hi, 1.4 * im_max + 0.1) << t.name;
    EXPECT_GT(w.im_hi, im_max) << t.name;
  }
}

TEST(StabilityWindow, Rk4ReachesPastTheOldClip) {
  // RK4 meets the imaginary axis at ±2√2 ≈ 2.83 (|R(iy)| = 1); the figure used to stop at 2.5.
  EXPECT_NEAR(std::abs(stability_function(rk4(), {0.0, 2 * std::sqrt(2.0)})), 1.0, 1e-12);
  const PlaneWindow w = stability_window(rk4());
  EXPECT_GT(w.im_hi, 2.83);
  EXPECT_LT(w.im_lo, -2.83);
  EXPECT_LT(w.re_lo, -2.785);  // the stability interval [-2.785, 0]
}

TEST(StabilityWindow, UnionAndEqualAspectOnlyGrow) {
  const PlaneWindow a = stability_window(explicit_euler()), b = stability_window(rk4());
  const PlaneWindow u = union_window({a, b});
  EXPECT_LE(u.re_lo, std::min(a.re_lo, b.re_lo));
  EXPECT_GE(u.im_hi, std::max(a.im_hi, b.im_hi));
  const PlaneWindow e = equal_aspect(u, 400, 300);
  EXPECT_NEAR((e.re_hi - e.re_lo) / 400, (e.im_hi - e.im_lo) / 300, 1e-12);
  EXPECT_LE(e.re_lo, u.re_lo);
  EXPECT_GE(e.re_hi, u.re_hi);
  EXPECT_LE(e.im_lo, u.im_lo);
  EXPECT_GE(e.im_hi, u.im_hi);
}

TEST(StabilityWindow, ImplicitMethodsAreAClearError) {
  try {
    stability_window(implicit_euler_tableau());
    ADD_FAILURE() << "expected an error for an implicit tableau";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("implicit"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stablenn
