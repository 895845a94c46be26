// tools/book_markers.h — the book's result markers and the results files that fill them (chapter 1).
//
// A number the book quotes from a chapter program sits between markers that name its result:
//
//   inline:  <!-- result ch08.clean_accuracy.resnet -->88.3<!-- /result -->
//   a block: <!-- table ch03.epochs -->            (the Markdown table, on its own lines)
//            <!-- /table -->
//   the run: <!-- run ch03 -->which run the numbers come from<!-- /run -->
//   a benchmark table: <!-- table bench.node -->, from bench/run.sh's <dir>/bench_results.json
//
// The values come from the programs' results files, <dir>/chNN_results.json (notebooks_cpp/
// results.h). fill_markers rewrites the text between the markers; with `check_only` it only
// verifies that every marker has its result (CI does this against --smoke runs).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace stablenn::book {

// Chapter 1: one chapter's results file, as read.
struct ChapterResults {
  std::string path;                             // the file, for messages
  std::map<std::string, std::string> results;   // key -> text
  std::map<std::string, std::string> tables;    // name -> Markdown
  std::string run_line;                         // the sentence a <!-- run --> marker gets
  bool smoke = false;
  bool threads_default = true;
  int threads = 0;
};

// Chapter 1: reads <dir>/<chapter>_results.json (chapter like "ch03"). Throws stablenn::Error
// naming the file when it is missing, is not JSON or lacks "run", "results" or "tables".
ChapterResults load_chapter_results(const std::string& dir, const std::string& chapter);

// Chapter 1: what fill_markers found.
struct FillReport {
  std::string text;                 // the rewritten text (== the input with check_only)
  int markers = 0;
  int changed = 0;                  // markers whose content differs from the results
  int kept = 0;                     // markers left alone: lookup had no results and allowed it
  std::vector<std::string> errors;  // "book/03-training.md:120: <!-- result ch03.x -->: ..."
};

// Chapter 1: finds the markers of `text` (the content of `file`, named in messages) and fills
// them from `lookup(chapter)` ("ch03" -> its results, "bench" -> bench/run.sh's; lookup throws
// when they are required and missing, and returns nullptr when the markers may stay as they are).
// Missing results, unclosed or malformed markers are reported in `errors` with the file and line;
// the text between such markers is left alone. With `only` ("ch03", "bench")
// the markers of other sources are left alone (and counted).
FillReport fill_markers(const std::string& text, const std::string& file,
                        const std::function<const ChapterResults*(const std::string&)>& lookup,
                        bool check_only, const std::string& only = "");

}  // namespace stablenn::book
