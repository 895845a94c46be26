// notebooks_cpp/harness.h — the chapter-program harness shared by every chapter (chapter 1).
//
// A chapter program is a list of cells, each with a title, a short explanation and code, run in order:
//
//   int main(int argc, char** argv) {
//     using namespace stablenn::notebook;
//     return run_chapter(argc, argv, {1, "Tensors", "book/01-tensors.md"}, {
//       {"Shapes and strides", "A tensor is a view on a flat buffer ...", [](Context& ctx) { ... }},
//     });
//   }
//
// Flags (all chapters): --step, --smoke, --cell N, --out DIR, --threads N, --seed S, --data-dir DIR,
// --help, plus chapter-specific flags declared in ChapterInfo::extra_flags and read with ctx.flag().
// Every flag is checked before the first cell runs (io/args.h): a bad value, an --out folder that
// cannot be written or a --data-dir that does not exist stops the program with exit status 2.
//
// What the cells of a chapter share (data, models, results) lives in one struct at file scope,
// `struct Chapter { ... }; Chapter state;`, so a cell reads like a notebook cell: it uses `state`.
// The data of a chapter comes through real_or_synthetic(), a trained model through load_or_train().
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "datasets/fallback.h"
#include "io/args.h"

namespace stablenn {
// train/trainer.h, declared only: including it would bring autodiff's overloads (concat of Vars)
// into every chapter, making calls such as concat({tensor, tensor}, 1) ambiguous.
class DataLoader;
class Trainer;
struct TrainResult;
}  // namespace stablenn

namespace stablenn::notebook {

// Chapter 1: what a cell sees while it runs.
struct Context {
  bool smoke = false;          // --smoke: tiny sizes, the whole program finishes in seconds
  uint64_t seed = 0;           // --seed: also seeds stablenn::default_generator()
  std::string out_dir = "out"; // --out: figures and results go here (created on demand)
  std::string data_dir;        // --data-dir: empty means "search the usual places"
  int threads = 0;             // the thread count in use
  std::map<std::string, std::string> flags;  // chapter-specific flags, e.g. {"retrain", "1"}
  bool hidden = false;         // this cell runs only to build the state of a later --cell N

  // Path of an output file inside out_dir (the folder is created if needed).
  std::string out_path(const std::string& file_name) const;
  // A chapter-specific flag: its value, or `fallback` when absent. Boolean flags have value "1".
  std::string flag(const std::string& name, const std::string& fallback = "") const;
  bool has_flag(const std::string& name) const { return flags.count(name) > 0; }
  // A chapter-specific flag read as a whole number >= 1 (or a number), `fallback` when absent;
  // anything else throws naming the flag and the value given.
  int64_t int_flag(const std::string& name, int64_t fallback) const;
  double double_flag(const std::string& name, double fallback) const;
  // `full` normally, `small` under --smoke: the one-liner for sizes that shrink in smoke runs.
  int64_t pick(int64_t full, int64_t small) const { return smoke ? small : full; }

