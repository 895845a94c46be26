// Chapter 8 tests: the strong robustness evaluation (APGD, FMN, verification) against closed forms,
// an exhaustive search, and the chapter's weaker protocol.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "io/safetensors.h"
#include "datasets/toy2d.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "layers/losses.h"
#include "robust/robust_eval.h"
#include "train/optim.h"

using namespace stablenn;

namespace {

constexpr DType kF64 = DType::Float64;

// A K-class linear classifier on [N, d] with random weights, float64.
std::shared_ptr<Linear> random_linear(int64_t d, int64_t k, Generator& g) {
  return std::make_shared<Linear>(d, k, true, g, kF64);
}

// The closed-form distance of x (row i of [N, d]) to the boundary of a linear classifier in the
// norm whose dual is `dual_p` (l2: 2, l-inf: 1): min over j != y of (z_y − z_j)/‖w_y − w_j‖_dual.
double linear_distance(const Linear& m, const Tensor& x, int64_t i, int64_t y, double dual_p) {
  const Tensor z = predict_logits(const_cast<Linear&>(m), x.narrow(0, i, 1));
  const Tensor w = m.weight.value();
  double best = INFINITY;
  for (int64_t j = 0; j < w.size(0); ++j) {
    if (j == y) continue;
    double norm = 0;
    for (int64_t c = 0; c < w.size(1); ++c) {
      const double diff = std::abs(w.at({y, c}) - w.at({j, c}));
      norm += dual_p == 2 ? diff * diff : diff;
    }
    norm = dual_p == 2 ? std::sqrt(norm) : norm;
    best = std::min(best, (z.at({0, y}) - z.at({0, j})) / norm);
  }
  return best;
}

// 1-D inputs [N, 1], three classes: z0 = 0; z1 = 0.3·exp(−(20(x − 0.5))²) − 0.2, positive only in
// a thin band around 0.5; z2 = x − 1.5, negative on [0, 1] but rising, so cross-entropy keeps rising
// past the band: an ascent from x = 0 in steps of 0.25 visits the band at 0.5 and ends at x = 1,
// classified correctly.
class BandModel : public Module {
 public:
  Var forward(const Var& x) override {
    const Var z0 = mul(x, 0.0);
    const Var z1 = sub(mul(exp(mul(square(mul(sub(x, 0.5), 20.0)), -1.0)), 0.3), 0.2);
    const Var z2 = sub(x, 1.5);
    return concat(std::vector<Var>{z0, z1, z2}, 1);
  }
  std::string describe() const override { return "BandModel"; }
};

// Remembers the last input it was called with.
class Recording : public Module {
 public:
  explicit Recording(Module& inner) : inner_(inner) {}
  Var forward(const Var& x) override {
    last = x.value().clone();
    return inner_(x);
  }
  std::string describe() const override { return "Recording"; }
  Tensor last;

 private:
  Module& inner_;
};

}  // namespace

TEST(Ch08MinNormAttack, FindsTheClosedFormDistanceOfALinearClassifierWithinOnePercent) {
  Generator g(11);
  for (AttackNorm norm : {AttackNorm::L2, AttackNorm::Linf}) {
    auto model = random_linear(5, 2, g);  // two classes: one boundary (with more, FMN can settle on a farther class)
    const Tensor x = g.normal({30, 5}, 0, 1, kF64);
    const Tensor y = argmax(predict_logits(*model, x), 1);  // all correct as they are
    MinNormOptions o;
    o.norm = norm;
    o.steps = 200;
    o.lo = -100;
    o.hi = 100;
    const MinNormResult r = minimum_norm_attack(*model, x, y, o);
    const std::vector<int64_t> labels = y.to_int64();
    for (int64_t i = 0; i < 30; ++i) {
      const double d = linear_distance(*model, x, i, labels[i], norm == AttackNorm::L2 ? 2 : 1);
      ASSERT_TRUE(std::isfinite(r.norm[i])) << "no adversarial example for point " << i;
      EXPECT_GE(r.norm[i], d * (1 - 1e-9)) << "below the distance to the boundary: impossible";
      EXPECT_LE(r.norm[i], d * 1.01) << "point " << i << (norm == AttackNorm::L2 ? " (l2)" : " (linf)");
    }
  }
}

