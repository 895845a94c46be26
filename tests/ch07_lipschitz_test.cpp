// tests/ch07_lipschitz_test.cpp — Lipschitz bounds of layers and whole networks in pixel space,
// normalised lift/head layers, pooling bounds against exact norms, certificates, and the empirical
// lower bound (chapter 7).
#include <gtest/gtest.h>

#include <cmath>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/stable/gradient_step_block.h"
#include "layers/stable/norm_layers.h"
#include "layers/stable/resnet_block.h"
#include "robust/certificates.h"
#include "robust/lipschitz.h"

namespace stablenn {
namespace {

constexpr DType kF64 = DType::Float64;

void scale_parameter(Var& p, double factor) {
  NoGrad no_grad;
  p.mul_(factor);
}

EmpiricalLipschitzOptions search(uint64_t seed) {
  EmpiricalLipschitzOptions o;
  o.random_pairs = 128;
  o.ascent_pairs = 8;
  o.ascent_steps = 60;
  o.seed = seed;
  return o;
}

// The dense non-expansive network of book/A-references.md §A.4, small: flatten, lift <= 1, gradient-step
// blocks, head <= 1.
std::shared_ptr<Sequential> small_nonexpansive_network(Generator& g, int64_t blocks) {
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<SpectralNormLinear>(16, 8, true, NormScaling::kAtMostOne,
                                                PowerIterationSchedule{}, g, kF64));
  for (int64_t i = 0; i < blocks; ++i) net->add(dense_gradient_step(8, 8, {}, g, kF64));
  net->add(std::make_shared<SpectralNormLinear>(8, 3, true, NormScaling::kAtMostOne,
                                                PowerIterationSchedule{}, g, kF64));
  return net;
}

// The exact ℓ2 norm of a linear module (pooling) at an input shape, by SVD of its matrix.
double exact_norm_of(Module& m, const Shape& sample) {
  const int64_t n = shape_numel(sample);
  Shape batch = sample;
  batch.insert(batch.begin(), n);
  const Tensor basis = Tensor::eye(n, kF64).reshape(batch);
  const Tensor columns = m(Var(basis)).value().reshape({n, -1});
  return singular_values(columns)[0];  // rows = images of e_j: the transpose has the same values
}

TEST(Ch07NormLayers, LinearIsAtMostOneAfterWeightChanges) {
  Generator g(41);
  SpectralNormLinear layer(7, 5, true, NormScaling::kAtMostOne, {}, g, kF64);
  const Tensor x = g.normal({4, 7}, 0, 1, kF64);
  for (double factor : {10.0, 0.01, 300.0}) {
    scale_parameter(layer.weight, factor);
    layer.eval();
    const Tensor y = layer(Var(x)).value();
    const double sigma = singular_values(layer.weight.value())[0];
    // the effective weight W/s has norm min(σ, 1) up to the estimate's safety factor
    EXPECT_NEAR(sigma / layer.last_scale(), std::min(sigma, 1.0), 1e-8);
    EXPECT_LE(layer.lipschitz_bound(), 1.0);
    EXPECT_NEAR(layer.lipschitz_bound(), std::min(sigma, 1.0), 1e-8);
    const Tensor expected =
        add(mul(matmul_naive(x, layer.weight.value().t()), 1.0 / layer.last_scale()), layer.bias.value());
    EXPECT_LT(max_abs_diff(y, expected), 1e-12);
  }
}

TEST(Ch07NormLayers, ExactlyOneScaling) {
  Generator g(42);
  SpectralNormLinear layer(6, 6, false, NormScaling::kExactlyOne, {}, g, kF64);
  scale_parameter(layer.weight, 0.01);
  layer.eval();
  EXPECT_NEAR(layer.lipschitz_bound(), 1.0, 1e-8);
}

TEST(Ch07NormLayers, TrainingDividesByTheDifferentiableNorm) {
  // In training the scale is ‖A u‖ after one iteration, and the gradient flows through it.
  Generator g(43);
  SpectralNormLinear layer(5, 4, false, NormScaling::kExactlyOne, {}, g, kF64);
  const Tensor x = g.normal({3, 5}, 0, 1, kF64);
  layer.train();
  auto f = [&](const std::vector<Var>& in) {
    const Var w = layer.weight;
    layer.weight = in[0];
    const Tensor saved = layer.named_buffers()[0].second.clone();
    const Var y = layer(Var(x));
    layer.named_buffers()[0].second.copy_(saved);  // the same u for every evaluation
    layer.weight = w;
    return y;
  };
  EXPECT_TRUE(gradcheck(f, {layer.weight.value()}));
}

TEST(Ch07NormLayers, ConvolutionAtItsInputSize) {
  Generator g(44);
  SpectralNormConv2d layer(2, 3, 3, 5, 5, 1, -1, true, NormScaling::kAtMostOne, {}, g, kF64);
  scale_parameter(layer.weight, 5.0);
  layer.eval();
  const double sigma = exact_spectral_norm(layer.op());
  EXPECT_NEAR(layer.lipschitz_bound(), std::min(1.0, sigma), 1e-8);
  const Tensor x = g.normal({6, 2, 5, 5}, 0, 1, kF64);
  const EmpiricalLipschitzResult r = empirical_lipschitz(layer, x, search(1));
  EXPECT_LE(r.best(), (1 + 1e-6) * layer.lipschitz_bound());
  EXPECT_GT(r.best(), 0.9);  // a linear map: the ascent finds its norm
  EXPECT_THROW(layer(Var(Tensor::zeros({1, 2, 4, 4}, kF64))), Error);  // another input size
}

TEST(Ch07Pooling, BoundsAgainstExactNorms) {
  // non-overlapping average pooling has norm exactly 1/k; overlapping ones stay below ⌈k/s⌉/k
  for (auto [k, s] : {std::pair<int64_t, int64_t>{2, 2}, {3, 3}, {3, 1}, {3, 2}, {2, 1}}) {
    AvgPool2d pool(k, s);
    const double exact = exact_norm_of(pool, {1, 6, 6});
    const double bound = lipschitz_bound(pool);
    EXPECT_LE(exact, bound * (1 + 1e-12)) << k << "/" << s;
    if (s == k) {
      EXPECT_NEAR(exact, 1.0 / k, 1e-12);
    }
    EXPECT_NEAR(bound, avg_pool_lipschitz(k, s), 0);
  }
  ScaledAvgPool2d scaled(2);
  EXPECT_NEAR(exact_norm_of(scaled, {2, 4, 4}), 1.0, 1e-12);
  ScaledGlobalAvgPool2d global;
  EXPECT_NEAR(exact_norm_of(global, {2, 3, 5}), 1.0, 1e-12);
  GlobalAvgPool2d plain_global;
  EXPECT_NEAR(exact_norm_of(plain_global, {2, 3, 5}), 1.0 / std::sqrt(15.0), 1e-12);
  EXPECT_LE(exact_norm_of(plain_global, {2, 3, 5}), lipschitz_bound(plain_global));
  // max pooling (nonlinear): measured against its bound
  Generator g(45);
  for (auto [k, s] : {std::pair<int64_t, int64_t>{2, 2}, {3, 1}}) {
    MaxPool2d pool(k, s);
    const EmpiricalLipschitzResult r = empirical_lipschitz(pool, g.normal({8, 1, 6, 6}, 0, 1, kF64), search(2));
    EXPECT_LE(r.best(), (1 + 1e-9) * lipschitz_bound(pool));
  }
}

TEST(Ch07Bounds, BuiltInLayers) {
  Generator g(46);
  Linear linear(5, 4, true, g, kF64);
  EXPECT_NEAR(lipschitz_bound(linear), singular_values(linear.weight.value())[0], 1e-14);
  Conv2d conv(2, 3, 3, 1, 1, true, g, kF64);
  for (int64_t size : {3, 6}) {
    const double exact = exact_spectral_norm(LinearOperator::convolution(conv.weight, 1, 1, size, size));
    EXPECT_GE(lipschitz_bound(conv), exact);
  }
  EXPECT_EQ(lipschitz_bound(*ReLU()), 1.0);
  EXPECT_EQ(lipschitz_bound(*LeakyReLU(0.1)), 1.0);
  EXPECT_EQ(lipschitz_bound(*Sigmoid()), 0.25);
  EXPECT_EQ(lipschitz_bound(*ELU(2.0)), 2.0);
  EXPECT_EQ(lipschitz_bound(*GroupSort(2)), 1.0);
  InputNormalization norm({0.5, 0.2}, {0.25, 0.5});
  EXPECT_EQ(lipschitz_bound(norm), 4.0);
}

TEST(Ch07Bounds, SequentialMultipliesAndNamesTheLayerWithoutABound) {
  Generator g(47);
  Sequential net;
  net.add(std::make_shared<InputNormalization>(std::vector<double>{0.0}, std::vector<double>{0.5}));
  net.add(std::make_shared<Flatten>());
  net.add(std::make_shared<AvgPool2d>(2));
  EXPECT_DOUBLE_EQ(lipschitz_bound(net), 2.0 * 1.0 * 0.5);
  struct Unknown : Module {
    Var forward(const Var& x) override { return x; }
    std::string describe() const override { return "MyCustomLayer"; }
  };
  net.add(std::make_shared<Unknown>());
  try {
    lipschitz_bound(net);
    FAIL() << "expected a throw";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layer '3'"), std::string::npos) << what;
    EXPECT_NE(what.find("MyCustomLayer"), std::string::npos) << what;
  }
  const std::vector<LayerBound> rows = layer_bounds(*small_nonexpansive_network(g, 1));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].bound, 1.0);
}

