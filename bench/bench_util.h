// bench/bench_util.h — timing and memory helpers shared by the benchmarks.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "io/args.h"

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
  std::map<std::string, std::string> extra;  // the benchmark's own flags (`extra`), by name
};

// Parses argv with io/args.h and applies --threads N. `usage` is the synopsis after the program
// name; --data-dir is accepted only when it names it, --only only with `only_choices`, and the
// benchmark's own flags are `extra` (their values land in BenchArgs::extra, unchecked). A bad
// command line prints what is wrong and the usage line, and exits with status 2.
inline BenchArgs parse_bench_args(int argc, char** argv, const std::string& usage,
                                  const std::vector<std::string>& only_choices = {},
                                  const std::vector<args::FlagSpec>& extra = {}) {
  std::vector<args::FlagSpec> known = {{"quick", false}, {"threads", true}};
  if (usage.find("--data-dir") != std::string::npos) known.push_back({"data-dir", true});
  if (!only_choices.empty()) known.push_back({"only", true});
  known.insert(known.end(), extra.begin(), extra.end());
  BenchArgs parsed;
  try {
    for (const args::GivenFlag& flag : args::split_flags(argc, argv, known)) {
      if (flag.name == "quick") {
        parsed.quick = true;
      } else if (flag.name == "threads") {
        set_num_threads(static_cast<int>(args::parse_int("--threads", flag.value, 1, 4096)));
      } else if (flag.name == "data-dir") {
        if (!std::filesystem::is_directory(flag.value))
          throw args::UsageError("--data-dir: '" + flag.value + "' is not an existing folder");
        parsed.data_dir = flag.value;
      } else if (flag.name == "only") {
        parsed.only = args::parse_choice("--only", flag.value, only_choices);
      } else {
        parsed.extra[flag.name] = flag.value;
      }
    }
  } catch (const args::UsageError& e) {
    std::fprintf(stderr, "%s: %s\nusage: %s %s\n", argv[0], e.what(), argv[0], usage.c_str());
    std::exit(2);
  }
  parsed.data_dir = data_dir_or_default(parsed.data_dir);
  return parsed;
}

// Data files that are there but cannot be read: not the synthetic stand-in's case (that is only for
// absent files, DatasetMissing), but an error naming the file; exit status 2.
[[noreturn]] inline void exit_on_broken_data(const std::exception& e) {
  std::fprintf(stderr, "the data files are there but cannot be read: %s\n", e.what());
  std::exit(2);
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