TEST(Ch08RobustEval, AnIntermediateIterateThatMisclassifiesCountsAsBroken) {
  BandModel band;
  Recording recorded(band);
  const Tensor x = Tensor::zeros({1, 1}, kF64), y = Tensor::from_int64({0}, {1});
  ASSERT_EQ(argmax(predict_logits(band, x), 1).to_int64()[0], 0);
  PgdOptions p;
  p.eps = 1.0;
  p.iterations = 8;
  p.step_size = 0.25;
  p.random_start = false;
  const AttackResult r = pgd(recorded, x, y, p);
  ASSERT_TRUE(recorded.last.defined());
  EXPECT_NEAR(recorded.last.item(), 1.0, 1e-9);
  EXPECT_EQ(argmax(predict_logits(band, recorded.last), 1).to_int64()[0], 0) << "the last iterate is correct";
  ASSERT_TRUE(r.fooled[0]) << "the iterate x = 0.5 misclassifies and must count";
  EXPECT_NEAR(r.adversarial.item(), 0.5, 1e-9) << "the fooling iterate is returned, not the last";
  // and it passes the evaluation's verification at eps = 0.5
  EXPECT_TRUE(verify_adversarial(band, x, r.adversarial, y, AttackNorm::L2, 0.5, 0, 1)[0].ok);
  // APGD drops a fooled example at once (early exit) and returns the fooling iterate: started in the
  // band, it is fooled at its first iterate.
  ApgdOptions a;
  a.eps = 1.0;
  a.iterations = 10;
  a.loss = AttackLoss::CrossEntropy;
  const AttackResult ra = apgd(band, x, y, a, Tensor::full({1, 1}, 0.5, kF64));
  EXPECT_TRUE(ra.fooled[0]);
  EXPECT_DOUBLE_EQ(ra.adversarial.item(), 0.5);
}

TEST(Ch08RobustEval, StrongCurveMatchesAnExhaustiveSearchAndIsBelowTheChapterCurve) {
  Generator g(5);
  const Dataset moons = make_moons(400, 0.15, g);
  const Tensor x_all = moons.inputs.to(kF64);
  auto net = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(2, 32, true, g, kF64), Tanh(), std::make_shared<Linear>(32, 32, true, g, kF64),
      Tanh(), std::make_shared<Linear>(32, 2, true, g, kF64)});
  Adam opt(net->parameters(), 0.02);
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    backward(cross_entropy((*net)(Var(x_all)), moons.labels));
    opt.step();
  }
  net->eval();
  const int64_t n = 60;
  const Tensor x = x_all.narrow(0, 0, n), y = moons.labels.narrow(0, 0, n);
  const std::vector<double> grid = {0, 0.05, 0.1, 0.2, 0.3, 0.45};
  RobustnessOptions o;
  o.eps = grid;
  o.lo = -4;
  o.hi = 4;
  o.iterations = 50;
  o.min_norm_steps = 100;
  const RobustnessReport strong = evaluate_robustness(*net, *net, x, y, o);
  // The same with a crippled FMN (one step): the APGD runs down the grid must find the breaks.
  o.min_norm_steps = 1;
  const RobustnessReport apgd_only = evaluate_robustness(*net, *net, x, y, o);
  o.protocol = AttackProtocol::kChapter;
  o.iterations = 100;
  const RobustnessReport chapter = evaluate_robustness(*net, *net, x, y, o);

  // Exhaustive search: the smallest circle of radius k·step around each point that holds a
  // misclassified point (2,880 angles per circle).
  const double step = 0.0025;
  const int angles = 2880;
  std::vector<double> exhaustive(n, INFINITY);
  const std::vector<int64_t> labels = y.to_int64();
  const std::vector<int64_t> clean = argmax(predict_logits(*net, x), 1).to_int64();
  for (int64_t i = 0; i < n; ++i) {
    if (clean[i] != labels[i]) { exhaustive[i] = 0; continue; }
    for (int k = 1; k * step <= grid.back() + 2 * step && std::isinf(exhaustive[i]); ++k) {
      std::vector<double> pts(2 * angles);
      for (int a = 0; a < angles; ++a) {
        pts[2 * a] = x.at({i, 0}) + k * step * std::cos(2 * M_PI * a / angles);
        pts[2 * a + 1] = x.at({i, 1}) + k * step * std::sin(2 * M_PI * a / angles);
      }
      const std::vector<int64_t> pred = argmax(predict_logits(*net, Tensor::from_vector(pts, {angles, 2}, kF64)), 1).to_int64();
      for (int a = 0; a < angles; ++a)
        if (pred[a] != labels[i]) exhaustive[i] = k * step;
    }
  }
  int64_t checked = 0;
  for (const RobustnessReport* r : {&strong, &apgd_only})
    for (size_t e = 0; e < grid.size(); ++e) {
      const std::vector<bool> robust = r->robust_at(e);
      for (int64_t i = 0; i < n; ++i) {
        if (exhaustive[i] <= grid[e] - step) {
          EXPECT_FALSE(robust[i]) << "point " << i << " is " << exhaustive[i] << " from the boundary, eps " << grid[e]
                                  << (r == &apgd_only ? " (APGD alone)" : "");
          ++checked;
        }
        if (exhaustive[i] > grid[e] + step) {
          EXPECT_TRUE(robust[i]) << "point " << i << ": no example exists at eps " << grid[e];
        }
      }
      EXPECT_LE(r->accuracy[e], chapter.accuracy[e] + 1e-12) << "eps " << grid[e];
    }
  EXPECT_GT(checked, 40) << "the test should break many points";
  // Each image broken inside the grid is credited to exactly one attack; with FMN crippled, the APGD
  // runs earn most of them.
  for (const RobustnessReport* r : {&strong, &apgd_only}) {
    int64_t broken = 0, credited = 0;
    for (int64_t i = 0; i < n; ++i) broken += r->min_norm[i] > 0 && r->broken_at[i] < static_cast<int64_t>(grid.size());
    for (int64_t c : r->found_by) credited += c;
    EXPECT_EQ(credited, broken);
    ASSERT_EQ(r->found_by_names.size(), 4u);
  }
  EXPECT_GT(apgd_only.found_by[1] + apgd_only.found_by[2] + apgd_only.found_by[3], apgd_only.found_by[0]);
  ASSERT_EQ(chapter.found_by_names, std::vector<std::string>{"CE-PGD"});
  EXPECT_LT(strong.accuracy.back(), strong.accuracy[1]) << "the grid should cover the boundary";
  // Monotone, and every broken image has a verified example within its eps.
  for (size_t e = 1; e < grid.size(); ++e) EXPECT_LE(strong.accuracy[e], strong.accuracy[e - 1]);
  for (int64_t i = 0; i < n; ++i)
    if (strong.broken_at[i] < static_cast<int64_t>(grid.size()) && strong.min_norm[i] > 0) {
      const std::vector<Verification> v = verify_adversarial(*net, x.narrow(0, i, 1), strong.adversarial.narrow(0, i, 1),
                                                             y.narrow(0, i, 1), AttackNorm::L2,
                                                             grid[strong.broken_at[i]], o.lo, o.hi);
      EXPECT_TRUE(v[0].ok) << v[0].reason;
    }
}

