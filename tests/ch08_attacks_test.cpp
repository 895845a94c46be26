// Chapter 8 tests: FGSM and PGD against closed forms and their constraints.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "robust/attacks.h"
#include "train/optim.h"

using namespace stablenn;

namespace {
// A 2-class linear classifier with logits (w.x + b, 0) on inputs [N, 2], in float64.
std::shared_ptr<Linear> linear_classifier(double w0, double w1, double b) {
  auto m = std::make_shared<Linear>(2, 2, true, default_generator(), DType::Float64);
  NoGrad no_grad;  // setting weights by hand is an in-place change
  m->weight.copy_(Tensor::from_vector({w0, w1, 0, 0}, {2, 2}, DType::Float64));
  m->bias.copy_(Tensor::from_vector({b, 0}, {2}, DType::Float64));
  return m;
}

// Two well-separated Gaussian blobs in 2-D, labels 0 and 1.
void blobs(int64_t n, Generator& g, Tensor* x, Tensor* y) {
  *x = g.normal({n, 2}, 0, 0.3, DType::Float64);
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = i % 2;
    x->set({i, 0}, x->at({i, 0}) + (i % 2 ? 2.0 : -2.0));
  }
  *y = Tensor::from_int64(labels, {n});
}
}  // namespace

TEST(Ch08Attacks, L2PgdFindsTheClosedFormMinimalPerturbationOfALinearClassifier) {
  // the distance of x to the boundary w.x + b = 0 is |w.x + b| / |w|
  auto model = linear_classifier(3.0, -4.0, 0.5);
  Generator g(1);
  for (int trial = 0; trial < 10; ++trial) {
    Tensor x = g.normal({1, 2}, 0, 1, DType::Float64);
    const double score = 3 * x.at({0, 0}) - 4 * x.at({0, 1}) + 0.5;
    const Tensor y = Tensor::from_int64({score > 0 ? 0 : 1}, {1});
    const double distance = std::abs(score) / 5.0;
    PgdOptions o;
    o.norm = AttackNorm::L2;
    o.iterations = 50;
    o.random_start = false;
    o.lo = -100;
    o.hi = 100;
    o.loss = AttackLoss::Margin;
    o.eps = 1.01 * distance;
    EXPECT_TRUE(pgd(*model, x, y, o).fooled[0]) << "eps just above the distance " << distance;
    o.eps = 0.99 * distance;
    EXPECT_FALSE(pgd(*model, x, y, o).fooled[0]) << "eps just below the distance " << distance;
    // FGSM in l2 moves straight along w: the same threshold
    EXPECT_TRUE(fgsm(*model, x, y, AttackNorm::L2, 1.01 * distance, -100, 100).fooled[0]);
    EXPECT_FALSE(fgsm(*model, x, y, AttackNorm::L2, 0.99 * distance, -100, 100).fooled[0]);
    // l-inf: the distance is |w.x + b| / |w|_1
    EXPECT_TRUE(fgsm(*model, x, y, AttackNorm::Linf, 1.01 * std::abs(score) / 7, -100, 100).fooled[0]);
    EXPECT_FALSE(fgsm(*model, x, y, AttackNorm::Linf, 0.99 * std::abs(score) / 7, -100, 100).fooled[0]);
  }
}

TEST(Ch08Attacks, PgdBreaksAnUndefendedNetworkAtLargeEps) {
  Generator g(2);
  Tensor x, y;
  blobs(200, g, &x, &y);
  auto net = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(2, 16, true, g, DType::Float64), Tanh(),
      std::make_shared<Linear>(16, 2, true, g, DType::Float64)});
  Adam opt(net->parameters(), 0.05);
  for (int step = 0; step < 60; ++step) {
    opt.zero_grad();
    backward(cross_entropy((*net)(Var(x)), y));
    opt.step();
  }
  net->eval();
  ASSERT_GT(accuracy(predict_logits(*net, x), y), 0.98);  // separable: learned
  PgdOptions o;
  o.norm = AttackNorm::L2;
  o.iterations = 30;
  o.lo = -10;
  o.hi = 10;
  const std::vector<double> acc = robust_accuracy_curve(*net, x, y, {0.0, 0.5, 6.0}, o, 64);
  EXPECT_GT(acc[0], 0.98);
  EXPECT_LE(acc[1], acc[0]);
  EXPECT_LT(acc[2], 0.02);  // blobs 4 apart: eps 6 crosses any boundary
  // targeted: push class-0 points into class 1
  const Tensor targets = Tensor::from_int64(std::vector<int64_t>(200, 1), {200});
  o.eps = 6.0;
  const AttackResult t = pgd(*net, x, y, o, targets);
  EXPECT_EQ(argmax(predict_logits(*net, t.adversarial), 1).to_int64(), targets.to_int64());
}

