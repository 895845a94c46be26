// tests/ch03_progress_test.cpp — the progress bar's lines in plain and terminal style (chapter 3),
// with a fake clock so rates and times are exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "train/progress.h"

namespace stablenn {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Progress, DurationsReadAsClockTimes) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(7.4), "0:07");
  EXPECT_EQ(format_duration(754), "12:34");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(NAN), "?");
}

// 100 batches of 32 samples, one batch every 0.1 s: plain lines at most every 5 s, and the final
// line once. At t = 5 s: 50 batches, 1600 samples -> 320 samples/s, and 50 batches to go at 0.1 s each.
TEST(Progress, PlainLinesAreThrottledAndExact) {
  double now = 100.0;
  std::ostringstream out;
  ProgressOptions options;
  options.label = "train";
  options.style = ProgressStyle::Plain;
  options.clock = [&now] { return now; };
  ProgressBar bar(100, options, out);
  EXPECT_FALSE(bar.is_terminal());
  bar.start_epoch(2, 5);
  for (int step = 1; step <= 100; ++step) {
    now = 100.0 + 0.1 * step;
    bar.update(step, 32, {{"loss", 0.5}, {"acc", 0.875}});
  }
  bar.finish({{"loss", 0.25}, {"acc", 0.9}});
  const std::vector<std::string> lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 2u) << out.str();  // the last step prints once, from finish()
  EXPECT_EQ(lines[0],
            "train  epoch 2/5  batch 50/100  loss 0.5  acc 0.875  320 samples/s  elapsed 0:05  "
            "left 0:05");
  EXPECT_EQ(lines[1],
            "train  epoch 2/5  batch 100/100  loss 0.25  acc 0.9  320 samples/s  elapsed 0:10");
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
}

TEST(Progress, WithoutEpochOrLabelTheLineIsShorter) {
  double now = 0;
  std::ostringstream out;
  ProgressOptions options;
  options.style = ProgressStyle::Plain;
  options.step_name = "iteration";
  options.clock = [&now] { return now; };
  ProgressBar bar(4, options, out);
  now = 1;
  bar.update(1, 0, {});
  EXPECT_EQ(bar.line({}), "iteration 1/4  elapsed 0:01  left 0:03");
  EXPECT_EQ(bar.line({}, true), "iteration 1/4  elapsed 0:01");
}

TEST(Progress, TerminalStyleRedrawsOneLine) {
  double now = 0;
  std::ostringstream out;
  ProgressOptions options;
  options.style = ProgressStyle::Terminal;
  options.bar_width = 10;
  options.redraw_interval_s = 1.0;
  options.clock = [&now] { return now; };
  ProgressBar bar(20, options, out);
  EXPECT_TRUE(bar.is_terminal());
  for (int step = 1; step <= 20; ++step) {
    now = 0.25 * step;
    bar.update(step, 10, {{"loss", 1.0 / step}});
    if (step == 10) {
      EXPECT_NE(bar.line({}).find("batch 10/20 [#####.....]"), std::string::npos) << bar.line({});
    }
  }
  // Redraws: the first update, then at most one per second over 5 s, and the last step.
  const std::string shown = out.str();
  const auto redraws = std::count(shown.begin(), shown.end(), '\r');
  EXPECT_GE(redraws, 5);
  EXPECT_LE(redraws, 7);
  EXPECT_EQ(shown.find('\n'), std::string::npos);  // still one line
  bar.finish({{"loss", 0.05}});
  EXPECT_EQ(out.str().back(), '\n');
  const std::string last = out.str().substr(out.str().rfind('\r') + 1);
  EXPECT_EQ(last.substr(0, last.find_last_not_of(" \n") + 1),
            "batch 20/20 [##########]  loss 0.05  40 samples/s  elapsed 0:05");
}

TEST(Progress, ShorterRedrawsBlankTheRestOfTheLine) {
  std::ostringstream out;
  ProgressOptions options;
  options.style = ProgressStyle::Terminal;
  options.redraw_interval_s = 0;
  ProgressBar bar(3, options, out);
  bar.update(1, 0, {{"a very long metric name", 1.0}});
  const size_t long_length = out.str().size() - 1;  // without the '\r'
  bar.update(2, 0, {});
  const std::string second = out.str().substr(out.str().rfind('\r') + 1);
  EXPECT_GE(second.size(), long_length);  // padded with spaces over the old text
}

TEST(Progress, AutoStyleOnAStringStreamIsPlain) {
  std::ostringstream out;
  ProgressBar bar(10, {}, out);
  EXPECT_FALSE(bar.is_terminal());
}

TEST(Progress, BadArgumentsAreReported) {
  std::ostringstream out;
  EXPECT_THROW(ProgressBar(0, {}, out), Error);
  ProgressBar bar(10, {}, out);
  EXPECT_THROW(bar.update(11, 1, {}), Error);
  EXPECT_THROW(bar.update(1, -1, {}), Error);
  EXPECT_THROW(bar.start_epoch(3, 2), Error);
}

}  // namespace
}  // namespace stablenn
