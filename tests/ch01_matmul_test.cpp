// Chapter 1 tests: matmul through BLAS against the naive triple loop.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>

#include "core/blas_gemm.h"
#include "tests/ch01_test_util.h"

using namespace stablenn;
using namespace stablenn::testing;

namespace {
double rel_err(const Tensor& got, const Tensor& want) {
  double scale = 0;
  for (double v : want.to_vector()) scale = std::max(scale, std::abs(v));
  return max_abs_diff(got, want) / std::max(scale, 1e-300);
}
}  // namespace

TEST(Ch01Matmul, HandComputed) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
  const Tensor b = Tensor::from_vector({1, 0, 0, 1, 1, 1}, {3, 2}, DType::Float64);
  EXPECT_EQ(matmul(a, b).to_vector(), (std::vector<double>{4, 5, 10, 11}));
  const Tensor v = Tensor::from_vector({1, 1, 1}, {3}, DType::Float64);
  EXPECT_EQ(matmul(a, v).to_vector(), (std::vector<double>{6, 15}));
  EXPECT_EQ(matmul(a, v).shape(), (Shape{2}));
  EXPECT_EQ(matmul(v, v).shape(), Shape{});
  EXPECT_EQ(matmul(v, v).item(), 3);
}

TEST(Ch01Matmul, RandomLayoutsAndBatchesMatchNaive) {
  Generator g(21);
  for (int trial = 0; trial < 120; ++trial) {
    const DType dtype = trial % 2 ? DType::Float64 : DType::Float32;
    const int64_t m = g.randint(1, 40), k = g.randint(1, 40), n = g.randint(1, 40);
    Shape batch_a, batch_b;
    if (trial % 3 == 1) { batch_a = {g.randint(1, 4)}; batch_b = batch_a; }
    if (trial % 3 == 2) { batch_a = {2, 1}; batch_b = {3}; }  // broadcast batch axes
    Shape sa = batch_a, sb = batch_b;
    sa.insert(sa.end(), {m, k});
    sb.insert(sb.end(), {k, n});
    const Tensor a = random_layout(g, sa, dtype), b = random_layout(g, sb, dtype);
    const Tensor want = matmul_naive(a, b);
    const Tensor got = matmul(a, b);
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_LT(rel_err(got, want), dtype == DType::Float64 ? 1e-12 : 1e-5)
        << shape_str(sa) << " @ " << shape_str(sb);
  }
}

TEST(Ch01Matmul, TransposedAndSlicedOperandsNeedNoCopyAndAgree) {
  Generator g(22);
  const Tensor base = g.normal({64, 96}, 0, 1, DType::Float64);
  const Tensor at = base.t();                       // [96, 64], column-major
  const Tensor sl = base.slice(1, 10, 74);          // [64, 64], row stride 96
  const Tensor stepped = base.slice(1, 0, 96, 3);   // [64, 32], column stride 3: copied
  EXPECT_LT(rel_err(matmul(at, sl), matmul_naive(at, sl)), 1e-12);
  EXPECT_LT(rel_err(matmul(sl.t(), stepped), matmul_naive(sl.t(), stepped)), 1e-12);
  const Tensor col = base.select(1, 5);  // strided vector
  EXPECT_LT(rel_err(matmul(at, col), matmul_naive(at, col)), 1e-12);
}

TEST(Ch01Matmul, LargeFloat32ProductMatchesNaive) {
  Generator g(23);
  const Tensor a = g.normal({200, 300}, 0, 1, DType::Float32), b = g.normal({300, 250}, 0, 1, DType::Float32);
  EXPECT_LT(rel_err(matmul(a, b), matmul_naive(a, b)), 1e-5);
}

// Tall and wide products, plain and transposed operands, at 2 threads and at 1, against the naive loop.
TEST(Ch01Matmul, TallAndWideProductsAtOneAndTwoThreadsMatchNaive) {
  Generator g(24);
  for (const auto& [m, k, n] : std::vector<std::array<int64_t, 3>>{{130, 96, 70}, {70, 96, 130}}) {
    const Tensor a = g.normal({m, k}, 0, 1, DType::Float64), b = g.normal({k, n}, 0, 1, DType::Float64);
    const Tensor at = a.t().contiguous().t(), bt = b.t().contiguous().t();  // same values, transposed layout
    const Tensor want = matmul_naive(a, b);
    for (int threads : {2, 1}) {
      FixedThreads fixed(threads);
      for (const Tensor& x : {a, at})
        for (const Tensor& y : {b, bt}) EXPECT_LT(rel_err(matmul(x, y), want), 1e-12) << m << "x" << n << " " << threads;
    }
  }
}