TEST(Ch07Network, NonExpansiveNetworkMeasuredOneLipschitzInPixelSpace) {
  // The whole network, float64, with weights scaled up so every normalisation and step rule bites.
  Generator g(48);
  auto net = small_nonexpansive_network(g, 3);
  for (auto& [name, p] : net->named_parameters())
    if (name.find("weight") != std::string::npos) scale_parameter(p, 4.0);
  const double bound = lipschitz_bound(*net);
  EXPECT_LE(bound, 1.0 + 1e-9);
  const Tensor images = g.uniform({32, 1, 4, 4}, 0, 1, kF64);
  const EmpiricalLipschitzResult r = empirical_lipschitz(*net, images, search(3));
  EXPECT_LE(r.random_pairs, (1 + 1e-6) * bound);
  EXPECT_LE(r.ascent, (1 + 1e-6) * bound);
  // with input normalisation in front, the bound in pixel space grows by 1/std and still holds
  auto normalised = std::make_shared<Sequential>();
  normalised->add(std::make_shared<InputNormalization>(std::vector<double>{0.3}, std::vector<double>{0.4}));
  normalised->add(net);
  const double pixel_bound = lipschitz_bound(*normalised);
  EXPECT_NEAR(pixel_bound, bound / 0.4, 1e-12);
  const EmpiricalLipschitzResult rn = empirical_lipschitz(*normalised, images, search(4));
  EXPECT_LE(rn.best(), (1 + 1e-6) * pixel_bound);
  EXPECT_GT(rn.best(), 0.0);
}

