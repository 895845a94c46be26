// tests/ch07_spectral_norm_test.cpp — linear operators and their adjoints, power iteration against
// the SVD, the estimator's schedule, exact references (chapter 7).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "layers/stable/linear_operator.h"
#include "layers/stable/spectral_norm.h"

namespace stablenn {
namespace {

constexpr DType kF64 = DType::Float64;

double dot(const Tensor& a, const Tensor& b) { return sum(mul(a, b)).item(); }

struct ConvCase {
  int64_t in, out, k, stride, padding, h, w;
};

const ConvCase kConvCases[] = {
    {2, 3, 3, 1, 1, 5, 6}, {3, 2, 3, 2, 1, 7, 5}, {1, 4, 1, 1, 0, 4, 4},
    {2, 2, 5, 1, 2, 6, 6}, {3, 3, 3, 2, 0, 8, 7}, {4, 2, 2, 2, 0, 6, 6},
};

LinearOperator random_conv(const ConvCase& c, Generator& g) {
  return LinearOperator::convolution(Var(g.normal({c.out, c.in, c.k, c.k}, 0, 1, kF64)), c.stride,
                                     c.padding, c.h, c.w);
}

TEST(Ch07LinearOperator, ConvolutionAdjointIdentity) {
  // <y, A x> = <Aᵀ y, x> for the convolution and its transposed convolution at the same input size
  Generator g(1);
  for (const ConvCase& c : kConvCases) {
    const LinearOperator A = random_conv(c, g);
    const Tensor x = g.normal(A.input_shape(3), 0, 1, kF64);
    const Tensor y = g.normal(A.output_shape(3), 0, 1, kF64);
    const double lhs = dot(y, A.apply(x)), rhs = dot(A.adjoint(y), x);
    EXPECT_NEAR(lhs, rhs, 1e-11 * (std::abs(lhs) + 1)) << A.describe();
  }
}

TEST(Ch07LinearOperator, DenseAdjointIdentityAndVarMatchesTensor) {
  Generator g(2);
  const LinearOperator A = LinearOperator::dense(Var(g.normal({5, 7}, 0, 1, kF64)));
  const Tensor x = g.normal({4, 7}, 0, 1, kF64), y = g.normal({4, 5}, 0, 1, kF64);
  EXPECT_NEAR(dot(y, A.apply(x)), dot(A.adjoint(y), x), 1e-12);
  EXPECT_LT(max_abs_diff(A.apply(Var(x)).value(), A.apply(x)), 1e-14);
  EXPECT_LT(max_abs_diff(A.adjoint(Var(y)).value(), A.adjoint(y)), 1e-14);
  // against the naive product: x Wᵀ
  EXPECT_LT(max_abs_diff(A.apply(x), matmul_naive(x, A.weight().value().t())), 1e-12);
}

TEST(Ch07LinearOperator, ConvolutionMatchesNaiveLoopsAndAppliesBias) {
  Generator g(3);
  const ConvCase c{2, 3, 3, 1, 1, 5, 4};
  const Tensor w = g.normal({3, 2, 3, 3}, 0, 1, kF64), b = g.normal({3}, 0, 1, kF64);
  const LinearOperator A = LinearOperator::convolution(Var(w), c.stride, c.padding, c.h, c.w);
  const Tensor x = g.normal(A.input_shape(2), 0, 1, kF64);
  EXPECT_LT(max_abs_diff(A.apply(Var(x), Var(b)).value(), conv2d_naive(x, w, b, 1, 1)), 1e-12);
  const Tensor y = g.normal(A.output_shape(2), 0, 1, kF64);
  EXPECT_LT(max_abs_diff(A.adjoint(y), conv2d_input_adjoint_naive(y, w, {5, 4}, 1, 1)), 1e-12);
}

TEST(Ch07LinearOperator, WrongShapesThrowNamingTheOperator) {
  Generator g(4);
  const LinearOperator A = random_conv(kConvCases[0], g);
  try {
    A.apply(Tensor::zeros({1, 2, 4, 4}, kF64));
    FAIL() << "expected a throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[1, 2, 4, 4]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LinearOperator::dense(Var(Tensor::zeros({2, 2, 2}))), Error);
  EXPECT_THROW(MapGeometry::convolution(2, 2, 4, 4, 2), Error);  // even kernel
}

TEST(Ch07OperatorMatrix, ColumnsAreImagesOfUnitVectors) {
  // operator_matrix · x == A x for random x
  Generator g(5);
  for (const ConvCase& c : kConvCases) {
    const LinearOperator A = random_conv(c, g);
    const Tensor m = operator_matrix(A);
    ASSERT_EQ(m.shape(), (Shape{A.output_numel(), A.input_numel()}));
    const Tensor x = g.normal(A.input_shape(1), 0, 1, kF64);
    const Tensor mx = matmul_naive(m, x.reshape({-1, 1})).reshape(A.output_shape(1));
    EXPECT_LT(max_abs_diff(mx, A.apply(x)), 1e-11) << A.describe();
  }
}

TEST(Ch07SingularValues, ClosedForms) {
  // diag(3, -2, 0.5) and a rectangular matrix with known singular values Q diag(s) Pᵀ
  const Tensor d = Tensor::from_vector({3, 0, 0, 0, -2, 0, 0, 0, 0.5}, {3, 3}, kF64);
  const std::vector<double> s = singular_values(d);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0], 3, 1e-14);
  EXPECT_NEAR(s[1], 2, 1e-14);
  EXPECT_NEAR(s[2], 0.5, 1e-14);
  // [[1, 1], [0, 0], [0, 0]]: one singular value √2, one 0 (rows 3 > cols 2)
  const std::vector<double> r = singular_values(Tensor::from_vector({1, 1, 0, 0, 0, 0}, {3, 2}, kF64));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NEAR(r[0], std::sqrt(2.0), 1e-14);
  EXPECT_NEAR(r[1], 0, 1e-14);
  // σ_max² is the largest eigenvalue of WᵀW: check against the Rayleigh quotient bound
  Generator g(6);
  const Tensor w = g.normal({7, 4}, 0, 1, kF64);
  const std::vector<double> sw = singular_values(w);
  double frob = 0;
  for (double v : sw) frob += v * v;
  EXPECT_NEAR(frob, sum(square(w)).item(), 1e-10);  // Σσ² = ‖W‖_F²
  EXPECT_THROW(singular_values(Tensor::zeros({3}, kF64)), Error);
}

TEST(Ch07PowerIteration, ReturnsSigmaNotSigmaSquared) {
  const LinearOperator A =
      LinearOperator::dense(Var(Tensor::from_vector({3, 0, 0, 1}, {2, 2}, kF64)));
  Tensor u = Tensor::from_vector({0.6, 0.8}, {1, 2}, kF64);
  const PowerIterationResult r = power_iteration(A, u, 200, 1e-14);
  EXPECT_NEAR(r.sigma, 3.0, 1e-10);
  EXPECT_TRUE(r.converged);
  EXPECT_NEAR(std::abs(u.at({0, 0})), 1.0, 1e-8);
}

TEST(Ch07PowerIteration, AgreesWithSvdDenseAndConvolution) {
  Generator g(7);
  for (int trial = 0; trial < 4; ++trial) {
    const LinearOperator A = LinearOperator::dense(Var(g.normal({20 + trial, 15}, 0, 1, kF64)));
    Tensor u = random_unit_vector(A.input_sample_shape(), g, kF64);
    const double est = power_iteration(A, u, 5000, 1e-15).sigma;
    const double exact = singular_values(A.weight().value())[0];
    EXPECT_NEAR(est / exact, 1.0, 1e-4);
    EXPECT_LE(est, exact * (1 + 1e-12));  // from below
  }
  for (const ConvCase& c : kConvCases) {
    const LinearOperator A = random_conv(c, g);
    Tensor u = random_unit_vector(A.input_sample_shape(), g, kF64);
    const double est = power_iteration(A, u, 5000, 1e-15).sigma;
    const double exact = singular_values(operator_matrix(A))[0];
    EXPECT_NEAR(est / exact, 1.0, 1e-4) << A.describe();
    EXPECT_NEAR(exact_spectral_norm(A), exact, 1e-12);
  }
}

TEST(Ch07PowerIteration, Float32AgreesToItsPrecision) {
  Generator g(8);
  const Tensor w = g.normal({30, 20}, 0, 1, DType::Float32);
  const LinearOperator A = LinearOperator::dense(Var(w));
  Tensor u = random_unit_vector({20}, g, DType::Float32);
  const double est = power_iteration(A, u, 3000, 1e-7).sigma;
  EXPECT_NEAR(est / singular_values(w)[0], 1.0, 1e-4);
}

TEST(Ch07PowerIteration, ZeroMapAndBadVectors) {
  const LinearOperator A = LinearOperator::dense(Var(Tensor::zeros({3, 2}, kF64)));
  Tensor u = Tensor::from_vector({1, 0}, {1, 2}, kF64);
  EXPECT_EQ(power_iteration(A, u, 10).sigma, 0.0);
  EXPECT_EQ(u.at({0, 0}), 1.0);
  Tensor wrong = Tensor::zeros({1, 3}, kF64);
  EXPECT_THROW(power_iteration(A, wrong, 10), Error);
  Tensor wrong_dtype = Tensor::zeros({1, 2}, DType::Float32);
  EXPECT_THROW(power_iteration(A, wrong_dtype, 10), Error);
}

// An estimator with fresh buffers for A (the way a module registers them).
struct EstimatorWithBuffers {
  Tensor u, norm = SpectralNormEstimator::fresh_eval_norm(), key = SpectralNormEstimator::fresh_eval_key();
  SpectralNormEstimator est;
  EstimatorWithBuffers(const LinearOperator& A, Tensor u_, PowerIterationSchedule schedule = {})
      : u(std::move(u_)), est(A, u, norm, key, schedule) {}
};

TEST(Ch07SpectralNormEstimator, TrainingTakesOneWarmStartedIteration) {
  Generator g(9);
  Var w(g.normal({6, 5}, 0, 1, kF64), true);
  const LinearOperator A = LinearOperator::dense(w);
  PowerIterationSchedule schedule;
  schedule.init_iterations = 3;
  EstimatorWithBuffers e(A, random_unit_vector({5}, g, kF64), schedule);
  // the buffer handle sees the estimator's updates (it is the module's registered buffer)
  Tensor copy = e.u.clone();
  const double sigma = e.est.estimate(A, true);
  const double manual = power_iteration(A, copy, 1).sigma;
  EXPECT_DOUBLE_EQ(sigma, manual);
  EXPECT_LT(max_abs_diff(e.u, copy), 1e-15);
  EXPECT_EQ(e.norm.item(), 0.0);  // training never touches the stored bound
}

TEST(Ch07SpectralNormEstimator, EvaluationStoresTheUpperBoundAndRecomputesAfterAWeightChange) {
  Generator g(10);
  Var w(g.normal({8, 6}, 0, 1, kF64), true);
  const LinearOperator A = LinearOperator::dense(w);
  PowerIterationSchedule schedule;
  schedule.init_iterations = 2;  // u far from converged: evaluation must not depend on it
  EstimatorWithBuffers e(A, random_unit_vector({6}, g, kF64), schedule);
  const Tensor u_before = e.u.clone();
  const double exact = singular_values(w.value())[0];
  const double first = e.est.estimate(A, false);
  EXPECT_EQ(first, spectral_norm_upper_bound(A));
  EXPECT_GE(first, exact);
  EXPECT_LE(first, exact * (1 + 1e-11));
  EXPECT_EQ(e.norm.item(), first);  // stored in the buffers, with the weight's key
  EXPECT_EQ(e.key.to_int64()[0], static_cast<int64_t>(weight_norm_key(A)));
  EXPECT_EQ(max_abs_diff(e.u, u_before), 0.0);  // evaluation never moves u
  // a stored value with the matching key is used as it is (that is what a checkpoint carries)
  e.norm.fill_(7.25);
  EXPECT_EQ(e.est.estimate(A, false), 7.25);
  {
    NoGrad no_grad;
    w.mul_(2.0);
  }
  // the key no longer matches: recomputed and stored
  EXPECT_NEAR(e.est.estimate(A, false) / (2 * exact), 1.0, 1e-11);
  EXPECT_EQ(e.norm.item(), spectral_norm_upper_bound(A));
  // a change the version counter does not see (a raw copy, as a checkpoint load makes) is seen too
  Tensor storage = w.value();  // shares the weight's storage
  storage.copy_(mul(w.value(), 0.5));
  EXPECT_NEAR(e.est.estimate(A, false) / exact, 1.0, 1e-11);
  EXPECT_EQ(max_abs_diff(e.u, u_before), 0.0);
}

TEST(Ch07SpectralNormEstimator, WarmStartTracksSlowlyChangingWeights) {
  // After convergence, small weight changes keep the one-iteration estimate close to the truth.
  Generator g(11);
  Var w(g.normal({12, 10}, 0, 1, kF64), true);
  const LinearOperator A = LinearOperator::dense(w);
  EstimatorWithBuffers e(A, random_unit_vector({10}, g, kF64));
  for (int step = 0; step < 20; ++step) {
    {
      NoGrad no_grad;
      w.add_(g.normal({12, 10}, 0, 1e-3, kF64));
    }
    const double sigma = e.est.estimate(A, true);
    EXPECT_NEAR(sigma / singular_values(w.value())[0], 1.0, 1e-3) << "step " << step;
  }
}

TEST(Ch07SpectralNormEstimator, KeyCoversValuesDtypeShapeAndGeometry) {
  Generator g(14);
  const Tensor k = g.normal({2, 3, 3, 3}, 0, 1, kF64);
  const uint64_t base = weight_norm_key(LinearOperator::convolution(Var(k), 1, 1, 6, 6));
  EXPECT_EQ(weight_norm_key(LinearOperator::convolution(Var(k.clone()), 1, 1, 6, 6)), base);
  EXPECT_NE(weight_norm_key(LinearOperator::convolution(Var(k), 2, 1, 6, 6)), base);
  EXPECT_NE(weight_norm_key(LinearOperator::convolution(Var(k), 1, 1, 6, 7)), base);
  EXPECT_NE(weight_norm_key(LinearOperator::convolution(Var(k.to(DType::Float32)), 1, 1, 6, 6)), base);
  Tensor changed = k.clone();
  changed.set({1, 2, 0, 2}, std::nextafter(changed.at({1, 2, 0, 2}), 10.0));  // one ulp
  EXPECT_NE(weight_norm_key(LinearOperator::convolution(Var(changed), 1, 1, 6, 6)), base);
  const Tensor m = g.normal({4, 6}, 0, 1, kF64);
  EXPECT_NE(weight_norm_key(LinearOperator::dense(Var(m))),
            weight_norm_key(LinearOperator::dense(Var(m.reshape({6, 4})))));
}

TEST(Ch07SpectralNormEstimator, FingerprintCoversValuesDtypeShapeAndGeometry) {
  // the fast hash that guards the stored key sees every change weight_norm_key sees
  Generator g(16);
  const Tensor k = g.normal({2, 3, 3, 3}, 0, 1, kF64);
  const uint64_t base = weight_fingerprint(LinearOperator::convolution(Var(k), 1, 1, 6, 6));
  EXPECT_EQ(weight_fingerprint(LinearOperator::convolution(Var(k.clone()), 1, 1, 6, 6)), base);
  EXPECT_NE(weight_fingerprint(LinearOperator::convolution(Var(k), 2, 1, 6, 6)), base);
  EXPECT_NE(weight_fingerprint(LinearOperator::convolution(Var(k), 1, 1, 6, 7)), base);
  EXPECT_NE(weight_fingerprint(LinearOperator::convolution(Var(k.to(DType::Float32)), 1, 1, 6, 6)), base);
  const Tensor m = g.normal({4, 6}, 0, 1, kF64);
  EXPECT_NE(weight_fingerprint(LinearOperator::dense(Var(m))),
            weight_fingerprint(LinearOperator::dense(Var(m.reshape({6, 4})))));
  // one ulp anywhere, in every lane and in the tail (5 x 7 float32 = 140 bytes: 4 steps of 32 + 12)
  const Tensor w = g.normal({5, 7}, 0, 1, DType::Float32);
  const uint64_t wb = weight_fingerprint(LinearOperator::dense(Var(w)));
  std::set<uint64_t> seen = {wb};
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 7; ++j) {
      Tensor changed = w.clone();
      changed.set({i, j}, std::nextafter(float(changed.at({i, j})), 10.0f));
      EXPECT_TRUE(seen.insert(weight_fingerprint(LinearOperator::dense(Var(changed)))).second)
          << "entry " << i << ", " << j;
    }
}

