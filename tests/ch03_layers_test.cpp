// tests/ch03_layers_test.cpp — every layer's forward against a naive reference, and its gradients
// (input and parameters) against central differences in float64; modules and summaries (chapter 3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/normalization.h"

namespace stablenn {
namespace {

Tensor normal(const Shape& shape, uint64_t seed, DType dtype = DType::Float64) {
  Generator g(seed);
  return g.normal(shape, 0.0, 1.0, dtype);
}

// Entries in +-[0.2, 1.2]: away from the kinks of relu, leaky relu and ties of max.
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  const Tensor magnitude = g.uniform(shape, 0.2, 1.2, DType::Float64);
  const Tensor sign = sub(mul(g.bernoulli(shape, 0.5, DType::Float64), 2.0), 1.0);
  return mul(magnitude, sign);
}

void expect_ok(const GradcheckResult& r) { EXPECT_TRUE(r.ok) << r.report; }

// floor() of every value: whole numbers, so that equal values (ties) are common.
Tensor floor_div_values(const Tensor& t) {
  std::vector<double> v = t.to_vector();
  for (double& e : v) e = std::floor(e);
  return Tensor::from_vector(v, t.shape(), t.dtype());
}

// ---- Linear ----

TEST(Ch03Linear, ForwardMatchesExplicitLoops) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Generator g(1);
    Linear layer(7, 4, true, g, dtype);
    const Tensor x = normal({5, 7}, 2, dtype);
    const Tensor y = layer(Var(x)).value();
    ASSERT_EQ(y.shape(), (Shape{5, 4}));
    for (int64_t n = 0; n < 5; ++n)
      for (int64_t o = 0; o < 4; ++o) {
        double want = layer.bias.value().at({o});
        for (int64_t i = 0; i < 7; ++i) want += x.at({n, i}) * layer.weight.value().at({o, i});
        EXPECT_NEAR(y.at({n, o}), want, dtype == DType::Float32 ? 1e-5 : 1e-12);
      }
  }
}

TEST(Ch03Linear, WithoutBiasAndWithBatchAxes) {
  Generator g(3);
  Linear layer(3, 2, false, g, DType::Float64);
  EXPECT_FALSE(layer.bias.defined());
  EXPECT_EQ(layer.parameters().size(), 1u);
  const Tensor x = normal({2, 4, 3}, 4);
  const Tensor y = layer(Var(x)).value();
  ASSERT_EQ(y.shape(), (Shape{2, 4, 2}));
  const Tensor want = matmul_naive(x, layer.weight.value().t());
  EXPECT_LT(max_abs_diff(y, want), 1e-12);
  EXPECT_NE(layer.describe().find("no bias"), std::string::npos);
}

TEST(Ch03Linear, InitialisationBoundsAsPyTorch) {
  // Kaiming-uniform with slope sqrt(5): bound sqrt(6 / ((1 + 5) in)) = 1 / sqrt(in), as the bias.
  Generator g(5);
  Linear layer(400, 300, true, g);
  const double bound = 1 / std::sqrt(400.0);
  for (const Tensor& t : {layer.weight.value(), layer.bias.value()}) {
    const double largest = amax(abs(t)).item();
    EXPECT_LE(largest, bound);
    EXPECT_GT(largest, 0.95 * bound);
  }
}

TEST(Ch03Linear, WrongInputSizeIsAClearError) {
  Linear layer(8, 2);
  try {
    layer(Var(Tensor::zeros({3, 5})));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Linear(8 -> 2)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[3, 5]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Linear(0, 3), Error);
}

TEST(Ch03Linear, GradcheckInputWeightBias) {
  Generator g(6);
  Linear layer(4, 3, true, g, DType::Float64);
  const Var w = layer.weight, b = layer.bias;
  expect_ok(gradcheck(
      [&](const std::vector<Var>& v) {
        layer.weight = v[1];
        layer.bias = v[2];
        return layer(v[0]);
      },
      {normal({2, 4}, 7), w.value(), b.value()}));
  layer.weight = w;
  layer.bias = b;
}

// ---- Conv2d ----

