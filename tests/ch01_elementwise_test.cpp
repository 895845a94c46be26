// Chapter 1 tests: element-wise ops under broadcasting and arbitrary strides, against naive loops.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "tests/ch01_test_util.h"

using namespace stablenn;
using namespace stablenn::testing;

namespace {
// Checks out == f(a[i], b[i]) element by element, with broadcasting done by index arithmetic.
void expect_binary(const Tensor& a, const Tensor& b, const Tensor& out,
                   const std::function<double(double, double)>& f, double tol) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
  ASSERT_EQ(out.shape(), shape);
  for_each_index(shape, [&](const Shape& i) {
    const double want = f(a.at(broadcast_index(i, a.shape())), b.at(broadcast_index(i, b.shape())));
    ASSERT_NEAR(out.at(i), want, tol * (1 + std::abs(want))) << "at index " << shape_str(i);
  });
}
}  // namespace

TEST(Ch01Elementwise, RandomBroadcastingAndStridesMatchNaiveLoops) {
  Generator g(1);
  for (int trial = 0; trial < 300; ++trial) {
    const DType dtype = trial % 2 ? DType::Float64 : DType::Float32;
    const double tol = dtype == DType::Float64 ? 1e-15 : 1e-6;
    Shape sa = random_shape(g), sb = broadcastable_to(g, sa);
    if (trial % 3 == 0) std::swap(sa, sb);
    const Tensor a = random_layout(g, sa, dtype), b = random_layout(g, sb, dtype);
    expect_binary(a, b, add(a, b), [](double x, double y) { return x + y; }, tol);
    expect_binary(a, b, sub(a, b), [](double x, double y) { return x - y; }, tol);
    expect_binary(a, b, mul(a, b), [](double x, double y) { return x * y; }, tol);
    expect_binary(a, b, div(a, b), [](double x, double y) { return x / y; }, tol);
    expect_binary(a, b, maximum(a, b), [](double x, double y) { return std::max(x, y); }, tol);
    expect_binary(a, b, lt(a, b), [](double x, double y) { return x < y ? 1.0 : 0.0; }, 0);
    expect_binary(a, b, where(gt(a, b), a, b),
                  [](double x, double y) { return x > y ? x : y; }, 0);
  }
}

TEST(Ch01Elementwise, LargeTensorsTakeTheParallelPath) {
  Generator g(2);
  // big enough to be split across threads; a transposed operand exercises the strided loop
  const Tensor a = g.normal({600, 500}, 0, 1, DType::Float64);
  const Tensor b = g.normal({500, 600}, 0, 1, DType::Float64).t();
  const Tensor c = g.normal({500}, 0, 1, DType::Float64);
  expect_binary(a, b, a * b, [](double x, double y) { return x * y; }, 1e-15);
  expect_binary(a, c, a - c, [](double x, double y) { return x - y; }, 1e-15);
}

