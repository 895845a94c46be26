// tests/ch03_ticks_test.cpp — nice axis ticks and their labels (chapter 3), against hand-worked
// cases and the properties every tick set must have.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "plot/ticks.h"

namespace stablenn {
namespace {

// True when step = m x 10^k with m in {1, 2, 5}.
bool is_nice(double step) {
  const double exponent = std::floor(std::log10(step) + 1e-12);
  const double mantissa = step / std::pow(10.0, exponent);
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (std::abs(mantissa - m) < 1e-9) return true;
  }
  return false;
}

TEST(Ticks, NiceNumbersByHand) {
  // round: 1 below 1.5, 2 below 3, 5 below 7, else 10 (times the power of ten)
  EXPECT_DOUBLE_EQ(nice_number(1.4, true), 1);
  EXPECT_DOUBLE_EQ(nice_number(2.5, true), 2);
  EXPECT_DOUBLE_EQ(nice_number(0.34, true), 0.5);
  EXPECT_DOUBLE_EQ(nice_number(7.5e-3, true), 1e-2);
  EXPECT_DOUBLE_EQ(nice_number(4100, true), 5000);
  // ceiling: the smallest nice number >= x
  EXPECT_DOUBLE_EQ(nice_number(1, false), 1);
  EXPECT_DOUBLE_EQ(nice_number(1.2, false), 2);
  EXPECT_DOUBLE_EQ(nice_number(2.01, false), 5);
  EXPECT_DOUBLE_EQ(nice_number(7, false), 10);
  EXPECT_THROW(nice_number(0, true), Error);
  EXPECT_THROW(nice_number(NAN, true), Error);
}

TEST(Ticks, HandWorkedAxes) {
  // [0, 10], 6 ticks: spacing 10/5 = 2 -> step 2
  EXPECT_EQ(nice_ticks(0, 10), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  // [0.96, 20.04] (an epoch axis 1..20 with a margin): spacing 3.8 -> step 5
  EXPECT_EQ(nice_ticks(0.96, 20.04), (std::vector<double>{5, 10, 15, 20}));
  // [-0.13, 0.92]: spacing 0.21 -> step 0.2; 0 is exactly zero, not -1e-17
  const std::vector<double> ticks = nice_ticks(-0.13, 0.92);
  ASSERT_EQ(ticks.size(), 5u);
  EXPECT_EQ(ticks[0], 0.0);
  EXPECT_FALSE(std::signbit(ticks[0]));
  EXPECT_NEAR(ticks[4], 0.8, 1e-15);
  EXPECT_DOUBLE_EQ(nice_tick_step(-0.13, 0.92), 0.2);
  EXPECT_THROW(nice_ticks(1, 1), Error);
  EXPECT_THROW(nice_ticks(2, 1), Error);
  EXPECT_THROW(nice_ticks(0, INFINITY), Error);
  EXPECT_THROW(nice_tick_step(0, 1, 1), Error);
}

// Properties on random axes: a nice step, equal spacing, every tick inside, and a tick count near
// the target (step within [2/3, 10/7] of the raw spacing, so 3..9 ticks for a target of 6).
TEST(Ticks, RandomAxesHaveNiceEvenlySpacedTicksInside) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> exponent(-8, 8), unit(-1, 1);
  for (int trial = 0; trial < 2000; ++trial) {
    const double scale = std::pow(10.0, exponent(rng));
    double lo = unit(rng) * scale, hi = unit(rng) * scale;
    if (lo == hi) continue;
    if (lo > hi) std::swap(lo, hi);
    const double step = nice_tick_step(lo, hi);
    const std::vector<double> ticks = nice_ticks(lo, hi);
    ASSERT_TRUE(is_nice(step)) << step;
    ASSERT_GE(ticks.size(), 3u) << lo << " " << hi;
    ASSERT_LE(ticks.size(), 9u) << lo << " " << hi;
    for (size_t i = 0; i < ticks.size(); ++i) {
      EXPECT_GE(ticks[i], lo - 1e-9 * step);
      EXPECT_LE(ticks[i], hi + 1e-9 * step);
      EXPECT_NEAR(std::remainder(ticks[i], step), 0.0, 1e-9 * step);
      if (i > 0) {
        EXPECT_NEAR(ticks[i] - ticks[i - 1], step, 1e-9 * step);
      }
    }
  }
}

TEST(Ticks, LinearLabels) {
  EXPECT_EQ(format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(format_tick(100, 20), "100");
  EXPECT_EQ(format_tick(-0.5, 0.5), "-0.5");
  EXPECT_EQ(format_tick(0.0, 0.1), "0");
  EXPECT_EQ(format_tick(1.5e-5, 5e-6), "1.5e-05");
  EXPECT_EQ(format_tick(2e6, 1e6), "2e+06");
  EXPECT_EQ(format_tick(0.30000000000000004, 0.1), "0.3");  // rounding noise never shows
}

TEST(Ticks, LogTicks) {
  // Seven decades: the powers of ten.
  const std::vector<double> decades = log_ticks(1e-6, 1.5);
  ASSERT_EQ(decades.size(), 7u);
  for (size_t i = 0; i < decades.size(); ++i)
    EXPECT_NEAR(decades[i], std::pow(10.0, -6.0 + i), 1e-12 * decades[i]);
  // 24 decades are thinned to every 3rd one (at most about 10 labels).
  const std::vector<double> thinned = log_ticks(1e-12, 1e12);
  EXPECT_LE(thinned.size(), 10u);
  EXPECT_GE(thinned.size(), 5u);
  for (double t : thinned)
    EXPECT_TRUE(is_nice(t) && std::abs(std::log10(t) - std::round(std::log10(t))) < 1e-9);
  // Less than two decades: 1, 2, 5 multiples.
  EXPECT_EQ(log_ticks(2, 30), (std::vector<double>{2, 5, 10, 20}));
  // Very narrow: linear ticks inside the range.
  for (double t : log_ticks(1.1, 1.9)) {
    EXPECT_GE(t, 1.1);
    EXPECT_LE(t, 1.9);
  }
  EXPECT_GE(log_ticks(1.1, 1.9).size(), 2u);
  EXPECT_THROW(log_ticks(0, 1), Error);
  EXPECT_THROW(log_ticks(-1, 1), Error);
}

TEST(Ticks, LogLabels) {
  EXPECT_EQ(format_log_tick(0.001), "0.001");
  EXPECT_EQ(format_log_tick(0.02), "0.02");
  EXPECT_EQ(format_log_tick(1), "1");
  EXPECT_EQ(format_log_tick(1000), "1000");
  EXPECT_EQ(format_log_tick(1e5), "1e5");
  EXPECT_EQ(format_log_tick(1e-5), "1e-5");
  EXPECT_EQ(format_log_tick(2e6), "2e6");
  EXPECT_THROW(format_log_tick(0), Error);
}

}  // namespace
}  // namespace stablenn