  // Chapter 1: the numbers the book quotes. A cell records each under a key (lower-case letters,
  // digits, '_', '.', '-'), formatted as the book prints it, e.g.
  //   ctx.result("clean_accuracy.resnet", 88.3, "%.1f");   ctx.result_table("epochs", markdown);
  // At the end of the run they are written to out/chNN_results.json with a description of the run
  // (notebooks_cpp/results.h); scripts/update_book.sh copies them into the book's markers.
  void result(const std::string& key, double value, const char* format);
  void result_text(const std::string& key, const std::string& text);
  void result_table(const std::string& name, const std::string& markdown);
  std::map<std::string, std::string> results;  // key -> text, as written to the results file
  std::map<std::string, std::string> tables;   // name -> Markdown table
};

// Chapter 1: 1042 -> "1,042", as the book writes counts.
std::string thousands(int64_t count);

// Chapter 4: at most `decimals` decimals without trailing zeros, a real minus sign, no "-0" and ∞ for
// infinity, as the book's tables write numbers: 2, 2.7853, −0.27.
std::string plain(double v, int decimals);

// Chapter 6: a Markdown table of curves sampled at `xs`, a row per curve (`names`), at the columns
// `shown` (each the nearest sample), the cells printed with `cell_format` (e.g. "%.3f"):
// "| z | 1.0 | 2.25 |\n|---|---|---|\n| Euler | 1.000 | 1.038 |" (no newline at the end).
std::string sampled_table(const std::vector<double>& xs, const std::vector<std::string>& names,
                          const std::vector<std::vector<double>>& curves, const std::vector<double>& shown,
                          const char* cell_format);

// Chapter 1: one cell of a chapter program.
struct Cell {
  std::string title;
  std::string explanation;  // printed before the cell runs (and waited on under --step)
  std::function<void(Context&)> run;
};

// A chapter-specific flag: "--name" (boolean) or "--name VALUE" (takes_value). `check` validates
// the value before any cell runs, e.g. args::whole_number(1) or args::one_of({"a", "b"}); a value
// flag without one is free text (a file name).
struct ExtraFlag {
  std::string name;  // without the leading dashes
  bool takes_value;
  std::string help;
  args::ValueCheck check = {};
};

// Chapter 1: who the program is.
struct ChapterInfo {
  int number;
  std::string title;
  std::string book_file;  // e.g. "book/01-tensors.md"
  std::vector<ExtraFlag> extra_flags = {};
};

// Chapter 1: parses the flags, prints the banner (version, BLAS library, thread counts), runs the
// selected cells and returns the process exit code. An exception in a cell is reported with the
// cell's title and gives exit code 1; bad flags print the usage and give exit code 2, and so does a
// DataError (input files that are there but broken).
int run_chapter(int argc, char** argv, const ChapterInfo& info, const std::vector<Cell>& cells);

// Chapter 3: data files that exist but cannot be read. Unlike missing files, which the synthetic
// stand-in replaces, this stops the program with exit status 2: a broken download must not pass
// silently for "no data".
class DataError : public Error {
 public:
  explicit DataError(const std::string& what) : Error(what) {}
};

// Chapter 3: the chapter's data. `load_real` reads the real dataset; when its files are absent
// (it throws DatasetMissing) the program says so loudly, naming the folders searched, and uses
// `make_synthetic()` instead (marked synthetic, the message kept in `note`). Any other error of
// `load_real` means the files are there but broken: DataError naming the dataset and the problem.
TrainTestData real_or_synthetic(const std::string& dataset,
                                const std::function<TrainTestData()>& load_real,
                                const std::function<TrainTestData()>& make_synthetic);

// Chapter 3: a trained model for a cell that needs one. When `checkpoint` exists, `load` builds the
// model and reads it (a checkpoint that does not fit the model throws, and is reported); otherwise,
// or when loading failed, `train` trains it (and writes the checkpoint). Returns true when loaded.
bool load_or_train(const std::string& checkpoint, const std::function<void()>& load,
                   const std::function<void()>& train);

// Chapter 1: `text` wrapped at word boundaries into lines of at most `width` characters (a word
// longer than that stays whole), each starting with `indent`. Blank lines (paragraph breaks) are
// kept; other line breaks join, except before a line that starts indented or with "- " / "* ".
std::string wrap_text(const std::string& text, size_t width, const std::string& indent = "");

// Chapter 1: prints `line` (a newline is added) where the user sees it even while the cell runs
// hidden under --cell N: for what the user must know, such as "training now, no checkpoint found".
void notice(const std::string& line);

// Chapter 3: the checkpoint file of a training run in --out: "<name>_<8 hex digits>.safetensors",
// the digits a hash of `config` (write into it everything that changes the trained weights: sizes,
// epochs, learning rate, seed, data), so that a --smoke run's file is never taken for a full run's.
std::string checkpoint_for(const Context& ctx, const std::string& name, const std::string& config);

// Chapter 3: trainer.fit(train, test) with the chapter programs' checkpoint rules. When
// trainer.options.checkpoint_path exists (and --retrain, which chapters that train declare, was not
// given) the run resumes from it: a finished run's file means no training at all, one stopped by
// Ctrl-C continues after its last epoch. The history of the earlier epochs comes back from the CSV
// log (trainer.options.csv_path), which is rewritten whole. A file that does not fit the model is
// reported and training starts afresh. Says which of these happens, naming the file's absolute path,
// also in a hidden cell.
TrainResult fit_or_resume(const Context& ctx, Trainer& trainer, const DataLoader& train,
                          const DataLoader* test);

}  // namespace stablenn::notebook
