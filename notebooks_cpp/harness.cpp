// notebooks_cpp/harness.cpp — flag parsing, banner and the cell loop of every chapter program
// (chapter 1). See harness.h for the contract.
#include "notebooks_cpp/harness.h"

#include "core/error.h"

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <unistd.h>

#include "core/parallel.h"
#include "core/random.h"
#include "datasets/data_dir.h"
#include "io/file_bytes.h"
#include "notebooks_cpp/results.h"

#ifndef STABLENN_VERSION
#define STABLENN_VERSION "unknown"
#endif

namespace stablenn::notebook {

std::string Context::out_path(const std::string& file_name) const {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  SNN_CHECK(!ec, "--out: cannot create output folder '", out_dir, "': ", ec.message());
  return (std::filesystem::path(out_dir) / file_name).string();
}

std::string Context::flag(const std::string& name, const std::string& fallback) const {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

int64_t Context::int_flag(const std::string& name, int64_t fallback) const {
  return has_flag(name) ? args::parse_int("--" + name, flag(name), 1) : fallback;
}

double Context::double_flag(const std::string& name, double fallback) const {
  return has_flag(name) ? args::parse_double("--" + name, flag(name)) : fallback;
}

TrainTestData real_or_synthetic(const std::string& dataset,
                                const std::function<TrainTestData()>& load_real,
                                const std::function<TrainTestData()>& make_synthetic) {
  try {
    TrainTestData data = load_real();
    data.synthetic = false;
    return data;
  } catch (const DatasetMissing& missing) {
    // Loud: the numbers of this run are not the book's. The search details are indented below.
    std::string details = missing.what();
    for (size_t at = details.find('\n'); at != std::string::npos; at = details.find('\n', at + 5))
      details.replace(at, 1, "\n    ");
    std::ostringstream note;
    note << "  " << dataset << " was not found, so this run uses SYNTHETIC data instead (the numbers\n"
         << "  below are NOT " << dataset << "'s):\n    " << details;
    std::cout << note.str() << "\n" << std::flush;
    TrainTestData data = make_synthetic();
    data.synthetic = true;
    data.note = note.str();
    return data;
  } catch (const Error& broken) {
    throw DataError(dataset + ": the data files are there but cannot be read: " + broken.what() +
                    "\nReplace them (scripts/download_data.sh fetches them again) or move them away "
                    "to run on synthetic data.");
  }
}

bool load_or_train(const std::string& checkpoint, const std::function<void()>& load,
                   const std::function<void()>& train) {
  if (file_exists(checkpoint)) {
    try {
      load();
      std::cout << "  (using the model saved in " << checkpoint << " by an earlier run)\n";
      return true;
    } catch (const Error& e) {
      std::cout << "  (" << checkpoint << " does not fit: " << e.what() << "; training afresh)\n";
    }
  }
  train();
  return false;
}

namespace {

// Everything the command line asked for, beyond what the Context carries.
struct Options {
  bool step = false;
  bool help = false;
  int cell = 0;     // 0: all cells; otherwise 1-based
  int threads = 0;  // 0: keep OMP_NUM_THREADS / all cores
  bool seed_given = false;
};

// Discards std::cout while alive (when `on`): a null buffer makes every write a no-op, and
// restoring the buffer clears the stream's error state.
class HiddenStdout {
 public:
  explicit HiddenStdout(bool on) : saved_(on ? std::cout.rdbuf(nullptr) : nullptr) {}
  ~HiddenStdout() {
    if (saved_) std::cout.rdbuf(saved_);
  }
  HiddenStdout(const HiddenStdout&) = delete;
  HiddenStdout& operator=(const HiddenStdout&) = delete;

 private:
  std::streambuf* saved_;
};

std::string program_name(const char* argv0) {
  return argv0 ? std::filesystem::path(argv0).filename().string() : "chapter";
}

void print_usage(std::ostream& os, const std::string& program, const ChapterInfo& info,
                 size_t cell_count) {
  os << "usage: " << program << " [options]\n"
     << "Chapter " << info.number << ", \"" << info.title << "\": " << cell_count
     << " cells; the book chapter is " << info.book_file << ".\n\n"
     << "options:\n"
     << "  --step          print each cell's explanation and wait for Enter before running it\n"
     << "  --smoke         tiny sizes: the whole program finishes in seconds\n"
     << "  --cell N        show only cell N (1.." << cell_count << "); cells 1..N-1 run first, output hidden\n"
     << "  --out DIR       where figures and results go (default: out)\n"
     << "  --threads N     threads for our loops and OpenBLAS (default: OMP_NUM_THREADS or all cores)\n"
     << "  --seed S        seed of the random generator (default: 0)\n"
     << "  --data-dir DIR  dataset folder (default: $STABLENN_DATA, ./data, ../shared/data)\n"
     << "  --help          this text\n";
  if (!info.extra_flags.empty()) {
    os << "\nchapter " << info.number << " options:\n";
    for (const ExtraFlag& f : info.extra_flags) {
      std::string left = "--" + f.name + (f.takes_value ? " VALUE" : "");
      os << "  " << std::left << std::setw(14) << left << "  " << f.help << "\n";
    }
  }
}

// Creates the --out folder and proves it writable with a probe file, so that a run does not fail
// at its first figure after minutes of training.
void check_out_dir(const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw args::UsageError("--out: cannot create the folder '" + out_dir + "': " + ec.message());
  if (!std::filesystem::is_directory(out_dir, ec))
    throw args::UsageError("--out: '" + out_dir + "' exists and is not a folder");
  const std::string probe =
      (std::filesystem::path(out_dir) / (".write_test" + std::to_string(::getpid()))).string();
  try {
    write_file_atomic(probe, "", 0);
  } catch (const Error& e) {
    throw args::UsageError("--out: the folder '" + out_dir + "' is not writable: " + e.what());
  }
  std::filesystem::remove(probe, ec);
}

// Parses argv into ctx and opts and checks every value (chapter flags included) before any cell
// runs. Accepts "--name VALUE" and "--name=VALUE". Throws args::UsageError.
void parse_flags(int argc, char** argv, const ChapterInfo& info, size_t cell_count, Context& ctx,
                 Options& opts) {
  std::vector<args::FlagSpec> known = {{"help", false},    {"step", false},    {"smoke", false},
                                       {"cell", true},     {"out", true},      {"threads", true},
                                       {"seed", true},     {"data-dir", true}};
  for (const ExtraFlag& f : info.extra_flags) known.push_back({f.name, f.takes_value});
  for (const args::GivenFlag& given : args::split_flags(argc, argv, known)) {
    const std::string& name = given.name;
    const std::string& value = given.value;
    if (name == "help") {
      opts.help = true;
    } else if (name == "step") {
      opts.step = true;
    } else if (name == "smoke") {
      ctx.smoke = true;
    } else if (name == "cell") {
      opts.cell = static_cast<int>(args::parse_int("--cell", value, 1, static_cast<int64_t>(cell_count)));
    } else if (name == "out") {
      if (value.empty()) throw args::UsageError("--out expects a folder name");
      ctx.out_dir = value;
    } else if (name == "threads") {
      opts.threads = static_cast<int>(args::parse_int("--threads", value, 1, 4096));
    } else if (name == "seed") {
      ctx.seed = args::parse_uint("--seed", value);
      opts.seed_given = true;
    } else if (name == "data-dir") {
      std::error_code ec;
      if (!std::filesystem::is_directory(value, ec))
        throw args::UsageError("--data-dir: '" + value + "' " +
                               (std::filesystem::exists(value, ec) ? "is not a folder"
                                                                    : "does not exist"));
      ctx.data_dir = value;
    } else {
      for (const ExtraFlag& f : info.extra_flags)
        if (f.name == name) {
          if (f.check) f.check("--" + name, value);
          ctx.flags[name] = f.takes_value ? value : "1";
        }
    }
  }
  if (!opts.help) check_out_dir(ctx.out_dir);
}

void print_banner(const ChapterInfo& info, const Context& ctx, size_t cell_count) {
  const char* omp_env = std::getenv("OMP_NUM_THREADS");
  std::cout << "stablenn " << STABLENN_VERSION << " — chapter " << info.number << ": " << info.title
            << " (" << cell_count << " cells; read along in " << info.book_file << ")\n"
            << "BLAS:    " << blas_info() << "\n"
            << "threads: " << ctx.threads << " (OMP_NUM_THREADS=" << (omp_env ? omp_env : "unset")
            << ", cores " << omp_get_num_procs() << "; "
            << (adaptive_threads() ? "fewer while other programs keep cores busy"
                                   : "fixed: STABLENN_ADAPTIVE_THREADS=0")
            << ")\n"
            << "seed:    " << ctx.seed << (ctx.smoke ? "   mode: --smoke (tiny sizes)" : "")
            << "\nout:     " << ctx.out_dir << "\n"
            << std::flush;
}

// Indents every line of a cell's explanation so it stands apart from the cell's own output.
void print_explanation(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) std::cout << "    " << line << "\n";
}

// --step: waits for Enter; end of input (a pipe, /dev/null) means "keep going without waiting".
void wait_for_enter(bool& stdin_open) {
  if (!stdin_open) return;
  std::cout << "    -- press Enter to run this cell --" << std::flush;
  std::string ignored;
  if (!std::getline(std::cin, ignored)) {
    stdin_open = false;
    std::cout << "\n";
  }
}

// "1.234 s" — formatted on its own stream so the cells' std::cout formatting is left alone.
std::string seconds_since(std::chrono::steady_clock::time_point start) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::ostringstream os;
  os << std::fixed << std::setprecision(3) << s << " s";
  return os.str();
}

// Writes the numbers the cells recorded (results.h), with what the run was: the book quotes them.
// False (after saying why) when the file cannot be written.
bool write_run_results(const ChapterInfo& info, const std::string& program, const Context& ctx,
                       const Options& opts, size_t cell_count) {
  RunDescription run;
  run.chapter = info.number;
  run.program = program;
  run.smoke = ctx.smoke;
  run.seed = ctx.seed;
  run.threads = ctx.threads;
  run.threads_default = opts.threads == 0 && std::getenv("OMP_NUM_THREADS") == nullptr;
  if (opts.cell != 0 && static_cast<size_t>(opts.cell) < cell_count)
    run.cells = "1-" + std::to_string(opts.cell);
  describe_machine(run);
  try {
    std::cout << "\nresults: " << write_results(run, ctx) << "\n";
    return true;
  } catch (const std::exception& e) {
    std::cerr << "\n" << program << ": cannot write the results file: " << e.what() << "\n";
    return false;
  }
}

}  // namespace

