// Chapter 1 tests: reductions over any set of axes, and the softmax family, against naive loops.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "tests/ch01_test_util.h"

using namespace stablenn;
using namespace stablenn::testing;

namespace {
// Naive reduction: groups the elements of x by their index with the reduced axes removed (or set to
// 0 when keepdim) and applies f to each group.
Tensor naive_reduce(const Tensor& x, const std::vector<bool>& reduced, bool keepdim,
                    const std::function<double(const std::vector<double>&)>& f) {
  Shape out_shape;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (!reduced[d]) out_shape.push_back(x.shape()[d]);
    else if (keepdim) out_shape.push_back(1);
  std::map<Shape, std::vector<double>> groups;
  for_each_index(x.shape(), [&](const Shape& i) {
    Shape key;
    for (int64_t d = 0; d < x.dim(); ++d)
      if (!reduced[d]) key.push_back(i[d]);
      else if (keepdim) key.push_back(0);
    groups[key].push_back(x.at(i));
  });
  Tensor out = Tensor::zeros(out_shape, DType::Float64);
  for_each_index(out_shape, [&](const Shape& i) { out.set(i, f(groups[i])); });
  return out;
}
double vsum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
}  // namespace

TEST(Ch01Reduce, RandomAxesMatchNaiveLoops) {
  Generator g(11);
  for (int trial = 0; trial < 200; ++trial) {
    Shape shape = random_shape(g);
    for (auto& s : shape) s = std::max<int64_t>(s, 1);  // max/var need non-empty groups
    const Tensor x = random_layout(g, shape, DType::Float64);
    std::vector<bool> reduced(shape.size());
    Shape axes;
    for (size_t d = 0; d < shape.size(); ++d)
      if (g.uniform_scalar() < 0.5) { reduced[d] = true; axes.push_back(d - (d % 2 ? shape.size() : 0)); }
    if (axes.empty()) reduced.assign(shape.size(), true);  // {} means all axes
    const bool keepdim = trial % 2;
    auto check = [&](const Tensor& got, const std::function<double(const std::vector<double>&)>& f) {
      const Tensor want = naive_reduce(x, reduced, keepdim, f);
      ASSERT_EQ(got.shape(), want.shape());
      EXPECT_LT(max_abs_diff(got, want), 1e-12) << "shape " << shape_str(shape) << " axes " << shape_str(axes);
    };
    check(sum(x, axes, keepdim), vsum);
    check(mean(x, axes, keepdim), [](const std::vector<double>& v) { return vsum(v) / v.size(); });
    check(amax(x, axes, keepdim), [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); });
    check(amin(x, axes, keepdim), [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
    check(var(x, axes, 0, keepdim), [](const std::vector<double>& v) {
      const double m = vsum(v) / v.size();
      double s = 0;
      for (double e : v) s += (e - m) * (e - m);
      return s / v.size();
    });
  }
}

TEST(Ch01Reduce, LeadingAxisSumFastPath) {
  Generator g(12);
  const Tensor x = g.normal({300, 70}, 0, 1, DType::Float64);
  const Tensor want = naive_reduce(x, {true, false}, false, vsum);
  EXPECT_LT(max_abs_diff(sum(x, {0}), want), 1e-12);
  EXPECT_EQ(sum(x, {0}, true).shape(), (Shape{1, 70}));
  const Tensor f = x.to(DType::Float32);
  EXPECT_LT(max_abs_diff(sum(f, {0}).to(DType::Float64), want), 1e-4);
}

// A bias gradient's sum ([N, C, H, W] over N, H, W) reads the tensor in place; it must give the
// naive sums, and the very bits of the transposed-copy path (the same order of additions).
TEST(Ch01Reduce, SumAroundAKeptBlockMatchesTheCopyPathBitForBit) {
  Generator g(13);
  const Tensor x = g.normal({5, 3, 4, 6}, 0, 1, DType::Float64);
  const Tensor want = naive_reduce(x, {true, false, true, true}, false, vsum);
  EXPECT_LT(max_abs_diff(sum(x, {0, 2, 3}), want), 1e-12);
  EXPECT_EQ(sum(x, {0, 2, 3}, true).shape(), (Shape{1, 3, 1, 1}));
  const Tensor copied = sum(x.permute({1, 0, 2, 3}).contiguous(), {1, 2, 3});  // rows, no fast path
  EXPECT_EQ(max_abs_diff(sum(x, {0, 2, 3}), copied), 0.0);
  const Tensor f = g.normal({7, 2, 3, 5}, 0, 1, DType::Float32);
  EXPECT_EQ(max_abs_diff(sum(f, {0, 3}), sum(f.permute({1, 2, 0, 3}).contiguous(), {2, 3})), 0.0);
}

TEST(Ch01Reduce, ArgmaxArgmin) {
  const Tensor x = Tensor::from_vector({3, 7, 7, 1, -2, 5}, {2, 3});
  EXPECT_EQ(argmax(x, 1).to_int64(), (std::vector<int64_t>{1, 2}));  // first maximum wins
  EXPECT_EQ(argmin(x, 0).to_int64(), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(argmax(x, -1, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(argmax(x, 1).dtype(), DType::Int64);
}

TEST(Ch01Reduce, SoftmaxFamilyIsStableAndConsistent) {
  Generator g(13);
  const Tensor x = random_layout(g, {4, 5, 3}, DType::Float64) * 30.0;
  for (int64_t axis : {0, 1, -1}) {
    const Tensor lse = logsumexp(x, axis, true);
    const Tensor want = naive_reduce(x, {axis == 0, axis == 1, axis == -1}, true,
                                     [](const std::vector<double>& v) {
                                       double s = 0;
                                       for (double e : v) s += std::exp(e);
                                       return std::log(s);
                                     });
    EXPECT_LT(max_abs_diff(lse, want), 1e-12);
    EXPECT_LT(max_abs_diff(log_softmax(x, axis), x - lse), 1e-12);
    EXPECT_LT(max_abs_diff(softmax(x, axis), exp(x - lse)), 1e-14);
    EXPECT_LT(max_abs_diff(sum(softmax(x, axis), {axis}), Tensor::ones(sum(x, {axis}).shape(), DType::Float64)), 1e-14);
  }
  // huge logits: no overflow
  const Tensor big = Tensor::from_vector({1000, 1000, -1000}, {3}, DType::Float64);
  EXPECT_NEAR(logsumexp(big, 0).item(), 1000 + std::log(2.0), 1e-12);
  EXPECT_NEAR(softmax(big, 0).at({0}), 0.5, 1e-15);
  const double ninf = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(logsumexp(Tensor::from_vector({ninf, ninf}, {2}, DType::Float64), 0).item(), ninf);
}

TEST(Ch01Reduce, SumToUndoesBroadcasting) {
  Generator g(14);
  const Tensor x = g.normal({2, 3, 4}, 0, 1, DType::Float64);
  EXPECT_LT(max_abs_diff(sum_to(x, {3, 1}), sum(x, {0, 2}).reshape({3, 1})), 1e-14);
  EXPECT_LT(max_abs_diff(sum_to(x, {4}), sum(x, {0, 1})), 1e-14);
  EXPECT_EQ(sum_to(x, {}).shape(), Shape{});
}

TEST(Ch01Reduce, ErrorsNameTheOp) {
  const Tensor x = Tensor::zeros({2, 3});
  EXPECT_NE(error_of([&] { sum(x, {2}); }).find("sum: axis 2 is out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { sum(x, {1, -1}); }).find("repeated"), std::string::npos);
  EXPECT_NE(error_of([&] { amax(Tensor::zeros({2, 0}), {1}); }).find("empty axis"), std::string::npos);
}
