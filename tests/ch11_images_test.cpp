// tests/ch11_images_test.cpp — chapter 11's image set: two classes of an image set relabelled, the
// principal-component lift (against the covariance's eigenvalues by Jacobi, orthonormal, deterministic,
// fitted on training data and applied to other data), and the chapter program on `--sets digits`.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "datasets/fallback.h"
#include "datasets/shapes.h"
#include "ode/stability.h"
#include "train/control_images.h"

using namespace stablenn;
namespace fs = std::filesystem;

namespace {

// n images [n, 1, 6, 6]: mean + Σ_k a_k pattern_k + small noise, the a_k of standard deviations 3, 2
// and 1 along three orthonormal patterns; labels i % 3 of three named classes.
Dataset pattern_images(int64_t n, uint64_t seed) {
  const int64_t f = 36;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<std::vector<double>> patterns(3, std::vector<double>(f, 0.0));
  for (int64_t j = 0; j < 12; ++j) patterns[0][j] = 1 / std::sqrt(12.0);
  for (int64_t j = 12; j < 24; ++j) patterns[1][j] = (j % 2 ? 1 : -1) / std::sqrt(12.0);
  for (int64_t j = 24; j < 36; ++j) patterns[2][j] = (j < 30 ? 1 : -1) / std::sqrt(12.0);
  const double sd[3] = {3, 2, 1};
  std::vector<float> x(n * f);
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < f; ++j) x[i * f + j] = static_cast<float>(0.5 + 0.01 * normal(rng));
    for (int k = 0; k < 3; ++k) {
      const double a = sd[k] * normal(rng);
      for (int64_t j = 0; j < f; ++j) x[i * f + j] += static_cast<float>(a * patterns[k][j]);
    }
    labels[i] = i % 3;
  }
  Dataset d;
  d.name = "patterns";
  std::vector<double> xd(x.begin(), x.end());
  d.inputs = Tensor::from_vector(xd, {n, 1, 6, 6}, DType::Float32);
  d.labels = Tensor::from_int64(labels, {n});
  d.class_names = {"a", "b", "c"};
  return d;
}

// The sample covariance of the flattened images (F × F).
std::vector<double> covariance(const Dataset& d) {
  const int64_t n = d.inputs.size(0), f = d.inputs.numel() / n;
  const Tensor t = d.inputs.to(DType::Float64).contiguous();
  const double* x = t.data<double>();
  std::vector<double> mean(f, 0.0), c(f * f, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) mean[j] += x[i * f + j] / n;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < f; ++a)
      for (int64_t b = 0; b < f; ++b) c[a * f + b] += (x[i * f + a] - mean[a]) * (x[i * f + b] - mean[b]) / n;
  return c;
}

}  // namespace

TEST(Ch11Images, TwoClassesKeepsOrderAndRelabels) {
  Generator gen(3);
  const Dataset shapes = make_shapes(60, gen);
  const Dataset two = two_classes(shapes, 7, 2);
  const Tensor all = shapes.labels.contiguous(), kept = two.labels.contiguous();
  std::vector<int64_t> expected;
  for (int64_t i = 0; i < shapes.size(); ++i) {
    const int64_t y = all.data<int64_t>()[i];
    if (y == 7) expected.push_back(0);
    if (y == 2) expected.push_back(1);
  }
  ASSERT_EQ(two.size(), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(std::vector<int64_t>(kept.data<int64_t>(), kept.data<int64_t>() + two.size()), expected);
  EXPECT_EQ(two.class_names, (std::vector<std::string>{shapes.class_names[7], shapes.class_names[2]}));
  EXPECT_EQ(two.inputs.size(0), two.size());
  EXPECT_EQ(two.inputs.size(2), 28);
  EXPECT_THROW(two_classes(shapes, 3, 3), Error);
  EXPECT_THROW(two_classes(shapes, 0, 10), Error);
  EXPECT_THROW(two_classes(shapes, -1, 2), Error);
}

TEST(Ch11Images, LiftFindsTheLeadingEigenvectorsOfTheCovariance) {
  const Dataset d = pattern_images(400, 1);
  const PcaLift lift = fit_pca_lift(d, 3);
  ASSERT_EQ(lift.features, 36);
  ASSERT_EQ(lift.components, 3);
  ASSERT_EQ(lift.basis.size(), 3u * 36u);
  ASSERT_EQ(lift.variances.size(), 3u);
  // The variances are the three largest eigenvalues of the sample covariance (Jacobi, chapter 6).
  const std::vector<double> c = covariance(d);
  std::vector<double> eig = symmetric_eigenvalues(c, 36);  // ascending
  double trace = 0;
  for (int64_t j = 0; j < 36; ++j) trace += c[j * 36 + j];
  EXPECT_NEAR(lift.total_variance, trace, 1e-9 * trace);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(lift.variances[k], eig[35 - k], 1e-8 * eig[35]) << "component " << k;
  EXPECT_GT(lift.variances[0], lift.variances[1]);
  EXPECT_GT(lift.variances[1], lift.variances[2]);
  EXPECT_DOUBLE_EQ(lift.scale, std::sqrt(lift.variances[0]));
  // Orthonormal rows, each an eigenvector (C v = λ v), its largest entry positive.
  for (int a = 0; a < 3; ++a) {
    const double* va = lift.basis.data() + a * 36;
    for (int b = 0; b < 3; ++b) {
      double p = 0;
      for (int j = 0; j < 36; ++j) p += va[j] * lift.basis[b * 36 + j];
      EXPECT_NEAR(p, a == b ? 1.0 : 0.0, 1e-12);
    }
    double residual = 0, big = 0;
    for (int i = 0; i < 36; ++i) {
      double cv = 0;
      for (int j = 0; j < 36; ++j) cv += c[i * 36 + j] * va[j];
      residual = std::max(residual, std::abs(cv - lift.variances[a] * va[i]));
      if (std::abs(va[i]) > std::abs(big)) big = va[i];
    }
    EXPECT_LT(residual, 1e-6 * lift.variances[0]) << "component " << a;
    EXPECT_GT(big, 0) << "component " << a;
  }
}

TEST(Ch11Images, LiftIsDeterministicAndShapesTheSamples) {
  const Dataset train = pattern_images(300, 2), test = pattern_images(50, 3);
  const PcaLift a = fit_pca_lift(train, 4), b = fit_pca_lift(train, 4);
  EXPECT_EQ(a.basis, b.basis);  // bit for bit: a fixed start, no threads
  EXPECT_EQ(a.mean, b.mean);
  const ControlSamples s = lift_samples(a, train), t = lift_samples(a, test);
  EXPECT_EQ(s.count, 300);
  EXPECT_EQ(s.input_dim, 4);
  EXPECT_EQ(s.inputs.size(), 300u * 4u);
  EXPECT_EQ(t.count, 50);
  EXPECT_EQ(t.inputs.size(), 50u * 4u);
  const Tensor labels = test.labels.contiguous();
  EXPECT_EQ(t.labels, std::vector<int64_t>(labels.data<int64_t>(), labels.data<int64_t>() + 50));
  // On the training images: centred, the first coordinate of unit variance, the others as fitted.
  for (int c = 0; c < 4; ++c) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < 300; ++i) mean += s.inputs[i * 4 + c] / 300;
    for (int64_t i = 0; i < 300; ++i) var += (s.inputs[i * 4 + c] - mean) * (s.inputs[i * 4 + c] - mean) / 300;
    EXPECT_NEAR(mean, 0, 1e-10);
    EXPECT_NEAR(var, a.variances[c] / a.variances[0], 1e-9) << "component " << c;
  }
  // The samples fit a controlled ODE of dimension ≥ m (padded with zeros there).
  Generator g(5);
  const ControlledOde m = make_controlled_ode(6, 2, 2, 1.0, FieldActivation::kTanh, g);
  EXPECT_EQ(integrate(m, t).states.back().size(), 50u * 6u);
}

