// tests/ch05_fast_tanh_test.cpp — the vectorised tanh against std::tanh and finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "autodiff/autodiff.h"
#include "layers/fast_tanh.h"

namespace stablenn {
namespace {

TEST(Ch05FastTanh, Float32MatchesStdTanhToAFewUlp) {
  std::vector<float> values;
  for (int i = -200000; i <= 200000; ++i) values.push_back(static_cast<float>(i) * 1e-4f);  // [-20, 20]
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-6f, 3e-4f, 5e-4f, 7.9f, 8.0f, 100.0f, -1e30f}) values.push_back(v);
  const int64_t n = static_cast<int64_t>(values.size());
  const Tensor y = fast_tanh(Tensor::from_floats(values, {n}));
  const std::vector<double> got = y.to_vector();
  double worst_ulp = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float expected = std::tanh(values[i]);
    const float ulp = std::nextafter(std::fabs(expected), 2.0f) - std::fabs(expected);
    worst_ulp = std::max(worst_ulp, std::fabs(got[i] - expected) / std::max(ulp, 1e-38f));
  }
  EXPECT_LT(worst_ulp, 8.0);
}

TEST(Ch05FastTanh, GradientMatchesFiniteDifferences) {
  Generator g(3);
  const GradcheckResult r =
      gradcheck([](const std::vector<Var>& x) { return fast_tanh(x[0]); }, {g.normal({4, 5}, 0.0, 2.0, DType::Float64)});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(Ch05FastTanh, RejectsIntegerTensors) {
  EXPECT_THROW(fast_tanh(Tensor::from_int64({1, 2}, {2})), Error);
}

}  // namespace
}  // namespace stablenn
