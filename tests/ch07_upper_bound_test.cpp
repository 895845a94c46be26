// tests/ch07_upper_bound_test.cpp — guaranteed upper bounds of spectral norms (circular convolution
// per frequency, SVD with a margin), networks whose evaluation-mode bound is <= 1 even when a power
// iteration would stop early, and checkpoints that reload to the same network bit for bit
// (chapter 7).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "io/safetensors.h"
#include "layers/activations.h"
#include "layers/init.h"
#include "layers/stable/gradient_step_block.h"
#include "layers/stable/norm_layers.h"
#include "layers/stable/spectral_norm.h"
#include "robust/certificates.h"
#include "robust/lipschitz.h"
#include "train/checkpoint.h"
#include "tests/ch03_datasets_util.h"

namespace stablenn {
namespace {

constexpr DType kF64 = DType::Float64;

// The explicit matrix [O·n1·n2, C·n1·n2] of the circular correlation z[o, x, y] =
// Σ K[o, c, i, j] x[c, (x + i) mod n1, (y + j) mod n2], built column by column.
Tensor circulant_matrix(const Tensor& k, int64_t n1, int64_t n2) {
  const int64_t O = k.size(0), C = k.size(1), kh = k.size(2), kw = k.size(3);
  const int64_t rows = O * n1 * n2, cols = C * n1 * n2;
  Tensor m = Tensor::zeros({rows, cols}, kF64);
  double* d = m.data<double>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t a = 0; a < n1; ++a)
      for (int64_t b = 0; b < n2; ++b) {
        const int64_t col = (c * n1 + a) * n2 + b;  // the unit input e_(c, a, b)
        for (int64_t o = 0; o < O; ++o)
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t x = ((a - i) % n1 + n1) % n1, y = ((b - j) % n2 + n2) % n2;
              d[((o * n1 + x) * n2 + y) * cols + col] += k.at({o, c, i, j});
            }
      }
  return m;
}

TEST(Ch07UpperBound, CircularNormEqualsTheSvdOfTheCirculantMatrix) {
  Generator g(71);
  struct Case {
    int64_t o, c, kh, kw, n1, n2;
  };
  // square and non-square kernels and grids, a kernel larger than the grid (taps wrap), 1x1
  for (const Case& t : {Case{2, 3, 3, 3, 5, 4}, Case{3, 2, 3, 3, 6, 6}, Case{1, 1, 3, 3, 7, 5},
                        Case{2, 2, 2, 3, 4, 5}, Case{2, 3, 3, 3, 2, 3}, Case{3, 4, 1, 1, 3, 3},
                        Case{4, 4, 5, 5, 8, 7}}) {
    const Tensor k = g.normal({t.o, t.c, t.kh, t.kw}, 0, 1, kF64);
    const double exact = singular_values(circulant_matrix(k, t.n1, t.n2))[0];
    EXPECT_NEAR(circular_convolution_norm(k, t.n1, t.n2) / exact, 1.0, 1e-12)
        << t.o << "x" << t.c << "x" << t.kh << "x" << t.kw << " on " << t.n1 << "x" << t.n2;
  }
  // float32 kernels are read exactly (converted to float64 first)
  const Tensor k32 = g.normal({2, 2, 3, 3}, 0, 1, DType::Float32);
  EXPECT_NEAR(circular_convolution_norm(k32, 5, 5) / singular_values(circulant_matrix(k32.to(kF64), 5, 5))[0],
              1.0, 1e-12);
  EXPECT_THROW(circular_convolution_norm(g.normal({2, 3}, 0, 1, kF64), 4, 4), Error);
}

