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

#include "core/parallel.h"
#include "core/random.h"

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
  const std::string value = flag(name, std::to_string(fallback));
  try {
    size_t used = 0;
    const int64_t n = std::stoll(value, &used);
    SNN_CHECK(used == value.size() && n >= 1, "--", name, " must be a whole number >= 1, got '",
              value, "'");
    return n;
  } catch (const std::logic_error&) {
    fail("--", name, " expects a whole number, got '", value, "'");
  }
}

double Context::double_flag(const std::string& name, double fallback) const {
  const std::string value = flag(name, "");
  if (value.empty()) return fallback;
  try {
    size_t used = 0;
    const double x = std::stod(value, &used);
    SNN_CHECK(used == value.size(), "--", name, " expects a number, got '", value, "'");
    return x;
  } catch (const std::logic_error&) {
    fail("--", name, " expects a number, got '", value, "'");
  }
}

namespace {

// Why a command line was rejected; turned into "usage + exit 2" by run_chapter.
struct UsageError {
  std::string message;
};

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

// A non-negative integer flag value, or a UsageError naming the flag.
int64_t parse_count(const std::string& flag, const std::string& value, int64_t min_value) {
  size_t used = 0;
  int64_t parsed = 0;
  try {
    parsed = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || parsed < min_value)
    throw UsageError{flag + " expects an integer >= " + std::to_string(min_value) + ", got '" +
                     value + "'"};
  return parsed;
}

uint64_t parse_seed(const std::string& value) {
  size_t used = 0;
  unsigned long long parsed = 0;
  try {
    if (!value.empty() && value[0] != '-') parsed = std::stoull(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size())
    throw UsageError{"--seed expects a non-negative integer, got '" + value + "'"};
  return parsed;
}

// Parses argv into ctx and opts. Accepts "--name VALUE" and "--name=VALUE".
void parse_flags(int argc, char** argv, const ChapterInfo& info, size_t cell_count, Context& ctx,
                 Options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) throw UsageError{"unexpected argument '" + arg + "'"};
    std::string name = arg.substr(2);
    std::string inline_value;
    bool has_inline = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    // The value of a flag that takes one: inline, or the next argument.
    auto value = [&]() -> std::string {
      if (has_inline) return inline_value;
      if (i + 1 >= argc) throw UsageError{"--" + name + " expects a value"};
      return argv[++i];
    };
    auto no_value = [&]() {
      if (has_inline) throw UsageError{"--" + name + " takes no value"};
    };

    if (name == "help") {
      no_value();
      opts.help = true;
    } else if (name == "step") {
      no_value();
      opts.step = true;
    } else if (name == "smoke") {
      no_value();
      ctx.smoke = true;
    } else if (name == "cell") {
      opts.cell = static_cast<int>(parse_count("--cell", value(), 1));
      if (static_cast<size_t>(opts.cell) > cell_count)
        throw UsageError{"--cell " + std::to_string(opts.cell) + ": this chapter has " +
                         std::to_string(cell_count) + " cells"};
    } else if (name == "out") {
      ctx.out_dir = value();
      if (ctx.out_dir.empty()) throw UsageError{"--out expects a folder name"};
    } else if (name == "threads") {
      opts.threads = static_cast<int>(parse_count("--threads", value(), 1));
    } else if (name == "seed") {
      ctx.seed = parse_seed(value());
      opts.seed_given = true;
    } else if (name == "data-dir") {
      ctx.data_dir = value();
    } else {
      const ExtraFlag* extra = nullptr;
      for (const ExtraFlag& f : info.extra_flags)
        if (f.name == name) extra = &f;
      if (!extra) throw UsageError{"unknown option '--" + name + "'"};
      if (extra->takes_value) {
        ctx.flags[name] = value();
      } else {
        no_value();
        ctx.flags[name] = "1";
      }
    }
  }
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

}  // namespace

int run_chapter(int argc, char** argv, const ChapterInfo& info, const std::vector<Cell>& cells) {
  const std::string program = program_name(argc > 0 ? argv[0] : nullptr);
  Context ctx;
  Options opts;
  try {
    parse_flags(argc, argv, info, cells.size(), ctx, opts);
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.message << "\n\n";
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
  std::cout << "\ndone: " << cells_run << " cell" << (cells_run == 1 ? "" : "s") << " in "
            << seconds_since(program_start) << "\n";
  return 0;
}

}  // namespace stablenn::notebook