TEST(Ch03Conv2d, ForwardMatchesNaiveLoops) {
  Generator g(8);
  Conv2d layer(2, 3, 3, /*stride=*/2, /*padding=*/1, true, g, DType::Float64);
  const Tensor x = normal({2, 2, 7, 6}, 9);
  const Tensor y = layer(Var(x)).value();
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4, 3}));
  // Direct definition: y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] x[n,c,2i+p-1,2j+q-1] (zero outside).
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          double want = layer.bias.value().at({o});
          for (int64_t c = 0; c < 2; ++c)
            for (int64_t p = 0; p < 3; ++p)
              for (int64_t q = 0; q < 3; ++q) {
                const int64_t r = 2 * i + p - 1, s = 2 * j + q - 1;
                if (r >= 0 && r < 7 && s >= 0 && s < 6)
                  want += layer.weight.value().at({o, c, p, q}) * x.at({n, c, r, s});
              }
          EXPECT_NEAR(y.at({n, o, i, j}), want, 1e-12);
        }
}

TEST(Ch03Conv2d, GradcheckInputWeightBias) {
  Generator g(10);
  Conv2d layer(2, 3, 3, 2, 1, true, g, DType::Float64);
  const Var w = layer.weight, b = layer.bias;
  expect_ok(gradcheck(
      [&](const std::vector<Var>& v) {
        layer.weight = v[1];
        layer.bias = v[2];
        return layer(v[0]);
      },
      {normal({1, 2, 5, 4}, 11), w.value(), b.value()}));
  layer.weight = w;
  layer.bias = b;
}

// ---- pooling, flatten ----

TEST(Ch03Pooling, AvgAndMaxPoolMatchLoops) {
  const Tensor x = normal({2, 3, 6, 5}, 12);
  AvgPool2d avg(2);
  MaxPool2d max(3, 2);
  const Tensor ya = avg(Var(x)).value(), ym = max(Var(x)).value();
  ASSERT_EQ(ya.shape(), (Shape{2, 3, 3, 2}));
  ASSERT_EQ(ym.shape(), (Shape{2, 3, 2, 2}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          double s = 0;
          for (int64_t p = 0; p < 2; ++p)
            for (int64_t q = 0; q < 2; ++q) s += x.at({n, c, 2 * i + p, 2 * j + q});
          EXPECT_NEAR(ya.at({n, c, i, j}), s / 4, 1e-12);
        }
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          double m = -INFINITY;
          for (int64_t p = 0; p < 3; ++p)
            for (int64_t q = 0; q < 3; ++q) m = std::max(m, x.at({n, c, 2 * i + p, 2 * j + q}));
          EXPECT_EQ(ym.at({n, c, i, j}), m);
        }
    }
}

// The 2x2 / stride 2 fast path of the core's max pooling against a plain loop, with ties (the first
// maximum wins) and NaN (a NaN wins, so it shows in the output), values and indices.
TEST(Ch03Pooling, TwoByTwoMaxPoolTiesAndNaN) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Generator g(33);
    // Values from a small set: many ties inside windows. Odd sizes: the last row/column is dropped.
    Tensor x = floor_div_values(g.uniform({2, 3, 7, 9}, 0, 3, DType::Float64)).to(dtype);
    x.set({0, 1, 2, 3}, NAN);
    x.set({1, 2, 5, 6}, NAN);
    x.set({1, 2, 5, 7}, NAN);
    Tensor indices;
    const Tensor y = max_pool2d(x, 2, 2, 0, &indices);
    ASSERT_EQ(y.shape(), (Shape{2, 3, 3, 4}));
    const std::vector<int64_t> idx = indices.to_int64();
    size_t k = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 4; ++j, ++k) {
            double best = 0;
            int64_t best_index = -1;
            for (int64_t p = 0; p < 2; ++p)
              for (int64_t q = 0; q < 2; ++q) {
                const double v = x.at({n, c, 2 * i + p, 2 * j + q});
                if (best_index < 0 || v > best || std::isnan(v)) best = v, best_index = (2 * i + p) * 9 + 2 * j + q;
              }
            EXPECT_EQ(idx[k], best_index) << n << c << i << j;
            if (std::isnan(best)) {
              EXPECT_TRUE(std::isnan(y.at({n, c, i, j})));
            } else {
              EXPECT_EQ(y.at({n, c, i, j}), best);
            }
          }
  }
}

TEST(Ch03Pooling, GlobalAveragePoolAndFlatten) {
  const Tensor x = normal({2, 3, 4, 5}, 13);
  GlobalAvgPool2d gap;
  const Tensor y = gap(Var(x)).value();
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c) {
      double s = 0;
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 5; ++j) s += x.at({n, c, i, j});
      EXPECT_NEAR(y.at({n, c}), s / 20, 1e-12);
    }
  Flatten flat;
  const Tensor f = flat(Var(x)).value();
  ASSERT_EQ(f.shape(), (Shape{2, 60}));
  EXPECT_EQ(f.at({1, 27}), x.at({1, 1, 1, 2}));  // 27 = 1*20 + 1*5 + 2
  EXPECT_THROW(gap(Var(Tensor::zeros({2, 3}))), Error);
}

