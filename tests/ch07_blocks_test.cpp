// tests/ch07_blocks_test.cpp — the gradient-step block and the ResNet baseline: the step-size rule
// holds after weight changes, the blocks are measured non-expansive (float64, random and
// adversarially searched pairs), the formula matches an explicit computation, gradients check
// (chapter 7).
#include <gtest/gtest.h>

#include <cmath>

#include "layers/stable/gradient_step_block.h"
#include "layers/stable/resnet_block.h"
#include "robust/certificates.h"

namespace stablenn {
namespace {

constexpr DType kF64 = DType::Float64;

// Scales a parameter in place, as an optimiser step would change it.
void scale_parameter(Var& p, double factor) {
  NoGrad no_grad;
  p.mul_(factor);
}

void perturb_parameter(Var& p, Generator& g, double stddev) {
  NoGrad no_grad;
  p.add_(g.normal(p.shape(), 0, stddev, p.dtype()));
}

EmpiricalLipschitzOptions quick_search(uint64_t seed) {
  EmpiricalLipschitzOptions o;
  o.random_pairs = 128;
  o.ascent_pairs = 8;
  o.ascent_steps = 60;
  o.max_distance = 2.0;
  o.seed = seed;
  return o;
}

// The block is measured at most (1 + 1e-6)·bound, and the bound is reported.
void expect_measured_within_bound(Module& block, const Tensor& inputs, double bound,
                                  const std::string& what, uint64_t seed) {
  const EmpiricalLipschitzResult r = empirical_lipschitz(block, inputs, quick_search(seed));
  EXPECT_LE(r.random_pairs, (1 + 1e-6) * bound) << what;
  EXPECT_LE(r.ascent, (1 + 1e-6) * bound) << what;
  EXPECT_GT(r.best(), 0.0) << what;
}

TEST(Ch07StepRule, AdaptiveSubstepsClosedForm) {
  EXPECT_EQ(adaptive_substeps(1.0, 1.0, 1.0, 1.0), 1);  // T L σ²/(2r) = 0.5
  EXPECT_EQ(adaptive_substeps(1.0, 1.0, 2.0, 1.0), 2);  // = 2
  EXPECT_EQ(adaptive_substeps(1.0, 1.0, 2.01, 1.0), 3);
  EXPECT_EQ(adaptive_substeps(3.0, 0.5, 2.0, 1.0), 3);
  EXPECT_EQ(adaptive_substeps(1.0, 1.0, 0.0, 1.0), 1);  // a zero map still takes one step
  EXPECT_THROW(adaptive_substeps(0.0, 1.0, 1.0, 1.0), Error);
  EXPECT_THROW(adaptive_substeps(1.0, 1.0, NAN, 1.0), Error);
}

TEST(Ch07StepRule, HoldsAfterRandomWeightChanges) {
  // h·Lip(σ)‖A‖² <= 2r with ‖A‖ from the SVD in evaluation, and with the estimate in use in training.
  Generator g(21);
  for (BlockIntegrator method : {BlockIntegrator::kEuler, BlockIntegrator::kHeun, BlockIntegrator::kRK4}) {
    for (StepRule rule : {StepRule::kAdaptive, StepRule::kLearnableClamped}) {
      GradientStepOptions o;
      o.integrator = method;
      o.step_rule = rule;
      o.initial_step = 5.0;  // starts above the clamp
      o.time = 2.0;
      o.activation = Activation::leaky_relu(0.2);
      GradientStepBlock block(MapGeometry::dense(6, 9), o, g, kF64);
      const double r = block_integrator_radius(method);
      const Tensor x = g.normal({4, 6}, 0, 1, kF64);
      for (int change = 0; change < 12; ++change) {
        // new random weights of norm about 0.3 .. 5 (the step rule then takes 1 .. ~25 sub-steps)
        {
          NoGrad no_grad;
          block.weight.copy_(g.normal(block.weight.shape(), 0, 0.1 * std::exp(g.uniform_scalar() * 2.8), kF64));
        }
        perturb_parameter(block.weight, g, 0.01);
        block.train();
        block(Var(x));
        const GradientStepBlock::StepInfo train = block.last_step();
        EXPECT_LE(train.step * o.activation.lipschitz() * train.norm * train.norm, 2 * r * (1 + 1e-12));
        block.eval();
        block(Var(x));
        const double sigma = singular_values(block.weight.value())[0];
        const GradientStepBlock::StepInfo eval = block.last_step();
        EXPECT_LE(eval.step * o.activation.lipschitz() * sigma * sigma, 2 * r)
            << block_integrator_name(method) << " change " << change << " σ " << sigma;
        if (rule == StepRule::kAdaptive) {
          EXPECT_NEAR(eval.step * eval.substeps, o.time, 1e-12);
        }
      }
    }
  }
}

TEST(Ch07StepRule, ConvolutionalRuleUsesTheNormAtTheInputSize) {
  Generator g(22);
  GradientStepBlock block(MapGeometry::convolution(2, 3, 5, 4), {}, g, kF64);
  scale_parameter(block.weight, 4.0);
  block.eval();
  block(Var(g.normal({2, 2, 5, 4}, 0, 1, kF64)));
  const double sigma = exact_spectral_norm(block.op());
  EXPECT_NEAR(block.last_step().norm / sigma, 1.0, 1e-6);
  EXPECT_LE(block.last_step().step * sigma * sigma, 2.0);
  EXPECT_GT(block.last_step().substeps, 1);
}

TEST(Ch07GradientStep, EulerStepMatchesTheFormula) {
  // one Euler sub-step: x − h Aᵀσ(Ax + b), written out with the naive references
  Generator g(23);
  GradientStepOptions o;
  o.time = 0.3;
  GradientStepBlock block(MapGeometry::convolution(2, 3, 4, 5), o, g, kF64);
  block.eval();
  const Tensor x = g.normal({2, 2, 4, 5}, 0, 1, kF64);
  const Tensor y = block(Var(x)).value();
  const int64_t n = block.last_step().substeps;
  const double h = block.last_step().step;
  Tensor expected = x;
  for (int64_t k = 0; k < n; ++k) {
    const Tensor pre = conv2d_naive(expected, block.weight.value(), block.bias.value(), 1, 1);
    const Tensor act = leaky_relu(pre, 0.1);
    expected = sub(expected, mul(conv2d_input_adjoint_naive(act, block.weight.value(), {4, 5}, 1, 1), h));
  }
  EXPECT_LT(max_abs_diff(y, expected), 1e-12);
}

TEST(Ch07GradientStep, HeunAndRK4MatchTheirTableaux) {
  // the block's stages written out by hand for f(x) = −Aᵀσ(Ax + b), dense
  Generator g(24);
  for (BlockIntegrator method : {BlockIntegrator::kHeun, BlockIntegrator::kRK4}) {
    GradientStepOptions o;
    o.integrator = method;
    o.activation = Activation::tanh();
    GradientStepBlock block(MapGeometry::dense(5, 4), o, g, kF64);
    const Tensor x = g.normal({3, 5}, 0, 1, kF64);
    const double h = 0.37;
    const Tensor y = block.integrate(Var(x), 1, h, Var()).value();
    const Tensor W = block.weight.value(), b = block.bias.value();
    auto f = [&](const Tensor& v) { return neg(matmul_naive(tanh(add(matmul_naive(v, W.t()), b)), W)); };
    Tensor expected;
    if (method == BlockIntegrator::kHeun) {
      const Tensor k1 = f(x), k2 = f(add(x, mul(k1, h)));
      expected = add(x, mul(add(k1, k2), h / 2));
    } else {
      const Tensor k1 = f(x), k2 = f(add(x, mul(k1, h / 2))), k3 = f(add(x, mul(k2, h / 2))),
                   k4 = f(add(x, mul(k3, h)));
      expected = add(x, mul(add(add(k1, mul(k2, 2.0)), add(mul(k3, 2.0), k4)), h / 6));
    }
    EXPECT_LT(max_abs_diff(y, expected), 1e-12) << block_integrator_name(method);
  }
}

TEST(Ch07GradientStep, NonExpansiveOnRandomAndAdversarialPairs) {
  // every variant, dense and convolutional, with weights large enough that the rule bites
  Generator g(25);
  int variant = 0;
  for (BlockIntegrator method : {BlockIntegrator::kEuler, BlockIntegrator::kHeun, BlockIntegrator::kRK4}) {
    for (StepRule rule : {StepRule::kAdaptive, StepRule::kLearnableClamped}) {
      for (bool conv : {false, true}) {
        GradientStepOptions o;
        o.integrator = method;
        o.step_rule = rule;
        o.initial_step = 10.0;
        o.activation = variant % 2 ? Activation::relu() : Activation::leaky_relu(0.1);
        const MapGeometry geometry = conv ? MapGeometry::convolution(2, 3, 4, 4) : MapGeometry::dense(6, 8);
        GradientStepBlock block(geometry, o, g, kF64);
        scale_parameter(block.weight, 3.0);
        Shape shape = geometry.sample_shape();
        shape.insert(shape.begin(), 16);
        const Tensor inputs = g.normal(shape, 0, 1, kF64);
        const double bound = block.lipschitz_bound();
        EXPECT_LE(bound, 1.0 + 1e-12) << block.describe();
        expect_measured_within_bound(block, inputs, bound, block.describe(), 100 + variant);
        ++variant;
      }
    }
  }
}

TEST(Ch07GradientStep, TooLargeAStepIsMeasuredExpansive) {
  // The test above can fail: with h = 3/L_V (beyond 2/L_V) the same search finds ratios > 1, and
  // the reported bound max(1, z − 1)^n still covers them.
  Generator g(26);
  GradientStepOptions o;
  o.activation = Activation::identity();  // linear: the ratio reaches |1 − z|
  GradientStepBlock block(MapGeometry::dense(5, 5), o, g, kF64);
  const double sigma = singular_values(block.weight.value())[0];
  const double h = 3.0 / (sigma * sigma);
  struct Stepper : Module {
    GradientStepBlock* b;
    double h;
    Var forward(const Var& x) override { return b->integrate(x, 1, h, Var()); }
    std::string describe() const override { return "too large a step"; }
  } stepper;
  stepper.b = &block;
  stepper.h = h;
  const EmpiricalLipschitzResult r = empirical_lipschitz(stepper, g.normal({8, 5}, 0, 1, kF64), quick_search(7));
  EXPECT_GT(r.best(), 1.5);  // |1 − 3| = 2 along the top singular vector
  EXPECT_LE(r.best(), gradient_step_lipschitz(BlockIntegrator::kEuler, 3.0) * (1 + 1e-9));
}

TEST(Ch07GradientStep, GradientsMatchFiniteDifferences) {
  Generator g(27);
  GradientStepOptions o;
  o.activation = Activation::tanh();
  o.integrator = BlockIntegrator::kHeun;
  GradientStepBlock block(MapGeometry::dense(4, 3), o, g, kF64);
  block.eval();
  const Tensor x = g.normal({2, 4}, 0, 1, kF64);
  block(Var(x));  // fixes n and h from the converged norm
  const int64_t n = block.last_step().substeps;
  const double h = block.last_step().step;
  // d/dx, d/dW and d/db of the integration at the fixed step
  auto f = [&](const std::vector<Var>& in) {
    GradientStepBlock& b = block;
    const Var w = b.weight, bias = b.bias;
    b.weight = in[1];
    b.bias = in[2];
    const Var y = b.integrate(in[0], n, h, Var());
    b.weight = w;
    b.bias = bias;
    return y;
  };
  EXPECT_TRUE(gradcheck(f, {x, block.weight.value(), block.bias.value()}));
}

TEST(Ch07GradientStep, LearnableStepGetsAGradientBelowTheClamp) {
  Generator g(28);
  GradientStepOptions o;
  o.step_rule = StepRule::kLearnableClamped;
  o.initial_step = 1e-3;  // far below 2/‖A‖²
  GradientStepBlock block(MapGeometry::dense(4, 4), o, g, kF64);
  const Var y = block(Var(g.normal({3, 4}, 0, 1, kF64)));
  backward(sum(square(y)));
  ASSERT_TRUE(block.step.grad().defined());
  EXPECT_NE(block.step.grad().item(), 0.0);
  EXPECT_DOUBLE_EQ(block.last_step().step, 1e-3);
}

TEST(Ch07GradientStep, BadOptionsThrow) {
  GradientStepOptions o;
  o.activation = Activation{"abs", [](const Var& x) { return abs(x); }, 1.0, SlopeBounds{-1.0, 1.0}};
  EXPECT_THROW(GradientStepBlock(MapGeometry::dense(3, 3), o), Error);
  GradientStepOptions t;
  t.time = 0;
  EXPECT_THROW(GradientStepBlock(MapGeometry::dense(3, 3), t), Error);
  GradientStepBlock block(MapGeometry::dense(3, 3));
  EXPECT_THROW(block(Var(Tensor::zeros({2, 4}))), Error);
}

TEST(Ch07ResNetStep, MeasuredWithinItsBoundAndExpansive) {
  Generator g(29);
  for (bool conv : {false, true}) {
    const MapGeometry geometry = conv ? MapGeometry::convolution(2, 3, 4, 4) : MapGeometry::dense(6, 8);
    EulerResNetBlock block(geometry, {}, g, kF64);
    scale_parameter(block.weight_a, 2.0);
    scale_parameter(block.weight_b, 2.0);
    Shape shape = geometry.sample_shape();
    shape.insert(shape.begin(), 16);
    const Tensor inputs = g.normal(shape, 0, 1, kF64);
    const double bound = block.lipschitz_bound();
    EXPECT_GT(bound, 1.0);
    const EmpiricalLipschitzResult r = empirical_lipschitz(block, inputs, quick_search(3));
    EXPECT_LE(r.best(), (1 + 1e-6) * bound) << block.describe();
    EXPECT_GT(r.best(), 1.0) << block.describe();  // nothing keeps it non-expansive
  }
}

TEST(Ch07ResNetStep, FormulaAndBound) {
  Generator g(30);
  ResNetStepOptions o;
  o.step = 0.5;
  EulerResNetBlock block(MapGeometry::dense(3, 4), o, g, kF64);
  const Tensor x = g.normal({2, 3}, 0, 1, kF64);
  const Tensor A = block.weight_a.value(), B = block.weight_b.value();
  const Tensor expected =
      add(x, mul(matmul_naive(leaky_relu(add(matmul_naive(x, A.t()), block.bias.value()), 0.1), B.t()), 0.5));
  EXPECT_LT(max_abs_diff(block(Var(x)).value(), expected), 1e-13);
  EXPECT_NEAR(block.lipschitz_bound(), 1 + 0.5 * singular_values(A)[0] * singular_values(B)[0], 1e-12);
}

}  // namespace
}  // namespace stablenn
