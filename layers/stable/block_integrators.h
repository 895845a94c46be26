// layers/stable/block_integrators.h — the explicit Runge–Kutta methods a stable block integrates with, and
// their circle-contractivity radii (chapter 7).
//
// A block of chapter 7 integrates ẋ = −∇V(x), V(x) = 1ᵀγ(Ax + b), γ' = σ. V is convex and
// (Lip(σ)‖A‖²)-smooth, so −∇V satisfies the circle condition ‖f(x) − f(y) + ρ(x − y)‖ <= ρ‖x − y‖ with
// ρ = Lip(σ)‖A‖²/2 (co-coercivity of ∇V). A method with circle-contractivity radius r is then
// non-expansive for hρ <= r, i.e. h·Lip(σ)‖A‖² <= 2r (Dahlquist & Jeltsch 1979; Kraaijevanger 1991).
#pragma once
#include <functional>
#include <string>

#include "autodiff/autodiff.h"
#include "ode/butcher.h"

namespace stablenn {

// Chapter 7: the methods of the stable blocks.
enum class BlockIntegrator { kEuler, kHeun, kRK4 };

// Chapter 7: "Euler", "Heun", "RK4".
const char* block_integrator_name(BlockIntegrator method);
// Chapter 7: the Butcher tableau (from ode/butcher.h).
const ButcherTableau& block_integrator_tableau(BlockIntegrator method);
// Chapter 7: the radius r of the step-size rule h·Lip(σ)‖A‖² <= 2r: the tableau's
// gradient_field_radius (ode/butcher.h, where the values and their justification live: Euler and
// Heun r = 1 exactly, RK4 r = 1 as Sherry et al. use it, on evidence rather than proof).
double block_integrator_radius(BlockIntegrator method);

// Chapter 7: one explicit RK step of size h for ẋ = −g(x) (ode/rk_step.h's step on f = −g):
//   k_i = g(x − h Σ_j a_ij k_j),  x₁ = x − h Σ_i b_i k_i.
// h is a plain number, or, when h_var is defined (a 0-d Var), a learnable step on the tape.
Var rk_step_negative_field(const ButcherTableau& tableau, const std::function<Var(const Var&)>& g,
                           const Var& x, double h, const Var& h_var = Var());

// Chapter 7: an upper bound of the Lipschitz constant of one step for ẋ = −∇V with V convex, when
// z = h·Lip(σ)‖A‖² (h times the smoothness of V): 1 when z <= 2r; beyond that Euler gives
// max(1, z − 1) (the eigenvalues of I − hAᵀDA lie in [1 − z, 1]), Heun ½(1 + e²) with e the Euler
// bound, and any other method the generic bound 1 + Σ_k c_k z^k, c_k = |b|ᵀ|A|^(k−1)1.
double gradient_step_lipschitz(BlockIntegrator method, double z);
// Chapter 7: the generic bound of one explicit RK step for an f with Lipschitz constant ℓ, z = hℓ:
// 1 + Σ_k c_k z^k, c_k = |b|ᵀ|A|^(k−1)1 (the stages compose at most k evaluations of f).
double rk_step_lipschitz(const ButcherTableau& tableau, double z);

}  // namespace stablenn
