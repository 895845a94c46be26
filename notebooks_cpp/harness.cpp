// notebooks_cpp/harness.cpp — flag parsing, banner and the cell loop of every chapter program
// (chapter 1). See harness.h for the contract.
#include "notebooks_cpp/harness.h"

#include "core/error.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/parallel.h"
#include "core/random.h"
#include "datasets/data_dir.h"
#include "io/file_bytes.h"
#include "notebooks_cpp/results.h"
#include "io/safetensors.h"
#include "train/trainer.h"

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
    notice(note.str());  // also when the cell runs hidden: every later number depends on it
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

namespace {

// The file descriptor of the real standard output while a hidden cell runs (fd 1 then points at
// /dev/null), -1 otherwise: notice() writes there.
int visible_stdout_fd = -1;

// An absolute, tidy path for messages: "out/x" run from /home/u says /home/u/out/x.
std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// The Trainer's CSV columns (train/trainer.cpp), in its order.
const char* const kHistoryColumns[] = {"epoch",     "lr",            "train_loss", "train_accuracy",
                                       "test_loss", "test_accuracy", "seconds"};

// The rows of a Trainer CSV log with epoch <= up_to; an unreadable or foreign file gives none
// (the history is for the curves only; the weights come from the checkpoint).
std::vector<EpochResult> read_history(const std::string& path, int64_t up_to) {
  std::vector<EpochResult> rows;
  std::string text;
  try {
    const std::vector<uint8_t> bytes = read_file_bytes(path);
    text.assign(bytes.begin(), bytes.end());
  } catch (const Error&) {
    return rows;
  }
  std::istringstream lines(text);
  std::string line;
  std::vector<std::string> header;
  if (!std::getline(lines, line)) return rows;
  std::istringstream names(line);
  for (std::string name; std::getline(names, name, ',');) header.push_back(name);
  while (std::getline(lines, line)) {
    std::map<std::string, double> v;
    std::istringstream fields(line);
    size_t i = 0;
    for (std::string field; std::getline(fields, field, ',') && i < header.size(); ++i)
      v[header[i]] = std::strtod(field.c_str(), nullptr);
    if (!v.count("epoch") || v["epoch"] < 1 || v["epoch"] > double(up_to)) continue;
    EpochResult r;
    r.epoch = static_cast<int64_t>(v["epoch"]);
    r.lr = v["lr"], r.train_loss = v["train_loss"], r.train_accuracy = v["train_accuracy"];
    r.test_loss = v["test_loss"], r.test_accuracy = v["test_accuracy"], r.seconds = v["seconds"];
    rows.push_back(r);
  }
  return rows;
}

void write_history(const std::string& path, const std::vector<EpochResult>& history) {
  std::ostringstream csv;
  csv.precision(9);
  for (size_t i = 0; i < std::size(kHistoryColumns); ++i) csv << (i ? "," : "") << kHistoryColumns[i];
  csv << "\n";
  for (const EpochResult& r : history)
    csv << r.epoch << "," << r.lr << "," << r.train_loss << "," << r.train_accuracy << "," << r.test_loss << ","
        << r.test_accuracy << "," << r.seconds << "\n";
  write_file_atomic(path, csv.str());
}

}  // namespace

