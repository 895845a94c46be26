// train/progress.cpp — the progress bar (chapter 3).
#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace stablenn {

namespace {

bool stream_is_terminal(const std::ostream& out) {
  if (&out == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
  if (&out == &std::cerr || &out == &std::clog) return ::isatty(STDERR_FILENO) == 1;
  return false;  // string streams, files
}

std::string format_metric(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  const int64_t hours = total / 3600, minutes = (total / 60) % 60, secs = total % 60;
  char buffer[48];
  if (hours > 0) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes), static_cast<long long>(secs));
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  }
  return buffer;
}

ProgressBar::ProgressBar(int64_t total_steps, ProgressOptions options, std::ostream& out)
    : total_steps_(total_steps), options_(std::move(options)), out_(out) {
  SNN_CHECK(total_steps >= 1, "ProgressBar: total_steps must be >= 1, got ", total_steps);
  SNN_CHECK(
      options_.bar_width >= 1 && options_.plain_interval_s >= 0 && options_.redraw_interval_s >= 0,
      "ProgressBar: bar_width must be >= 1 and the intervals >= 0");
  terminal_ = options_.style == ProgressStyle::Terminal ||
              (options_.style == ProgressStyle::Auto && stream_is_terminal(out_));
  start_time_ = last_output_time_ = now();
}

double ProgressBar::now() const {
  if (options_.clock) return options_.clock();
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

void ProgressBar::start_epoch(int64_t epoch, int64_t epochs) {
  SNN_CHECK(epochs >= 1 && epoch >= 1 && epoch <= epochs, "ProgressBar::start_epoch: epoch ", epoch,
            " of ", epochs, " is not in 1..epochs");
  epoch_ = epoch, epochs_ = epochs;
  step_ = 0, samples_ = 0;
  start_time_ = last_output_time_ = now();
}

std::string ProgressBar::line(const Metrics& metrics, bool finished) const {
  std::string text = options_.label;
  auto field = [&text](const std::string& piece) {
    if (!text.empty()) text += "  ";
    text += piece;
  };
  if (epochs_ > 0) field("epoch " + std::to_string(epoch_) + "/" + std::to_string(epochs_));
  std::string count =
      options_.step_name + " " + std::to_string(step_) + "/" + std::to_string(total_steps_);
  if (terminal_) {
    const auto filled = static_cast<size_t>(options_.bar_width * step_ / total_steps_);
    count += " [" + std::string(filled, '#') + std::string(options_.bar_width - filled, '.') + "]";
  }
  field(count);
  for (const auto& [name, value] : metrics) field(name + " " + format_metric(value));
  const double elapsed = now() - start_time_;
  if (elapsed > 0 && samples_ > 0) {
    char rate[48];
    std::snprintf(rate, sizeof rate, "%.0f samples/s", samples_ / elapsed);
    field(rate);
  }
  field("elapsed " + format_duration(elapsed));
  if (!finished && step_ > 0 && step_ < total_steps_) {
    // Time left: the average time per step so far, times the steps to go.
    field("left " + format_duration(elapsed / step_ * (total_steps_ - step_)));
  }
  return text;
}

void ProgressBar::update(int64_t step, int64_t samples, const Metrics& metrics) {
  SNN_CHECK(step >= 0 && step <= total_steps_, "ProgressBar::update: step ", step, " is not in 0..",
            total_steps_);
  SNN_CHECK(samples >= 0, "ProgressBar::update: samples must be >= 0, got ", samples);
  step_ = step;
  samples_ += samples;
  const double t = now();
  if (terminal_) {
    // Redraw often enough to look alive, rarely enough to cost nothing next to a training step.
    if (t - last_output_time_ < options_.redraw_interval_s && step != total_steps_ && line_open_)
      return;
    const std::string text = line(metrics);
    out_ << '\r' << text;
    if (text.size() < last_length_) out_ << std::string(last_length_ - text.size(), ' ');
    out_.flush();
    last_length_ = text.size();
    line_open_ = true;
  } else {
    // The last step's line is finish()'s to print (with the final metrics): printing it here too
    // gave two lines for the same step.
    if (step == total_steps_ || t - last_output_time_ < options_.plain_interval_s) return;
    out_ << line(metrics) << '\n';
    out_.flush();
  }
  last_output_time_ = t;
}

void ProgressBar::finish(const Metrics& metrics) {
  const std::string text = line(metrics, true);
  if (terminal_) {
    out_ << '\r' << text;
    if (text.size() < last_length_) out_ << std::string(last_length_ - text.size(), ' ');
  } else {
    out_ << text;
  }
  out_ << '\n';
  out_.flush();
  last_length_ = 0;
  line_open_ = false;
  last_output_time_ = now();
}

}  // namespace stablenn
