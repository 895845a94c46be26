// layers/stable/block_integrators.cpp — methods, radii and step bounds of the stable blocks (chapter 7).
#include "layers/stable/block_integrators.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ode/rk_step.h"
#include "ode/state_var.h"

namespace stablenn {

const char* block_integrator_name(BlockIntegrator method) {
  switch (method) {
    case BlockIntegrator::kEuler: return "Euler";
    case BlockIntegrator::kHeun: return "Heun";
    case BlockIntegrator::kRK4: return "RK4";
  }
  return "?";
}

const ButcherTableau& block_integrator_tableau(BlockIntegrator method) {
  static const ButcherTableau euler = explicit_euler(), heun_method = heun(), rk4_method = rk4();
  switch (method) {
    case BlockIntegrator::kEuler: return euler;
    case BlockIntegrator::kHeun: return heun_method;
    case BlockIntegrator::kRK4: return rk4_method;
  }
  fail("block_integrator_tableau: unknown method");
}

double block_integrator_radius(BlockIntegrator method) {
  return block_integrator_tableau(method).gradient_field_radius;
}

Var rk_step_negative_field(const ButcherTableau& tableau, const std::function<Var(const Var&)>& g,
                           const Var& x, double h, const Var& h_var) {
  // x: [N, ...] -> [N, ...]
  // ode's generic step on f = −g. A learnable step h_var is a step of 1 on the field −h_var·g, so it
  // stays on the tape: k_i = −h_var g(·), and y + 1·Σ a_ij k_j = y − h_var Σ a_ij g_j.
  std::vector<Var> stages;
  if (h_var.defined()) {
    const Var minus_h = neg(h_var);
    const OdeFunction<Var> f = [&](double, const Var& y) { return mul(g(y), minus_h); };
    return rk_step(tableau, f, 0.0, x, 1.0, stages);
  }
  if (tableau.stages() == 1 && tableau.b[0] == 1.0)  // explicit Euler: x + h·(−g(x)) is x + (−h)·g(x)
    return axpy(x, g(x), -h);                       // bit for bit, without the pass that negates g
  const OdeFunction<Var> f = [&](double, const Var& y) { return neg(g(y)); };
  return rk_step(tableau, f, 0.0, x, h, stages);
}

double rk_step_lipschitz(const ButcherTableau& tableau, double z) {
  // c_k = |b|ᵀ |A|^(k−1) 1, k = 1..s (explicit: |A| is nilpotent, so the sum ends at s)
  const int s = tableau.stages();
  std::vector<double> v(s, 1.0);
  double bound = 1.0, zk = 1.0;
  for (int k = 1; k <= s; ++k) {
    zk *= z;
    double c = 0;
    for (int i = 0; i < s; ++i) c += std::abs(tableau.b[i]) * v[i];
    bound += c * zk;
    std::vector<double> next(s, 0.0);
    for (int i = 0; i < s; ++i)
      for (int j = 0; j < s; ++j) next[i] += std::abs(tableau.a[i][j]) * v[j];
    v = next;
  }
  return bound;
}

double gradient_step_lipschitz(BlockIntegrator method, double z) {
  SNN_CHECK(z >= 0 && std::isfinite(z), "gradient_step_lipschitz: z = h Lip ‖A‖² must be finite and ",
            ">= 0, got ", z);
  if (z <= 2.0 * block_integrator_radius(method)) return 1.0;
  const double euler = std::max(1.0, z - 1.0);
  switch (method) {
    case BlockIntegrator::kEuler: return euler;
    case BlockIntegrator::kHeun: return 0.5 * (1.0 + euler * euler);
    case BlockIntegrator::kRK4: return rk_step_lipschitz(block_integrator_tableau(method), z);
  }
  fail("gradient_step_lipschitz: unknown method");
}

}  // namespace stablenn
