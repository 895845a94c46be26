// Chapter 1 tests: the seeded generator: reproducible, independent of the thread count, and with
// the right distributions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/ch01_test_util.h"

using namespace stablenn;

TEST(Ch01Random, SameSeedSameNumbersAnyThreadCount) {
  std::vector<std::vector<double>> runs;
  for (int threads : {1, 2, 3}) {
    FixedThreads fixed(threads);
    Generator g(42);
    std::vector<double> all = g.uniform({300000}).to_vector();  // large: filled in parallel
    const std::vector<double> n = g.normal({100001}, 0, 1, DType::Float64).to_vector();
    all.insert(all.end(), n.begin(), n.end());
    for (int64_t p : g.permutation(1000)) all.push_back(static_cast<double>(p));
    runs.push_back(all);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
  Generator other(43);
  EXPECT_NE(other.uniform({10}).to_vector(), std::vector<double>(runs[0].begin(), runs[0].begin() + 10));
}

TEST(Ch01Random, DrawsAdvanceTheStream) {
  Generator g(5);
  EXPECT_NE(g.uniform({4}).to_vector(), g.uniform({4}).to_vector());
  g.manual_seed(5);
  const auto first = g.uniform({4}).to_vector();
  g.manual_seed(5);
  EXPECT_EQ(g.uniform({4}).to_vector(), first);
}

TEST(Ch01Random, DistributionMoments) {
  Generator g(9);
  const int64_t n = 200000;
  const Tensor u = g.uniform({n}, -1, 3, DType::Float64);
  EXPECT_NEAR(mean(u).item(), 1.0, 0.02);
  EXPECT_NEAR(var(u).item(), 16.0 / 12, 0.02);
  EXPECT_GE(amin(u).item(), -1.0);
  EXPECT_LT(amax(u).item(), 3.0);
  const Tensor z = g.normal({n}, 2, 0.5, DType::Float64);
  EXPECT_NEAR(mean(z).item(), 2.0, 0.01);
  EXPECT_NEAR(var(z).item(), 0.25, 0.01);
  // fraction within one standard deviation: 68.27 %
  EXPECT_NEAR(mean(lt(abs(z - 2.0), Tensor::scalar(0.5, DType::Float64))).item(), 0.6827, 0.01);
  EXPECT_NEAR(mean(g.bernoulli({n}, 0.3)).item(), 0.3, 0.01);
}

TEST(Ch01Random, PermutationIsAPermutationAndUniform) {
  Generator g(10);
  std::vector<int64_t> p = g.permutation(500);
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 500; ++i) EXPECT_EQ(sorted[i], i);
  // position of element 0 over many permutations of 4 is uniform
  std::vector<int> where(4, 0);
  for (int t = 0; t < 8000; ++t) {
    const auto q = g.permutation(4);
    where[std::find(q.begin(), q.end(), 0) - q.begin()]++;
  }
  for (int c : where) EXPECT_NEAR(c, 2000, 200);
  for (int t = 0; t < 1000; ++t) {
    const int64_t r = g.randint(3, 7);
    EXPECT_GE(r, 3);
    EXPECT_LT(r, 7);
  }
}