TEST(Ch03Pooling, Gradchecks) {
  AvgPool2d avg(2);
  MaxPool2d max(2);
  GlobalAvgPool2d gap;
  Flatten flat;
  for (Module* m : std::vector<Module*>{&avg, &max, &gap, &flat}) {
    SCOPED_TRACE(m->describe());
    // Distinct values a good distance apart: no ties inside a max-pool window.
    Tensor x = mul(Tensor::arange(2 * 2 * 4 * 4, DType::Float64), 0.1).reshape({2, 2, 4, 4});
    Generator g(14);
    const std::vector<int64_t> perm = g.permutation(x.numel());
    std::vector<double> shuffled(perm.size());
    const std::vector<double> values = x.to_vector();
    for (size_t i = 0; i < perm.size(); ++i) shuffled[i] = values[static_cast<size_t>(perm[i])];
    x = Tensor::from_vector(shuffled, x.shape(), DType::Float64);
    expect_ok(gradcheck([m](const std::vector<Var>& v) { return (*m)(v[0]); }, {x}));
  }
}

// ---- activations ----

struct ActivationCase {
  std::shared_ptr<Activation> module;
  std::function<double(double)> formula;
};

TEST(Ch03Activations, MatchScalarFormulasAndGradcheck) {
  const std::vector<ActivationCase> cases = {
      {ReLU(), [](double v) { return v > 0 ? v : 0.0; }},
      {LeakyReLU(0.1), [](double v) { return v > 0 ? v : 0.1 * v; }},
      {Tanh(), [](double v) { return std::tanh(v); }},
      {Sigmoid(), [](double v) { return 1 / (1 + std::exp(-v)); }},
      {Softplus(), [](double v) { return std::log1p(std::exp(v)); }},
      {ELU(0.7), [](double v) { return v > 0 ? v : 0.7 * (std::exp(v) - 1); }},
  };
  const Tensor x = away_from_zero({3, 4}, 15);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.module->describe());
    const Tensor y = (*c.module)(Var(x)).value();
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j) EXPECT_NEAR(y.at({i, j}), c.formula(x.at({i, j})), 1e-12);
    expect_ok(gradcheck([&](const std::vector<Var>& v) { return (*c.module)(v[0]); }, {x}));
  }
}

TEST(Ch03Activations, GroupSortSortsEachGroupDescending) {
  Generator g(16);
  const Tensor x = g.normal({3, 8, 2}, 0, 1, DType::Float64);
  for (int64_t group : {2, 4}) {
    auto layer = GroupSort(group);
    EXPECT_EQ(layer->describe(), group == 2 ? "MaxMin" : "GroupSort(4)");
    const Tensor y = (*layer)(Var(x)).value();
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t s = 0; s < 2; ++s)
        for (int64_t start = 0; start < 8; start += group) {
          std::vector<double> want;
          for (int64_t k = 0; k < group; ++k) want.push_back(x.at({n, start + k, s}));
          std::sort(want.begin(), want.end(), std::greater<double>());
          for (int64_t k = 0; k < group; ++k) EXPECT_EQ(y.at({n, start + k, s}), want[static_cast<size_t>(k)]);
        }
    expect_ok(gradcheck([&](const std::vector<Var>& v) { return (*layer)(v[0]); }, {x}));
  }
  EXPECT_THROW(GroupSort(1), Error);
}

// ---- Dropout ----

TEST(Ch03Dropout, ZeroesAboutPAndScalesSurvivors) {
  Generator g(17);
  Dropout drop(0.3, g);
  const Tensor x = add(Tensor::zeros({100, 100}), 2.0);
  const Tensor y = drop(Var(x)).value();
  int64_t zeros = 0;
  for (double v : y.to_vector()) {
    if (v == 0) {
      ++zeros;
    } else {
      EXPECT_FLOAT_EQ(v, 2.0f / 0.7f);
    }
  }
  // Binomial(10000, 0.3): standard deviation about 46.
  EXPECT_NEAR(double(zeros), 3000.0, 4 * 46.0);
  // Fresh masks on every call.
  EXPECT_GT(max_abs_diff(drop(Var(x)).value(), y), 0.0);
}

