// notebooks_cpp/ch04_odes.cpp — chapter 4, "ODEs and their numerical solution": Butcher tableaux and
// one Runge–Kutta driver, measured convergence orders, stability regions, adaptive steps, long-time
// energy behaviour of symplectic methods, stiffness, and gradients through a solver.
// Read along in book/04-odes.md. Run: build/notebooks_cpp/ch04_odes [--step] [--smoke]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "ode/ode.h"
#include "plot/canvas.h"
#include "plot/plot.h"
#include "plot/plot_axes.h"
#include "notebooks_cpp/ch04_figures.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::plain;
using stablenn::notebook::Context;

namespace {

using Vec = std::vector<double>;
constexpr double kPi = 3.14159265358979323846;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The book's numbers (ctx.result_table): the method names as the book writes them, with en dashes
// between two people's names and Störmer's umlaut.
std::string book_name(std::string name) {
  if (name.rfind("Stormer", 0) == 0) name.replace(0, 7, "Störmer");
  for (const char* first : {"Bogacki-", "Dormand-", "Gauss-", "Störmer-"}) {
    const std::string prefix(first);
    if (name.rfind(prefix, 0) == 0) name.replace(prefix.size() - 1, 1, "–");
  }
  return name;
}

// 1.8e-6, 5.3e13, 6.5e114: two significant digits, the exponent without '+' and leading zeros.
std::string sci(double v) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.1e", v);
  const std::string s(buffer);
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;  // inf, nan
  std::string exponent = s.substr(e + 1);
  const bool negative = exponent[0] == '-';
  if (exponent[0] == '-' || exponent[0] == '+') exponent.erase(0, 1);
  while (exponent.size() > 1 && exponent[0] == '0') exponent.erase(0, 1);
  return s.substr(0, e) + "e" + (negative ? "-" : "") + exponent;
}

// Two significant digits as the energy table writes them: 329, 48, 3.3, 0.060, 0.0027, 1.0e-4.
std::string two_digits(double v) {
  if (!std::isfinite(v) || v <= 0 || v < 1e-3) return sci(v);
  char buffer[48];
  if (v >= 10) {
    std::snprintf(buffer, sizeof buffer, "%.0f", v);
  } else {
    const int decimals = std::max(0, 1 - static_cast<int>(std::floor(std::log10(v))));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  }
  return buffer;
}

// Least-squares slope of log(error) against log(h) over the four smallest h with error in
// [1e-12, 0.1]: smaller errors are rounding, larger h are not yet in the asymptotic regime.
double measured_order(const Vec& hs, const Vec& errors) {
  Vec x, y;
  for (size_t i = 0; i < hs.size(); ++i)
    if (errors[i] >= 1e-12 && errors[i] <= 0.1) x.push_back(std::log(hs[i])), y.push_back(std::log(errors[i]));
  if (x.size() > 4) {  // hs decrease, so the last ones are the smallest
    x.erase(x.begin(), x.end() - 4);
    y.erase(y.begin(), y.end() - 4);
  }
  if (x.size() < 2) return std::nan("");
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i] / x.size(), my += y[i] / x.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
  return sxy / sxx;
}

// ---- cell 1 ----
void print_tableau(const ButcherTableau& t) {
  std::cout << "  " << t.name << ": s = " << t.stages() << " stages, order " << t.order;
  if (t.has_error_estimate()) std::cout << ", embedded order " << t.embedded_order;
  std::cout << (t.is_fsal() ? ", FSAL" : "") << (t.dense.empty() ? "" : ", dense output") << "\n";
  std::cout << std::fixed << std::setprecision(4);
  for (int i = 0; i < t.stages(); ++i) {
    std::cout << "    " << std::setw(8) << t.c[i] << " |";
    for (int j = 0; j < i; ++j) std::cout << std::setw(9) << t.a[i][j];
    std::cout << "\n";
  }
  std::cout << "    " << std::string(8, '-') << "-+" << std::string(9 * t.stages(), '-') << "\n    b        |";
  for (double w : t.b) std::cout << std::setw(9) << w;
  if (t.has_error_estimate()) {
    std::cout << "\n    b_hat    |";
    for (double w : t.b_hat) std::cout << std::setw(9) << w;
  }
  std::cout << std::defaultfloat << std::setprecision(6) << "\n";
}

