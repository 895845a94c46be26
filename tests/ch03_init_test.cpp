// tests/ch03_init_test.cpp — the initialisers' statistics: Kaiming and Xavier standard deviations
// and bounds, orthogonality (Q^T Q = I), delta-orthogonal kernels as isometries (chapter 3).
#include <gtest/gtest.h>

#include <cmath>

#include "layers/init.h"
#include "layers/module.h"

namespace stablenn {
namespace {

double sample_std(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / double(v.size()));
}

double largest_abs(const Tensor& t) { return amax(abs(t.to(DType::Float64))).item(); }

TEST(Ch03Init, FanInAndFanOut) {
  EXPECT_EQ(fan_in({256, 784}), 784);
  EXPECT_EQ(fan_out({256, 784}), 256);
  EXPECT_EQ(fan_in({16, 3, 5, 5}), 75);
  EXPECT_EQ(fan_out({16, 3, 5, 5}), 400);
  EXPECT_THROW(fan_in({7}), Error);
}

TEST(Ch03Init, KaimingStandardDeviationAndBound) {
  // 131,072 samples: the sample std is within about 0.2 % of the true one (4 sigma < 1.2 %).
  Generator g(1);
  const Shape shape = {256, 512};
  const double relu_std = std::sqrt(2.0 / 512);
  EXPECT_NEAR(sample_std(kaiming_normal(shape, g)), relu_std, 0.012 * relu_std);
  const Tensor u = kaiming_uniform(shape, g);
  EXPECT_NEAR(sample_std(u), relu_std, 0.012 * relu_std);
  EXPECT_LE(largest_abs(u), std::sqrt(3.0) * relu_std);
  EXPECT_GT(largest_abs(u), 0.99 * std::sqrt(3.0) * relu_std);
  // Leaky ReLU with slope 0.2: gain sqrt(2 / 1.04). Convolution kernels use fan_in = C k k.
  const double leaky_std = std::sqrt(2.0 / 1.04) / std::sqrt(8.0 * 9);
  EXPECT_NEAR(sample_std(kaiming_normal({2048, 8, 3, 3}, g, 0.2)), leaky_std, 0.012 * leaky_std);
}

TEST(Ch03Init, XavierStandardDeviationAndBound) {
  Generator g(2);
  const Shape shape = {300, 500};
  const double want = 1.5 * std::sqrt(2.0 / 800);
  EXPECT_NEAR(sample_std(xavier_normal(shape, g, 1.5)), want, 0.012 * want);
  const Tensor u = xavier_uniform(shape, g, 1.5, DType::Float64);
  EXPECT_EQ(u.dtype(), DType::Float64);
  EXPECT_NEAR(sample_std(u), want, 0.012 * want);
  EXPECT_LE(largest_abs(u), std::sqrt(3.0) * want);
}

// Q^T Q (columns orthonormal) when rows >= cols, Q Q^T otherwise, equals gain^2 I.
void expect_orthogonal(const Tensor& q, double gain, double tol) {
  const bool tall = q.size(0) >= q.size(1);
  const Tensor q64 = q.to(DType::Float64);
  const Tensor gram = tall ? matmul_naive(q64.t(), q64) : matmul_naive(q64, q64.t());
  const int64_t n = gram.size(0);
  EXPECT_LT(max_abs_diff(gram, mul(Tensor::eye(n, DType::Float64), gain * gain)), tol);
}

TEST(Ch03Init, OrthogonalHasOrthonormalRowsOrColumns) {
  Generator g(3);
  for (const auto& rc : std::vector<std::pair<int64_t, int64_t>>{{64, 64}, {100, 30}, {30, 100}, {1, 5}}) {
    SCOPED_TRACE(std::to_string(rc.first) + " x " + std::to_string(rc.second));
    const Tensor q = orthogonal(rc.first, rc.second, g, 1.0, DType::Float64);
    ASSERT_EQ(q.shape(), (Shape{rc.first, rc.second}));
    expect_orthogonal(q, 1.0, 1e-12);
  }
  expect_orthogonal(orthogonal(50, 20, g, 2.0), 2.0, 1e-5);  // float32, with a gain
  // Seeded: the same generator state gives the same matrix.
  Generator a(4), b(4);
  EXPECT_EQ(max_abs_diff(orthogonal(8, 5, a), orthogonal(8, 5, b)), 0.0);
  EXPECT_THROW(orthogonal(0, 3, g), Error);
}

TEST(Ch03Init, DeltaOrthogonalKernelIsAnIsometry) {
  Generator g(5);
  const Tensor w = delta_orthogonal({6, 4, 3, 3}, g, 1.0, DType::Float64);
  // Zero except the centre tap, which is an orthogonal 6 x 4 matrix.
  for (int64_t p = 0; p < 3; ++p)
    for (int64_t q = 0; q < 3; ++q)
      if (p != 1 || q != 1) {
        EXPECT_EQ(largest_abs(w.select(3, q).select(2, p)), 0.0);
      }
  expect_orthogonal(w.select(3, 1).select(2, 1).contiguous(), 1.0, 1e-12);
  // With "same" padding the convolution preserves the norm of every input (O >= C).
  const Tensor x = g.normal({2, 4, 5, 5}, 0, 1, DType::Float64);
  const Tensor y = conv2d(x, w, Tensor(), 1, 1);
  EXPECT_NEAR(std::sqrt(sum(square(y)).item()), std::sqrt(sum(square(x)).item()), 1e-10);
  EXPECT_THROW(delta_orthogonal({6, 4, 2, 2}, g), Error);
}

}  // namespace
}  // namespace stablenn
