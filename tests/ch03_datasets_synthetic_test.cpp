// tests/ch03_datasets_synthetic_test.cpp — the synthetic shapes image set (chapter 3) and the toy
// 2-D sets (chapter 5): closed-form geometry at zero noise, balance, seeding, thread independence.
#include <gtest/gtest.h>

#include <cmath>

#include "core/stablenn_core.h"
#include "datasets/datasets.h"

using namespace stablenn;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Points {
  std::vector<float> xy;
  std::vector<int64_t> labels;
  explicit Points(const Dataset& d) : xy(d.inputs.to_floats()), labels(d.labels.to_int64()) {}
  double x(size_t i) const { return xy[2 * i]; }
  double y(size_t i) const { return xy[2 * i + 1]; }
};

void expect_balanced_and_seeded(Dataset (*make)(int64_t, double, Generator&)) {
  Generator a(5), b(5), c(6);
  const Dataset d = make(101, 0.1, a);
  ASSERT_EQ(d.inputs.shape(), (Shape{101, 2}));
  ASSERT_EQ(d.labels.dtype(), DType::Int64);
  EXPECT_EQ(class_counts(d), (std::vector<int64_t>{51, 50}));
  EXPECT_EQ(d.inputs.to_floats(), make(101, 0.1, b).inputs.to_floats());
  EXPECT_NE(d.inputs.to_floats(), make(101, 0.1, c).inputs.to_floats());
}

Dataset moons(int64_t n, double noise, Generator& g) { return make_moons(n, noise, g); }
Dataset circles(int64_t n, double noise, Generator& g) { return make_circles(n, noise, g); }
Dataset spirals(int64_t n, double noise, Generator& g) { return make_spirals(n, noise, g); }
Dataset checkerboard(int64_t n, double noise, Generator& g) { return make_checkerboard(n, noise, g); }

TEST(Toy2d, BalancedAndSeeded) {
  expect_balanced_and_seeded(moons);
  expect_balanced_and_seeded(circles);
  expect_balanced_and_seeded(spirals);
  expect_balanced_and_seeded(checkerboard);
}

TEST(Toy2d, MoonsLieOnTheirArcsWithoutNoise) {
  Generator gen(1);
  const Points p(make_moons(400, 0.0, gen));
  for (size_t i = 0; i < p.labels.size(); ++i) {
    if (p.labels[i] == 0) {
      EXPECT_NEAR(std::hypot(p.x(i), p.y(i)), 1.0, 1e-6);
      EXPECT_GE(p.y(i), -1e-6);
    } else {
      EXPECT_NEAR(std::hypot(p.x(i) - 1.0, p.y(i) - 0.5), 1.0, 1e-6);
      EXPECT_LE(p.y(i), 0.5 + 1e-6);
    }
  }
}

TEST(Toy2d, CirclesRadiiAndNoiseLevel) {
  Generator gen(2);
  const Points p(make_circles(400, 0.0, gen, 0.3));
  for (size_t i = 0; i < p.labels.size(); ++i) {
    EXPECT_NEAR(std::hypot(p.x(i), p.y(i)), p.labels[i] == 0 ? 1.0 : 0.3, 1e-6);
  }
  // The jitter's standard deviation is `noise`: compare against the noise-free points, same draws.
  Generator g1(3), g2(3);
  const Points clean(make_circles(20000, 0.0, g1));
  const Points noisy(make_circles(20000, 0.05, g2));
  double sum2 = 0;
  for (size_t k = 0; k < clean.xy.size(); ++k) sum2 += std::pow(noisy.xy[k] - clean.xy[k], 2);
  EXPECT_NEAR(std::sqrt(sum2 / clean.xy.size()), 0.05, 0.001);
}