TEST(Ch03Dropout, IdentityInEvaluationModeAndForPZero) {
  Dropout drop(0.5);
  const Tensor x = normal({4, 5}, 18, DType::Float32);
  drop.eval();
  EXPECT_EQ(max_abs_diff(drop(Var(x)).value(), x), 0.0);
  Dropout none(0.0);
  EXPECT_EQ(max_abs_diff(none(Var(x)).value(), x), 0.0);
  EXPECT_THROW(Dropout(1.0), Error);
  EXPECT_THROW(Dropout(-0.1), Error);
}

TEST(Ch03Dropout, GradientIsTheSameMask) {
  Generator g(19);
  Dropout drop(0.4, g);
  // The generator is re-seeded before every call, so each evaluation draws the same mask.
  expect_ok(gradcheck(
      [&](const std::vector<Var>& v) {
        g.manual_seed(20);
        return drop(v[0]);
      },
      {normal({3, 5}, 21)}));
}

// ---- BatchNorm ----

TEST(Ch03BatchNorm, TrainingUsesBatchStatisticsAndUpdatesRunningOnes) {
  for (const Shape& shape : {Shape{6, 3}, Shape{4, 3, 2, 5}}) {
    SCOPED_TRACE(shape_str(shape));
    BatchNorm bn(3, 0.1, 1e-5, DType::Float64);
    {
      NoGrad no_grad;  // in-place changes of parameters are allowed only outside recording
      bn.weight.copy_(Tensor::from_vector({1.5, -0.5, 2.0}, {3}, DType::Float64));
      bn.bias.copy_(Tensor::from_vector({0.1, 0.2, -0.3}, {3}, DType::Float64));
    }
    const Tensor x = add(mul(normal(shape, 22), 3.0), 1.0);
    const Tensor y = bn(Var(x)).value();
    const Tensor xf = x.dim() == 2 ? x : x.permute({0, 2, 3, 1}).reshape({-1, 3});  // [M, 3]
    const Tensor yf = y.dim() == 2 ? y : y.permute({0, 2, 3, 1}).reshape({-1, 3});
    const int64_t m = xf.size(0);
    for (int64_t c = 0; c < 3; ++c) {
      double mu = 0, v = 0;
      for (int64_t i = 0; i < m; ++i) mu += xf.at({i, c});
      mu /= double(m);
      for (int64_t i = 0; i < m; ++i) v += (xf.at({i, c}) - mu) * (xf.at({i, c}) - mu);
      const double biased = v / double(m), unbiased = v / double(m - 1);
      for (int64_t i = 0; i < m; ++i) {
        const double want = (xf.at({i, c}) - mu) / std::sqrt(biased + 1e-5) * bn.weight.value().at({c}) +
                            bn.bias.value().at({c});
        EXPECT_NEAR(yf.at({i, c}), want, 1e-10);
      }
      EXPECT_NEAR(bn.running_mean.at({c}), 0.1 * mu, 1e-12);
      EXPECT_NEAR(bn.running_var.at({c}), 0.9 + 0.1 * unbiased, 1e-12);
    }
    // The registered buffers are the same storage as the members.
    const auto buffers = bn.named_buffers();
    ASSERT_EQ(buffers.size(), 2u);
    EXPECT_EQ(buffers[0].first, "running_mean");
    EXPECT_TRUE(buffers[0].second.shares_storage(bn.running_mean));
  }
}

TEST(Ch03BatchNorm, EvaluationUsesRunningStatistics) {
  BatchNorm bn(2, 0.1, 1e-5, DType::Float64);
  bn.running_mean.copy_(Tensor::from_vector({1.0, -2.0}, {2}, DType::Float64));
  bn.running_var.copy_(Tensor::from_vector({4.0, 0.25}, {2}, DType::Float64));
  bn.eval();
  const Tensor x = normal({3, 2}, 23);
  const Tensor y = bn(Var(x)).value();
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(y.at({i, 0}), (x.at({i, 0}) - 1.0) / std::sqrt(4.0 + 1e-5), 1e-12);
    EXPECT_NEAR(y.at({i, 1}), (x.at({i, 1}) + 2.0) / std::sqrt(0.25 + 1e-5), 1e-12);
  }
  // Evaluation leaves the running statistics alone.
  EXPECT_EQ(bn.running_mean.at({0}), 1.0);
  EXPECT_THROW(bn(Var(Tensor::zeros({3, 5}, DType::Float64))), Error);
}