void notice(const std::string& line) {
  if (visible_stdout_fd < 0) {
    std::cout << line << "\n" << std::flush;
    return;
  }
  const std::string text = line + "\n";
  // The hidden cell's own output is buffered for /dev/null; this goes straight to the terminal.
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(visible_stdout_fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

bool load_or_train(const std::string& checkpoint, const std::function<void()>& load,
                   const std::function<void()>& train) {
  const std::string where = absolute_path(checkpoint);
  if (file_exists(checkpoint)) {
    try {
      load();
      notice("  (using the model saved in " + where + " by an earlier run)");
      return true;
    } catch (const Error& e) {
      notice("  (" + where + " does not fit: " + e.what() + "; training afresh)");
    }
  } else {
    notice("  (no checkpoint at " + where + " yet: training)");
  }
  train();
  return false;
}

std::string checkpoint_for(const Context& ctx, const std::string& name, const std::string& config) {
  // FNV-1a: short, stable across runs and compilers (std::hash is neither promised to be).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : config) h = (h ^ c) * 1099511628211ull;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(h ^ (h >> 32)));
  return ctx.out_path(name + "_" + hex + ".safetensors");
}

TrainResult fit_or_resume(const Context& ctx, Trainer& trainer, const DataLoader& train,
                          const DataLoader* test) {
  TrainerOptions& o = trainer.options;
  const std::string where = absolute_path(o.checkpoint_path);
  const std::string hidden_note = ctx.hidden ? " (the cell's output is hidden)" : "";
  std::vector<EpochResult> earlier;
  o.resume = false;
  if (o.checkpoint_path.empty()) {
    // nothing to resume from: a plain fit
  } else if (!file_exists(o.checkpoint_path)) {
    notice("  (no checkpoint at " + where + " yet: training " + std::to_string(o.epochs) +
           (o.epochs == 1 ? " epoch" : " epochs") +
           hidden_note + ")");
  } else if (ctx.has_flag("retrain")) {
    notice("  (--retrain: training again, replacing " + where + ")");
  } else {
    try {
      const int64_t done = checkpoint_integer(load_safetensors(o.checkpoint_path).metadata, "epoch",
                                              o.checkpoint_path, 0, 1 << 30);
      o.resume = true;
      if (!o.csv_path.empty()) earlier = read_history(o.csv_path, done);
      if (done >= o.epochs)
        notice("  (using the model saved in " + where + " by an earlier run; --retrain trains again)");
      else
        notice("  (resuming the run stopped after epoch " + std::to_string(done) + " of " +
               std::to_string(o.epochs) + ", saved in " + where + hidden_note + ")");
    } catch (const Error& e) {
      notice("  (" + where + " cannot be resumed: " + e.what() + "; training afresh" + hidden_note + ")");
    }
  }
  TrainResult result;
  try {
    result = trainer.fit(train, test);
  } catch (const Error& e) {
    // The resume loads the file into the model first: a file of another model ends up here.
    if (!o.resume) throw;
    notice("  (" + where + " does not fit this model: " + e.what() + "; training afresh" + hidden_note + ")");
    o.resume = false;
    earlier.clear();
    result = trainer.fit(train, test);
  }
  if (!earlier.empty()) {
    result.history.insert(result.history.begin(), earlier.begin(), earlier.end());
    write_history(o.csv_path, result.history);  // the Trainer started the log afresh
  }
  return result;
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

// Silences standard output while alive (when `on`), whatever writes to it: std::cout gets a null
// buffer, and file descriptor 1 points at /dev/null so printf, puts and libraries are silent too.
// Standard error stays visible. The destructor restores both, also when a cell throws.
class HiddenStdout {
 public:
  explicit HiddenStdout(bool on) {
    if (!on) return;
    std::cout.flush();
    std::fflush(stdout);
    saved_buf_ = std::cout.rdbuf(nullptr);
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0) return;  // std::cout is still silenced
    saved_fd_ = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    if (saved_fd_ >= 0 && ::dup2(null_fd, STDOUT_FILENO) < 0) {
      ::close(saved_fd_);
      saved_fd_ = -1;
    }
    ::close(null_fd);
    visible_stdout_fd = saved_fd_;
  }
  ~HiddenStdout() {
    if (saved_fd_ >= 0) {
      std::fflush(stdout);  // what the cell left in stdio's buffer belongs to /dev/null
      ::dup2(saved_fd_, STDOUT_FILENO);
      ::close(saved_fd_);
      visible_stdout_fd = -1;
    }
    if (saved_buf_) {
      std::cout.rdbuf(saved_buf_);  // also clears the stream's error state
      // A write to the null buffer fails before it uses up a setw(), which would pad our next line.
      std::cout.width(0);
    }
  }
  HiddenStdout(const HiddenStdout&) = delete;
  HiddenStdout& operator=(const HiddenStdout&) = delete;

 private:
  std::streambuf* saved_buf_ = nullptr;
  int saved_fd_ = -1;
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
     << "  --data-dir DIR  dataset folder (default: $STABLENN_DATA, ./data, ../shared/data, then next to\n"
     << "                  the source tree and the executable)\n"
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

// The width of the terminal on standard output; 80 when it is not a terminal.
size_t terminal_columns() {
  struct winsize size {};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  return 80;
}

// Indents the cell's explanation so it stands apart from the cell's own output, wrapped to the
// terminal.
void print_explanation(const std::string& text) {
  std::cout << wrap_text(text, std::max<size_t>(terminal_columns(), 20) - 1, "    ");
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

std::string wrap_text(const std::string& text, size_t width, const std::string& indent) {
  std::string out, line;
  const auto flush_line = [&] {
    if (!line.empty()) out += indent + line + "\n";
    line.clear();
  };
  std::istringstream lines(text);
  std::string source;
  while (std::getline(lines, source)) {
    if (source.find_first_not_of(" \t") == std::string::npos) {  // a blank line: a paragraph break
      flush_line();
      out += "\n";
      continue;
    }
    // A line that starts indented or with a list mark starts a line of its own.
    const bool own_line = source[0] == ' ' || source[0] == '\t' || source.rfind("- ", 0) == 0 ||
                          source.rfind("* ", 0) == 0;
    if (own_line) flush_line();
    // Its indentation and list mark are kept in front of its first word.
    size_t lead_size = own_line ? source.find_first_not_of(" \t") : 0;
    if (own_line && (source.compare(lead_size, 2, "- ") == 0 || source.compare(lead_size, 2, "* ") == 0))
      lead_size += 2;
    const std::string lead = source.substr(0, lead_size);
    std::istringstream words(source.substr(lead_size));
    bool first = true;
    for (std::string word; words >> word; first = false) {
      if (first && own_line) {
        line = lead + word;
        continue;
      }
      // A word longer than the whole width goes on a line of its own rather than being cut.
      if (!line.empty() && indent.size() + line.size() + 1 + word.size() > width) flush_line();
      line += (line.empty() ? "" : " ") + word;
    }
  }
  flush_line();
  return out;
}

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
  std::chrono::steady_clock::duration waited{};  // --step: time spent waiting for Enter
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
      if (opts.step) {
        const auto wait_start = std::chrono::steady_clock::now();
        wait_for_enter(stdin_open);
        waited += std::chrono::steady_clock::now() - wait_start;
      }
      std::cout << std::flush;
    }

    const auto cell_start = std::chrono::steady_clock::now();
    try {
      HiddenStdout hide(hidden);
      ctx.hidden = hidden;
      cell.run(ctx);
      ctx.hidden = false;
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
  // The run's own time is a result too: a book that quotes how long a chapter takes quotes this.
  const double run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                           (program_start + waited)).count();
  ctx.result("run_seconds", run_seconds, "%.0f");
  if (!write_run_results(info, program, ctx, opts, cells.size())) return 1;
  std::cout << "\ndone: " << cells_run << " cell" << (cells_run == 1 ? "" : "s") << " in "
            << seconds_since(program_start + waited)
            << (opts.step ? " (not counting the waits for Enter)" : "") << "\n";
  // A rerun with the same seed reproduces this run bit for bit only if the thread count held.
  if (const int64_t changes = thread_count_changes(); changes > 0)
    std::cout << "threads: other programs kept cores busy, so the count in use changed " << changes
              << " time" << (changes == 1 ? "" : "s") << " during this run; its results can differ "
              << "from a run on an idle machine, in the last digits or, where it trained, by more (the "
              << "rounding grows over the epochs; STABLENN_ADAPTIVE_THREADS=0 or --threads 1 keeps "
              << "the count fixed)\n";
  return 0;
}

}  // namespace stablenn::notebook