void tableaux(Context&) {
  for (const ButcherTableau& t : {explicit_euler(), heun(), rk4(), dormand_prince()}) print_tableau(t);
  std::cout << "  (explicit midpoint and Bogacki-Shampine 3(2) are in ode/butcher.cpp too)\n";
}

// ---- cell 2 ----
void convergence_orders(Context& ctx) {
  // y' = cos(t) y, y(0) = 1 on [0, 2]: y(2) = exp(sin 2).
  const OdeFunction<Vec> f = [](double t, const Vec& y) { return Vec{std::cos(t) * y[0]}; };
  const double t_end = 2.0, exact = std::exp(std::sin(t_end));
  const int halvings = static_cast<int>(ctx.pick(9, 5));
  LinePlot plot;
  plot.title = "Global error at t = 2 of y' = cos(t) y";
  plot.x_label = "step size h";
  plot.y_label = "|error|";
  plot.log_x = plot.log_y = true;
  plot.width = 760;
  plot.height = 520;
  std::cout << "  method                      theory  measured   error at h = 2/10 .. 2/" << 10 * (1 << (halvings - 1)) << "\n";
  std::ostringstream table;
  table << "| method | theory | measured |\n|---|---|---|\n";
  auto report = [&](const std::string& name, int order, const std::function<double(int)>& error_with_steps) {
    Vec hs, errors;
    for (int k = 0; k < halvings; ++k) {
      const int steps = 10 << k;
      hs.push_back(t_end / steps);
      errors.push_back(error_with_steps(steps));
    }
    std::cout << "  " << std::left << std::setw(28) << name << std::right << std::setw(6) << order << std::setw(10)
              << std::fixed << std::setprecision(2) << measured_order(hs, errors) << std::scientific
              << std::setprecision(1) << "   " << errors.front() << " .. " << errors.back() << std::defaultfloat
              << std::setprecision(6) << "\n";
    plot.add(name, hs, errors, Marker::Circle);
    char line[160];
    std::snprintf(line, sizeof line, "| %s | %d | %.2f |\n", book_name(name).c_str(), order, measured_order(hs, errors));
    table << line;
  };
  for (const ButcherTableau& t : explicit_methods())
    report(t.name, t.order, [&](int steps) {
      return std::fabs(solve_fixed(t, f, Vec{1.0}, 0.0, t_end, steps).last_state[0] - exact);
    });
  for (ImplicitMethod m : {ImplicitMethod::kImplicitEuler, ImplicitMethod::kImplicitMidpoint})
    report(implicit_method_name(m), m == ImplicitMethod::kImplicitEuler ? 1 : 2, [&](int steps) {
      return std::fabs(solve_implicit(m, f, Vec{1.0}, 0.0, t_end, steps).last_state[0] - exact);
    });
  ctx.result_table("orders", table.str());
  plot.save(ctx.out_path("ch04_convergence.png"));
  std::cout << "  wrote " << ctx.out_path("ch04_convergence.png")
            << "  (orders fitted on the 4 smallest h with 1e-12 <= error <= 0.1)\n";
}

