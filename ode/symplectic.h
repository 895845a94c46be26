// ode/symplectic.h — symplectic Euler and Störmer–Verlet for separable Hamiltonians (chapter 4).
//
// For H(q, p) = T(p) + V(q) the equations are q' = ∂H/∂p(p), p' = −∂H/∂q(q). The two methods below
// update q and p in turn, each with the other one frozen; the resulting maps are symplectic, so
// their energy error stays bounded (O(h) and O(h²)) over exponentially long times instead of
// drifting like explicit Euler's. Written against the same State interface as the Runge–Kutta
// driver (lincomb), so they run on vectors and on Vars (Hamiltonian network layers, chapter 9).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/error.h"
#include "ode/fixed_grid.h"
#include "ode/solution.h"
#include "ode/state_vector.h"

namespace stablenn {

// Chapter 4: a point (q, p) of phase space.
template <class State>
struct PhaseState {
  State q;  // positions
  State p;  // momenta
};

// Chapter 4: a separable Hamiltonian H(q, p) = T(p) + V(q), given by its two gradients.
template <class State>
struct SeparableHamiltonian {
  std::function<State(double t, const State& p)> dH_dp;  // the velocity q' = ∂H/∂p
  std::function<State(double t, const State& q)> dH_dq;  // minus the force: p' = −∂H/∂q
};

// Chapter 4: the symplectic methods.
enum class SymplecticMethod {
  kSymplecticEuler,  // order 1: p_1 = p − h ∂H/∂q(q);  q_1 = q + h ∂H/∂p(p_1)
  kStormerVerlet,    // order 2: half kick, drift, half kick
};

// Chapter 4: one symplectic Euler step: p first with the old q, then q with the new p.
template <class State>
PhaseState<State> symplectic_euler_step(const SeparableHamiltonian<State>& system, double t,
                                        const PhaseState<State>& x, double h) {
  const State grad_q = system.dH_dq(t, x.q);
  PhaseState<State> next;
  next.p = lincomb(x.p, -h, {&grad_q}, {1.0});
  const State velocity = system.dH_dp(t + h, next.p);
  next.q = lincomb(x.q, h, {&velocity}, {1.0});
  return next;
}

// Chapter 4: one Störmer–Verlet (velocity Verlet) step:
//   p_½ = p − (h/2) ∂H/∂q(t, q);  q_1 = q + h ∂H/∂p(t + h/2, p_½);  p_1 = p_½ − (h/2) ∂H/∂q(t + h, q_1).
// grad_q_start: ∂H/∂q(t, q) when known (the previous step's end), else null. grad_q_end (out, when not
// null) receives ∂H/∂q(t + h, q_1) for the next step, so a run costs two gradient calls per step.
template <class State>
PhaseState<State> stormer_verlet_step(const SeparableHamiltonian<State>& system, double t,
                                      const PhaseState<State>& x, double h,
                                      const State* grad_q_start = nullptr,
                                      State* grad_q_end = nullptr) {
  const State grad_q = grad_q_start != nullptr ? *grad_q_start : system.dH_dq(t, x.q);
  const State p_half = lincomb(x.p, -0.5 * h, {&grad_q}, {1.0});
  const State velocity = system.dH_dp(t + 0.5 * h, p_half);
  PhaseState<State> next;
  next.q = lincomb(x.q, h, {&velocity}, {1.0});
  const State grad_q_new = system.dH_dq(t + h, next.q);
  next.p = lincomb(p_half, -0.5 * h, {&grad_q_new}, {1.0});
  if (grad_q_end != nullptr) *grad_q_end = grad_q_new;
  return next;
}

// Chapter 4: n_steps equal steps from (t0, x0) to t1 with a symplectic method. Returns the states at
// steps 0, output_every, 2·output_every, ... and always the last one. function_evaluations counts
// calls of either gradient.
template <class State>
OdeSolution<PhaseState<State>> solve_symplectic(SymplecticMethod method,
                                                const SeparableHamiltonian<State>& system,
                                                const PhaseState<State>& x0, double t0, double t1,
                                                int64_t n_steps, int64_t output_every = 1) {
  SNN_CHECK(system.dH_dp && system.dH_dq, "solve_symplectic: both dH_dp and dH_dq must be set");
  const bool verlet = method == SymplecticMethod::kStormerVerlet;
  State grad_q{};  // Verlet: ∂H/∂q at the end of the previous step, the start of this one
  OdeSolution<PhaseState<State>> solution = solve_on_fixed_grid(
      "solve_symplectic", x0, t0, t1, n_steps, output_every,
      [&](int64_t n, double t, const PhaseState<State>& x, double h, SolverStats& stats) {
        if (!verlet) {
          stats.function_evaluations += 2;
          return symplectic_euler_step(system, t, x, h);
        }
        stats.function_evaluations += n == 0 ? 3 : 2;
        return stormer_verlet_step(system, t, x, h, n == 0 ? nullptr : &grad_q, &grad_q);
      });
  solution.stats.evaluations_per_step = 2;
  solution.stats.initial_step_evaluations = verlet ? 1 : 0;  // Verlet's first ∂H/∂q(q0)
  return solution;
}

}  // namespace stablenn