TEST(Ch07UpperBound, ConvolutionBoundIsAboveTheExactNormAndTight) {
  Generator g(72);
  for (int64_t stride : {1, 2})
    for (int64_t padding : {0, 1})
      for (auto [h, w] : {std::pair<int64_t, int64_t>{5, 7}, {7, 5}, {9, 9}}) {
        const LinearOperator A = LinearOperator::convolution(Var(g.normal({3, 2, 3, 3}, 0, 1, kF64)), stride,
                                                             padding, h, w);
        const double exact = exact_spectral_norm(A);
        // the circular norm on the padded grid (what large convolutions use) bounds the norm ...
        const double circular = circular_convolution_norm(A.weight().value(), h + 2 * padding, w + 2 * padding);
        EXPECT_GE(circular, exact * (1 - 1e-13)) << A.describe();
        // ... and so does the bound itself (exact SVD with a margin at these sizes)
        const double bound = spectral_norm_upper_bound(A);
        EXPECT_GE(bound, exact) << A.describe();
        EXPECT_LE(bound, exact * (1 + 1e-11)) << A.describe();
      }
  // stride 1, padding 1 at 8x8: the circular bound on 10x10 is within a few % of the exact norm
  // (20 random 4 -> 4 kernels gave ratios 1.028 to 1.064, mean 1.045)
  double ratios = 0;
  const int trials = 8;
  for (int trial = 0; trial < trials; ++trial) {
    const LinearOperator A = LinearOperator::convolution(Var(g.normal({4, 4, 3, 3}, 0, 1, kF64)), 1, 1, 8, 8);
    const double exact = exact_spectral_norm(A);
    const double circular = circular_convolution_norm(A.weight().value(), 10, 10);
    EXPECT_GE(circular, exact);
    EXPECT_LE(circular, 1.08 * exact) << "trial " << trial;
    ratios += circular / exact;
  }
  EXPECT_LE(ratios / trials, 1.055);
}

TEST(Ch07UpperBound, LargeConvolutionsUseTheCircularBound) {
  // every case has 400k to 630k matrix entries, past the exact-SVD limit of 300k
  Generator g(73);
  struct Case {
    int64_t channels, stride, padding, size;
  };
  for (const Case& t : {Case{8, 1, 1, 9}, Case{8, 1, 0, 10}, Case{12, 2, 1, 11}}) {
    const int64_t stride = t.stride, padding = t.padding;
    const LinearOperator A = LinearOperator::convolution(
        Var(g.normal({t.channels, t.channels, 3, 3}, 0, 1, kF64)), stride, padding, t.size, t.size);
    ASSERT_GT(A.input_numel() * A.output_numel(), 300'000);
    const double exact = exact_spectral_norm(A);
    const double bound = spectral_norm_upper_bound(A);
    const double circular =
        circular_convolution_norm(A.weight().value(), t.size + 2 * padding, t.size + 2 * padding);
    EXPECT_GE(bound, exact) << A.describe();
    EXPECT_EQ(bound, std::min(circular, convolution_norm_bound(A.weight().value())) * (1 + 1e-12));
    if (stride == 1 && padding == 1) {
      EXPECT_LE(bound, 1.05 * exact) << A.describe();
    }
  }
  // a dense map: the SVD with the margin
  const Tensor w = g.normal({7, 5}, 0, 1, kF64);
  EXPECT_EQ(spectral_norm_upper_bound(LinearOperator::dense(Var(w))), singular_values(w)[0] * (1 + 1e-12));
  Tensor bad = w.clone();
  bad.set({1, 1}, NAN);
  EXPECT_THROW(spectral_norm_upper_bound(LinearOperator::dense(Var(bad))), Error);
}

// w <- U·diag(s)·Vᵀ with s1 = top, s2 = top·(1 − gap) and the rest in [0.2, 0.8]·top: a spectral gap
// so small that a power iteration is far from converged when its stopping rule fires.
void set_spectrum(Var& w, double top, double gap, Generator& g) {
  const int64_t rows = w.size(0), cols = w.numel() / rows, r = std::min(rows, cols);
  const Tensor u = orthogonal(rows, r, g, 1.0, kF64), v = orthogonal(cols, r, g, 1.0, kF64);
  std::vector<double> s(r);
  for (int64_t i = 0; i < r; ++i) s[i] = i == 0 ? top : i == 1 ? top * (1 - gap) : top * (0.2 + 0.6 * g.uniform({}, 0, 1, kF64).item());
  const Tensor m = matmul(mul(u, Tensor::from_vector(s, {1, r}, kF64)), v.t());
  Tensor storage = w.value();  // shares the weight's storage
  storage.copy_(m.reshape(w.shape()));
}

EmpiricalLipschitzOptions search(uint64_t seed) {
  EmpiricalLipschitzOptions o;
  o.random_pairs = 128;
  o.ascent_pairs = 8;
  o.ascent_steps = 60;
  o.seed = seed;
  return o;
}

// Flatten -> SpectralNormLinear(20 -> 16) -> 2 dense gradient steps (16, 16) -> SpectralNormLinear(16
// -> 5), float64, every weight with σ1 = 3 and σ2 = 3·0.9999.
std::shared_ptr<Sequential> dense_network(uint64_t seed) {
  Generator g(seed);
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<SpectralNormLinear>(20, 16, true, NormScaling::kAtMostOne, PowerIterationSchedule{}, g, kF64));
  for (int i = 0; i < 2; ++i) net->add(dense_gradient_step(16, 16, {}, g, kF64));
  net->add(std::make_shared<SpectralNormLinear>(16, 5, true, NormScaling::kAtMostOne, PowerIterationSchedule{}, g, kF64));
  for (auto& [name, p] : net->named_parameters())
    if (name.find("weight") != std::string::npos) set_spectrum(p, 3.0, 1e-4, g);
  return net;
}