TEST(Ch11Images, BadLiftsAreReportedNotCrashed) {
  const Dataset d = pattern_images(10, 4);
  EXPECT_THROW(fit_pca_lift(d, 0), Error);
  EXPECT_THROW(fit_pca_lift(d, 10), Error);  // centred, 10 images have rank ≤ 9
  EXPECT_THROW(fit_pca_lift(d, 37), Error);
  const PcaLift lift = fit_pca_lift(d, 2);
  Generator gen(1);
  const Dataset shapes = make_shapes(10, gen);  // 784 pixels, not 36
  try {
    lift_samples(lift, shapes);
    FAIL() << "expected a throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("784"), std::string::npos) << e.what();
  }
  Dataset flat = d;
  flat.inputs = Tensor::from_vector(std::vector<double>(10 * 36, 0.25), {10, 36}, DType::Float32);
  EXPECT_THROW(fit_pca_lift(flat, 2), Error);  // all images equal: no direction
}

// The chapter program on the image set alone (--smoke): the real MNIST digits or, without the files,
// the synthetic stand-in said loudly; its results recorded; no decision-region figure.
TEST(Ch11Images, ProgramRunsTheDigitsSet) {
  const fs::path dir = fs::path(testing::TempDir()) / "ch11_digits";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path log = dir / "log.txt";
  const std::string cmd = std::string(STABLENN_BINARY_DIR) + "/notebooks_cpp/ch11_adaptivity --smoke --sets digits --out " +
                          dir.string() + " > " + log.string() + " 2>&1 < /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "the chapter program failed; its output is in " << log;
  std::stringstream out, results;
  out << std::ifstream(log).rdbuf();
  results << std::ifstream(dir / "ch11_results.json").rdbuf();
  const std::string text = out.str(), json = results.str();
  const bool synthetic = text.find("SYNTHETIC data instead") != std::string::npos;
  EXPECT_NE(text.find(synthetic ? "digits: SYNTHETIC stand-in" : "digits: MNIST, classes 3 and 5"), std::string::npos)
      << text;
  for (const char* key : {"\"digits.adaptive.test\"", "\"digits.best_fixed.test\"", "\"digits.uniform.test\"",
                          "\"digits.effectivity.min\"", "\"digits.components\"", "\"digits.source\"", "\"digits_cycles\""})
    EXPECT_NE(json.find(key), std::string::npos) << key << " missing from " << json;
  EXPECT_FALSE(fs::exists(dir / "ch11_digits_regions.png"));
  EXPECT_TRUE(fs::exists(dir / "ch11_digits_accuracy.png"));
  EXPECT_TRUE(fs::exists(dir / "ch11_digits_mesh.png"));
}

// Without the MNIST files the program takes two classes of the synthetic shapes set instead: the
// same sizes per class and a lift that fits it.
TEST(Ch11Images, SyntheticStandInGivesTwoBalancedClassesThatLift) {
  const TrainTestData data = shapes_stand_in(10 * 60, 10 * 100, 7);
  const Dataset train = two_classes(data.train, 3, 5), test = two_classes(data.test, 3, 5);
  EXPECT_EQ(class_counts(train), (std::vector<int64_t>{60, 60}));
  EXPECT_EQ(class_counts(test), (std::vector<int64_t>{100, 100}));
  const PcaLift lift = fit_pca_lift(train, 8);
  const ControlSamples s = lift_samples(lift, test);
  EXPECT_EQ(s.count, 200);
  EXPECT_EQ(s.input_dim, 8);
  for (double v : s.inputs) ASSERT_TRUE(std::isfinite(v));
}