TEST(Ch07SpectralNormEstimator, EvaluationRechecksTheKeyWhenTheBuffersChange) {
  // the fast path trusts the stored key only while the buffers hold what it verified
  Generator g(17);
  Var w(g.normal({7, 5}, 0, 1, kF64), true);
  const LinearOperator A = LinearOperator::dense(w);
  EstimatorWithBuffers e(A, random_unit_vector({5}, g, kF64));
  const double first = e.est.estimate(A, false);
  EXPECT_EQ(e.est.estimate(A, false), first);  // the fast path
  e.key.fill_(12345);  // a key of some other weight (as a checkpoint of another network would carry)
  e.norm.fill_(3.5);
  EXPECT_EQ(e.est.estimate(A, false), first);  // recomputed, not 3.5
  EXPECT_EQ(e.key.to_int64()[0], static_cast<int64_t>(weight_norm_key(A)));
  e.norm.fill_(3.5);  // the key matches: a stored value is used as it is, as before
  EXPECT_EQ(e.est.estimate(A, false), 3.5);
  EXPECT_EQ(e.est.estimate(A, false), 3.5);
}

TEST(Ch07SpectralNormEstimator, ReciprocalRoundedDown) {
  Generator g(15);
  for (int i = 0; i < 2000; ++i) {
    const double s = std::exp(g.uniform({}, -3, 3, kF64).item());
    const double m64 = reciprocal_rounded_down(s, kF64), m32 = reciprocal_rounded_down(s, DType::Float32);
    EXPECT_LE(std::fma(m64, s, -1.0), 0.0);  // m·s <= 1 exactly
    EXPECT_LE(std::fma(m32, s, -1.0), 0.0);
    EXPECT_GT(std::fma(std::nextafter(m64, INFINITY), s, -1.0), 0.0);  // and the largest such
    EXPECT_EQ(double(float(m32)), m32);                               // a float32 value
    EXPECT_GT(std::fma(double(std::nextafter(float(m32), INFINITY)), s, -1.0), 0.0);
  }
  EXPECT_EQ(reciprocal_rounded_down(1.0, DType::Float32), 1.0);
}

