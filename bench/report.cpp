// bench/report.cpp — the benchmark tables of the book (chapter 3; issue 16). bench/run.sh collects
// what each benchmark and its PyTorch twin print and hands it here; this prints one Markdown table
// per benchmark and merges them into <out>/bench_results.json, the results file that
// scripts/update_book.sh copies into the book's <!-- table bench.NAME --> and
// <!-- result bench.NAME.WORKLOAD.ratio --> markers, as it does the chapter programs' results.
//
//   report --lines FILE --threads N [--threads-default] [--quick] [--out DIR] [--load L]
//   report --table NAME --markdown FILE --threads N [--threads-default] [--quick] [--out DIR] [--load L]
//
// --lines FILE holds one measurement per line, "<bench> BENCH|PEAKMEM <workload> <impl> <value>
// <impl threads or ->", e.g. "node BENCH node_step_rk4_10_adjoint pytorch 0.0293 1"; a workload
// measured several times (bench/run.sh --reps) gets the median and the spread. --load: how many
// cores other programs kept busy when the run started (bench/busy_cores.sh), quoted under the table
// since other programs' load moves the times. --table adds a
// table made elsewhere (bench/bench_load.sh). Tables of earlier runs of other benchmarks are kept, so
// `bench/run.sh node` updates the node table only; each table says which run it comes from.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "io/args.h"
#include "io/file_bytes.h"
#include "io/json.h"
#include "notebooks_cpp/results.h"

using namespace stablenn;

namespace {

struct Measurement {
  std::string bench, kind, workload, impl, threads;
  double value = 0;
};

std::vector<Measurement> read_lines(const std::string& path) {
  std::ifstream in(path);
  SNN_CHECK(in.good(), path, ": cannot be read (expected the lines bench/run.sh collects)");
  std::vector<Measurement> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    Measurement m;
    SNN_CHECK(fields >> m.bench >> m.kind >> m.workload >> m.impl >> m.value >> m.threads &&
                  (m.kind == "BENCH" || m.kind == "PEAKMEM"),
              path, ":", number, ": expected '<bench> BENCH|PEAKMEM <workload> <impl> <value> ",
              "<threads>', got '", line, "'");
    out.push_back(m);
  }
  return out;
}