// [N, 4, 12, 12] -> SpectralNormConv2d(4 -> 8, 3x3) -> conv gradient step (8, hidden 8) ->
// SpectralNormConv2d(8 -> 4, 3x3, stride 2) -> Flatten -> SpectralNormLinear(144 -> 5), float64,
// kernels scaled so every norm is above 1. The first two maps are past the exact-SVD size.
std::shared_ptr<Sequential> conv_network(uint64_t seed) {
  Generator g(seed);
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<SpectralNormConv2d>(4, 8, 3, 12, 12, 1, -1, true, NormScaling::kAtMostOne,
                                                PowerIterationSchedule{}, g, kF64));
  net->add(conv_gradient_step(8, 8, 12, 12, {}, 3, g, kF64));
  net->add(std::make_shared<SpectralNormConv2d>(8, 4, 3, 12, 12, 2, 1, true, NormScaling::kExactlyOne,
                                                PowerIterationSchedule{}, g, kF64));
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<SpectralNormLinear>(144, 5, true, NormScaling::kAtMostOne, PowerIterationSchedule{}, g, kF64));
  for (auto& [name, p] : net->named_parameters())
    if (name.find("weight") != std::string::npos) {
      NoGrad no_grad;
      p.mul_(6.0);
    }
  return net;
}

// The norm each layer of `net` used in its last evaluation forward pass, against its exact norm
// (skipping maps whose full matrix is too large to decompose quickly).
void expect_every_layer_used_an_upper_bound(Sequential& net) {
  for (const auto& [name, child] : net.children()) {
    LinearOperator A;
    double used = 0;
    if (auto* l = dynamic_cast<SpectralNormLinear*>(child.get())) {
      A = l->op();
      used = l->last_scale();
      EXPECT_LE(l->lipschitz_bound(), 1.0) << name;
    } else if (auto* c = dynamic_cast<SpectralNormConv2d*>(child.get())) {
      A = c->op();
      used = c->last_scale();
      EXPECT_LE(c->lipschitz_bound(), 1.0) << name;
    } else if (auto* b = dynamic_cast<GradientStepBlock*>(child.get())) {
      A = b->op();
      used = b->last_step().norm;
      EXPECT_EQ(b->lipschitz_bound(), 1.0) << name;
      EXPECT_LE(b->last_step().step * b->options.activation.lipschitz() * used * used, 2.0) << name;
    } else {
      continue;
    }
    if (A.is_convolution() && A.input_numel() * A.output_numel() > 1'000'000) continue;
    const double exact = exact_spectral_norm(A);
    ASSERT_GT(exact, 1.0) << name;  // the normalisation bites
    EXPECT_GE(used, exact) << name << ": the evaluation norm must not be below σ_max";
  }
}

TEST(Ch07UpperBound, DenseNetworkWithATinySpectralGapIsOneLipschitz) {
  auto net = dense_network(74);
  // the gap is small enough that a converged-looking power iteration sits below σ_max
  {
    auto* lift = dynamic_cast<SpectralNormLinear*>(&(*net)[1]);
    ASSERT_NE(lift, nullptr);
    Generator g(1);
    Tensor u = random_unit_vector({20}, g, kF64);
    const double estimate = power_iteration(lift->op(), u, 1000, 1e-13).sigma;
    EXPECT_LT(estimate, exact_spectral_norm(lift->op()) * (1 - 1e-9));
  }
  net->eval();
  Generator g(75);
  const Tensor images = g.uniform({24, 1, 4, 5}, 0, 1, kF64);
  {
    NoGrad no_grad;
    (*net)(Var(images));
  }
  expect_every_layer_used_an_upper_bound(*net);
  const double bound = lipschitz_bound(*net);
  EXPECT_LE(bound, 1.0);
  EXPECT_GT(bound, 0.99);  // not vacuous: the lift and head have norm ~1
  const EmpiricalLipschitzResult r = empirical_lipschitz(*net, images, search(76));
  EXPECT_LE(r.best(), bound * (1 + 1e-9));
  EXPECT_GT(r.best(), 0.3);
}