TEST(Ch03BatchNorm, GradcheckInTrainingAndEvaluation) {
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "train" : "eval");
    BatchNorm bn(3, 0.1, 1e-5, DType::Float64);
    bn.running_var.copy_(Tensor::from_vector({0.5, 2.0, 1.0}, {3}, DType::Float64));
    bn.train(training);
    const Var w = bn.weight, b = bn.bias;
    expect_ok(gradcheck(
        [&](const std::vector<Var>& v) {
          bn.weight = v[1];
          bn.bias = v[2];
          return bn(v[0]);
        },
        {normal({2, 3, 2, 2}, 24), normal({3}, 25), normal({3}, 26)}));
    bn.weight = w;
    bn.bias = b;
  }
}

// ---- Module, Sequential, summary ----

std::shared_ptr<Sequential> small_cnn(Generator& g) {
  auto features = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(1, 4, 3, 1, 1, true, g), std::make_shared<BatchNorm>(4), ReLU(),
      std::make_shared<MaxPool2d>(2)});
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      features, std::make_shared<Flatten>(), std::make_shared<Dropout>(0.25, g),
      std::make_shared<Linear>(4 * 4 * 4, 10, true, g)});
}

TEST(Ch03Module, NamesFollowTheTreeAsInPyTorch) {
  Generator g(27);
  auto net = small_cnn(g);
  std::vector<std::string> names;
  for (const auto& [name, v] : net->named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "3.weight",
                                             "3.bias"}));
  std::vector<std::string> buffers;
  for (const auto& [name, t] : net->named_buffers()) buffers.push_back(name);
  EXPECT_EQ(buffers, (std::vector<std::string>{"0.1.running_mean", "0.1.running_var"}));
  EXPECT_EQ(net->num_parameters(), 4 * 9 + 4 + 4 + 4 + 64 * 10 + 10);
  EXPECT_EQ(net->state().size(), 8u);
  for (const Var& p : net->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(Ch03Module, ModePropagatesAndZeroGradClears) {
  Generator g(28);
  auto net = small_cnn(g);
  net->eval();
  EXPECT_FALSE(net->training());
  EXPECT_FALSE((*net)[2].training());
  EXPECT_FALSE(static_cast<Sequential&>((*net)[0])[1].training());
  net->train();
  EXPECT_TRUE(static_cast<Sequential&>((*net)[0])[1].training());
  const Var loss = sum((*net)(Var(normal({2, 1, 8, 8}, 29, DType::Float32))));
  backward(loss);
  for (const Var& p : net->parameters()) EXPECT_TRUE(p.grad().defined());
  net->zero_grad();
  for (const Var& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Ch03Module, SummaryListsLayersShapesAndCounts) {
  Generator g(30);
  auto net = small_cnn(g);
  const std::string s = net->summary({1, 1, 8, 8});
  for (const char* piece : {"0.0", "Conv2d(1 -> 4, 3x3, stride 1, pad 1)", "[1, 4, 8, 8]", "0.3", "[1, 4, 4, 4]",
                            "Linear(64 -> 10)", "[1, 10]", "650", "total parameters: 698"})
    EXPECT_NE(s.find(piece), std::string::npos) << piece << "\n" << s;
  EXPECT_TRUE(net->training());  // restored after the evaluation-mode pass
  EXPECT_THROW(net->summary({1, 2, 8, 8}), Error);
}

TEST(Ch03Module, SequentialGradcheckThroughAllLayers) {
  Generator g(31);
  Sequential net({std::make_shared<Linear>(3, 4, true, g, DType::Float64), Tanh(),
                  std::make_shared<Linear>(4, 2, true, g, DType::Float64), Softplus()});
  expect_ok(gradcheck([&](const std::vector<Var>& v) { return net(v[0]); }, {normal({2, 3}, 32)}));
  EXPECT_EQ(net.size(), 4u);
  EXPECT_THROW(net.add(nullptr), Error);
}

class TwiceRegistered : public Module {
 public:
  TwiceRegistered() {
    register_parameter("w", Tensor::zeros({1}));
    register_parameter("w", Tensor::zeros({1}));
  }
  Var forward(const Var& x) override { return x; }
  std::string describe() const override { return "TwiceRegistered"; }
};

TEST(Ch03Module, RegisteringANameTwiceThrows) { EXPECT_THROW(TwiceRegistered(), Error); }

}  // namespace
}  // namespace stablenn