TEST(Ch01Elementwise, ScalarsAndZeroSizedAxes) {
  const Tensor a = Tensor::from_vector({1, 2, 3}, {3}, DType::Float64);
  EXPECT_EQ((a * 2.0 + 1.0).to_vector(), (std::vector<double>{3, 5, 7}));
  EXPECT_EQ((2.0 * a).to_vector(), (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(add(a, Tensor::scalar(1, DType::Float64)).shape(), (Shape{3}));
  const Tensor empty_rows = Tensor::zeros({0, 3}, DType::Float64);
  EXPECT_EQ(add(empty_rows, a).shape(), (Shape{0, 3}));
  EXPECT_EQ(add(Tensor::zeros({2, 1, 3}), Tensor::zeros({0, 1})).shape(), (Shape{2, 0, 3}));
}

TEST(Ch01Elementwise, UnaryOpsMatchTheStandardLibrary) {
  Generator g(3);
  const Tensor x = random_layout(g, {5, 7}, DType::Float64);
  struct Case {
    Tensor out;
    std::function<double(double)> f;
  };
  const std::vector<Case> cases = {
      {neg(x), [](double v) { return -v; }},
      {abs(x), [](double v) { return std::abs(v); }},
      {exp(x), [](double v) { return std::exp(v); }},
      {log(abs(x)), [](double v) { return std::log(std::abs(v)); }},
      {sqrt(abs(x)), [](double v) { return std::sqrt(std::abs(v)); }},
      {tanh(x), [](double v) { return std::tanh(v); }},
      {sigmoid(x), [](double v) { return 1 / (1 + std::exp(-v)); }},
      {relu(x), [](double v) { return v > 0 ? v : 0; }},
      {leaky_relu(x, 0.1), [](double v) { return v > 0 ? v : 0.1 * v; }},
      {softplus(x), [](double v) { return std::log(1 + std::exp(v)); }},
      {elu(x, 0.5), [](double v) { return v > 0 ? v : 0.5 * (std::exp(v) - 1); }},
      {clamp(x, -0.5, 0.5), [](double v) { return std::min(0.5, std::max(-0.5, v)); }},
      {square(x), [](double v) { return v * v; }},
      {sign(x), [](double v) { return v > 0 ? 1.0 : -1.0; }},
  };
  for (const Case& c : cases)
    for_each_index(x.shape(), [&](const Shape& i) {
      EXPECT_NEAR(c.out.at(i), c.f(x.at(i)), 1e-14);
    });
}

TEST(Ch01Elementwise, StableAtExtremes) {
  const Tensor x = Tensor::from_vector({-1000, 1000}, {2}, DType::Float64);
  EXPECT_EQ(sigmoid(x).to_vector(), (std::vector<double>{0, 1}));
  EXPECT_EQ(softplus(x).to_vector(), (std::vector<double>{0, 1000}));
}

// Float32 sigmoid and softplus use their own branch-free exp and log1p (core/elementwise.cpp):
// within a few float ulp of the float64 formulas everywhere, relative even where the values are
// tiny (down to e^−87, where the float exp stops; below, absolute 1e−37).
TEST(Ch01Elementwise, Float32SigmoidAndSoftplusAreAccurate) {
  std::vector<double> grid;
  for (double v = -100; v <= 100; v += 0.001) grid.push_back(v);
  for (double v : {1e-30, 1e-8, 3e-5, 0.3466, 0.3467, 0.6931, 0.6932, 87.0, 88.7}) {
    grid.push_back(v);
    grid.push_back(-v);
  }
  std::vector<float> as_float(grid.begin(), grid.end());
  const Tensor x = Tensor::from_vector(std::vector<double>(as_float.begin(), as_float.end()),
                                       {static_cast<int64_t>(grid.size())}, DType::Float32);
  const std::vector<double> sig = sigmoid(x).to_vector(), soft = softplus(x).to_vector();
  double worst_sig = 0, worst_soft = 0;
  for (size_t i = 0; i < grid.size(); ++i) {
    const double v = as_float[i];
    const double want_sig = v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v));
    const double want_soft = std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v)));
    ASSERT_NEAR(sig[i], want_sig, 4e-7 * want_sig + 1e-37) << "sigmoid(" << v << ")";
    ASSERT_NEAR(soft[i], want_soft, 4e-7 * want_soft + 1e-37) << "softplus(" << v << ")";
    if (v > -87) {
      worst_sig = std::max(worst_sig, std::abs(sig[i] - want_sig) / want_sig);
      worst_soft = std::max(worst_soft, std::abs(soft[i] - want_soft) / want_soft);
    }
  }
  EXPECT_LT(worst_sig, 4e-7);
  EXPECT_LT(worst_soft, 4e-7);
  std::printf("worst relative error above -87: sigmoid %.2e, softplus %.2e\n", worst_sig, worst_soft);
  const Tensor extremes = Tensor::from_vector({-1000, 1000}, {2}, DType::Float32);
  EXPECT_EQ(softplus(extremes).to_vector()[1], 1000.0);
  EXPECT_LT(softplus(extremes).to_vector()[0], 1e-37);
  EXPECT_EQ(sigmoid(extremes).to_vector()[1], 1.0);
  EXPECT_LT(sigmoid(extremes).to_vector()[0], 1e-37);
}

