// bench/bench_util.h — timing and memory helpers shared by the benchmarks.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/parallel.h"

namespace stablenn::bench {

// The dataset folder for a benchmark: --data-dir when given, else $STABLENN_DATA, else the shared
// folder next to the source tree, so that a run from any working directory (like the Python twins,
// which look next to their script) times the real data rather than the synthetic stand-in.
inline std::string data_dir_or_default(const std::string& given) {
  if (!given.empty()) return given;
  const char* env = std::getenv("STABLENN_DATA");
  if (env != nullptr && env[0] != '\0') return env;
  const std::string shared = std::string(STABLENN_SOURCE_DIR) + "/../shared/data";
  return std::filesystem::is_directory(shared) ? shared : "";  // "": the library's own search
}

// The command line every benchmark takes.
struct BenchArgs {
  bool quick = false;    // --quick: smaller sizes and fewer repetitions (bench/run.sh --quick)
  std::string data_dir;  // --data-dir, resolved by data_dir_or_default
  std::string only;      // --only: one workload; empty: all
};

// Parses argv and applies --threads N. `usage` is the synopsis after the program name; --data-dir is
// accepted only when it names it, --only only with `only_choices`. Anything else prints the usage
// line and exits with status 2.
inline BenchArgs parse_bench_args(int argc, char** argv, const std::string& usage,
                                  const std::vector<std::string>& only_choices = {}) {
  const auto fail = [&] {
    std::fprintf(stderr, "usage: %s %s\n", argv[0], usage.c_str());
    std::exit(2);
  };
  const bool takes_data_dir = usage.find("--data-dir") != std::string::npos;
  BenchArgs args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--quick") {
      args.quick = true;
    } else if (arg == "--threads" && has_value) {
      const int threads = std::atoi(argv[++i]);
      if (threads < 1) fail();
      set_num_threads(threads);
    } else if (arg == "--data-dir" && takes_data_dir && has_value) {
      args.data_dir = argv[++i];
    } else if (arg == "--only" && !only_choices.empty() && has_value) {
      args.only = argv[++i];
      if (std::find(only_choices.begin(), only_choices.end(), args.only) == only_choices.end()) fail();
    } else {
      fail();
    }
  }
  args.data_dir = data_dir_or_default(args.data_dir);
  return args;
}

// Median wall time of `reps` timed calls of fn after `warmup` untimed ones.
inline double median_seconds(const std::function<void()>& fn, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Peak resident memory of this process (VmHWM) in MiB; -1 when /proc is unavailable.
inline double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); without permission the peak covers the whole run.
inline void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  if (clear) clear << "5";
}

}  // namespace stablenn::bench