// ---- cell 3 ----
// One panel: the set |R(z)| <= 1 shaded, its boundary dark, and the largest disk |z + r| <= r dashed.
// All panels share one window, chosen from the regions' extent (ch04_figures.h), so none is clipped
// and their sizes can be compared.
void draw_stability_panel(Canvas& canvas, int x, int y, int w, int h, const ButcherTableau& tableau,
                          const PlaneWindow& region) {
  const std::string title = tableau.name + ": |R(z)| <= 1";
  // Lay out once to learn the axes' pixel size, then widen one range for equal scales.
  AxesLayout axes = layout_axes(x, y, w, h, fixed_axis(region.re_lo, region.re_hi, false, "re"),
                                fixed_axis(region.im_lo, region.im_hi, false, "im"), title, "Re z", "Im z");
  const PlaneWindow window = equal_aspect(region, axes.width, axes.height);
  const double re_lo = window.re_lo, re_hi = window.re_hi, im_lo = window.im_lo, im_hi = window.im_hi;
  axes = layout_axes(x, y, w, h, fixed_axis(re_lo, re_hi, false, "re"), fixed_axis(im_lo, im_hi, false, "im"),
                     title, "Re z", "Im z");
  draw_grid(canvas, axes);
  const StabilityGrid grid = stability_grid(tableau, re_lo, re_hi, im_lo, im_hi, axes.width, axes.height);
  auto inside = [&](int64_t row, int64_t col) { return grid.abs_r[row * grid.width + col] <= 1.0; };
  const Color fill = palette_color(0), edge = colors::kDarkGrey;
  for (int64_t row = 0; row < grid.height; ++row)
    for (int64_t col = 0; col < grid.width; ++col) {
      if (!inside(row, col)) continue;
      const bool boundary = row == 0 || col == 0 || row + 1 == grid.height || col + 1 == grid.width ||
                            !inside(row - 1, col) || !inside(row + 1, col) || !inside(row, col - 1) ||
                            !inside(row, col + 1);
      const int px = axes.left + static_cast<int>(col), py = axes.top + static_cast<int>(row);
      if (boundary)
        canvas.set_pixel(px, py, edge);
      else
        canvas.blend_pixel(px, py, fill, 0.45);
    }
  canvas.set_clip(axes.left, axes.top, axes.width, axes.height);
  canvas.draw_line(axes.to_px(re_lo), axes.to_py(0), axes.to_px(re_hi), axes.to_py(0), colors::kGrey);
  canvas.draw_line(axes.to_px(0), axes.to_py(im_lo), axes.to_px(0), axes.to_py(im_hi), colors::kGrey);
  const double r = largest_stable_disk(tableau);
  for (int k = 0; k < 96; k += 2) {  // dashed circle of radius r around −r
    const double a0 = 2 * kPi * k / 96, a1 = 2 * kPi * (k + 1) / 96;
    canvas.draw_line(axes.to_px(-r + r * std::cos(a0)), axes.to_py(r * std::sin(a0)),
                     axes.to_px(-r + r * std::cos(a1)), axes.to_py(r * std::sin(a1)), colors::kRed, 2);
  }
  canvas.reset_clip();
  draw_axes_frame(canvas, axes, title, "Re z", "Im z");
}

void stability_regions(Context& ctx) {
  const std::vector<ButcherTableau> shown = {explicit_euler(), heun(), rk4(), dormand_prince()};
  std::vector<PlaneWindow> extents;
  for (const ButcherTableau& t : shown) extents.push_back(stability_window(t));
  const PlaneWindow window = union_window(extents);
  Canvas canvas(1040, 900);
  for (size_t i = 0; i < shown.size(); ++i)
    draw_stability_panel(canvas, 520 * static_cast<int>(i % 2), 450 * static_cast<int>(i / 2), 520, 450, shown[i],
                         window);
  canvas.save_png(ctx.out_path("ch04_stability_regions.png"));
  std::cout << "  wrote " << ctx.out_path("ch04_stability_regions.png")
            << " (shaded: |R(z)| <= 1; red dashes: the largest disk |z + r| <= r inside)\n\n";

  std::vector<ButcherTableau> methods = explicit_methods();
  for (const ButcherTableau& t : {implicit_euler_tableau(), implicit_midpoint_tableau(), gauss_legendre_2()})
    methods.push_back(t);
  std::cout << "  method                   interval [-x,0]  largest disk   R(A,b)  stored r   min eig M  alg. stable\n";
  std::ostringstream table;
  table << "| method | interval | largest disk | R(A, b) | stored r | min eig M | algebraically stable |\n"
           "|---|---|---|---|---|---|---|\n";
  for (const ButcherTableau& t : methods) {
    const AlgebraicStability a = algebraic_stability(t);
    table << "| " << book_name(t.name) << " | " << plain(stability_interval(t), 4) << " | "
          << plain(largest_stable_disk(t), 4) << " | " << plain(absolute_monotonicity_radius(t), 4) << " | "
          << (t.circle_contractivity_radius == 0 ? "unknown" : plain(t.circle_contractivity_radius, 4)) << " | "
          << plain(a.eigenvalues.front(), 2) << " | " << (a.algebraically_stable ? "yes" : "no") << " |\n";
    std::cout << "  " << std::left << std::setw(24) << t.name << std::right << std::fixed << std::setprecision(4)
              << std::setw(12) << stability_interval(t) << std::setw(15) << largest_stable_disk(t)
              << std::setw(9) << absolute_monotonicity_radius(t) << std::setw(10) << t.circle_contractivity_radius
              << std::setw(12) << a.eigenvalues.front() << std::setw(13) << (a.algebraically_stable ? "yes" : "no")
              << std::defaultfloat << std::setprecision(6) << "\n";
  }
  ctx.result_table("stability", table.str());
  std::cout << "  (R(A,b) <= circle-contractivity radius <= largest disk; inf: the whole half-line/plane)\n";
  const Vec gamma = stability_polynomial(rk4());
  std::cout << "  RK4: R(z) =";
  for (size_t k = 0; k < gamma.size(); ++k) std::cout << (k ? " + " : " ") << gamma[k] << " z^" << k;
  std::cout << "   (1/k! = 1, 1, 0.5, 0.1667, 0.04167)\n";
}

