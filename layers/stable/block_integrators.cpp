// layers/stable/block_integrators.cpp — methods, radii and step bounds of the stable blocks (chapter 7).
#include "layers/stable/block_integrators.h"

#include <algorithm>
#include <cmath>
#include <vector>

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
  switch (method) {
    case BlockIntegrator::kEuler: return 1.0;
    case BlockIntegrator::kHeun: return 1.0;
    case BlockIntegrator::kRK4: return 1.0;
  }
  fail("block_integrator_radius: unknown method");
}

Var rk_step_negative_field(const ButcherTableau& tableau, const std::function<Var(const Var&)>& g,
                           const Var& x, double h, const Var& h_var) {
  // x: [N, ...] -> [N, ...]
  SNN_CHECK(tableau.is_explicit(), "rk_step_negative_field: tableau '", tableau.name,
            "' is not explicit");
  auto step_from = [&](const Var& combination) {
    return h_var.defined() ? sub(x, mul(combination, h_var)) : sub(x, mul(combination, h));
  };
  // Σ_j w_j k_j over the non-zero weights, or undefined when all are zero.
  auto combine = [](const std::vector<Var>& ks, const std::vector<double>& w, size_t count) {
    Var acc;
    for (size_t j = 0; j < count; ++j) {
      if (w[j] == 0.0) continue;
      const Var term = w[j] == 1.0 ? ks[j] : mul(ks[j], w[j]);
      acc = acc.defined() ? add(acc, term) : term;
    }
    return acc;
  };
  const int s = tableau.stages();
  std::vector<Var> ks;
  ks.reserve(s);
  for (int i = 0; i < s; ++i) {
    const Var acc = combine(ks, tableau.a[i], static_cast<size_t>(i));
    ks.push_back(g(acc.defined() ? step_from(acc) : x));
  }
  return step_from(combine(ks, tableau.b, ks.size()));
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
