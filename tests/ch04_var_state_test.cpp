// tests/ch04_var_state_test.cpp — the solvers on autodiff Var states (chapter 4): the same numbers as
// on std::vector<double>, and gradients through the solver's steps against finite differences and
// against the exact sensitivity of the ODE.
#include <gtest/gtest.h>

#include <cmath>

#include "autodiff/autodiff.h"
#include "tests/ch04_ode_test_util.h"

namespace stablenn {
namespace {

using testing::Vec;

Var var_of(const Vec& values, bool requires_grad = false) {
  return Var(Tensor::from_vector(values, {static_cast<int64_t>(values.size())}, DType::Float64),
             requires_grad);
}

TEST(Ch04VarState, SolversGiveTheSameNumbersAsOnVectors) {
  // y' = cos(t) y (componentwise) on three components.
  const OdeFunction<Var> f_var = [](double t, const Var& y) { return mul(y, std::cos(t)); };
  const OdeFunction<Vec> f_vec = [](double t, const Vec& y) {
    Vec out = y;
    for (double& v : out) v *= std::cos(t);
    return out;
  };
  const Vec y0 = {1.0, -0.5, 2.0};
  const auto fixed_vec = solve_fixed(rk4(), f_vec, y0, 0.0, 2.0, 16);
  const auto fixed_var = solve_fixed(rk4(), f_var, var_of(y0), 0.0, 2.0, 16);
  EXPECT_LT(testing::max_abs_difference(fixed_var.last_state.value().to_vector(), fixed_vec.last_state), 1e-14);

  AdaptiveOptions options;
  options.rtol = 1e-8;
  options.atol = 1e-10;
  const std::vector<double> times = {0.0, 0.7, 2.0};
  const auto adaptive_vec = solve_adaptive(dormand_prince(), f_vec, y0, times, options);
  const auto adaptive_var = solve_adaptive(dormand_prince(), f_var, var_of(y0), times, options);
  EXPECT_EQ(adaptive_var.stats.step_sizes, adaptive_vec.stats.step_sizes);
  EXPECT_EQ(adaptive_var.stats.function_evaluations, adaptive_vec.stats.function_evaluations);
  for (size_t i = 0; i < times.size(); ++i)
    EXPECT_LT(testing::max_abs_difference(adaptive_var.states[i].value().to_vector(), adaptive_vec.states[i]),
              1e-14);

  // Verlet on Vars: the oscillator with q, p as Vars.
  const SeparableHamiltonian<Var> oscillator{[](double, const Var& p) { return p; },
                                             [](double, const Var& q) { return q; }};
  const auto verlet = solve_symplectic(SymplecticMethod::kStormerVerlet, oscillator,
                                       PhaseState<Var>{var_of({1.0}), var_of({0.0})}, 0.0, 1.0, 100);
  EXPECT_NEAR(verlet.last_state.q.item(), std::cos(1.0), 1e-4);
}

TEST(Ch04VarState, GradientThroughRk4StepsMatchesFiniteDifferences) {
  // x(1) of x' = cos(t) tanh(W x) by 6 RK4 steps, differentiated by y0 and W.
  const VarFunction solve = [](const std::vector<Var>& inputs) {
    const Var& y0 = inputs[0];
    const Var& w = inputs[1];
    const OdeFunction<Var> f = [&](double t, const Var& y) { return mul(tanh(matmul(w, y)), std::cos(t)); };
    return solve_fixed(rk4(), f, y0, 0.0, 1.0, 6).last_state;
  };
  const Tensor y0 = Tensor::from_vector({0.3, -0.8, 0.5}, {3}, DType::Float64);
  const Tensor w = Tensor::from_vector({0.5, -1.0, 0.2, 0.9, 0.1, -0.4, -0.3, 0.7, 0.6}, {3, 3}, DType::Float64);
  const GradcheckResult result = gradcheck(solve, {y0, w});
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(Ch04VarState, GradientThroughAdaptiveSolveMatchesTheExactSensitivity) {
  // y' = a y, y(0) = y0: y(1) = y0 e^a, so dy(1)/da = y0 e^a and dy(1)/dy0 = e^a. Backpropagating
  // through the accepted steps (step sizes held fixed) is exact up to the solver's tolerance.
  const double a_value = -0.7, y0_value = 1.5;
  Var a = var_of({a_value}, true);
  Var y0 = var_of({y0_value}, true);
  const OdeFunction<Var> f = [&](double, const Var& y) { return mul(a, y); };
  AdaptiveOptions options;
  options.rtol = 1e-10;
  options.atol = 1e-12;
  const auto solution = solve_adaptive(dormand_prince(), f, y0, {0.0, 1.0}, options);
  const Var y1 = solution.last_state;
  EXPECT_NEAR(y1.item(), y0_value * std::exp(a_value), 1e-9);
  backward(sum(y1));
  EXPECT_NEAR(a.grad().item(), y0_value * std::exp(a_value), 1e-8);
  EXPECT_NEAR(y0.grad().item(), std::exp(a_value), 1e-8);
}

TEST(Ch04VarState, ShapeMismatchIsAnError) {
  const OdeFunction<Var> wrong = [](double, const Var&) { return var_of({1.0, 2.0}); };
  EXPECT_THROW(solve_fixed(heun(), wrong, var_of({1.0, 2.0, 3.0}), 0.0, 1.0, 2), Error);
}

}  // namespace
}  // namespace stablenn