// ---- cell 4 ----
// The Kepler problem q'' = −q/|q|³ as a first-order system y = (q1, q2, p1, p2).
Vec kepler_rhs(double, const Vec& y) {
  const double r3 = std::pow(y[0] * y[0] + y[1] * y[1], 1.5);
  return {y[2], y[3], -y[0] / r3, -y[1] / r3};
}
Vec kepler_start(double eccentricity) {  // at perihelion; the period is 2π
  return {1 - eccentricity, 0.0, 0.0, std::sqrt((1 + eccentricity) / (1 - eccentricity))};
}

void adaptive_steps(Context& ctx) {
  const double e = 0.8, t_end = 4 * kPi;  // two orbits: the exact state at t_end is the start
  const Vec y0 = kepler_start(e);
  const OdeFunction<Vec> f = kepler_rhs;
  AdaptiveOptions options;
  options.rtol = 1e-6;
  options.atol = 1e-9;
  const auto solution = solve_adaptive(dormand_prince(), f, y0, {0.0, t_end}, options);
  const SolverStats& s = solution.stats;
  double error = 0;
  for (int i = 0; i < 4; ++i) error = std::max(error, std::fabs(solution.last_state[i] - y0[i]));
  // The first steps are the start-up of the controller from Hairer's cautious h0, and the last one is
  // cut to land on t_end: look at the steps in between, beyond t = 1.
  const auto settled = std::find_if(s.step_starts.begin(), s.step_starts.end(), [](double t) { return t > 1.0; });
  const auto first_settled = s.step_sizes.begin() + (settled - s.step_starts.begin());
  const auto [smallest, largest] = std::minmax_element(first_settled, s.step_sizes.end() - 1);
  ctx.result("kepler.accepted", static_cast<double>(s.accepted_steps), "%.0f");
  ctx.result("kepler.rejected", static_cast<double>(s.rejected_steps), "%.0f");
  ctx.result("kepler.evaluations", static_cast<double>(s.function_evaluations), "%.0f");
  ctx.result("kepler.evaluations_per_step", static_cast<double>(s.evaluations_per_step), "%.0f");
  ctx.result("kepler.initial_evaluations", static_cast<double>(s.initial_step_evaluations), "%.0f");
  ctx.result("kepler.smallest_step", *smallest, "%.2g");
  ctx.result("kepler.largest_step", *largest, "%.2g");
  std::cout << "  Kepler orbit, eccentricity " << e << ", two periods, Dormand-Prince rtol " << options.rtol
            << ", atol " << options.atol << ":\n"
            << "    accepted " << s.accepted_steps << ", rejected " << s.rejected_steps << ", f evaluations "
            << s.function_evaluations << " = " << s.evaluations_per_step << " x (" << s.accepted_steps << " + "
            << s.rejected_steps << ") + " << s.initial_step_evaluations << "\n"
            << "    first step " << s.step_sizes.front() << " (Hairer's selection), then the controller grows it\n"
            << "    in between: steps from " << *smallest << " (perihelion, t = "
            << s.step_starts[smallest - s.step_sizes.begin()] << ") to " << *largest << " (aphelion side, t = "
            << s.step_starts[largest - s.step_sizes.begin()] << ")\n"
            << "    max |y(4 pi) - y(0)| = " << error << "\n";
  // Fixed-step RK4 with the same number of evaluations, for comparison.
  const int64_t rk4_steps = s.function_evaluations / 4;
  const auto fixed = solve_fixed(rk4(), f, y0, 0.0, t_end, rk4_steps);
  double fixed_error = 0;
  for (int i = 0; i < 4; ++i) fixed_error = std::max(fixed_error, std::fabs(fixed.last_state[i] - y0[i]));
  ctx.result("kepler.rk4_steps", static_cast<double>(rk4_steps), "%.0f");
  ctx.result("kepler.rk4_error", fixed_error, "%.2g");
  ctx.result("kepler.error", error, "%.1g");
  std::cout << "    RK4 with the same budget (" << rk4_steps << " equal steps): error " << fixed_error << "\n";

  LinePlot step_plot;
  step_plot.title = "Dormand-Prince step sizes on a Kepler orbit (e = 0.8)";
  step_plot.x_label = "t";
  step_plot.y_label = "accepted step size h";
  step_plot.log_y = true;
  step_plot.width = 760;
  step_plot.add("h", s.step_starts, s.step_sizes, Marker::Circle);
  Vec radius_t, radius;  // |q(t)| on a fine output grid, from the dense output
  std::vector<double> times;
  for (int i = 0; i <= 400; ++i) times.push_back(t_end * i / 400);
  const auto dense = solve_adaptive(dormand_prince(), f, y0, times, options);
  for (size_t i = 0; i < times.size(); ++i)
    radius_t.push_back(times[i]), radius.push_back(std::hypot(dense.states[i][0], dense.states[i][1]));
  step_plot.add("|q(t)| (dense output)", radius_t, radius);
  step_plot.save(ctx.out_path("ch04_adaptive_steps.png"));
  std::cout << "  wrote " << ctx.out_path("ch04_adaptive_steps.png") << "\n\n";

  // Work against precision over one period: error at t = 2π against the number of evaluations.
  LinePlot work;
  work.title = "Work-precision, Kepler e = 0.8, one period";
  work.x_label = "f evaluations";
  work.y_label = "max |error| at t = 2 pi";
  work.log_x = work.log_y = true;
  work.width = 760;
  std::cout << "  method                  rtol      nfe   rejected   error\n";
  const int tightest = static_cast<int>(ctx.pick(10, 7));
  for (const ButcherTableau& t : {bogacki_shampine(), dormand_prince()}) {
    Vec nfe, errors;
    for (int k = 3; k <= tightest; ++k) {
      AdaptiveOptions o;
      o.rtol = std::pow(10.0, -k);
      o.atol = o.rtol * 1e-3;
      o.max_steps = 1000000;
      const auto run = solve_adaptive(t, f, y0, {0.0, 2 * kPi}, o);
      double err = 0;
      for (int i = 0; i < 4; ++i) err = std::max(err, std::fabs(run.last_state[i] - y0[i]));
      nfe.push_back(static_cast<double>(run.stats.function_evaluations));
      errors.push_back(err);
      std::cout << "  " << std::left << std::setw(22) << t.name << std::right << std::setw(7) << o.rtol
                << std::setw(9) << run.stats.function_evaluations << std::setw(11) << run.stats.rejected_steps
                << "   " << err << "\n";
    }
    work.add(t.name + " (adaptive)", nfe, errors, Marker::Circle);
  }
  Vec nfe, errors;
  for (int steps = 100; steps <= ctx.pick(25600, 3200); steps *= 2) {
    const auto run = solve_fixed(rk4(), f, y0, 0.0, 2 * kPi, steps);
    double err = 0;
    for (int i = 0; i < 4; ++i) err = std::max(err, std::fabs(run.last_state[i] - y0[i]));
    nfe.push_back(4.0 * steps);
    errors.push_back(err);
  }
  work.add("RK4 (fixed steps)", nfe, errors, Marker::Square);
  work.save(ctx.out_path("ch04_work_precision.png"));
  std::cout << "  wrote " << ctx.out_path("ch04_work_precision.png") << "\n";
}

