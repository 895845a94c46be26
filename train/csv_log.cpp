// train/csv_log.cpp — the CSV metrics log (chapter 3).
#include "train/csv_log.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace stablenn {

CsvLog::CsvLog(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "w")) {
  SNN_CHECK(file_ != nullptr, "CsvLog: cannot create ", path, ": ", std::strerror(errno));
}

void CsvLog::write(const Metrics& row) {
  SNN_CHECK(!row.empty(), "CsvLog(", path_, "): a row needs at least one value");
  std::string text;
  const bool first_row = columns_.empty();
  if (first_row) {  // its names are the header
    for (const auto& entry : row) {
      const std::string& name = entry.first;
      SNN_CHECK(!name.empty() && name.find_first_of(",\"\r\n") == std::string::npos, "CsvLog(",
                path_, "): column name '", name,
                "' must be non-empty without commas, quotes or line breaks");
      text += (text.empty() ? "" : ",") + name;
    }
    text += '\n';
  } else {
    bool same = row.size() == columns_.size();
    for (size_t i = 0; same && i < row.size(); ++i) same = row[i].first == columns_[i];
    if (!same) {
      std::string names;
      for (const auto& entry : row) names += (names.empty() ? "" : ", ") + entry.first;
      std::string expected;
      for (const auto& name : columns_) expected += (expected.empty() ? "" : ", ") + name;
      fail("CsvLog(", path_, "): row has columns [", names, "], the file has [", expected, "]");
    }
  }
  std::string values;
  for (const auto& entry : row) {
    const double v = entry.second;
    char buffer[40];
    if (std::isnan(v)) {
      std::snprintf(buffer, sizeof buffer, "nan");
    } else if (std::isinf(v)) {
      std::snprintf(buffer, sizeof buffer, v > 0 ? "inf" : "-inf");
    } else {
      std::snprintf(buffer, sizeof buffer, "%.9g", v);
    }
    values += (values.empty() ? "" : ",") + std::string(buffer);
  }
  text += values + '\n';
  // Flushed row by row: what was logged survives a crash of the program.
  const bool ok = std::fwrite(text.data(), 1, text.size(), file_.get()) == text.size() &&
                  std::fflush(file_.get()) == 0;
  SNN_CHECK(ok, "CsvLog: cannot write to ", path_, ": ", std::strerror(errno));
  if (first_row) {
    for (const auto& entry : row) columns_.push_back(entry.first);
  }
}

}  // namespace stablenn
