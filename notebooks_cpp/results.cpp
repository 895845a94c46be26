// notebooks_cpp/results.cpp — Context::result* and the results file (chapter 1). See results.h.
#include "notebooks_cpp/results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "io/file_bytes.h"
#include "io/json.h"
#include "git_commit.h"  // generated in the build folder at every build (git_commit.cmake)

#ifndef STABLENN_GIT_COMMIT
#define STABLENN_GIT_COMMIT "unknown"
#endif

namespace stablenn::notebook {

namespace {

// Keys end up in HTML comments of the book and in shell-friendly messages: keep them plain.
void check_key(const char* what, const std::string& key) {
  bool ok = !key.empty();
  for (char c : key)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
  SNN_CHECK(ok, what, " key '", key, "': expected lower-case letters, digits, '_', '.' or '-'");
}

std::string quoted(const std::string& text) { return Json::string(text).dump(); }

}  // namespace

std::string thousands(int64_t count) {
  std::string digits = std::to_string(count < 0 ? -count : count);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3)
    digits.insert(static_cast<size_t>(at), ",");
  return count < 0 ? "-" + digits : digits;
}

std::string plain(double v, int decimals) {
  if (std::isinf(v)) return v > 0 ? "∞" : "−∞";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  std::string s(buffer);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  if (s[0] == '-') s.replace(0, 1, "−");
  return s;
}

std::string sampled_table(const std::vector<double>& xs, const std::vector<std::string>& names,
                          const std::vector<std::vector<double>>& curves, const std::vector<double>& shown,
                          const char* cell_format) {
  std::ostringstream table;
  char cell[64];
  table << "| z |";
  for (double z : shown) {
    std::snprintf(cell, sizeof cell, z == std::round(z) ? " %.1f |" : " %g |", z);
    table << cell;
  }
  table << "\n|---|";
  for (size_t k = 0; k < shown.size(); ++k) table << "---|";
  for (size_t m = 0; m < names.size(); ++m) {
    table << "\n| " << names[m] << " |";
    for (double z : shown) {
      const auto nearest = std::min_element(xs.begin(), xs.end(), [&](double a, double b) {
        return std::abs(a - z) < std::abs(b - z);
      });
      std::snprintf(cell, sizeof cell, cell_format, curves[m][static_cast<size_t>(nearest - xs.begin())]);
      table << " " << cell << " |";
    }
  }
  return table.str();
}

void Context::result(const std::string& key, double value, const char* format) {
  check_key("result", key);
  char text[64];
  const int n = std::snprintf(text, sizeof text, format, value);
  SNN_CHECK(n > 0 && n < static_cast<int>(sizeof text), "result '", key, "': format '", format,
            "' gave no text");
  results[key] = text;
}

void Context::result_text(const std::string& key, const std::string& text) {
  check_key("result", key);
  SNN_CHECK(text.find("<!--") == std::string::npos && text.find('\n') == std::string::npos,
            "result '", key, "': the text must be one line without HTML comments");
  results[key] = text;
}

void Context::result_table(const std::string& name, const std::string& markdown) {
  check_key("table", name);
  SNN_CHECK(markdown.find("<!--") == std::string::npos, "table '", name,
            "': the Markdown must not contain HTML comments");
  // One trailing newline at most: the book's marker puts its own line breaks around the table.
  std::string text = markdown;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  tables[name] = text;
}

void describe_machine(RunDescription& run) {
  run.cpu = "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    run.cpu = line.substr(line.find_first_not_of(" \t", colon + 1));
    break;
  }
  run.cores = static_cast<int>(std::thread::hardware_concurrency());
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
  run.date = date;
  run.commit = STABLENN_GIT_COMMIT;
}

std::string results_json(const RunDescription& run, const Context& ctx) {
  std::ostringstream os;
  os << "{\n  \"chapter\": " << run.chapter << ",\n  \"run\": {\n"
     << "    \"program\": " << quoted(run.program) << ",\n"
     << "    \"smoke\": " << (run.smoke ? "true" : "false") << ",\n"
     << "    \"seed\": " << run.seed << ",\n"
     << "    \"threads\": " << run.threads << ",\n"
     << "    \"threads_default\": " << (run.threads_default ? "true" : "false") << ",\n"
     << "    \"cells\": " << quoted(run.cells) << ",\n"
     << "    \"cpu\": " << quoted(run.cpu) << ",\n"
     << "    \"cores\": " << run.cores << ",\n"
     << "    \"date\": " << quoted(run.date) << ",\n"
     << "    \"commit\": " << quoted(run.commit) << "\n  },\n";
  auto members = [&os](const char* name, const std::map<std::string, std::string>& values,
                       bool last) {
    os << "  \"" << name << "\": {";
    const char* sep = "\n";
    for (const auto& [key, text] : values) {
      os << sep << "    " << quoted(key) << ": " << quoted(text);
      sep = ",\n";
    }
    os << (values.empty() ? "}" : "\n  }") << (last ? "\n" : ",\n");
  };
  members("results", ctx.results, false);
  members("tables", ctx.tables, true);
  os << "}\n";
  return os.str();
}

std::string write_results(const RunDescription& run, const Context& ctx) {
  char name[32];
  std::snprintf(name, sizeof name, "ch%02d_results.json", run.chapter);
  const std::string path = ctx.out_path(name);
  write_file_atomic(path, results_json(run, ctx));
  return path;
}

}  // namespace stablenn::notebook