// ---- cell 5 ----
double pendulum_energy(double q, double p) { return 0.5 * p * p - std::cos(q); }

void long_time_energy(Context& ctx) {
  const double h = 0.1, t_end = static_cast<double>(ctx.pick(10000, 500));
  const int64_t steps = static_cast<int64_t>(std::llround(t_end / h)), every = 10;
  const double q0 = 2.0, p0 = 0.0, energy0 = pendulum_energy(q0, p0);
  const SeparableHamiltonian<Vec> pendulum{[](double, const Vec& p) { return p; },
                                           [](double, const Vec& q) { return Vec{std::sin(q[0])}; }};
  const OdeFunction<Vec> f = [](double, const Vec& y) { return Vec{y[1], -std::sin(y[0])}; };
  LinePlot plot;
  plot.title = "Pendulum energy error so far: max |H - H0| (h = 0.1)";
  plot.x_label = "t";
  plot.y_label = "max |H - H0|";
  plot.log_y = true;
  plot.width = 760;
  plot.height = 480;
  std::cout << "  pendulum H = p^2/2 - cos q, q0 = 2, h = " << h << ", " << steps << " steps to t = " << t_end << "\n"
            << "  method               max|H-H0| to t=" << t_end / 10 << "  to t=" << t_end << "   seconds\n";
  std::ostringstream table;
  table << "| method | max \\|H − H₀\\| up to t = " << stablenn::notebook::thousands(std::llround(t_end / 10))
        << " | up to t = " << stablenn::notebook::thousands(std::llround(t_end)) << " |\n|---|---|---|\n";
  // Records the running maximum of the energy error: a flat curve is a bounded error, a rising one drift.
  auto add = [&](const std::string& name, const std::vector<double>& times, const std::vector<double>& qs,
                 const std::vector<double>& ps, double seconds) {
    Vec running_max;
    for (size_t i = 0; i < qs.size(); ++i) {
      const double error = std::fabs(pendulum_energy(qs[i], ps[i]) - energy0);
      running_max.push_back(std::max(error, running_max.empty() ? 0.0 : running_max.back()));
    }
    plot.add(name, times, running_max);
    std::cout << "  " << std::left << std::setw(20) << name << std::right << std::setw(16)
              << running_max[running_max.size() / 10] << std::setw(14) << running_max.back() << std::setw(10)
              << std::setprecision(3) << seconds << std::setprecision(6) << "\n";
    table << "| " << book_name(name) << " | " << two_digits(running_max[running_max.size() / 10]) << " | "
          << two_digits(running_max.back()) << " |\n";
  };
  for (const ButcherTableau& t : {explicit_euler(), rk4()}) {
    const auto start = std::chrono::steady_clock::now();
    const auto run = solve_fixed(t, f, Vec{q0, p0}, 0.0, t_end, steps, every);
    Vec qs, ps;
    for (const Vec& y : run.states) qs.push_back(y[0]), ps.push_back(y[1]);
    add(t.name, run.times, qs, ps, seconds_since(start));
  }
  for (SymplecticMethod m : {SymplecticMethod::kSymplecticEuler, SymplecticMethod::kStormerVerlet}) {
    const auto start = std::chrono::steady_clock::now();
    const auto run = solve_symplectic(m, pendulum, PhaseState<Vec>{{q0}, {p0}}, 0.0, t_end, steps, every);
    Vec qs, ps;
    for (const auto& x : run.states) qs.push_back(x.q[0]), ps.push_back(x.p[0]);
    add(m == SymplecticMethod::kStormerVerlet ? "Stormer-Verlet" : "symplectic Euler", run.times, qs, ps,
        seconds_since(start));
  }
  ctx.result_table("energy", table.str());
  plot.save(ctx.out_path("ch04_energy.png"));
  std::cout << "  wrote " << ctx.out_path("ch04_energy.png") << "\n";

  // Phase portraits over t in [0, 20], every step.
  LinePlot phase;
  phase.title = "Pendulum phase portrait, t in [0, 20], h = 0.1";
  phase.x_label = "q";
  phase.y_label = "p";
  phase.width = 620;
  phase.height = 520;
  Vec curve_q, curve_p;  // the exact level set H = H0: p = ±sqrt(2 (H0 + cos q)), |q| <= q0
  for (int i = 0; i <= 400; ++i) {
    const double q = i <= 200 ? -q0 + 2 * q0 * i / 200.0 : q0 - 2 * q0 * (i - 200) / 200.0;
    curve_q.push_back(q);
    curve_p.push_back((i <= 200 ? 1 : -1) * std::sqrt(std::max(0.0, 2 * (energy0 + std::cos(q)))));
  }
  const auto euler = solve_fixed(explicit_euler(), f, Vec{q0, p0}, 0.0, 20.0, 200);
  Vec qs, ps;
  for (const Vec& y : euler.states) qs.push_back(y[0]), ps.push_back(y[1]);
  phase.add("explicit Euler", qs, ps, Marker::Circle);
  const auto verlet = solve_symplectic(SymplecticMethod::kStormerVerlet, pendulum, PhaseState<Vec>{{q0}, {p0}}, 0.0,
                                       20.0, 200);
  qs.clear(), ps.clear();
  for (const auto& x : verlet.states) qs.push_back(x.q[0]), ps.push_back(x.p[0]);
  phase.add("Stormer-Verlet", qs, ps, Marker::Square);
  phase.series.back().line_width = 0;  // markers only, so the exact curve shows through
  phase.add("exact level set", curve_q, curve_p);
  phase.series.back().color = colors::kBlack;
  phase.series.back().line_width = 1;
  phase.save(ctx.out_path("ch04_phase.png"));
  std::cout << "  wrote " << ctx.out_path("ch04_phase.png") << "\n";
}

