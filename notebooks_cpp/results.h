// notebooks_cpp/results.h — the results file of a chapter run (chapter 1).
//
// The book's numbers come from a run: each chapter program records the numbers the book quotes
// (Context::result, Context::result_table) and the harness writes them, with a description of the
// run, to <out>/chNN_results.json. tools/update_book.cpp copies them into the book's markers.
#pragma once
#include <cstdint>
#include <string>

#include "notebooks_cpp/harness.h"

namespace stablenn::notebook {

// Chapter 1: which run the numbers come from.
struct RunDescription {
  int chapter = 0;
  std::string program;        // e.g. "ch03_training"
  bool smoke = false;
  uint64_t seed = 0;
  int threads = 0;
  bool threads_default = true;  // neither --threads nor OMP_NUM_THREADS chose the count
  std::string cells = "all";    // "all", or "1-N" for --cell N
  std::string cpu;            // model name from /proc/cpuinfo ("unknown" elsewhere)
  int cores = 0;
  std::string date;           // UTC, ISO 8601
  std::string commit;         // git commit at configure time, "unknown" outside a checkout
};

// Chapter 1: the machine and time fields of a description (cpu, cores, date, commit).
void describe_machine(RunDescription& run);

// Chapter 1: the JSON text of a results file: {"chapter", "run": {...}, "results": {key: text},
// "tables": {name: markdown}}, one member per line so that a diff of two runs reads well.
std::string results_json(const RunDescription& run, const Context& ctx);

// Chapter 1: writes results_json to <out>/chNN_results.json atomically; returns the path.
std::string write_results(const RunDescription& run, const Context& ctx);

}  // namespace stablenn::notebook
