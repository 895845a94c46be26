// notebooks_cpp/ch06_stability.cpp — chapter 6, "Stability": Lipschitz constants of layers and of
// compositions, contractivity of ODE flows (one-sided Lipschitz constants), gradient flows of convex
// functions and how explicit Euler keeps or loses their non-expansiveness with the step size,
// B-stability and the algebraic test M = BA + AᵀB − bbᵀ, and circle contractivity of explicit
// Runge–Kutta methods.
// Read along in book/06-stability.md. Run: build/notebooks_cpp/ch06_stability [--step] [--smoke]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/stable/gradient_step_block.h"
#include "ode/ode.h"
#include "plot/plot.h"
#include "robust/certificates.h"
#include "robust/lipschitz.h"
#include "notebooks_cpp/harness.h"

using namespace stablenn;
using stablenn::notebook::Cell;
using stablenn::notebook::plain;
using stablenn::notebook::Context;

namespace {

using Vec = std::vector<double>;

void save_plot(const LinePlot& plot, const Context& ctx, const std::string& file) {
  const std::string path = ctx.out_path(file);
  plot.save(path);
  std::cout << "  wrote " << path << "\n";
}

double distance(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

// ---- cell 1: Lipschitz constants of layers and compositions ----
void lipschitz_cell(Context& ctx) {
  Generator g(ctx.seed + 1);
  const int64_t width = ctx.pick(64, 16);
  Sequential net;
  net.add(std::make_shared<Linear>(8, width, true, g, DType::Float64));
  net.add(Tanh());
  net.add(std::make_shared<Linear>(width, width, true, g, DType::Float64));
  net.add(Tanh());
  net.add(std::make_shared<Linear>(width, 4, true, g, DType::Float64));
  std::cout << "  a small MLP 8 -> " << width << " -> " << width << " -> 4 (tanh):\n";
  std::string bounds;
  for (const LayerBound& row : layer_bounds(net)) {
    std::printf("    layer %-2s %-32s Lip <= %.4f\n", row.name.c_str(), row.description.c_str(), row.bound);
    char text[32];
    std::snprintf(text, sizeof text, "%s%.3g", bounds.empty() ? "" : ", ", row.bound);
    bounds += text;
  }
  ctx.result_text("mlp.layer_bounds", bounds);
  const double upper = lipschitz_bound(net);
  EmpiricalLipschitzOptions search;
  search.random_pairs = ctx.pick(1024, 128);
  search.ascent_steps = ctx.pick(200, 20);
  search.seed = ctx.seed;
  const EmpiricalLipschitzResult r = empirical_lipschitz(net, g.normal({64, 8}, 0, 1, DType::Float64), search);
  ctx.result("mlp.product", upper, "%.3g");
  ctx.result("mlp.random_pairs", r.random_pairs, "%.2f");
  ctx.result("mlp.ascent", r.ascent, "%.2f");
  std::cout << std::setprecision(4) << "  product of the layers' bounds: " << upper << "\n"
            << "  largest ratio ||f(x) - f(y)|| / ||x - y|| found: random pairs " << r.random_pairs
            << ", gradient ascent " << r.ascent << "\n"
            << "  The product is an upper bound, the search a lower bound; the true constant lies between.\n"
            << "  The gap comes from the top singular directions of consecutive layers not lining up and\n"
            << "  from tanh' < 1 away from 0.\n";
}

// ---- cells 2 and 3: flows and Euler steps of a gradient field in 2-D ----
// V(x) = Σ_i γ(a_iᵀx + b_i), γ' = LeakyReLU(·, 0.2): convex, and ∇V = Aᵀσ(Ax + b) is L-Lipschitz
// with L = ‖A‖² (Lip σ = 1).
struct GradientField {
  Vec a = {1.2, 0.3, -0.4, 1.0, 0.9, -1.1};  // A: 3 x 2, row-major
  Vec b = {0.2, -0.5, 0.1};
  double slope = 0.2;
  Vec gradient(const Vec& x) const {
    Vec g(2, 0.0);
    for (int i = 0; i < 3; ++i) {
      double pre = a[2 * i] * x[0] + a[2 * i + 1] * x[1] + b[i];
      pre = pre > 0 ? pre : slope * pre;
      g[0] += a[2 * i] * pre;
      g[1] += a[2 * i + 1] * pre;
    }
    return g;
  }
  double smoothness() const {  // ‖A‖² = largest eigenvalue of AᵀA (2 x 2)
    double p = 0, q = 0, r = 0;
    for (int i = 0; i < 3; ++i) p += a[2 * i] * a[2 * i], q += a[2 * i] * a[2 * i + 1], r += a[2 * i + 1] * a[2 * i + 1];
    return 0.5 * (p + r) + std::sqrt(0.25 * (p - r) * (p - r) + q * q);
  }
};

void flows_cell(Context& ctx) {
  const GradientField field;
  const double L = field.smoothness();
  std::cout << std::setprecision(4) << "  V(x) = sum_i gamma(a_i x + b_i) in 2-D, gamma' = LeakyReLU(0.2); L = ||A||^2 = " << L << "\n";
  // Two trajectories of the exact flow (RK4 with a tiny step) for the gradient field and for a field
  // with a rotation and a positive one-sided Lipschitz constant.
  const OdeFunction<Vec> gradient_flow = [&](double, const Vec& x) {
    Vec g = field.gradient(x);
    return Vec{-g[0], -g[1]};
  };
  const OdeFunction<Vec> spiral = [](double, const Vec& x) { return Vec{0.1 * x[0] - x[1], x[0] + 0.1 * x[1]}; };
  const Vec x0 = {1.5, -1.0}, y0 = {-0.5, 1.2};
  const double t1 = 4.0;
  const int64_t n = ctx.pick(400, 100);
  LinePlot plot;
  plot.title = "distance between two solutions";
  plot.x_label = "t";
  plot.y_label = "||x(t) - y(t)||";
  for (int which = 0; which < 2; ++which) {
    const OdeFunction<Vec>& f = which == 0 ? gradient_flow : spiral;
    const auto sx = solve_fixed(rk4(), f, x0, 0.0, t1, n), sy = solve_fixed(rk4(), f, y0, 0.0, t1, n);
    Vec ts, ds;
    for (size_t i = 0; i < sx.states.size(); ++i) ts.push_back(sx.times[i]), ds.push_back(distance(sx.states[i], sy.states[i]));
    plot.add(which == 0 ? "gradient flow of a convex V (nu <= 0)" : "spiral, nu = 0.1 (grows like e^{0.1 t})", ts, ds);
    const std::string key = which == 0 ? "flow." : "spiral.";
    ctx.result(key + "start", ds.front(), "%.3g");
    ctx.result(key + "end", ds.back(), "%.3g");
    std::cout << "  " << (which == 0 ? "gradient flow" : "spiral       ") << ": distance " << ds.front() << " -> " << ds.back() << "\n";
  }
  save_plot(plot, ctx, "ch06_flows.png");
  std::cout << "  <f(x) - f(y), x - y> <= nu ||x - y||^2 gives ||x(t) - y(t)|| <= e^{nu t} ||x0 - y0||; for\n"
               "  f = -grad V with V convex, nu <= 0: the flow never pulls solutions apart.\n";
}

void euler_cell(Context& ctx) {
  // The quadratic case σ = identity, V(x) = ½‖Ax + b‖²: the difference of two Euler trajectories is
  // multiplied by I − hAᵀA at every step, so it shows the threshold without nonlinear effects.
  GradientField field;
  field.slope = 1.0;
  const double L = field.smoothness();
  std::cout << std::setprecision(4) << "  V(x) = 1/2 ||Ax + b||^2 (the same A, sigma = identity), L = " << L << "\n";
  const Vec x0 = {1.5, -1.0}, y0 = {-0.5, 1.2};
  LinePlot plot;
  plot.title = "explicit Euler on the gradient flow";
  plot.x_label = "step";
  plot.y_label = "||x_k - y_k||";
  plot.log_y = true;
  const int64_t steps = ctx.pick(40, 15);
  std::cout << "  h L     distance after " << steps << " steps   largest one-step ratio   (start " << distance(x0, y0) << ")\n";
  ctx.result("euler.smoothness", L, "%.3g");
  std::string head = "| h L |", rule = "|---|", ratio_row = "| largest one-step ratio |",
              distance_row = "| distance after " + std::to_string(steps) + " steps |";
  for (double z : {0.5, 1.0, 1.9, 2.0, 2.2, 2.6}) {
    const double h = z / L;
    Vec x = x0, y = y0, ks, ds;
    double worst = 0;
    for (int64_t k = 0; k <= steps; ++k) {
      ks.push_back(double(k));
      ds.push_back(distance(x, y));
      if (k > 0) worst = std::max(worst, ds[k] / ds[k - 1]);
      const Vec gx = field.gradient(x), gy = field.gradient(y);
      for (int i = 0; i < 2; ++i) x[i] -= h * gx[i], y[i] -= h * gy[i];
    }
    char label[64];
    std::snprintf(label, sizeof label, "h L = %.1f", z);
    plot.add(label, ks, ds);
    std::printf("  %-6.2f  %-24.6g %.6f\n", z, ds.back(), worst);
    char cell[48];
    std::snprintf(cell, sizeof cell, " %.1f |", z);
    head += cell, rule += "---|";
    std::snprintf(cell, sizeof cell, " %.2f |", worst);
    ratio_row += cell;
    std::snprintf(cell, sizeof cell, " %.2g |", ds.back());
    distance_row += cell;
  }
  ctx.result_table("euler", head + "\n" + rule + "\n" + ratio_row + "\n" + distance_row);
  save_plot(plot, ctx, "ch06_euler_steps.png");
  std::cout << "  For h L <= 2 the distance never grows (the step x - h grad V(x) is non-expansive); beyond 2\n"
               "  the step overshoots along the stiffest direction, |1 - h L| > 1, and the distance grows\n"
               "  geometrically. (With a LeakyReLU the flat negative side caps the growth, but one step is\n"
               "  still expansive for some pairs: cell 5 measures it.)\n";
}

// The method names as the book writes them (an en dash between two people's names).
std::string book_name(std::string name) {
  const size_t dash = name.find("Gauss-");
  if (dash != std::string::npos) name.replace(dash + 5, 1, "–");
  return name;
}

// ---- cell 4: B-stability and algebraic stability ----
void algebraic_cell(Context& ctx) {
  std::cout << "  method               b >= 0   eigenvalues of M = BA + A^T B - b b^T        algebraically stable\n";
  std::vector<ButcherTableau> methods = {explicit_euler(), heun(), explicit_midpoint(), rk4(),
                                         implicit_euler_tableau(), implicit_midpoint_tableau(), gauss_legendre_2()};
  std::ostringstream table;
  table << "| method | b ≥ 0 | eigenvalues of M | algebraically stable |\n|---|---|---|---|\n";
  for (const ButcherTableau& t : methods) {
    const AlgebraicStability s = algebraic_stability(t);
    std::string eig, book_eig;
    for (double e : s.eigenvalues) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%+.4f ", std::abs(e) < 1e-14 ? 0.0 : e);
      eig += buf;
      book_eig += (book_eig.empty() ? "" : ", ") + plain(e, 3);
    }
    std::printf("  %-20s %-8s %-45s %s\n", t.name.c_str(), s.weights_nonnegative ? "yes" : "no", eig.c_str(),
                s.algebraically_stable ? "yes" : "no");
    table << "| " << book_name(t.name) << " | " << (s.weights_nonnegative ? "yes" : "no") << " | " << book_eig << " | "
          << (s.algebraically_stable ? "yes" : "no") << " |\n";
  }
  ctx.result_table("algebraic", table.str());
  std::cout << "  Algebraic stability (b >= 0, M positive semidefinite) makes a method B-stable: contractive\n"
               "  for every dissipative f and EVERY step size. No explicit method qualifies (M_11 = -b_1^2 < 0\n"
               "  because a_11 = 0), so explicit methods need a step-size condition: circle contractivity.\n";
}

// ---- cell 5: circle contractivity of explicit methods ----
void circle_cell(Context& ctx) {
  std::cout << "  method               largest disk in the          radius of absolute         r used by the\n"
               "                       stability region (upper)     monotonicity (lower)       blocks\n";
  std::ostringstream radii;
  radii << "| method | largest disk (upper) | absolute monotonicity (lower) | r used by the blocks |\n"
           "|---|---|---|---|\n";
  for (const ButcherTableau& t : {explicit_euler(), heun(), explicit_midpoint(), rk4()}) {
    const double upper = largest_stable_disk(t), lower = absolute_monotonicity_radius(t);
    // The blocks' radius is the tableau's (ode/butcher.h); (*) where it is not the circle radius.
    const double r = t.gradient_field_radius;
    char used[32] = "-";
    if (r > 0) std::snprintf(used, sizeof used, r == t.circle_contractivity_radius ? "%g" : "%g (*)", r);
    std::printf("  %-20s %-28.4f %-26.4f %s\n", t.name.c_str(), upper, lower, used);
    radii << "| " << book_name(t.name) << " | " << plain(upper, 3) << " | " << plain(lower, 3) << " | "
          << (r <= 0 ? std::string("—")
                     : plain(r, 3) + (r == t.circle_contractivity_radius ? " (exact)" : " (see below)"))
          << " |\n";
  }
  ctx.result_table("radii", radii.str());
  std::cout << "  (*) Sherry et al. use r = 1 for RK4; for the GENERAL circle condition its radius is the lower\n"
               "  bound 0. The gradient fields of the blocks are a narrower class, and the search below finds\n"
               "  no expansion at h L <= 2 for any of the three.\n";
  // Measured: one step of x - h A^T sigma(Ax + b) across h L = 2, for each method.
  Generator g(ctx.seed + 5);
  const Tensor inputs = g.normal({32, 8}, 0, 1, DType::Float64);
  EmpiricalLipschitzOptions search;
  search.random_pairs = ctx.pick(256, 64);
  search.ascent_pairs = ctx.pick(16, 4);
  search.ascent_steps = ctx.pick(100, 15);
  search.max_distance = 3.0;
  LinePlot plot;
  plot.title = "one RK step of -grad V: measured Lipschitz";
  plot.x_label = "z = h Lip(sigma) ||A||^2";
  plot.y_label = "largest ratio found";
  Vec zs;
  for (double z = 0.5; z <= 4.0 + 1e-9; z += 0.25) zs.push_back(z);
  std::printf("  z      Euler    Heun     RK4\n");
  std::vector<Vec> measured(3);
  const BlockIntegrator methods[3] = {BlockIntegrator::kEuler, BlockIntegrator::kHeun, BlockIntegrator::kRK4};
  for (int m = 0; m < 3; ++m) {
    GradientStepOptions o;
    o.integrator = methods[m];
    o.activation = Activation::relu();
    GradientStepBlock block(MapGeometry::dense(8, 12), o, g, DType::Float64);
    const double sigma = singular_values(block.weight.value())[0];
    for (double z : zs) {
      FixedGradientStep step(block, z / (sigma * sigma));
      search.seed = ctx.seed + static_cast<uint64_t>(40 * z);
      measured[m].push_back(empirical_lipschitz(step, inputs, search).best());
    }
  }
  for (size_t i = 0; i < zs.size(); ++i)
    std::printf("  %4.2f   %6.4f   %6.4f   %6.4f\n", zs[i], measured[0][i], measured[1][i], measured[2][i]);
  // the book's table: the measured ratio at a few z
  ctx.result_table("circle", notebook::sampled_table(zs, {"Euler", "Heun", "RK4"}, measured,
                                                     {1.0, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0}, "%.3f") + "\n");
  plot.add("Euler", zs, measured[0], Marker::Circle).add("Heun", zs, measured[1], Marker::Square).add("RK4", zs, measured[2], Marker::Triangle);
  // The linear picture for comparison: on the scalar gradient field f(x) = -lambda x (V = lambda x^2/2)
  // one step multiplies by R(-h lambda), and so does the block on a piece where every unit is active
  // (matrix R(-h A^T A)): up to max |R(-x)| over x in [0, z]. The search samples few such points, so
  // it reports much less: say what was searched and what it can miss.
  const ButcherTableau tableaux[3] = {explicit_euler(), heun(), rk4()};
  double largest_linear = 0, at_z = 0;
  for (int m = 0; m < 3; ++m) {
    Vec linear;
    for (double z : zs) {
      double worst = 0;
      for (double x = 0; x <= z + 1e-12; x += 0.01) worst = std::max(worst, std::abs(stability_function(tableaux[m], {-x, 0.0})));
      linear.push_back(worst);
      if (worst > largest_linear) largest_linear = worst, at_z = z;
    }
    Series s;
    s.label = tableaux[m].name + ": linear max |R|";
    s.x = zs, s.y = linear;
    s.color = palette_color(m);
    s.line_width = 1;
    plot.series.push_back(s);
  }
  std::printf("  Searched: z in [%.2f, %.2f]; %lld random pairs around %lld N(0, I) inputs, at distances up to %.1f,\n"
              "  the best %lld refined by %lld ascent steps. The ratios are LOWER bounds of one block's step.\n"
              "  Larger expansions exist outside this search: on the linear gradient field f(x) = -lambda x\n"
              "  the step multiplies by R(-h lambda), up to max |R(-x)| = %.4f (RK4 at z = %.2f: |R(-4)| = 5;\n"
              "  thin lines), and a block whose units are all active is linear in the same way.\n",
              zs.front(), zs.back(), static_cast<long long>(search.random_pairs),
              static_cast<long long>(inputs.size(0)), search.max_distance,
              static_cast<long long>(search.ascent_pairs), static_cast<long long>(search.ascent_steps),
              largest_linear, at_z);
  save_plot(plot, ctx, "ch06_circle_contractivity.png");
  // |R(-x)| on the negative real axis: the linear picture.
  LinePlot r;
  r.title = "|R(-x)| on the negative real axis";
  r.x_label = "x = -h lambda";
  r.y_label = "|R|";
  Vec xs;
  for (double x = 0; x <= 4.0 + 1e-9; x += 0.05) xs.push_back(x);
  for (const ButcherTableau& t : {explicit_euler(), heun(), rk4()}) {
    Vec ys;
    for (double x : xs) ys.push_back(std::abs(stability_function(t, {-x, 0.0})));
    r.add(t.name, xs, ys);
  }
  r.add("1", xs, Vec(xs.size(), 1.0));
  // The axis reaches the largest |R| over the searched x (RK4: |R(-4)| = 5), so no curve is cut.
  double top = 1;
  for (const Series& s : r.series) top = std::max(top, *std::max_element(s.y.begin(), s.y.end()));
  r.y_range = std::make_pair(0.0, 1.05 * top);
  save_plot(r, ctx, "ch06_stability_functions.png");
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Cell> cells = {
      {"Lipschitz constants of layers and networks",
       "Lip(f o g) <= Lip(f) Lip(g): each layer's bound (the spectral norm of a linear map, the largest\n"
       "slope of an activation) multiplies up. An adversarial search gives a lower bound to compare.",
       lipschitz_cell},
      {"Contractive flows",
       "Two solutions of x' = f(x) separate at most like e^{nu t}, nu the one-sided Lipschitz constant.\n"
       "Gradient flows of convex functions have nu <= 0.",
       flows_cell},
      {"Explicit Euler on a gradient flow",
       "x - h grad V(x) is non-expansive exactly when h L <= 2 (L the smoothness of V).",
       euler_cell},
      {"B-stability and algebraic stability",
       "A Runge-Kutta method is algebraically stable when b >= 0 and M = BA + A^T B - b b^T is positive\n"
       "semidefinite; then it is contractive for every dissipative f and every h.",
       algebraic_cell},
      {"Circle contractivity",
       "Explicit methods are contractive only for h rho <= r under the circle condition\n"
       "||f(x) - f(y) + rho (x - y)|| <= rho ||x - y||, which -grad V satisfies with rho = L/2.",
       circle_cell},
  };
  return stablenn::notebook::run_chapter(argc, argv, {6, "Stability", "book/06-stability.md"}, cells);
}
