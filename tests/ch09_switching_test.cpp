// tests/ch09_switching_test.cpp — contractive/expansive switching: the prescribed step formula, the
// prescribed and flexible pairs measured 1-Lipschitz where the analysis says so, honest bounds when
// A_c is not orthogonal, the orthogonality penalty; the antisymmetric block (chapter 9).
#include <gtest/gtest.h>

#include <cmath>

#include "layers/init.h"
#include "layers/stable/antisymmetric_block.h"
#include "layers/stable/switching_blocks.h"
#include "robust/certificates.h"

namespace stablenn {
namespace {

constexpr DType kF64 = DType::Float64;

EmpiricalLipschitzOptions search(uint64_t seed) {
  EmpiricalLipschitzOptions o;
  o.random_pairs = 128;
  o.ascent_pairs = 8;
  o.ascent_steps = 60;
  o.max_distance = 2.0;
  o.seed = seed;
  return o;
}

Tensor batch_of(const MapGeometry& geometry, int64_t n, Generator& g) {
  Shape shape = geometry.sample_shape();
  shape.insert(shape.begin(), n);
  return g.normal(shape, 0, 1, kF64);
}

TEST(Ch09Switching, PrescribedStepMakesThePairExactlyOneLipschitz) {
  // c(h_c/2)·e(h_e/2) = 1 with a = 0.5, for h_c across [0.3, 1]
  for (double h_c = 0.3; h_c <= 1.0 + 1e-12; h_c += 0.05) {
    const double h_e = prescribed_expansive_step(h_c);
    EXPECT_GT(h_e, 0.0);
    EXPECT_NEAR(contractive_factor(h_c / 2, 0.5) * (1 + h_e / 2), 1.0, 1e-14) << h_c;
    EXPECT_NEAR(max_expansive_step(h_c, 0.5, 2), h_e, 1e-14) << h_c;
  }
  EXPECT_THROW(prescribed_expansive_step(0.2), Error);
  // the general rule: (c(h_c/S)(1 + h_e/S))^S = 1 at h_e = max_expansive_step
  for (int64_t s : {1, 3, 4}) {
    const double h_e = max_expansive_step(0.8, 0.3, s);
    EXPECT_NEAR(std::pow(contractive_factor(0.8 / s, 0.3) * (1 + h_e / s), double(s)), 1.0, 1e-13);
  }
}

TEST(Ch09Switching, PrescribedPairMeasuredOneLipschitzWithIsometricMaps) {
  Generator g(61);
  int variant = 0;
  for (bool conv : {false, true}) {
    for (double h_c : {0.3, 0.6, 1.0}) {
      SwitchingOptions o;
      o.contractive_step = h_c;
      const MapGeometry geometry = conv ? MapGeometry::convolution(2, 2, 4, 4) : MapGeometry::dense(6, 6);
      SwitchingPair pair(geometry, o, g, kF64);  // A_c, A_e start as isometries
      pair.eval();
      const double bound = pair.lipschitz_bound();
      EXPECT_LE(bound, 1.0 + 1e-9) << pair.describe() << " h_c " << h_c;
      const EmpiricalLipschitzResult r = empirical_lipschitz(pair, batch_of(geometry, 16, g), search(10 + variant++));
      EXPECT_LE(r.best(), (1 + 1e-6) * bound) << pair.describe() << " h_c " << h_c;
    }
  }
}

TEST(Ch09Switching, ExpansiveHalfIsExpansiveAndTheContractiveHalfCompensates) {
  // Without the contractive steps the expansive ones pull pairs apart (ratio > 1): the 1-Lipschitz
  // property of the pair is a balance, not a property of each half.
  Generator g(62);
  SwitchingOptions o;
  o.contractive_step = 0.3;
  o.expansive_activation = Activation::identity();
  SwitchingPair pair(MapGeometry::dense(4, 4), o, g, kF64);
  struct ExpansiveOnly : Module {
    SwitchingPair* p;
    Var forward(const Var& x) override {
      const double tau = p->expansive_step() / 2;
      Var y = x;
      for (int k = 0; k < 2; ++k) y = add(y, mul(add(p->op_e().apply(y), p->bias_e), tau));
      return y;
    }
    std::string describe() const override { return "expansive only"; }
  } expansive;
  expansive.p = &pair;
  const EmpiricalLipschitzResult r = empirical_lipschitz(expansive, g.normal({8, 4}, 0, 1, kF64), search(3));
  EXPECT_GT(r.best(), 1.0 + 1e-3);
  EXPECT_LE(r.best(), std::pow(1 + pair.expansive_step() / 2, 2) * (1 + 1e-9));
}

TEST(Ch09Switching, BoundStaysHonestWhenTheContractiveMapIsNotOrthogonal) {
  Generator g(63);
  for (bool conv : {false, true}) {
    const MapGeometry geometry = conv ? MapGeometry::convolution(2, 2, 4, 4) : MapGeometry::dense(6, 6);
    SwitchingPair pair(geometry, {}, g, kF64);
    {
      NoGrad no_grad;
      pair.weight_c.add_(g.normal(pair.weight_c.shape(), 0, 0.4, kF64));
    }
    pair.eval();
    const double bound = pair.lipschitz_bound();
    EXPECT_GT(bound, 1.0);  // no exact isometry: no claim of 1-Lipschitz
    EXPECT_GT(pair.orthogonality_penalty().item(), 1e-3);
    const EmpiricalLipschitzResult r = empirical_lipschitz(pair, batch_of(geometry, 16, g), search(4));
    EXPECT_LE(r.best(), (1 + 1e-6) * bound) << pair.describe();
  }
}

TEST(Ch09Switching, FlexiblePairIsOneLipschitzForAnyParameters) {
  Generator g(64);
  SwitchingOptions o;
  o.mode = SwitchingMode::kFlexible;
  SwitchingPair pair(MapGeometry::dense(5, 5), o, g, kF64);
  for (int trial = 0; trial < 4; ++trial) {
    {
      NoGrad no_grad;
      pair.raw_contractive.copy_(Tensor::scalar(g.normal_scalar() * 3, kF64));
      pair.raw_fraction.copy_(Tensor::scalar(g.normal_scalar() * 3, kF64));
    }
    EXPECT_GE(pair.contractive_step(), o.min_step);
    EXPECT_LE(pair.contractive_step(), o.max_step);
    EXPECT_LE(pair.expansive_step(), max_expansive_step(pair.contractive_step(), 0.5, 2) * (1 + 1e-12));
    pair.eval();
    const double bound = pair.lipschitz_bound();
    EXPECT_LE(bound, 1.0 + 1e-9);
    const EmpiricalLipschitzResult r = empirical_lipschitz(pair, g.normal({12, 5}, 0, 1, kF64), search(20 + trial));
    EXPECT_LE(r.best(), (1 + 1e-6) * bound);
  }
  // the steps are learnable: the loss reaches both raw parameters
  pair.train();
  backward(sum(square(pair(Var(g.normal({3, 5}, 0, 1, kF64))))));
  ASSERT_TRUE(pair.raw_contractive.grad().defined());
  ASSERT_TRUE(pair.raw_fraction.grad().defined());
  EXPECT_NE(pair.raw_fraction.grad().item(), 0.0);
}

TEST(Ch09Switching, OrthogonalityPenaltyZeroOnIsometriesAndDifferentiable) {
  Generator g(65);
  SwitchingPair dense(MapGeometry::dense(5, 5), {}, g, kF64);
  EXPECT_LT(dense.orthogonality_penalty().item(), 1e-24);
  SwitchingPair conv(MapGeometry::convolution(3, 3, 4, 4), {}, g, kF64);
  EXPECT_LT(conv.orthogonality_penalty().item(), 1e-24);
  // the conv penalty vanishes exactly when the rows of the convolution are orthonormal: compare with
  // the full matrix A Aᵀ at a size large enough to hold every shift (circular-free interior)
  {
    NoGrad no_grad;
    conv.weight_c.add_(g.normal(conv.weight_c.shape(), 0, 0.1, kF64));
  }
  EXPECT_GT(conv.orthogonality_penalty().item(), 1e-4);
  // gradient of the penalty by finite differences
  auto f = [&](const std::vector<Var>& in) {
    const Var w = conv.weight_c;
    conv.weight_c = in[0];
    const Var p = conv.orthogonality_penalty();
    conv.weight_c = w;
    return p;
  };
  EXPECT_TRUE(gradcheck(f, {conv.weight_c.value()}));
  EXPECT_TRUE(total_orthogonality_penalty(conv).defined());
}

TEST(Ch09Antisymmetric, SkewPartConservesAndBoundHolds) {
  Generator g(66);
  for (bool conv : {false, true}) {
    const MapGeometry geometry = conv ? MapGeometry::convolution(2, 2, 4, 5) : MapGeometry::dense(6, 6);
    AntisymmetricOptions o;
    o.damping = 0;
    o.step = 0.2;
    AntisymmetricBlock block(geometry, o, g, kF64);
    // <x, Kx> = 0 for the skew part (γ = 0): the linearised flow neither grows nor decays
    const Tensor x = batch_of(geometry, 3, g);
    EXPECT_NEAR(sum(mul(x, block.apply_k(Var(x)).value())).item(), 0.0, 1e-11);
    const double bound = block.lipschitz_bound();
    const EmpiricalLipschitzResult r = empirical_lipschitz(block, batch_of(geometry, 16, g), search(30));
    EXPECT_LE(r.best(), (1 + 1e-6) * bound) << block.describe();
  }
  // the formula, dense: x + h tanh(½(xWᵀ − xW) − γx + b)
  AntisymmetricOptions o;
  AntisymmetricBlock block(MapGeometry::dense(3, 3), o, g, kF64);
  const Tensor x = g.normal({2, 3}, 0, 1, kF64), w = block.weight.value();
  const Tensor k = sub(mul(sub(matmul_naive(x, w.t()), matmul_naive(x, w)), 0.5), mul(x, o.damping));
  const Tensor expected = add(x, mul(tanh(add(k, block.bias.value())), o.step));
  EXPECT_LT(max_abs_diff(block(Var(x)).value(), expected), 1e-14);
}

}  // namespace
}  // namespace stablenn