// ---- cell 6 ----
void stiffness(Context& ctx) {
  // Prothero–Robinson: y' = λ(y − cos t) − sin t, y(0) = 1, solution cos t, λ = −1000.
  const double lambda = -1000.0;
  const OdeFunction<Vec> f = [&](double t, const Vec& y) { return Vec{lambda * (y[0] - std::cos(t)) - std::sin(t)}; };
  auto max_error = [](const OdeSolution<Vec>& s) {
    double m = 0;
    for (size_t i = 0; i < s.times.size(); ++i) m = std::max(m, std::fabs(s.states[i][0] - std::cos(s.times[i])));
    return m;
  };
  std::cout << "  y' = -1000 (y - cos t) - sin t on [0, 1]; explicit Euler is stable for h <= 2/1000\n"
            << "       h    explicit Euler   implicit Euler   implicit midpoint\n";
  std::ostringstream table;
  table << "| h | explicit Euler | implicit Euler | implicit midpoint |\n|---|---|---|---|\n";
  for (double h : {0.0019, 0.0021, 0.005, 0.05, 0.25}) {
    const int64_t steps = std::llround(1.0 / h);
    const double t_end = steps * h;
    const double explicit_error = max_error(solve_fixed(explicit_euler(), f, Vec{1.0}, 0.0, t_end, steps));
    const double euler_error = max_error(solve_implicit(ImplicitMethod::kImplicitEuler, f, Vec{1.0}, 0.0, t_end, steps));
    const double midpoint_error =
        max_error(solve_implicit(ImplicitMethod::kImplicitMidpoint, f, Vec{1.0}, 0.0, t_end, steps));
    std::cout << std::setw(8) << h << std::setw(17) << explicit_error << std::setw(17) << euler_error << std::setw(20)
              << midpoint_error << "\n";
    char h_text[32];
    std::snprintf(h_text, sizeof h_text, "%g", h);
    table << "| " << h_text << " | " << sci(explicit_error) << " | " << sci(euler_error) << " | " << sci(midpoint_error)
          << " |\n";
  }
  ctx.result_table("stiff", table.str());
  AdaptiveOptions o;
  o.rtol = 1e-4;
  o.atol = 1e-7;
  const auto adaptive = solve_adaptive(dormand_prince(), f, Vec{1.0}, {0.0, 1.0}, o);
  const auto implicit = solve_implicit(ImplicitMethod::kImplicitEuler, f, Vec{1.0}, 0.0, 1.0, 100);
  ctx.result("stiff.dopri_steps", static_cast<double>(adaptive.stats.accepted_steps), "%.0f");
  ctx.result_text("stiff.dopri_evaluations", stablenn::notebook::thousands(adaptive.stats.function_evaluations));
  ctx.result("stiff.implicit_error", max_error(implicit), "%.0e");
  std::cout << "  Dormand-Prince at rtol 1e-4 needs " << adaptive.stats.accepted_steps << " steps ("
            << adaptive.stats.function_evaluations << " evaluations): its steps are capped by stability, "
            << "|h lambda| <= 3.3,\n  not by accuracy; implicit Euler with 100 steps: error " << max_error(implicit)
            << ", " << implicit.stats.function_evaluations << " evaluations.\n";
}

