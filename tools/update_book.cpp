// tools/update_book.cpp — fills the book's result markers from the chapter programs' results files
// and bench/run.sh's (chapter 1; tools/book_markers.h). scripts/update_book.sh builds and calls it.
//
//   update_book --results DIR [--check] [--allow-smoke] [--only SOURCE] FILE.md...
//
// Without --check each FILE.md is rewritten (atomically) when a marker's content differs; markers
// whose results file is not in DIR (no chNN_results.json, no bench_results.json) stay as they are,
// with a note. The book quotes full runs at the default thread count, so results of a --smoke
// (--quick) run or of a run with --threads are refused unless --allow-smoke / --check. With --check
// nothing is written and every marker must have its result (CI runs this on --smoke results).
// --only ch03 / --only bench: only that source's markers. Exit status 0 when all is well, 1 when a
// marker has no result or a file cannot be read or written, 2 on bad flags.
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "core/error.h"
#include "io/args.h"
#include "io/file_bytes.h"
#include "tools/book_markers.h"

using namespace stablenn;

int main(int argc, char** argv) {
  std::string results_dir, only;
  bool check = false, allow_smoke = false;
  std::vector<std::string> files;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--check") {
        check = true;
      } else if (arg == "--allow-smoke") {
        allow_smoke = true;
      } else if (arg == "--only") {
        if (i + 1 >= argc) throw args::UsageError("--only expects a source, e.g. ch03 or bench");
        only = argv[++i];
      } else if (arg == "--results") {
        if (i + 1 >= argc) throw args::UsageError("--results expects a folder of chNN_results.json files");
        results_dir = argv[++i];
      } else if (arg.rfind("--", 0) == 0) {
        throw args::UsageError("unknown flag '" + arg + "'");
      } else {
        files.push_back(arg);
      }
    }
    if (results_dir.empty()) throw args::UsageError("--results DIR is required");
    if (files.empty()) throw args::UsageError("no book files given (e.g. book/03-training.md)");
  } catch (const args::UsageError& e) {
    std::cerr << "update_book: " << e.what()
              << "\nusage: update_book --results DIR [--check] [--allow-smoke] [--only SOURCE] "
                 "FILE.md...\n";
    return 2;
  }

  // Each chapter's results file is read once, on first use; a file that failed stays failed.
  std::map<std::string, std::unique_ptr<book::ChapterResults>> loaded;
  std::map<std::string, std::string> failed;
  std::set<std::string> absent;  // sources without a results file (allowed without --check)
  auto lookup = [&](const std::string& chapter) -> const book::ChapterResults* {
    if (failed.count(chapter)) throw Error(failed[chapter]);
    if (!check && !file_exists(results_dir + "/" + chapter + "_results.json")) {
      absent.insert(chapter);
      return nullptr;
    }
    auto& slot = loaded[chapter];
    if (!slot) {
      try {
        auto results = std::make_unique<book::ChapterResults>(
            book::load_chapter_results(results_dir, chapter));
        if (!check && !allow_smoke && results->smoke)
          throw Error(results->path + " comes from a --smoke run; the book quotes full runs (run "
                      "the chapter without --smoke, or pass --allow-smoke)");
        if (!check && !allow_smoke && !results->threads_default)
          throw Error(results->path + " comes from a run with --threads or OMP_NUM_THREADS; the "
                      "book quotes runs at the default thread count");
        slot = std::move(results);
      } catch (const std::exception& e) {
        failed[chapter] = e.what();
        loaded.erase(chapter);
        throw;
      }
    }
    return slot.get();
  };

  int status = 0;
  for (const std::string& file : files) {
    try {
      const std::vector<uint8_t> bytes = read_file_raw(file, uint64_t(16) << 20);
      const std::string text(bytes.begin(), bytes.end());
      book::FillReport report = book::fill_markers(text, file, lookup, check, only);
      for (const std::string& error : report.errors) std::cerr << error << "\n";
      if (!report.errors.empty()) status = 1;
      if (check) {
        std::cout << file << ": " << report.markers << " markers, "
                  << (report.errors.empty() ? "all with results" : "some without results") << "\n";
      } else {
        if (report.text != text) write_file_atomic(file, report.text);
        std::cout << file << ": " << report.markers << " markers, " << report.changed
                  << " updated" << (report.kept ? ", " + std::to_string(report.kept) + " left as they are" : "")
                  << "\n";
      }
    } catch (const std::exception& e) {
      std::cerr << file << ": " << e.what() << "\n";
      status = 1;
    }
  }
  for (const std::string& source : absent)
    std::cerr << "note: no " << results_dir << "/" << source << "_results.json: the book's "
              << source << " markers were left as they are (run "
              << (source == "bench" ? "bench/run.sh" : "the chapter program") << " with --out "
              << results_dir << " to update them)\n";
  return status;
}