TEST(Ch07Network, ResNetBaselineBoundIsLarge) {
  Generator g(49);
  Sequential net;
  net.add(std::make_shared<Flatten>());
  net.add(std::make_shared<Linear>(16, 8, true, g, kF64));
  for (int i = 0; i < 3; ++i) net.add(dense_resnet_step(8, 8, {}, g, kF64));
  net.add(std::make_shared<Linear>(8, 3, true, g, kF64));
  const double bound = lipschitz_bound(net);
  const EmpiricalLipschitzResult r = empirical_lipschitz(net, g.uniform({16, 1, 4, 4}, 0, 1, kF64), search(5));
  EXPECT_LE(r.best(), (1 + 1e-6) * bound);
  EXPECT_GT(bound, 1.0);
}

TEST(Ch07EmpiricalLipschitz, AscentFindsTheNormOfALinearMap) {
  Generator g(50);
  Linear linear(6, 6, false, g, kF64);
  EmpiricalLipschitzOptions o = search(6);
  o.ascent_steps = 200;
  const EmpiricalLipschitzResult r = empirical_lipschitz(linear, g.normal({4, 6}, 0, 1, kF64), o);
  const double sigma = singular_values(linear.weight.value())[0];
  EXPECT_LE(r.best(), sigma * (1 + 1e-12));
  EXPECT_GT(r.ascent, 0.999 * sigma);
  EXPECT_GE(r.ascent, r.random_pairs * (1 - 1e-12));  // ascent starts from the best random pairs
  // the reported pair attains the reported ratio
  const Tensor fx = linear(Var(r.x)).value(), fy = linear(Var(r.y)).value();
  EXPECT_NEAR(std::sqrt(sum(square(sub(fx, fy))).item() / sum(square(sub(r.x, r.y))).item()), r.best(), 1e-9);
}