// 3 significant digits, trailing zeros kept: 8 -> "8.00", 24.83 -> "24.8", 412.3 -> "412".
std::string three_digits(double v) {
  char text[32];
  std::snprintf(text, sizeof text, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
  return text;
}

// 0.0159 -> "15.9 ms", 24.83 -> "24.8 s", as the book's tables write times.
std::string seconds_text(double s) { return s < 1 ? three_digits(s * 1e3) + " ms" : three_digits(s) + " s"; }

std::string impl_label(const std::string& impl, const std::string& threads) {
  std::string name = impl == "pytorch" ? "PyTorch" : impl == "openblas" ? "OpenBLAS" : impl;
  if (threads == "-") return name;
  return name + ", " + threads + (threads == "1" ? " thread" : " threads");
}

// One benchmark's table: a row per workload; stablenn's time, each reference's time (PyTorch at
// each thread count it ran with), stablenn over the fastest reference, and the peak memory when
// the benchmark measured it. Also records each workload's ratio and times as results.
std::string bench_table(const std::string& bench, const std::vector<Measurement>& all,
                        int threads, notebook::Context& results) {
  std::vector<std::string> workloads, references;  // in the order printed
  for (const Measurement& m : all) {
    if (m.bench != bench) continue;
    if (std::find(workloads.begin(), workloads.end(), m.workload) == workloads.end())
      workloads.push_back(m.workload);
    const std::string ref = m.impl + " " + m.threads;
    if (m.impl != "stablenn" && std::find(references.begin(), references.end(), ref) == references.end())
      references.push_back(ref);
  }
  // The median of a workload's repeated runs (bench/run.sh --reps), -1 when it has none; `spread`
  // gets (max - min) / median.
  auto find = [&](const std::string& kind, const std::string& workload, const std::string& ref,
                  double* spread = nullptr) {
    std::vector<double> values;
    for (const Measurement& m : all)
      if (m.bench == bench && m.kind == kind && m.workload == workload &&
          (ref == "stablenn" ? m.impl == "stablenn" : m.impl + " " + m.threads == ref))
        values.push_back(m.value);
    if (values.empty()) return -1.0;
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    if (spread) *spread = n > 1 && median > 0 ? (values.back() - values.front()) / median : -1;
    return median;
  };
  // "24.8 s", or "24.8 s (3%)" with the spread of repeated runs.
  auto time_text = [](double t, double spread) {
    if (t <= 0) return std::string("–");
    if (spread < 0) return seconds_text(t);
    return seconds_text(t) + " (" + std::to_string(static_cast<int>(std::lround(100 * spread))) + "%)";
  };
  bool has_memory = false;
  for (const Measurement& m : all) has_memory = has_memory || (m.bench == bench && m.kind == "PEAKMEM");

  std::ostringstream md;
  md << "| workload | stablenn, " << threads << (threads == 1 ? " thread" : " threads");
  for (const std::string& ref : references) {
    const size_t space = ref.find(' ');
    md << " | " << impl_label(ref.substr(0, space), ref.substr(space + 1));
  }
  md << " | ratio" << (has_memory ? " | peak memory stablenn / PyTorch" : "") << " |\n|---|---|";
  for (size_t i = 0; i < references.size(); ++i) md << "---|";
  md << "---|" << (has_memory ? "---|" : "") << "\n";
  for (const std::string& workload : workloads) {
    double spread = -1;
    const double ours = find("BENCH", workload, "stablenn", &spread);
    double fastest = -1;
    md << "| `" << workload << "` | " << time_text(ours, spread);
    for (const std::string& ref : references) {
      const double t = find("BENCH", workload, ref, &spread);
      md << " | " << time_text(t, spread);
      if (t > 0 && (fastest < 0 || t < fastest)) fastest = t;
    }
    const std::string key = bench + "." + workload;
    if (ours > 0) results.result_text(key + ".stablenn", seconds_text(ours));
    if (ours > 0 && fastest > 0) {
      results.result(key + ".ratio", ours / fastest, "%.2f");
      results.result_text(key + ".reference", seconds_text(fastest));
      md << " | " << results.results[key + ".ratio"];
    } else {
      md << " | –";
    }
    if (has_memory) {
      const double our_memory = find("PEAKMEM", workload, "stablenn");
      double their_memory = -1;
      for (const std::string& ref : references) {
        const double m = find("PEAKMEM", workload, ref);
        if (m > 0 && (their_memory < 0 || m < their_memory)) their_memory = m;
      }
      char text[64];
      std::snprintf(text, sizeof text, "%s / %s MiB",
                    our_memory > 0 ? three_digits(our_memory).c_str() : "–",
                    their_memory > 0 ? three_digits(their_memory).c_str() : "–");
      md << " | " << (our_memory > 0 || their_memory > 0 ? text : "–");
    }
    md << " |\n";
  }
  return md.str();
}

// "Measured by `bench/run.sh node` (full run): 2 threads, AMD EPYC (2 cores), 2026-12-06, commit
// abc1234." — under each table, since tables of different runs sit side by side in the file.
std::string provenance(const std::string& command, const notebook::RunDescription& run,
                       const std::string& load, bool has_pytorch, int reps) {
  return "*Measured by `" + command + "` (" + (run.smoke ? "--quick run" : "full run") + "): " +
         (reps > 1 ? "each time the median of " + std::to_string(reps) +
                          " runs, in brackets their spread (max − min) / median; "
                    : "") +
         std::to_string(run.threads) + (run.threads == 1 ? " thread" : " threads") + ", " +
         run.cpu + " (" + std::to_string(run.cores) + " cores), " + run.date.substr(0, 10) +
         ", commit " + run.commit + (load.empty() ? "" : "; other programs kept " + load + " of its cores busy at the start") +
         "." +
         (has_pytorch ? " Ratio: stablenn's time over the fastest reference (PyTorch runs with 1 "
                        "thread and with the same count; its faster one counts)."
                      : "") +
         "*";
}

}  // namespace