// The dense layer's a·b + bias (the GEMM adds onto the bias rows) against the naive product plus bias.
TEST(Ch01Matmul, MatmulBiasAddsTheBiasToEveryRow) {
  Generator g(25);
  const Tensor a = g.normal({90, 40}, 0, 1, DType::Float64), w = g.normal({30, 40}, 0, 1, DType::Float64);
  const Tensor bias = g.normal({30}, 0, 1, DType::Float64);
  const Tensor want = add(matmul_naive(a, w.t()), bias);
  EXPECT_LT(rel_err(matmul_bias(a, w.t(), bias), want), 1e-12);
  const Tensor f = matmul_bias(a.to(DType::Float32), w.t().to(DType::Float32), bias.to(DType::Float32));
  EXPECT_LT(rel_err(f.to(DType::Float64), want), 1e-5);
  // no inner dimension: the product is zero, so the result is the bias rows
  EXPECT_EQ(matmul_bias(Tensor::zeros({2, 0}), Tensor::zeros({0, 3}), Tensor::from_vector({1, 2, 3}, {3})).to_vector(),
            (std::vector<double>{1, 2, 3, 1, 2, 3}));
  const std::string msg = error_of([&] { matmul_bias(a, w.t(), g.normal({29}, 0, 1, DType::Float64)); });
  EXPECT_NE(msg.find("matmul_bias: expected a [m, k], b [k, n] and a bias [n]"), std::string::npos) << msg;
}

// The GEMM wrapper zeroes C itself and calls BLAS with beta = 1 (core/blas_gemm.h): with beta = 0 it
// must still ignore whatever C held (NaN here), and leave the padding between rows (ldc > n) alone.
template <typename T>
void check_gemm_overwrites_garbage(DType dtype, double tolerance) {
  Generator g(26);
  const int64_t m = 7, n = 5, k = 9, ldc = n + 3;
  const Tensor a = g.normal({m, k}, 0, 1, dtype), b = g.normal({k, n}, 0, 1, dtype);
  std::vector<T> c(m * ldc, std::numeric_limits<T>::quiet_NaN());
  gemm(false, false, m, n, k, a.data<T>(), k, b.data<T>(), n, T(0), c.data(), ldc);
  const std::vector<double> want = matmul_naive(a, b).to_vector();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const T got = c[i * ldc + j];
      if (j >= n) {
        EXPECT_TRUE(std::isnan(got)) << "padding at row " << i << " column " << j << " was written";
      } else {
        EXPECT_NEAR(got, want[i * n + j], tolerance) << "row " << i << " column " << j;
      }
    }
}

TEST(Ch01Matmul, GemmWithBetaZeroIgnoresWhatCHeldAndKeepsTheRowPadding) {
  check_gemm_overwrites_garbage<float>(DType::Float32, 1e-4);
  check_gemm_overwrites_garbage<double>(DType::Float64, 1e-12);
}

TEST(Ch01Matmul, EmptyAndErrors) {
  EXPECT_EQ(matmul(Tensor::zeros({3, 0}), Tensor::zeros({0, 4})).to_vector(), std::vector<double>(12, 0));
  EXPECT_EQ(matmul(Tensor::zeros({0, 2}), Tensor::zeros({2, 4})).shape(), (Shape{0, 4}));
  std::string msg = error_of([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); });
  EXPECT_NE(msg.find("matmul: inner dimensions differ, [2, 3] @ [4, 5]"), std::string::npos) << msg;
  msg = error_of([] { matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 5})); });
  EXPECT_NE(msg.find("cannot be broadcast"), std::string::npos) << msg;
  msg = error_of([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({3, 5}, DType::Float64)); });
  EXPECT_NE(msg.find("dtype mismatch"), std::string::npos) << msg;
}