TEST(Ch07Certificates, MarginsRadiiAndAccuracy) {
  const Tensor logits = Tensor::from_vector({3, 1, 0, 0, 0.5, 2, 1, 1, 1}, {3, 3}, kF64);
  const std::vector<double> m = logit_margins(logits);
  EXPECT_DOUBLE_EQ(m[0], 2.0);
  EXPECT_DOUBLE_EQ(m[1], 1.5);
  EXPECT_DOUBLE_EQ(m[2], 0.0);
  const std::vector<double> r = certified_radii(logits, 2.0);
  EXPECT_DOUBLE_EQ(r[0], 2.0 / (std::sqrt(2.0) * 2.0));
  const Tensor labels = Tensor::from_int64({0, 2, 0}, {3});
  // row 2 ties (argmax picks 0, margin 0): correct but never certified
  EXPECT_NEAR(certified_accuracy(logits, labels, 1.0, 0.0), 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(certified_accuracy(logits, labels, 1.0, 1.2), 1.0 / 3.0, 1e-15);  // 1.5 > √2·1.2? no
  EXPECT_NEAR(certified_accuracy(logits, labels, 1.0, 1.4), 1.0 / 3.0, 1e-15);  // 2 > 1.98
  EXPECT_NEAR(certified_accuracy(logits, labels, 1.0, 1.5), 0.0, 1e-15);
  EXPECT_THROW(certified_accuracy(logits, labels, 0.0, 0.1), Error);
  EXPECT_THROW(certified_radii(Tensor::zeros({3}, kF64), 1.0), Error);
}

TEST(Ch07Certificates, RadiusNeverExceedsTheTrueDistanceToTheBoundary) {
  // For a linear classifier z = Wx the distance to the boundary between k̂ and j is
  // (z_k̂ − z_j)/‖w_k̂ − w_j‖; the certificate must be below the smallest such distance.
  Generator g(51);
  for (int trial = 0; trial < 20; ++trial) {
    const Tensor W = g.normal({4, 5}, 0, 1, kF64);
    const Tensor x = g.normal({1, 5}, 0, 1, kF64);
    const Tensor z = matmul(x, W.t());
    const double radius = certified_radii(z, singular_values(W)[0])[0];
    const int64_t top = argmax(z, 1).to_int64()[0];
    double distance = INFINITY;
    for (int64_t j = 0; j < 4; ++j) {
      if (j == top) continue;
      const Tensor diff = sub(W.select(0, top), W.select(0, j));
      distance = std::min(distance, (z.at({0, top}) - z.at({0, j})) / std::sqrt(sum(square(diff)).item()));
    }
    EXPECT_LE(radius, distance * (1 + 1e-12));
  }
}

}  // namespace
}  // namespace stablenn