TEST(Ch08RobustEval, VerificationRejectsForgedExamples) {
  // logits (x0 + x1 − 1, 0): class 0 when x0 + x1 > 1
  auto model = std::make_shared<Linear>(2, 2, true, default_generator(), kF64);
  {
    NoGrad no_grad;
    model->weight.copy_(Tensor::from_vector({1, 1, 0, 0}, {2, 2}, kF64));
    model->bias.copy_(Tensor::from_vector({-1, 0}, {2}, kF64));
  }
  const Tensor x = Tensor::from_vector({0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6}, {4, 2}, kF64);
  const Tensor y = Tensor::from_int64({0, 0, 0, 0}, {4});
  // distance to the boundary: 0.2/√2 ≈ 0.1414
  const Tensor candidates = Tensor::from_vector({0.49, 0.49,     // valid: ‖δ‖ = 0.156, misclassified
                                                 0.30, 0.30,     // misclassified but ‖δ‖ = 0.42 > eps
                                                 1.2, -0.25,     // misclassified, ‖δ‖ small? no: pixels out of range
                                                 0.55, 0.55},    // within eps, still class 0
                                                {4, 2}, kF64);
  const std::vector<Verification> v = verify_adversarial(*model, x, candidates, y, AttackNorm::L2, 0.2, 0, 1);
  EXPECT_TRUE(v[0].ok) << v[0].reason;
  EXPECT_FALSE(v[1].ok);
  EXPECT_NE(v[1].reason.find("norm"), std::string::npos) << v[1].reason;
  const std::vector<Verification> wide = verify_adversarial(*model, x, candidates, y, AttackNorm::L2, 10, 0, 1);
  EXPECT_FALSE(wide[2].ok);
  EXPECT_NE(wide[2].reason.find("pixel"), std::string::npos) << wide[2].reason;
  EXPECT_FALSE(v[3].ok);
  EXPECT_NE(v[3].reason.find("classified correctly"), std::string::npos) << v[3].reason;
  // the 1e-6 slack, and no more
  const Tensor edge = Tensor::from_vector({0.399, 0.4}, {1, 2}, kF64);  // x0 + x1 < 1: class 1
  const double norm = per_example_norms(sub(edge, x.narrow(0, 0, 1)), AttackNorm::L2)[0];
  EXPECT_TRUE(verify_adversarial(*model, x.narrow(0, 0, 1), edge, y.narrow(0, 0, 1), AttackNorm::L2, norm - 5e-7, 0, 1)[0].ok);
  EXPECT_FALSE(verify_adversarial(*model, x.narrow(0, 0, 1), edge, y.narrow(0, 0, 1), AttackNorm::L2, norm - 2e-6, 0, 1)[0].ok);
}

