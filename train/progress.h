// train/progress.h — a progress bar for training and attack loops (chapter 3).
//
// On a terminal it redraws one line in place ('\r'); when the output is a file or a pipe (CI logs,
// `| tee`) it prints plain lines at most every few seconds, and always a final line per epoch.
//
//   ProgressBar bar(batches_per_epoch, {"train"});
//   for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
//     bar.start_epoch(epoch, epochs);
//     for (int64_t b = 1; b <= batches_per_epoch; ++b) {
//       ...
//       bar.update(b, batch_size, {{"loss", loss}, {"acc", accuracy}});
//     }
//     bar.finish({{"loss", mean_loss}, {"acc", mean_accuracy}});
//   }
#pragma once
#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace stablenn {

// Chapter 3: named metric values, in the order they are shown (progress bar) or logged (CSV).
using Metrics = std::vector<std::pair<std::string, double>>;

// Chapter 3: redraw one line in place (Terminal), print plain lines (Plain), or pick Terminal when
// the stream is std::cout/std::cerr attached to a terminal and Plain otherwise (Auto).
enum class ProgressStyle { Auto, Terminal, Plain };

// Chapter 3: options of the progress bar.
struct ProgressOptions {
  std::string label;                // printed first, e.g. "train" or "PGD eps=0.5"
  std::string step_name = "batch";  // what a step is: "batch", "iteration", ...
  ProgressStyle style = ProgressStyle::Auto;
  double plain_interval_s = 5.0;   // Plain: at most one line per this many seconds
  double redraw_interval_s = 0.1;  // Terminal: at least this many seconds between redraws
  int bar_width = 20;              // Terminal: characters in the bar
  std::function<double()> clock;   // seconds since any fixed point; default: steady clock
};

// Chapter 3: the progress bar.
class ProgressBar {
 public:
  // Progress over `total_steps` steps (batches) per epoch, written to `out`.
  explicit ProgressBar(int64_t total_steps, ProgressOptions options = {},
                       std::ostream& out = std::cout);

  // Starts epoch `epoch` of `epochs` (1-based): resets the step count, sample count and timer.
  // Optional: without it the line shows no epoch (an attack loop, an evaluation).
  void start_epoch(int64_t epoch, int64_t epochs);
  // `step` of total_steps steps are done (1-based), `samples` more samples were processed since
  // the previous update, and the metrics are now `metrics`.
  void update(int64_t step, int64_t samples, const Metrics& metrics);
  // Ends the epoch with a final line (always printed, ending in a newline) showing `metrics`.
  void finish(const Metrics& metrics);

  // The line for the current state, without '\r' or '\n': label, epoch, step (with a bar in
  // Terminal style), metrics, samples/s, elapsed time and, unless finished, the time left.
  std::string line(const Metrics& metrics, bool finished = false) const;
  bool is_terminal() const { return terminal_; }

 private:
  double now() const;

  int64_t total_steps_;
  ProgressOptions options_;
  std::ostream& out_;
  bool terminal_;
  int64_t epoch_ = 0, epochs_ = 0;
  int64_t step_ = 0, samples_ = 0;
  double start_time_ = 0, last_output_time_ = 0;
  size_t last_length_ = 0;  // Terminal: the length of the line on screen, to blank its leftovers
  bool line_open_ = false;  // Terminal: a line without its newline is on screen
};

// Chapter 3: "0:07", "12:34", "1:02:03" for a duration in seconds.
std::string format_duration(double seconds);

}  // namespace stablenn