TEST(Ch08Attacks, IteratesStayInTheBallAndThePixelRange) {
  Generator g(3);
  auto net = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(12, 10, true, g, DType::Float64), ReLU(),
      std::make_shared<Linear>(10, 3, true, g, DType::Float64)});
  const Tensor x = g.uniform({40, 12}, 0, 1, DType::Float64);
  const Tensor y = argmax(predict_logits(*net, x), 1);  // all correct at eps = 0
  for (AttackNorm norm : {AttackNorm::Linf, AttackNorm::L2})
    for (double eps : {0.05, 0.3, 2.0}) {
      PgdOptions o;
      o.norm = norm;
      o.eps = eps;
      o.iterations = 15;
      o.restarts = 2;
      o.step_size = eps;  // large steps: projection and clipping must do the work
      const AttackResult r = pgd(*net, x, y, o);
      const Tensor delta = sub(r.adversarial, x);
      EXPECT_GE(amin(r.adversarial).item(), 0.0);
      EXPECT_LE(amax(r.adversarial).item(), 1.0);
      if (norm == AttackNorm::Linf) EXPECT_LE(amax(abs(delta)).item(), eps * (1 + 1e-12));
      else EXPECT_LE(amax(per_example_norm(delta)).item(), eps * (1 + 1e-9));
      // "fooled" is true exactly where the returned image is misclassified
      const std::vector<int64_t> pred = argmax(predict_logits(*net, r.adversarial), 1).to_int64();
      for (int64_t i = 0; i < 40; ++i) EXPECT_EQ(r.fooled[i], pred[i] != y.to_int64()[i]);
    }
}

TEST(Ch08Attacks, CertifiedAccuracyNeverExceedsPgdRobustAccuracy) {
  // For a linear model the logit map has Lipschitz constant |W|_2 <= |W|_F; a certificate from
  // that bound must never claim robustness PGD can break.
  Generator g(4);
  auto model = std::make_shared<Linear>(5, 4, true, g, DType::Float64);
  const Tensor x = g.uniform({200, 5}, 0, 1, DType::Float64);
  const Tensor logits = predict_logits(*model, x);
  const Tensor y = g.uniform({200}, 0, 4, DType::Float64).to(DType::Int64);
  const double lip = std::sqrt(sum(square(model->weight.value())).item());
  for (double eps : {0.0, 0.05, 0.1, 0.2, 0.4}) {
    int64_t certified = 0;
    for (int64_t i = 0; i < 200; ++i) {
      const int64_t label = static_cast<int64_t>(y.at({i}));
      double other = -1e300;
      for (int64_t k = 0; k < 4; ++k)
        if (k != label) other = std::max(other, logits.at({i, k}));
      const double margin = logits.at({i, label}) - other;
      certified += margin > std::sqrt(2.0) * lip * eps;
    }
    PgdOptions o;
    o.eps = eps;
    o.iterations = 40;
    o.loss = AttackLoss::Margin;
    const double robust = robust_accuracy_curve(*model, x, y, {eps}, o)[0];
    EXPECT_LE(certified / 200.0, robust + 1e-12) << "eps " << eps;
  }
}

TEST(Ch08Attacks, BadInputIsNamed) {
  auto model = linear_classifier(1, 0, 0);
  const Tensor x = Tensor::zeros({3, 2}, DType::Float64);
  try {
    pgd(*model, x, Tensor::zeros({3}, DType::Int64).narrow(0, 0, 2), PgdOptions());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pgd: expected int64 labels [3]"), std::string::npos) << e.what();
  }
}