TEST(Ch07UpperBound, ConvolutionalNetworkIsOneLipschitz) {
  auto net = conv_network(77);
  net->eval();
  Generator g(78);
  const Tensor images = g.uniform({8, 4, 12, 12}, 0, 1, kF64);
  {
    NoGrad no_grad;
    (*net)(Var(images));
  }
  expect_every_layer_used_an_upper_bound(*net);
  const double bound = lipschitz_bound(*net);
  EXPECT_LE(bound, 1.0);
  const EmpiricalLipschitzResult r = empirical_lipschitz(*net, images, search(79));
  EXPECT_LE(r.best(), bound * (1 + 1e-9));
  EXPECT_GT(r.best(), 0.05);
}

// logits of `net` (evaluation mode) on `x`, as raw bytes for memcmp
Tensor eval_logits(Module& net, const Tensor& x) {
  net.eval();
  NoGrad no_grad;
  return net(Var(x)).value().contiguous();
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), size_t(a.numel()) * dtype_size(a.dtype())) == 0;
}

void expect_reload_is_bit_identical(const std::function<std::shared_ptr<Sequential>(uint64_t)>& make,
                                    const Tensor& x) {
  datasets_test::TempDir dir;
  auto saved = make(80);
  const Tensor logits = eval_logits(*saved, x);
  // evaluation stored every bound
  for (const auto& [name, t] : saved->named_buffers()) {
    if (name.find("eval_norm") != std::string::npos && name.find("key") == std::string::npos) {
      EXPECT_GT(t.item(), 0.0) << name;
    }
  }
  save_checkpoint(dir.file("net.safetensors"), *saved);
  save_safetensors(dir.file("plain.safetensors"), saved->state());

  auto loaded = make(81);  // another seed: every weight and buffer differs until loaded
  ASSERT_FALSE(bit_identical(eval_logits(*loaded, x), logits));
  load_checkpoint(dir.file("net.safetensors"), *loaded);
  EXPECT_TRUE(bit_identical(eval_logits(*loaded, x), logits));
  EXPECT_TRUE(bit_identical(eval_logits(*loaded, x), logits));  // a second pass: nothing drifted
  for (size_t i = 0; i < saved->named_buffers().size(); ++i)
    EXPECT_TRUE(bit_identical(saved->named_buffers()[i].second.contiguous(),
                              loaded->named_buffers()[i].second.contiguous()))
        << saved->named_buffers()[i].first;

  auto plain = make(82);
  copy_safetensors_into(load_safetensors(dir.file("plain.safetensors")), plain->state(), "plain.safetensors");
  EXPECT_TRUE(bit_identical(eval_logits(*plain, x), logits));
  EXPECT_TRUE(bit_identical(eval_logits(*plain, x), logits));
  // and the saving model itself evaluates the same again
  EXPECT_TRUE(bit_identical(eval_logits(*saved, x), logits));
}

TEST(Ch07UpperBound, CheckpointReloadsToTheSameNetworkBitForBit) {
  Generator g(83);
  expect_reload_is_bit_identical(dense_network, g.uniform({16, 1, 4, 5}, 0, 1, kF64));
  expect_reload_is_bit_identical(conv_network, g.uniform({4, 4, 12, 12}, 0, 1, kF64));
}

TEST(Ch07UpperBound, Float32LayerNeverExceedsOne) {
  // the evaluation multiplier is 1/σ̄ rounded DOWN in float32, so the reported bound stays <= 1
  Generator g(84);
  for (int trial = 0; trial < 20; ++trial) {
    SpectralNormLinear layer(9, 7, false, NormScaling::kExactlyOne, {}, g, DType::Float32);
    layer.eval();
    layer(Var(g.normal({2, 9})));
    const double bound = layer.lipschitz_bound();
    EXPECT_LE(bound, 1.0);
    EXPECT_GT(bound, 1.0 - 1e-7);
    // the map the layer computes: W·m with the reported norm
    const double m = reciprocal_rounded_down(layer.last_scale(), DType::Float32);
    EXPECT_LE(singular_values(layer.weight.value())[0] * m, 1.0);
  }
}

}  // namespace
}  // namespace stablenn
