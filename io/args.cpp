// io/args.cpp — flag splitting and strict, range-checked numbers (chapter 1).
#include "io/args.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace stablenn::args {

namespace {

[[noreturn]] void usage_error(const std::string& flag, const std::string& expected,
                              const std::string& text) {
  throw UsageError(flag + " expects " + expected + ", got '" + text + "'");
}

// " from 1 to 9", " >= 1", "" : the range of a whole-number flag, in words.
template <class T>
std::string range_text(T min, T max) {
  const bool low = min != std::numeric_limits<T>::min(), high = max != std::numeric_limits<T>::max();
  if (low && high) return " from " + std::to_string(min) + " to " + std::to_string(max);
  if (low) return " >= " + std::to_string(min);
  if (high) return " <= " + std::to_string(max);
  return "";
}

std::string number_text(double min, double max) {
  std::ostringstream os;
  os << "a finite number";
  const bool low = min != -std::numeric_limits<double>::max(),
             high = max != std::numeric_limits<double>::max();
  if (low && high) os << " from " << min << " to " << max;
  else if (low) os << " >= " << min;
  else if (high) os << " <= " << max;
  return os.str();
}

std::string choices_text(const std::vector<std::string>& choices) {
  std::string text;
  for (size_t i = 0; i < choices.size(); ++i)
    text += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return text;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// The whole of `text` as a T, or false (also when out of T's range). from_chars takes no
// whitespace, no '+' and no trailing characters: exactly the strictness wanted.
template <class T>
bool whole_number_from(const std::string& text, T& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

std::vector<GivenFlag> split_flags(int argc, char** argv, const std::vector<FlagSpec>& known) {
  std::vector<GivenFlag> given;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2)
      throw UsageError("unexpected argument '" + arg + "' (flags start with --)");
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto spec = std::find_if(known.begin(), known.end(),
                                   [&](const FlagSpec& f) { return f.name == name; });
    if (spec == known.end()) throw UsageError("unknown option '--" + name + "'");
    if (!spec->takes_value && inline_value) throw UsageError("--" + name + " takes no value");
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= argc) throw UsageError("--" + name + " expects a value");
      value = argv[++i];
    }
    given.push_back({name, value});
  }
  return given;
}

int64_t parse_int(const std::string& flag, const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  if (!whole_number_from(text, value) || value < min || value > max)
    usage_error(flag, "a whole number" + range_text(min, max), text);
  return value;
}

uint64_t parse_uint(const std::string& flag, const std::string& text, uint64_t max) {
  uint64_t value = 0;
  if (!whole_number_from(text, value) || value > max)
    usage_error(flag, "a non-negative whole number" + range_text<uint64_t>(0, max), text);
  return value;
}

double parse_double(const std::string& flag, const std::string& text, double min, double max) {
  // strtod also skips leading blanks and reads "nan", "inf" and hex: only decimal notation here.
  const bool starts_well = !text.empty() && text.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                           text[0] != '+';
  char* end = nullptr;
  const double value = starts_well ? std::strtod(text.c_str(), &end) : 0.0;
  if (!starts_well || end != text.c_str() + text.size() || !std::isfinite(value) || value < min ||
      value > max)
    usage_error(flag, number_text(min, max), text);
  return value;
}

std::vector<int64_t> parse_int_list(const std::string& flag, const std::string& text, size_t count,
                                    int64_t min, int64_t max) {
  const std::string expected =
      (count > 0 ? std::to_string(count) : std::string("one or more")) + " whole numbers" +
      range_text(min, max) + " separated by commas";
  std::vector<int64_t> values;
  for (const std::string& item : split_commas(text)) {
    int64_t value = 0;
    if (!whole_number_from(item, value) || value < min || value > max)
      usage_error(flag, expected + " ('" + item + "' is not one)", text);
    values.push_back(value);
  }
  if (count > 0 && values.size() != count) usage_error(flag, expected, text);
  return values;
}

std::string parse_choice(const std::string& flag, const std::string& text,
                         const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), text) == choices.end())
    usage_error(flag, choices_text(choices), text);
  return text;
}

std::vector<std::string> parse_choice_list(const std::string& flag, const std::string& text,
                                           const std::vector<std::string>& choices) {
  std::vector<std::string> items = split_commas(text);
  for (const std::string& item : items)
    if (std::find(choices.begin(), choices.end(), item) == choices.end())
      usage_error(flag,
                  "a comma-separated list of " + choices_text(choices) + " ('" + item + "' is not one)",
                  text);
  return items;
}

ValueCheck whole_number(int64_t min, int64_t max) {
  return [=](const std::string& flag, const std::string& value) { parse_int(flag, value, min, max); };
}

ValueCheck number(double min, double max) {
  return [=](const std::string& flag, const std::string& value) { parse_double(flag, value, min, max); };
}

ValueCheck one_of(std::vector<std::string> choices) {
  return [choices = std::move(choices)](const std::string& flag, const std::string& value) {
    parse_choice(flag, value, choices);
  };
}

ValueCheck some_of(std::vector<std::string> choices) {
  return [choices = std::move(choices)](const std::string& flag, const std::string& value) {
    parse_choice_list(flag, value, choices);
  };
}

ValueCheck whole_numbers(size_t count, int64_t min, int64_t max) {
  return [=](const std::string& flag, const std::string& value) {
    parse_int_list(flag, value, count, min, max);
  };
}

}  // namespace stablenn::args
