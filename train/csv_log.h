// train/csv_log.h — a CSV file of training metrics, one row per epoch or evaluation (chapter 3).
//
// Each row is flushed as soon as it is written, so a run that crashes or is interrupted keeps
// every row logged before. The first row's names become the header.
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "train/progress.h"  // Metrics

namespace stablenn {

// Chapter 3: the CSV metrics log.
class CsvLog {
 public:
  // Creates (or truncates) `path`; throws naming the file when it cannot be opened.
  explicit CsvLog(const std::string& path);

  // Appends a row. The first row fixes the column names (its keys, in order); every later row
  // must have the same names in the same order. Names must not contain ',', '"' or line breaks.
  // Values are written with 9 significant digits; NaN and infinities as nan, inf, -inf.
  void write(const Metrics& row);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::vector<std::string> columns_;
};

}  // namespace stablenn
