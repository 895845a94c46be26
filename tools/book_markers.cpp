// tools/book_markers.cpp — reading results files and filling the book's markers (chapter 1).
#include "tools/book_markers.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <exception>

#include "core/error.h"
#include "io/file_bytes.h"
#include "io/json.h"

namespace stablenn::book {

namespace {

const Json& member(const Json& object, const std::string& key, const std::string& path) {
  SNN_CHECK(object.is_object(), path, ": expected a JSON object holding \"", key, "\"");
  const Json* found = object.find(key);
  SNN_CHECK(found, path, ": no \"", key, "\" (is this a chapter program's results file?)");
  return *found;
}

std::string text_of(const Json& value) {
  if (value.is_string()) return value.as_string();
  if (value.is_number()) return value.number_text();
  return value.dump();
}

std::map<std::string, std::string> string_members(const Json& object, const std::string& key,
                                                  const std::string& path) {
  const Json& values = member(object, key, path);
  SNN_CHECK(values.is_object(), path, ": \"", key, "\" must be an object, not ", values.type_name());
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : values.members()) out[name] = text_of(value);
  return out;
}

// "a full run of `ch03_training` (2 threads, the default; seed 0) on <cpu> (2 cores), <date>,
// commit abc1234" — the sentence of a <!-- run --> marker.
std::string describe_run(const Json& run, const std::string& path) {
  auto field = [&](const char* key) { return text_of(member(run, key, path)); };
  const bool smoke = member(run, "smoke", path).as_bool();
  const bool threads_default = member(run, "threads_default", path).as_bool();
  const std::string threads = field("threads");
  std::string cells = field("cells");
  std::string line = "Numbers from a " + std::string(smoke ? "--smoke" : "full") + " run of `" +
                     field("program") + "`" + (cells == "all" ? "" : " (cells " + cells + ")") +
                     ": " + threads + (threads == "1" ? " thread" : " threads") +
                     (threads_default ? " (the default)" : " (not the default)") + ", seed " +
                     field("seed") + ", " + field("cpu") + " (" + field("cores") + " cores), " +
                     field("date").substr(0, 10) + ", commit " + field("commit") + ".";
  return line;
}

int line_of(const std::string& text, size_t at) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

}  // namespace

ChapterResults load_chapter_results(const std::string& dir, const std::string& chapter) {
  ChapterResults out;
  out.path = dir + "/" + chapter + "_results.json";
  SNN_CHECK(file_exists(out.path), out.path, ": no such file (run ",
            chapter == "bench" ? "bench/run.sh" : "the chapter program", " with --out ", dir,
            " first)");
  const std::vector<uint8_t> bytes = read_file_raw(out.path, uint64_t(16) << 20);
  Json root;
  try {
    root = parse_json(std::string(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    throw Error(out.path + ": " + e.what());
  }
  const Json& run = member(root, "run", out.path);
  out.smoke = member(run, "smoke", out.path).as_bool();
  out.threads_default = member(run, "threads_default", out.path).as_bool();
  out.results = string_members(root, "results", out.path);
  out.tables = string_members(root, "tables", out.path);
  out.run_line = describe_run(run, out.path);
  return out;
}

FillReport fill_markers(const std::string& text, const std::string& file,
                        const std::function<const ChapterResults*(const std::string&)>& lookup,
                        bool check_only, const std::string& only) {
  FillReport report;
  std::string& out = report.text;
  std::set<std::string> unavailable;  // chapters without results: reported at their first marker
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("<!-- ", pos);
    if (open == std::string::npos) break;
    // "<!-- result ch08.key -->": a kind word, one id, the end of the comment.
    const size_t open_end = text.find("-->", open);
    const std::string inner =
        text.substr(open + 5, open_end == std::string::npos ? std::string::npos : open_end - open - 5);
    const size_t space = inner.find(' ');
    const std::string kind = inner.substr(0, space);
    if (kind != "result" && kind != "table" && kind != "run") {  // some other comment: keep it
      out.append(text, pos, open + 5 - pos);
      pos = open + 5;
      continue;
    }
    const std::string where = file + ":" + std::to_string(line_of(text, open)) + ": ";
    std::string id = space == std::string::npos ? "" : inner.substr(space + 1);
    while (!id.empty() && id.back() == ' ') id.pop_back();
    const std::string shown = "<!-- " + kind + " " + id + " -->";
    const std::string close_tag = "<!-- /" + kind + " -->";
    const size_t close = open_end == std::string::npos ? open_end : text.find(close_tag, open_end);
    ++report.markers;
    if (close == std::string::npos) {
      report.errors.push_back(where + shown + " has no " + close_tag);
      break;  // keep the rest of the text as it is
    }
    const size_t body = open_end + 3;
    const std::string current = text.substr(body, close - body);
    out.append(text, pos, body - pos);
    pos = close;  // the closing marker is copied with the text that follows
    // chNN for a run, chNN.key for a result or table; "bench" is the benchmarks' results file.
    const size_t dot = id.find('.');
    const std::string chapter = kind == "run" ? id : id.substr(0, dot);
    const std::string key = kind == "run" || dot == std::string::npos ? "" : id.substr(dot + 1);
    const bool chapter_ok = chapter == "bench" ||
                            (chapter.size() == 4 && chapter.rfind("ch", 0) == 0 &&
                             std::isdigit(static_cast<unsigned char>(chapter[2])) &&
                             std::isdigit(static_cast<unsigned char>(chapter[3])));
    const bool id_ok = chapter_ok && (kind == "run" ? dot == std::string::npos : !key.empty());
    if (!id_ok) {
      report.errors.push_back(where + shown + ": expected " +
                              (kind == "run" ? "a chapter, e.g. <!-- run ch03 -->"
                                             : "chapter.key, e.g. <!-- " + kind + " ch03.name -->"));
      out += current;
      continue;
    }
    if (!only.empty() && chapter != only) {  // another source's marker: not this call's business
      ++report.kept;
      out += current;
      continue;
    }
    const ChapterResults* results = nullptr;
    try {
      if (!unavailable.count(chapter)) results = lookup(chapter);
      if (!results) ++report.kept;
    } catch (const std::exception& e) {
      report.errors.push_back(where + shown + ": " + e.what());
      unavailable.insert(chapter);
    }
    if (!results) {
      out += current;
      continue;
    }
    std::string wanted;
    if (kind == "run") {
      wanted = results->run_line;
    } else {
      const auto& values = kind == "result" ? results->results : results->tables;
      const auto found = values.find(key);
      if (found == values.end()) {
        report.errors.push_back(where + shown + ": " + results->path + " has no " + kind + " \"" +
                                key + "\" (renamed or no longer recorded by the program?)");
        out += current;
        continue;
      }
      // A table stands on its own lines between the markers.
      wanted = kind == "table" ? "\n" + found->second + "\n" : found->second;
    }
    if (wanted != current) ++report.changed;
    out += check_only ? current : wanted;
  }
  out.append(text, pos, std::string::npos);
  return report;
}

}  // namespace stablenn::book
