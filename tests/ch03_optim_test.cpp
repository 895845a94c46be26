// tests/ch03_optim_test.cpp — optimisers against hand-computed steps and against 10 steps of
// PyTorch's torch.optim on a small model (tests/fixtures/optim_steps.snnfix, written by
// make_optim_fixtures.py); gradient clipping, schedules and post-step hooks (chapter 3).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "train/optim.h"
#include "tests/fixtures/fixture_file.h"

namespace stablenn {
namespace {

// A parameter [2] with a gradient set by hand.
Var param(double a, double b) { return Var(Tensor::from_vector({a, b}, {2}, DType::Float64), true); }
void set_grad(Var& p, double a, double b) { p.set_grad(Var(Tensor::from_vector({a, b}, {2}, DType::Float64))); }

TEST(Ch03Optim, PlainSgdStep) {
  Var p = param(1.0, -2.0);
  SGD sgd({p}, 0.1);
  set_grad(p, 0.5, 3.0);
  sgd.step();
  EXPECT_DOUBLE_EQ(p.value().at({0}), 1.0 - 0.1 * 0.5);
  EXPECT_DOUBLE_EQ(p.value().at({1}), -2.0 - 0.1 * 3.0);
  EXPECT_EQ(sgd.steps(), 1);
}

TEST(Ch03Optim, SgdMomentumNesterovAndWeightDecayByHand) {
  const double lr = 0.1, mu = 0.9, wd = 0.01;
  const double g1 = 0.5, g2 = -0.25;
  for (bool nesterov : {false, true}) {
    SCOPED_TRACE(nesterov ? "nesterov" : "heavy ball");
    Var p = param(1.0, 0.0);
    SGD sgd({p}, lr, mu, nesterov, wd);
    // step 1: g = g1 + wd p0; b = g; p1 = p0 - lr (g + mu b | b)
    double p_hand = 1.0;
    double g = g1 + wd * p_hand, b = g;
    p_hand -= lr * (nesterov ? g + mu * b : b);
    set_grad(p, g1, 0.0);
    sgd.step();
    EXPECT_NEAR(p.value().at({0}), p_hand, 1e-15);
    // step 2: b = mu b + g
    g = g2 + wd * p_hand;
    b = mu * b + g;
    p_hand -= lr * (nesterov ? g + mu * b : b);
    set_grad(p, g2, 0.0);
    sgd.step();
    EXPECT_NEAR(p.value().at({0}), p_hand, 1e-15);
    EXPECT_EQ(p.value().at({1}), 0.0);  // zero gradient, zero weight: never moves
  }
}

TEST(Ch03Optim, AdamFirstStepsByHand) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  Var p = param(0.3, -0.7);
  Adam adam({p}, lr, b1, b2, eps);
  // Step 1: m_hat = g, v_hat = g^2, so each weight moves by lr g / (|g| + eps): about lr sign(g).
  set_grad(p, 2.0, -1e-3);
  adam.step();
  EXPECT_NEAR(p.value().at({0}), 0.3 - lr * 2.0 / (2.0 + eps), 1e-15);
  EXPECT_NEAR(p.value().at({1}), -0.7 + lr * 1e-3 / (1e-3 + eps), 1e-15);
  // Step 2 with the bias corrections of t = 2.
  set_grad(p, -1.0, 0.0);
  adam.step();
  const double m = b1 * (1 - b1) * 2.0 + (1 - b1) * -1.0;
  const double v = b2 * (1 - b2) * 4.0 + (1 - b2) * 1.0;
  const double want = 0.3 - lr * 2.0 / (2.0 + eps) -
                      lr / (1 - b1 * b1) * m / (std::sqrt(v) / std::sqrt(1 - b2 * b2) + eps);
  EXPECT_NEAR(p.value().at({0}), want, 1e-15);
}

TEST(Ch03Optim, AdamWDecaysTheWeightDirectly) {
  const double lr = 0.1, wd = 0.5;
  Var p = param(2.0, 2.0);
  AdamW adamw({p}, lr, 0.9, 0.999, 1e-8, wd);
  Var q = param(2.0, 2.0);
  Adam coupled({q}, lr, 0.9, 0.999, 1e-8, wd);
  set_grad(p, 1.0, 0.0);
  set_grad(q, 1.0, 0.0);
  adamw.step();
  coupled.step();
  // Decoupled: p (1 - lr wd) - lr g / (|g| + eps); a zero gradient still shrinks the weight.
  EXPECT_NEAR(p.value().at({0}), 2.0 * (1 - lr * wd) - lr * 1.0 / (1.0 + 1e-8), 1e-15);
  EXPECT_NEAR(p.value().at({1}), 2.0 * (1 - lr * wd), 1e-15);
  // Coupled (Adam's weight_decay): the decay enters the gradient, g = 0 + wd p = 1, so the step is ~lr.
  EXPECT_NEAR(q.value().at({1}), 2.0 - lr * 1.0 / (1.0 + 1e-8), 1e-15);
  EXPECT_EQ(adamw.name(), "AdamW");
  EXPECT_EQ(coupled.name(), "Adam");
}

TEST(Ch03Optim, ParametersWithoutGradientAreSkipped) {
  Var p = param(1.0, 1.0), q = param(5.0, 5.0);
  SGD sgd({p, q}, 0.5);
  set_grad(p, 1.0, 1.0);
  sgd.step();
  EXPECT_EQ(p.value().at({0}), 0.5);
  EXPECT_EQ(q.value().at({0}), 5.0);
  sgd.zero_grad();
  EXPECT_FALSE(p.grad().defined());
}

TEST(Ch03Optim, ClipGradNormScalesJointly) {
  Var p = param(0, 0), q(Tensor::zeros({1}, DType::Float64), true);
  set_grad(p, 3.0, 4.0);
  q.set_grad(Var(Tensor::full({1}, 12.0, DType::Float64)));
  // Joint norm sqrt(9 + 16 + 144) = 13; clipped to 6.5 as torch: coef = 6.5 / (13 + 1e-6).
  EXPECT_NEAR(clip_grad_norm({p, q}, 6.5), 13.0, 1e-12);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_NEAR(p.grad().value().at({0}), 3.0 * coef, 1e-12);
  EXPECT_NEAR(q.grad().value().at({0}), 12.0 * coef, 1e-12);
  // Below the limit nothing changes.
  EXPECT_NEAR(clip_grad_norm({p, q}, 100.0), 6.5 * 13.0 / (13.0 + 1e-6), 1e-9);
  EXPECT_NEAR(p.grad().value().at({0}), 3.0 * coef, 1e-12);
}

TEST(Ch03Optim, ScheduleSetsTheLearningRateOfEachStep) {
  Var p = param(0, 0);
  SGD sgd({p}, 1.0);
  sgd.set_schedule(step_decay_schedule(1.0, 2, 0.5));
  double position = 0;
  for (int64_t k = 0; k < 6; ++k) {
    set_grad(p, -1.0, 0.0);  // each step adds its lr
    sgd.step();
    position += std::pow(0.5, double(k / 2));
    EXPECT_DOUBLE_EQ(sgd.lr(), std::pow(0.5, double(k / 2)));
    EXPECT_DOUBLE_EQ(p.value().at({0}), position);
  }
}

TEST(Ch03Optim, PostStepHookProjectsAfterEveryStep) {
  Var p = param(0.0, 0.0);
  SGD sgd({p}, 1.0);
  int calls = 0;
  sgd.add_post_step_hook([&] {
    ++calls;
    NoGrad no_grad;
    p.copy_(clamp(p.value(), -0.25, 0.25));  // projection onto a box
  });
  for (int k = 0; k < 3; ++k) {
    set_grad(p, -1.0, 1.0);
    sgd.step();
    EXPECT_EQ(p.value().at({0}), 0.25);
    EXPECT_EQ(p.value().at({1}), -0.25);
  }
  EXPECT_EQ(calls, 3);
}

TEST(Ch03Optim, BadSettingsAreClearErrors) {
  Var p = param(0, 0);
  EXPECT_THROW(SGD({p}, -1.0), Error);
  EXPECT_THROW(SGD({p}, 0.1, 0.0, /*nesterov=*/true), Error);
  EXPECT_THROW(Adam({p}, 0.1, 1.0), Error);
  const Var constant(Tensor::zeros({2}));
  try {
    SGD({p, constant}, 0.1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("parameter 1"), std::string::npos) << e.what();
  }
}

// ---- 10 steps against PyTorch ----

std::string fixture_path(const std::string& name) {
  return std::string(STABLENN_SOURCE_DIR) + "/tests/fixtures/" + name + ".snnfix";
}

struct FixtureConfig {
  std::string name;
  std::function<std::unique_ptr<Optimizer>(std::vector<Var>)> make;
  double clip = 0;
};

class Ch03OptimPyTorch : public ::testing::TestWithParam<DType> {};

TEST_P(Ch03OptimPyTorch, TenStepsAgreeWithTorchOptim) {
  const DType dtype = GetParam();
  const fixtures::FixtureFile f(fixture_path("optim_steps"));
  const std::vector<FixtureConfig> configs = {
      {"sgd", [](std::vector<Var> p) { return std::make_unique<SGD>(std::move(p), 0.1); }},
      {"sgd_momentum", [](std::vector<Var> p) { return std::make_unique<SGD>(std::move(p), 0.1, 0.9); }},
      {"sgd_nesterov_wd",
       [](std::vector<Var> p) { return std::make_unique<SGD>(std::move(p), 0.05, 0.9, true, 0.01); }},
      {"sgd_dampening_wd",
       [](std::vector<Var> p) { return std::make_unique<SGD>(std::move(p), 0.1, 0.8, false, 0.001, 0.3); }},
      {"adam", [](std::vector<Var> p) { return std::make_unique<Adam>(std::move(p), 0.01); }},
      {"adam_wd_betas",
       [](std::vector<Var> p) { return std::make_unique<Adam>(std::move(p), 0.02, 0.8, 0.99, 1e-6, 0.01); }},
      {"adamw", [](std::vector<Var> p) { return std::make_unique<AdamW>(std::move(p), 0.01, 0.9, 0.999, 1e-8, 0.1); }},
      {"adam_clip", [](std::vector<Var> p) { return std::make_unique<Adam>(std::move(p), 0.01); }, 0.5},
      {"sgd_momentum_cosine",
       [](std::vector<Var> p) {
         auto sgd = std::make_unique<SGD>(std::move(p), 0.2, 0.9);
         sgd->set_schedule(cosine_schedule(0.2, 10, 0.01));
         return sgd;
       }},
  };
  const Tensor x = f.get("x").to(dtype), labels = f.get("labels");
  const double tol = dtype == DType::Float64 ? 1e-12 : 1e-5;
  for (const auto& config : configs) {
    SCOPED_TRACE(config.name);
    Sequential model({std::make_shared<Linear>(6, 5, true, default_generator(), dtype), Tanh(),
                      std::make_shared<Linear>(5, 3, true, default_generator(), dtype)});
    {
      NoGrad no_grad;
      for (auto& [name, v] : model.named_parameters()) v.copy_(f.get("init." + name));
    }
    std::unique_ptr<Optimizer> optimizer = config.make(model.parameters());
    const std::vector<double> want_losses = f.get(config.name + ".losses").to_vector();
    for (int64_t k = 0; k < 10; ++k) {
      optimizer->zero_grad();
      const Var loss = cross_entropy(model(Var(x.select(0, k))), labels.select(0, k).contiguous());
      EXPECT_NEAR(loss.item(), want_losses[static_cast<size_t>(k)], tol) << "step " << k;
      backward(loss);
      if (config.clip > 0) clip_grad_norm(model.parameters(), config.clip);
      optimizer->step();
    }
    for (const auto& [name, v] : model.named_parameters()) {
      const Tensor want = f.get(config.name + "." + name);
      EXPECT_LT(max_abs_diff(v.value().to(DType::Float64), want), tol) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Ch03OptimPyTorch, ::testing::Values(DType::Float64, DType::Float32),
                         [](const ::testing::TestParamInfo<DType>& param_info) {
                           return std::string(dtype_name(param_info.param));
                         });

}  // namespace
}  // namespace stablenn