int main(int argc, char** argv) {
  std::string lines_path, table_name, markdown_path, out_dir = "out", load;
  int threads = 0;
  bool threads_default = false, quick = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw args::UsageError(arg + " expects a value");
        return argv[++i];
      };
      if (arg == "--lines") lines_path = value();
      else if (arg == "--table") table_name = value();
      else if (arg == "--markdown") markdown_path = value();
      else if (arg == "--out") out_dir = value();
      else if (arg == "--load") load = value();
      else if (arg == "--threads") threads = static_cast<int>(args::parse_int("--threads", value(), 1, 4096));
      else if (arg == "--threads-default") threads_default = true;
      else if (arg == "--quick") quick = true;
      else throw args::UsageError("unknown argument '" + arg + "'");
    }
    if (threads == 0) throw args::UsageError("--threads N is required");
    if (lines_path.empty() == table_name.empty())
      throw args::UsageError("give either --lines FILE or --table NAME --markdown FILE");
    if (!table_name.empty() && markdown_path.empty())
      throw args::UsageError("--table NAME needs --markdown FILE");
  } catch (const args::UsageError& e) {
    std::cerr << "report: " << e.what()
              << "\nusage: report --lines FILE --threads N [--threads-default] [--quick] [--out DIR]\n"
                 "       report --table NAME --markdown FILE --threads N [--threads-default] "
                 "[--quick] [--out DIR]\n";
    return 2;
  }

  try {
    // The tables of earlier runs (other benchmarks) stay; this run's benchmarks replace theirs.
    notebook::Context results;
    const std::string path = out_dir + "/bench_results.json";
    if (file_exists(path)) {
      const std::vector<uint8_t> bytes = read_file_raw(path, uint64_t(16) << 20);
      Json old;
      try {
        old = parse_json(std::string(bytes.begin(), bytes.end()));
      } catch (const std::exception& e) {
        throw Error(path + ": " + e.what() + " (delete it to start afresh)");
      }
      for (const char* section : {"results", "tables"}) {
        const Json* members = old.find(section);
        SNN_CHECK(members && members->is_object(), path, ": no \"", section,
                  "\" object (is this a bench/run.sh results file? delete it to start afresh)");
        auto& into = std::string(section) == "results" ? results.results : results.tables;
        for (const auto& [key, text] : members->members()) into[key] = text.as_string();
      }
    }
    notebook::RunDescription run;
    run.program = "bench/run.sh";
    run.smoke = quick;
    run.threads = threads;
    run.threads_default = threads_default;
    notebook::describe_machine(run);

    std::vector<std::string> benches;
    std::vector<Measurement> measurements;
    std::map<std::string, std::string> made;  // bench -> its Markdown
    if (!lines_path.empty()) {
      measurements = read_lines(lines_path);
      for (const Measurement& m : measurements)
        if (std::find(benches.begin(), benches.end(), m.bench) == benches.end())
          benches.push_back(m.bench);
    } else {
      const std::vector<uint8_t> bytes = read_file_raw(markdown_path, uint64_t(1) << 20);
      benches.push_back(table_name);
      made[table_name] = std::string(bytes.begin(), bytes.end());
    }
    for (const std::string& bench : benches) {
      // A rerun replaces everything the benchmark recorded before.
      for (auto it = results.results.begin(); it != results.results.end();)
        it = it->first.rfind(bench + ".", 0) == 0 ? results.results.erase(it) : std::next(it);
      bool has_pytorch = false;
      std::map<std::string, int> runs;  // repeated runs of each workload by stablenn
      for (const Measurement& m : measurements) {
        has_pytorch |= m.bench == bench && m.impl == "pytorch";
        if (m.bench == bench && m.kind == "BENCH" && m.impl == "stablenn") ++runs[m.workload];
      }
      int reps = 1;
      for (const auto& [workload, n] : runs) reps = std::max(reps, n);
      if (!made.count(bench)) made[bench] = bench_table(bench, measurements, threads, results);
      std::string table = made[bench];
      while (!table.empty() && table.back() == '\n') table.pop_back();
      const std::string command =
          lines_path.empty() ? "bench/bench_" + bench + ".sh" : "bench/run.sh " + bench;
      results.result_text(bench + ".run", quick ? "quick" : "full");
      results.result_table(bench, table + "\n\n" + provenance(command, run, load, has_pytorch, reps));
      std::cout << "\n" << bench << ":\n" << table << "\n";
    }
    // The file is a --smoke (quick) result when any of its tables is: update_book then refuses it.
    for (const auto& [key, text] : results.results)
      if (key.size() > 4 && key.compare(key.size() - 4, 4, ".run") == 0 && text == "quick")
        run.smoke = true;
    run.cells = "tables of bench/run.sh and bench/bench_load.sh";
    write_file_atomic(path, notebook::results_json(run, results));
    std::cout << "\nwrote " << path << " (scripts/update_book.sh copies it into the book)\n";
  } catch (const std::exception& e) {
    std::cerr << "report: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
