// tests/ch03_losses_test.cpp — the losses against hand formulas and PyTorch fixtures, their gradients
// against central differences, and their error messages (chapter 3).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "layers/losses.h"
#include "tests/fixtures/fixture_file.h"

namespace stablenn {
namespace {

std::string fixture_path(const std::string& name) {
  return std::string(STABLENN_SOURCE_DIR) + "/tests/fixtures/" + name + ".snnfix";
}

Tensor normal(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator g(seed);
  return g.normal(shape, 0.0, scale, DType::Float64);
}

// The labels of the 4-row examples.
Tensor labels4() { return Tensor::from_int64({2, 0, 3, 3}, {4}); }

// -log softmax(z_n)_k by the definition, in double.
double neg_log_softmax(const Tensor& z, int64_t n, int64_t k) {
  double lse = 0;
  for (int64_t j = 0; j < z.size(1); ++j) lse += std::exp(z.at({n, j}));
  return std::log(lse) - z.at({n, k});
}

TEST(Ch03Losses, CrossEntropyMatchesTheDefinition) {
  const Tensor z = normal({4, 5}, 1, 3.0);
  double want = 0, want_smooth = 0;
  const double s = 0.2;
  for (int64_t n = 0; n < 4; ++n) {
    const int64_t y = labels4().to_int64()[static_cast<size_t>(n)];
    want += neg_log_softmax(z, n, y);
    for (int64_t k = 0; k < 5; ++k) want_smooth += ((k == y ? 1 - s : 0.0) + s / 5) * neg_log_softmax(z, n, k);
  }
  EXPECT_NEAR(cross_entropy(Var(z), labels4()).item(), want / 4, 1e-12);
  EXPECT_NEAR(cross_entropy(Var(z), labels4(), s).item(), want_smooth / 4, 1e-12);
  // Stable for huge logits: the maximum is subtracted inside log_softmax.
  const Tensor big = Tensor::from_vector({1000, 0, -1000, 999}, {1, 4}, DType::Float32);
  // log(e^1000 + e^0 + e^-1000 + e^999) - 999 = 1 + log(1 + e^-1) up to e^-1000 terms.
  EXPECT_NEAR(cross_entropy(Var(big), Tensor::from_int64({3}, {1})).item(), 1 + std::log1p(std::exp(-1.0)), 1e-5);
}

TEST(Ch03Losses, LabelSmoothingAndBceMatchPyTorch) {
  const fixtures::FixtureFile f(fixture_path("losses"));
  const Tensor labels = f.get("labels"), targets = f.get("targets");
  for (DType dtype : {DType::Float64, DType::Float32}) {
    const double tol = dtype == DType::Float64 ? 1e-12 : 1e-5;
    Var z(f.get("logits").to(dtype), true);
    const Var ce = cross_entropy(z, labels, 0.1);
    EXPECT_NEAR(ce.item(), f.get("ce_smooth").item(), tol);
    backward(ce);
    EXPECT_LT(max_abs_diff(z.grad().value().to(DType::Float64), f.get("grad_ce_smooth")), tol);
    z.zero_grad();
    const Var bce = bce_with_logits(z, targets.to(dtype));
    EXPECT_NEAR(bce.item(), f.get("bce").item(), tol);
    backward(bce);
    EXPECT_LT(max_abs_diff(z.grad().value().to(DType::Float64), f.get("grad_bce")), tol);
  }
}

TEST(Ch03Losses, MulticlassHingeMatchesLoops) {
  const Tensor z = normal({4, 5}, 2);
  for (double margin : {0.0, 0.3, 1.0}) {
    double want = 0;
    for (int64_t n = 0; n < 4; ++n) {
      const int64_t y = labels4().to_int64()[static_cast<size_t>(n)];
      for (int64_t j = 0; j < 5; ++j)
        if (j != y) want += std::max(0.0, z.at({n, j}) - z.at({n, y}) + margin);
    }
    EXPECT_NEAR(multiclass_hinge(Var(z), labels4(), margin).item(), want / 4, 1e-12) << "margin " << margin;
  }
  // Zero once every true logit leads by more than the margin.
  const Tensor clear = mul(one_hot(labels4(), 5, DType::Float64), 2.0);
  EXPECT_EQ(multiclass_hinge(Var(clear), labels4(), 1.0).item(), 0.0);
}

TEST(Ch03Losses, MseAndBceMatchFormulas) {
  const Tensor p = normal({3, 4}, 3), t = normal({3, 4}, 4);
  double mse = 0;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) mse += std::pow(p.at({i, j}) - t.at({i, j}), 2);
  EXPECT_NEAR(mse_loss(Var(p), t).item(), mse / 12, 1e-12);
  // bce(z, t) = -(t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))), stable at large |z|.
  const Tensor z = Tensor::from_vector({-800, -2, 0.5, 700}, {4}, DType::Float64);
  const Tensor targets = Tensor::from_vector({0, 1, 0.25, 1}, {4}, DType::Float64);
  double want = 0;
  for (int64_t i = 0; i < 4; ++i) {
    const double zi = z.at({i}), ti = targets.at({i});
    const double log_sig = -std::log1p(std::exp(-std::fabs(zi))) + std::min(zi, 0.0);
    const double log_one_minus = -std::log1p(std::exp(-std::fabs(zi))) - std::max(zi, 0.0);
    want -= ti * log_sig + (1 - ti) * log_one_minus;
  }
  const double got = bce_with_logits(Var(z), targets).item();
  EXPECT_TRUE(std::isfinite(got));
  EXPECT_NEAR(got, want / 4, 1e-12);
}

TEST(Ch03Losses, Gradchecks) {
  const auto check = [](const VarFunction& f, const std::vector<Tensor>& inputs, const char* what) {
    const GradcheckResult r = gradcheck(f, inputs);
    EXPECT_TRUE(r.ok) << what << ": " << r.report;
  };
  const Tensor z = normal({4, 5}, 5);
  check([](const std::vector<Var>& v) { return cross_entropy(v[0], labels4(), 0.1); }, {z}, "cross_entropy");
  check([](const std::vector<Var>& v) { return multiclass_hinge(v[0], labels4(), 0.3); }, {z}, "hinge");
  const Tensor t = normal({4, 5}, 6);
  check([&](const std::vector<Var>& v) { return mse_loss(v[0], t); }, {z}, "mse");
  const Tensor probs = Generator(7).uniform({4, 5}, 0, 1, DType::Float64);
  check([&](const std::vector<Var>& v) { return bce_with_logits(v[0], probs); }, {z}, "bce");
}

TEST(Ch03Losses, AccuracyCountsArgmaxHits) {
  const Tensor z = Tensor::from_vector({0.1, 0.9, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 5.0}, {3, 3});
  EXPECT_NEAR(accuracy(z, Tensor::from_int64({1, 0, 2}, {3})), 1.0, 1e-15);
  EXPECT_NEAR(accuracy(z, Tensor::from_int64({1, 1, 1}, {3})), 1.0 / 3, 1e-15);
  EXPECT_THROW(accuracy(z, Tensor::from_int64({1, 1}, {2})), Error);
}

TEST(Ch03Losses, BadLabelsAreClearErrors) {
  const Var z(Tensor::zeros({2, 3}));
  try {
    cross_entropy(z, Tensor::from_int64({0, 3}, {2}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 3 at position 1 is outside [0, 3)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(cross_entropy(z, Tensor::from_vector({0, 1}, {2})), Error);  // float labels
  EXPECT_THROW(cross_entropy(z, Tensor::from_int64({0, 1, 2}, {3})), Error);
  EXPECT_THROW(cross_entropy(z, Tensor::from_int64({0, 1}, {2}), 1.0), Error);
  EXPECT_THROW(mse_loss(z, Tensor::zeros({3, 2})), Error);
}

}  // namespace
}  // namespace stablenn