TEST(Ch08RobustEval, SavedAdversarialExamplesReloadAndVerify) {
  Generator g(9);
  auto model = random_linear(6, 4, g);
  const Tensor x = g.uniform({20, 6}, 0, 1, kF64);
  const Tensor y = argmax(predict_logits(*model, x), 1);
  RobustnessOptions o;
  o.eps = {0, 0.1, 0.3, 1.0};
  o.iterations = 20;
  const RobustnessReport r = evaluate_robustness(*model, *model, x, y, o);
  const std::string path = testing::TempDir() + "ch08_adversarial.safetensors";
  save_adversarial(path, r, x, y, o);
  const SafetensorsContent c = load_safetensors(path);
  ASSERT_NE(c.find("adversarial"), nullptr);
  ASSERT_NE(c.find("min_norm"), nullptr);
  EXPECT_EQ(c.metadata.at("protocol"), "strong");
  EXPECT_EQ(c.find("eps")->to_vector(), o.eps);
  EXPECT_EQ(c.find("accuracy")->to_vector(), r.accuracy);
  const std::vector<double> norms = c.find("min_norm")->to_vector();
  const std::vector<Verification> v =
      verify_adversarial(*model, *c.find("images"), *c.find("adversarial"), *c.find("labels"), AttackNorm::L2, INFINITY, 0, 1);
  int64_t broken = 0;
  for (int64_t i = 0; i < 20; ++i)
    if (std::isfinite(norms[i])) {
      EXPECT_TRUE(v[i].ok) << "image " << i << ": " << v[i].reason;
      ++broken;
    }
  EXPECT_GT(broken, 0);
}

TEST(Ch08RobustEval, BadOptionsAreNamed) {
  Generator g(1);
  auto model = random_linear(2, 2, g);
  const Tensor x = Tensor::zeros({3, 2}, kF64), y = Tensor::from_int64({0, 1, 0}, {3});
  RobustnessOptions o;
  o.eps = {0, 0.5, 0.25};
  try {
    evaluate_robustness(*model, *model, x, y, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ascending"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_attack_protocol("weak"), Error);
  EXPECT_EQ(parse_attack_protocol("chapter"), AttackProtocol::kChapter);
}

// With several threads the batches of either protocol run whole on different threads; each batch
// keeps its seeds (the strong protocol's generator is seeded by the batch index) and each op runs on
// one thread either way, so the report equals the one computed batch after batch on one thread, bit
// for bit.
TEST(Ch08RobustEval, BatchesOnThreadsGiveTheReportOfBatchesInOrder) {
  Generator g(21);
  const Dataset moons = make_moons(300, 0.15, g);
  auto net = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(2, 32, true, g), Tanh(), std::make_shared<Linear>(32, 2, true, g)});
  Adam opt(net->parameters(), 0.02);
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    backward(cross_entropy((*net)(Var(moons.inputs)), moons.labels));
    opt.step();
  }
  net->eval();
  const Tensor x = moons.inputs.narrow(0, 0, 120), y = moons.labels.narrow(0, 0, 120);
  for (AttackProtocol protocol : {AttackProtocol::kChapter, AttackProtocol::kStrong}) {
    SCOPED_TRACE(attack_protocol_name(protocol));
    RobustnessOptions o;
    o.protocol = protocol;
    o.eps = {0, 0.1, 0.2, 0.4};
    o.lo = -4;
    o.hi = 4;
    o.iterations = 20;
    o.min_norm_steps = 1;  // FMN finds little, so the random starts decide what is found
    o.batch_size = 25;  // 120 images: five batches
    auto report = [&](int threads) {
      FixedThreads fixed(threads);
      return evaluate_robustness(*net, *net, x, y, o);
    };
    const RobustnessReport one = report(1), two = report(2);
    EXPECT_EQ(one.accuracy, two.accuracy);
    EXPECT_EQ(one.min_norm, two.min_norm);
    EXPECT_EQ(one.broken_at, two.broken_at);
    EXPECT_EQ(one.found_by, two.found_by);
    EXPECT_EQ(one.rejected, two.rejected);
    EXPECT_EQ(max_abs_diff(one.adversarial, two.adversarial), 0.0);
    // the attack broke some images and not all, so the comparison covers both kinds of rows
    EXPECT_GT(one.accuracy[2], 0.0);
    EXPECT_LT(one.accuracy[3], one.accuracy[0]);
  }
}