// ---- cell 7 ----
void gradients_through_the_solver(Context& ctx) {
  // y' = a y, y(0) = y0, so y(1) = y0 e^a and dy(1)/da = y0 e^a. The solver runs on Vars, so its
  // steps are recorded on the tape and backward() gives the gradient of the computed y(1).
  const double a_value = -0.7, y0_value = 1.5;
  std::cout << "  y' = a y, y0 = 1.5, a = -0.7: exact dy(1)/da = " << y0_value * std::exp(a_value) << "\n"
            << "  solver                           f evals   |dy/da - exact|\n";
  std::ostringstream table;
  table << "| solver | evaluations | \\|tape gradient − exact\\| |\n|---|---|---|\n";
  auto run = [&](const std::string& name, const std::function<Var(const OdeFunction<Var>&, const Var&)>& solve) {
    Var a(Tensor::from_vector({a_value}, {1}, DType::Float64), true);
    Var y0(Tensor::from_vector({y0_value}, {1}, DType::Float64));
    int64_t calls = 0;
    const OdeFunction<Var> f = [&](double, const Var& y) {
      ++calls;
      return mul(a, y);
    };
    backward(sum(solve(f, y0)));
    const double error = std::fabs(a.grad().item() - y0_value * std::exp(a_value));
    std::cout << "  " << std::left << std::setw(32) << name << std::right << std::setw(8) << calls << std::setw(18)
              << error << "\n";
    table << "| " << book_name(name) << " | " << calls << " | " << sci(error) << " |\n";
  };
  for (int steps : {4, 16, 64})
    run("RK4, " + std::to_string(steps) + " steps", [&](const OdeFunction<Var>& f, const Var& y0) {
      return solve_fixed(rk4(), f, y0, 0.0, 1.0, steps).last_state;
    });
  for (double rtol : {1e-4, 1e-7, 1e-10})
    run("Dormand-Prince, rtol 1e" + std::to_string(std::lround(std::log10(rtol))), [&](const OdeFunction<Var>& f, const Var& y0) {
      AdaptiveOptions o;
      o.rtol = rtol;
      o.atol = rtol * 1e-2;
      return solve_adaptive(dormand_prince(), f, y0, {0.0, 1.0}, o).last_state;
    });
  ctx.result_table("gradients", table.str());
  std::cout << "  The gradient of the discrete solver converges to the exact sensitivity with the solver's\n"
               "  accuracy: backpropagation through the steps (chapter 5 adds the adjoint method).\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Cell> cells = {
      {"Runge-Kutta methods are tables of numbers",
       "A Butcher tableau (c, A, b) defines a Runge-Kutta method; embedded pairs add a second weight\n"
       "vector b_hat for an error estimate. One generic stepper (ode/rk_step.h) runs them all.",
       tableaux},
      {"Convergence orders",
       "The global error of a method of order p falls like h^p: a straight line of slope p on a\n"
       "log-log plot. We measure the slopes on y' = cos(t) y, whose solution is exp(sin t).",
       convergence_orders},
      {"Stability regions",
       "On y' = lambda y a step multiplies y by R(h lambda). The region |R(z)| <= 1, its interval on the\n"
       "negative axis, contractivity radii and the algebraic-stability matrix M of each method.",
       stability_regions},
      {"Adaptive step sizes",
       "Dormand-Prince 5(4) on an eccentric Kepler orbit: the controller takes small steps near the sun\n"
       "and large ones far away. Then work against precision for BS3, Dopri5 and fixed-step RK4.",
       adaptive_steps},
      {"Energy over long times",
       "A pendulum over 100,000 steps: explicit Euler's energy drifts, RK4's decays slowly, the\n"
       "symplectic methods keep it within a band of width O(h^p) forever.",
       long_time_energy},
      {"Stiffness",
       "With a fast decaying mode, explicit methods need tiny steps for stability alone; implicit Euler\n"
       "(Newton's method in each step) is stable at any step size.",
       stiffness},
      {"Gradients through the solver",
       "The same solver code runs on autodiff Vars: the steps land on the tape, and backward() gives\n"
       "the derivative of the solution with respect to a parameter of f.",
       gradients_through_the_solver},
  };
  return stablenn::notebook::run_chapter(argc, argv, {4, "ODEs and their numerical solution", "book/04-odes.md"},
                                         cells);
}