TEST(Toy2d, SpiralsAngleFollowsRadius) {
  Generator gen(4);
  const double turns = 1.5;
  const Points p(make_spirals(300, 0.0, gen, turns));
  for (size_t i = 0; i < p.labels.size(); ++i) {
    const double r = std::hypot(p.x(i), p.y(i));
    EXPECT_GE(r, 0.05 - 1e-6);
    EXPECT_LE(r, 1.0 + 1e-6);
    // Rotating the point back by its expected angle must land on the positive x axis.
    const double angle = 2 * kPi * turns * r + (p.labels[i] == 0 ? 0.0 : kPi);
    const double back_x = p.x(i) * std::cos(-angle) - p.y(i) * std::sin(-angle);
    const double back_y = p.x(i) * std::sin(-angle) + p.y(i) * std::cos(-angle);
    EXPECT_NEAR(back_y, 0.0, 1e-5);
    EXPECT_NEAR(back_x, r, 1e-5);
  }
}

TEST(Toy2d, CheckerboardColoursWithoutNoise) {
  Generator gen(5);
  const Points p(make_checkerboard(500, 0.0, gen, 4));
  for (size_t i = 0; i < p.labels.size(); ++i) {
    const int cx = std::min(3, int((p.x(i) + 1) / 2 * 4)), cy = std::min(3, int((p.y(i) + 1) / 2 * 4));
    EXPECT_EQ((cx + cy) % 2, p.labels[i]);
    EXPECT_LE(std::abs(p.x(i)), 1.0);
  }
}

// ---- the synthetic shapes (chapter 3) ----

TEST(Shapes, ShapeRangeBalanceAndSeed) {
  Generator a(10), b(10), c(11);
  const Dataset d = make_shapes(200, a);
  ASSERT_EQ(d.inputs.shape(), (Shape{200, 1, 28, 28}));
  EXPECT_EQ(class_counts(d), std::vector<int64_t>(10, 20));
  EXPECT_EQ(d.num_classes(), 10);
  EXPECT_EQ(d.class_names[6], "plus");
  EXPECT_GE(amin(d.inputs).item(), 0.0);
  EXPECT_LE(amax(d.inputs).item(), 1.0);
  EXPECT_EQ(d.inputs.to_floats(), make_shapes(200, b).inputs.to_floats());
  EXPECT_NE(d.inputs.to_floats(), make_shapes(200, c).inputs.to_floats());
}

TEST(Shapes, IndependentOfThreadCount) {
  std::vector<float> one, two;
  {
    FixedThreads fixed(1);
    Generator a(12);
    one = make_shapes(64, a).inputs.to_floats();
  }
  {
    FixedThreads fixed(2);
    Generator b(12);
    two = make_shapes(64, b).inputs.to_floats();
  }
  EXPECT_EQ(one, two);
}

TEST(Shapes, ClassesDifferButNotTrivially) {
  // A nearest-class-mean classifier (trained on 2,000 images, tested on 1,000 others) must do far
  // better than chance (the classes carry signal) yet stay far from perfect (the set is not trivial).
  Generator gen(13);
  const Dataset train = make_shapes(2000, gen), test = make_shapes(1000, gen);
  const int64_t pixels = 28 * 28;
  std::vector<double> means(10 * pixels, 0.0);
  const std::vector<float> x = train.inputs.to_floats();
  const std::vector<int64_t> y = train.labels.to_int64();
  for (size_t i = 0; i < y.size(); ++i) {
    for (int64_t p = 0; p < pixels; ++p) means[y[i] * pixels + p] += x[i * pixels + p] / 200.0;
  }
  const std::vector<float> tx = test.inputs.to_floats();
  const std::vector<int64_t> ty = test.labels.to_int64();
  int64_t correct = 0;
  for (size_t i = 0; i < ty.size(); ++i) {
    int best = 0;
    double best_distance = 1e300;
    for (int c = 0; c < 10; ++c) {
      double distance = 0;
      for (int64_t p = 0; p < pixels; ++p) distance += std::pow(tx[i * pixels + p] - means[c * pixels + p], 2);
      if (distance < best_distance) best_distance = distance, best = c;
    }
    correct += best == ty[i];
  }
  const double accuracy = correct / 1000.0;
  EXPECT_GT(accuracy, 0.2);
  EXPECT_LT(accuracy, 0.9);
}

}  // namespace