// Contiguous float32 runs of the costly activations take a loop compiled for AVX2 + FMA where the
// CPU has them; strided operands take the generic loop. Both must agree to float rounding.
TEST(Ch01Elementwise, Float32ActivationsAgreeOnContiguousAndStridedOperands) {
  Generator g(7);
  const Tensor wide = g.normal({40, 2, 33}, 0, 6, DType::Float32), grad = g.normal({40, 2, 33}, 0, 1, DType::Float32);
  const Tensor x = wide.narrow(1, 0, 1), gx = grad.narrow(1, 1, 1);  // strided views
  const Tensor xc = x.contiguous(), gc = gx.contiguous();
  ASSERT_FALSE(x.is_contiguous());
  const auto close = [](const Tensor& a, const Tensor& b, const char* what) {
    const std::vector<double> va = a.to_vector(), vb = b.to_vector();
    for (size_t i = 0; i < va.size(); ++i)
      ASSERT_NEAR(va[i], vb[i], 5e-7 * std::abs(vb[i]) + 1e-37) << what << " element " << i;
  };
  close(tanh(xc), tanh(x), "tanh");
  close(sigmoid(xc), sigmoid(x), "sigmoid");
  close(softplus(xc), softplus(x), "softplus");
  close(slope_restricted(xc, 0.3), slope_restricted(x, 0.3), "slope_restricted");
  close(slope_restricted_gate(gc, xc, 0.3), slope_restricted_gate(gx, x, 0.3), "slope_restricted_gate");
}

TEST(Ch01Elementwise, InPlaceAccumulate) {
  Tensor a = Tensor::zeros({2, 3}, DType::Float64);
  add_(a, Tensor::from_vector({1, 2, 3}, {3}, DType::Float64), 2.0);
  EXPECT_EQ(a.to_vector(), (std::vector<double>{2, 4, 6, 2, 4, 6}));
  Tensor at = a.t();  // accumulate through a transposed view
  add_(at, Tensor::ones({3, 2}, DType::Float64));
  EXPECT_EQ(a.to_vector(), (std::vector<double>{3, 5, 7, 3, 5, 7}));
  Tensor broadcast_view = Tensor::zeros({3}, DType::Float64).expand({2, 3});
  EXPECT_NE(error_of([&] { add_(broadcast_view, a); }).find("broadcast view"), std::string::npos);
}

TEST(Ch01Elementwise, ErrorsNameTheOpAndShapes) {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 3});
  std::string msg = error_of([&] { add(a, b); });
  EXPECT_NE(msg.find("add: shapes [2, 3] and [4, 3] cannot be broadcast"), std::string::npos) << msg;
  msg = error_of([&] { mul(a, Tensor::zeros({2, 3}, DType::Float64)); });
  EXPECT_NE(msg.find("mul: dtype mismatch, float32 [2, 3] and float64 [2, 3]"), std::string::npos)
      << msg;
  msg = error_of([&] { exp(Tensor::zeros({2}, DType::Int64)); });
  EXPECT_NE(msg.find("exp: expected a float32 or float64 tensor, got int64"), std::string::npos)
      << msg;
}

TEST(Ch01Elementwise, Float32TanhIsWithinAFewUlpOfTheLibrary) {
  // float32 tanh is a vectorised rational approximation; std::tanh is the oracle
  std::vector<float> values;
  for (int i = -200000; i <= 200000; ++i) values.push_back(static_cast<float>(i) * 1e-4f);  // [-20, 20]
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-6f, 3e-4f, 5e-4f, 7.9f, 8.0f, 100.0f, -1e30f}) values.push_back(v);
  const int64_t n = static_cast<int64_t>(values.size());
  const std::vector<float> got = tanh(Tensor::from_floats(values, {n})).to_floats();
  double worst_ulp = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float expected = std::tanh(values[i]);
    const float ulp = std::nextafter(std::fabs(expected), 2.0f) - std::fabs(expected);
    worst_ulp = std::max(worst_ulp, std::fabs(double(got[i]) - expected) / std::max(ulp, 1e-38f));
  }
  EXPECT_LT(worst_ulp, 8.0);
}