int run_chapter(int argc, char** argv, const ChapterInfo& info, const std::vector<Cell>& cells) {
  const std::string program = program_name(argc > 0 ? argv[0] : nullptr);
  Context ctx;
  Options opts;
  try {
    parse_flags(argc, argv, info, cells.size(), ctx, opts);
  } catch (const args::UsageError& e) {
    std::cerr << program << ": " << e.what() << "\n\n";
    print_usage(std::cerr, program, info, cells.size());
    return 2;
  }
  if (opts.help) {
    print_usage(std::cout, program, info, cells.size());
    return 0;
  }

  if (opts.threads > 0) set_num_threads(opts.threads);
  ctx.threads = requested_threads();
  // Always seed, so that a run without --seed is as reproducible as one with --seed 0.
  manual_seed(ctx.seed);
  print_banner(info, ctx, cells.size());

  const auto program_start = std::chrono::steady_clock::now();
  bool stdin_open = true;
  int cells_run = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    const int number = static_cast<int>(i) + 1;
    if (opts.cell != 0 && number > opts.cell) break;
    const Cell& cell = cells[i];
    // --cell N: cells build on the ones before them (data, models, trained weights), so those run
    // first with their standard output hidden; progress bars (standard error) still show.
    const bool hidden = opts.cell != 0 && number < opts.cell;
    if (hidden && number == 1)
      std::cout << "\n(cells 1-" << opts.cell - 1 << " run first, output hidden: cell " << opts.cell
                << " builds on them)\n" << std::flush;
    if (!hidden) {
      std::cout << "\n[" << number << "/" << cells.size() << "] " << cell.title << "\n";
      print_explanation(cell.explanation);
      if (opts.step) wait_for_enter(stdin_open);
      std::cout << std::flush;
    }

    const auto cell_start = std::chrono::steady_clock::now();
    try {
      HiddenStdout hide(hidden);
      cell.run(ctx);
    } catch (const DataError& e) {  // broken input files: like a bad flag, the caller's to fix
      std::cout << std::flush;
      std::cerr << "\n" << program << ": " << e.what() << "\n";
      return 2;
    } catch (const args::UsageError& e) {
      std::cout << std::flush;
      std::cerr << "\n" << program << ": " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cout << std::flush;
      std::cerr << "\n" << program << ": cell " << number << "/" << cells.size() << " (\""
                << cell.title << "\") failed: " << e.what() << "\n";
      return 1;
    } catch (...) {
      std::cout << std::flush;
      std::cerr << "\n" << program << ": cell " << number << "/" << cells.size() << " (\""
                << cell.title << "\") failed with an unknown exception\n";
      return 1;
    }
    if (hidden) continue;
    std::cout << "    (cell " << number << " took " << seconds_since(cell_start) << ")\n"
              << std::flush;
    ++cells_run;
  }
  if (!write_run_results(info, program, ctx, opts, cells.size())) return 1;
  std::cout << "\ndone: " << cells_run << " cell" << (cells_run == 1 ? "" : "s") << " in "
            << seconds_since(program_start) << "\n";
  return 0;
}

}  // namespace stablenn::notebook
