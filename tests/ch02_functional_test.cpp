// tests/ch02_functional_test.cpp — vjp, jvp, hvp and jacobian against closed forms, and the
// higher-order uses chapter 10 needs (Jacobian-norm regularisers differentiated by parameters).
#include <gtest/gtest.h>

#include "autodiff/autodiff.h"
#include "core/stablenn_core.h"

namespace stablenn {
namespace {

Tensor normal(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return gen.normal(shape, 0.0, 1.0, DType::Float64);
}

TEST(Ch02Functional, JacobianOfALinearMapIsTheMatrix) {
  const Tensor a = normal({3, 4}, 1);
  const VarFunction f = [&](const std::vector<Var>& v) { return matmul(Var(a), v[0]); };
  const std::vector<Tensor> j = jacobian(f, {Var(normal({4}, 2))});
  EXPECT_LT(max_abs_diff(j[0], a), 1e-15);
}

TEST(Ch02Functional, VjpOfTanhLayerMatchesClosedForm) {
  // f(x) = tanh(A x): v^T J = A^T ((1 - tanh(Ax)^2) * v).
  const Tensor a = normal({3, 4}, 3), x = normal({4}, 4), v = normal({3}, 5);
  const VarFunction f = [&](const std::vector<Var>& in) { return tanh(matmul(Var(a), in[0])); };
  const VjpResult r = vjp(f, {Var(x)}, Var(v));
  const Tensor th = tanh(matmul(a, x));
  const Tensor expected = matmul(a.t(), mul(sub(Tensor::scalar(1.0, DType::Float64), square(th)), v));
  EXPECT_LT(max_abs_diff(r.vjp[0].value(), expected), 1e-14);
  EXPECT_LT(max_abs_diff(r.output.value(), th), 1e-15);
}

TEST(Ch02Functional, JvpByDoubleVjpEqualsJacobianTimesDirection) {
  // Two inputs, non-linear: J v = J_x v_x + J_w v_w, compared with the explicit Jacobians.
  const Tensor x = normal({4}, 6), w = normal({3, 4}, 7), vx = normal({4}, 8), vw = normal({3, 4}, 9);
  const VarFunction f = [](const std::vector<Var>& in) { return sigmoid(matmul(in[1], in[0])) * sum(in[0]); };
  const JvpResult r = jvp(f, {Var(x), Var(w)}, {Var(vx), Var(vw)});
  const std::vector<Tensor> j = jacobian(f, {Var(x), Var(w)});
  const Tensor expected = add(matmul(j[0], vx), matmul(j[1], vw.reshape({-1})));
  EXPECT_LT(max_abs_diff(r.jvp.value(), expected), 1e-13);
}

TEST(Ch02Functional, HvpOfCubicMatchesClosedForm) {
  // f(x) = sum(x^3): gradient 3x^2, Hessian diag(6x).
  const Tensor x = normal({5}, 10), v = normal({5}, 11);
  const VarFunction f = [](const std::vector<Var>& in) { return sum(in[0] * in[0] * in[0]); };
  const HvpResult r = hvp(f, {Var(x)}, {Var(v)});
  EXPECT_LT(max_abs_diff(r.gradient[0].value(), mul(square(x), 3.0)), 1e-14);
  EXPECT_LT(max_abs_diff(r.hvp[0].value(), mul(mul(x, v), 6.0)), 1e-14);
  EXPECT_FALSE(r.hvp[0].requires_grad());  // create_graph = false: plain values
}

TEST(Ch02Functional, HvpOfLinearAndConstantFunctionsIsZero) {
  const Tensor x = normal({3}, 12), v = normal({3}, 13);
  const HvpResult lin = hvp([](const std::vector<Var>& in) { return sum(in[0] * 2.0); }, {Var(x)}, {Var(v)});
  EXPECT_EQ(max_abs_diff(lin.hvp[0].value(), Tensor::zeros({3}, DType::Float64)), 0.0);
  const VjpResult c = vjp([](const std::vector<Var>&) { return Var(Tensor::ones({2}, DType::Float64)); },
                          {Var(x)}, Var(Tensor::ones({2}, DType::Float64)));
  EXPECT_EQ(max_abs_diff(c.vjp[0].value(), Tensor::zeros({3}, DType::Float64)), 0.0);
}

TEST(Ch02Functional, BadDirectionsAreRejected) {
  const VarFunction f = [](const std::vector<Var>& in) { return sum(in[0]); };
  EXPECT_THROW(jvp(f, {Var(normal({3}, 14))}, {Var(normal({2}, 15))}), Error);
  EXPECT_THROW(hvp(f, {Var(normal({3}, 14))}, {}), Error);
  EXPECT_THROW(hvp([](const std::vector<Var>& in) { return in[0] * 2.0; }, {Var(normal({3}, 14))},
                   {Var(normal({3}, 15))}),
               Error);  // not a scalar
}

// A Jacobian-norm regulariser, as chapter 10 uses: R(W) = ||J_x tanh(W x) v||^2 with the Jacobian taken
// at a fixed x and direction v, differentiated with respect to W. Its gradient needs third-order tape
// work (jvp is a double vjp, recorded); check it against central differences in W.
TEST(Ch02Functional, JacobianNormRegulariserHasCorrectParameterGradient) {
  const Tensor x = normal({4}, 16), v = normal({4}, 17);
  const VarFunction regulariser = [&](const std::vector<Var>& params) {
    const Var& w = params[0];
    const VarFunction layer = [&w](const std::vector<Var>& in) { return tanh(matmul(w, in[0])); };
    const JvpResult r = jvp(layer, {Var(x)}, {Var(v)}, /*create_graph=*/true);
    return sum(square(r.jvp));
  };
  const GradcheckResult r = gradcheck(regulariser, {normal({3, 4}, 18)});
  EXPECT_TRUE(r.ok) << r.report;
}

// Gradient penalty by hvp with create_graph: d/dW <H_x(W) v, u> checked by gradcheck.
TEST(Ch02Functional, HvpWithCreateGraphIsDifferentiableInParameters) {
  const Tensor x = normal({3}, 19), v = normal({3}, 20), u = normal({3}, 21);
  const VarFunction f = [&](const std::vector<Var>& params) {
    const Var& w = params[0];
    const VarFunction energy = [&w](const std::vector<Var>& in) { return sum(softplus(matmul(w, in[0]))); };
    const HvpResult h = hvp(energy, {Var(x)}, {Var(v)}, /*create_graph=*/true);
    return sum(h.hvp[0] * Var(u));
  };
  const GradcheckResult r = gradcheck(f, {normal({2, 3}, 22)});
  EXPECT_TRUE(r.ok) << r.report;
}

}  // namespace
}  // namespace stablenn