TEST(Ch07NormOfImage, GradientMatchesFiniteDifferences) {
  Generator g(12);
  const Tensor u = random_unit_vector({4}, g, kF64);
  auto f = [&](const std::vector<Var>& in) { return norm_of_image(LinearOperator::dense(in[0]), u); };
  EXPECT_TRUE(gradcheck(f, {g.normal({3, 4}, 0, 1, kF64)}));
  const Tensor uc = random_unit_vector({2, 4, 4}, g, kF64);
  auto fc = [&](const std::vector<Var>& in) {
    return norm_of_image(LinearOperator::convolution(in[0], 1, 1, 4, 4), uc);
  };
  EXPECT_TRUE(gradcheck(fc, {g.normal({2, 2, 3, 3}, 0, 1, kF64)}));
}

TEST(Ch07ExactReferences, SmallestSingularValueAndTapBound) {
  Generator g(13);
  for (const ConvCase& c : {ConvCase{2, 3, 3, 1, 1, 4, 4}, ConvCase{3, 3, 3, 1, 1, 5, 4}}) {
    const LinearOperator A = random_conv(c, g);
    const std::vector<double> s = singular_values(operator_matrix(A));
    EXPECT_NEAR(smallest_singular_value(A, g), s.back(), 1e-10) << A.describe();
    // the power-iteration path (exact_entries = 0) approaches σ_min from above
    const double estimate = smallest_singular_value(A, g, 0, 4000);
    EXPECT_GE(estimate, s.back() * (1 - 1e-9)) << A.describe();
    EXPECT_LE(estimate, s[0]) << A.describe();
    EXPECT_GE(convolution_norm_bound(A.weight().value()), s[0] * (1 - 1e-12));
  }
  // a 1x1 convolution's norm is that of its channel matrix, at any size
  const Tensor k = g.normal({3, 2, 1, 1}, 0, 1, kF64);
  const double channel = singular_values(k.reshape({3, 2}))[0];
  EXPECT_NEAR(convolution_norm_bound(k), channel, 1e-12);
  EXPECT_NEAR(exact_spectral_norm(LinearOperator::convolution(Var(k), 1, 0, 3, 3)), channel, 1e-12);
}

}  // namespace
}  // namespace stablenn
