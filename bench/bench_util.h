// bench/bench_util.h — timing and memory helpers shared by the benchmarks.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

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
