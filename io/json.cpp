// io/json.cpp — the minimal JSON reader and writer (chapter 3).
#include "io/json.h"

#include <cstdio>

#include "core/error.h"

namespace stablenn {

Json Json::boolean(bool value) {
  Json j;
  j.type_ = Type::Bool;
  j.bool_ = value;
  return j;
}

Json Json::integer(int64_t value) { return number_from_text(std::to_string(value)); }

Json Json::number_from_text(std::string text) {
  Json j;
  j.type_ = Type::Number;
  j.text_ = std::move(text);
  return j;
}

Json Json::string(std::string value) {
  Json j;
  j.type_ = Type::String;
  j.text_ = std::move(value);
  return j;
}

Json Json::array(std::vector<Json> items) {
  Json j;
  j.type_ = Type::Array;
  j.items_ = std::move(items);
  return j;
}

Json Json::object(std::vector<std::pair<std::string, Json>> members) {
  Json j;
  j.type_ = Type::Object;
  j.members_ = std::move(members);
  return j;
}

const char* Json::type_name() const {
  switch (type_) {
    case Type::Null: return "null";
    case Type::Bool: return "bool";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

bool Json::as_bool() const {
  SNN_CHECK(type_ == Type::Bool, "JSON: expected a bool, got ", type_name());
  return bool_;
}

const std::string& Json::as_string() const {
  SNN_CHECK(type_ == Type::String, "JSON: expected a string, got ", type_name());
  return text_;
}

const std::string& Json::number_text() const {
  SNN_CHECK(type_ == Type::Number, "JSON: expected a number, got ", type_name());
  return text_;
}

bool Json::to_uint64(uint64_t& out) const {
  if (type_ != Type::Number || text_.empty()) return false;
  uint64_t value = 0;
  for (char c : text_) {
    if (c < '0' || c > '9') return false;  // sign, fraction or exponent
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;  // would overflow
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

const std::vector<Json>& Json::items() const {
  SNN_CHECK(type_ == Type::Array, "JSON: expected an array, got ", type_name());
  return items_;
}

const std::vector<std::pair<std::string, Json>>& Json::members() const {
  SNN_CHECK(type_ == Type::Object, "JSON: expected an object, got ", type_name());
  return members_;
}

const Json* Json::find(const std::string& key) const {
  for (const auto& member : members()) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

namespace {

void dump_string(const std::string& s, std::string& out) {
  out += '"';
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (byte < 0x20) {  // control characters must be escaped; UTF-8 passes through
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", byte);
      out += buffer;
    } else {
      out += c;
    }
  }
  out += '"';
}

void dump_value(const Json& j, std::string& out) {
  switch (j.type()) {
    case Json::Type::Null: out += "null"; return;
    case Json::Type::Bool: out += j.as_bool() ? "true" : "false"; return;
    case Json::Type::Number: out += j.number_text(); return;
    case Json::Type::String: dump_string(j.as_string(), out); return;
    case Json::Type::Array: {
      out += '[';
      for (size_t i = 0; i < j.items().size(); ++i) {
        if (i > 0) out += ',';
        dump_value(j.items()[i], out);
      }
      out += ']';
      return;
    }
    case Json::Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : j.members()) {
        if (!first) out += ',';
        first = false;
        dump_string(key, out);
        out += ':';
        dump_value(value, out);
      }
      out += '}';
      return;
    }
  }
}

// Recursive descent over the text; `pos` is the next byte to read.
class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  Json parse_document() {
    Json value = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) error("unexpected content after the JSON value");
    return value;
  }

 private:
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void error(const std::string& what) const {
    fail("malformed JSON at byte ", pos_, ": ", what);
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool at_end() const { return pos_ >= text_.size(); }

  void expect(char c, const char* what) {
    skip_space();
    if (at_end() || text_[pos_] != c) error(std::string("expected ") + what);
    ++pos_;
  }

  Json parse_value(int depth) {
    if (depth > kMaxDepth) error("nesting deeper than 64 levels");
    skip_space();
    if (at_end()) error("unexpected end of text, expected a value");
    const char c = text_[pos_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Json::string(parse_string());
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    for (const char* word : {"true", "false", "null"}) {
      const std::string literal = word;
      if (text_.compare(pos_, literal.size(), literal) != 0) continue;
      pos_ += literal.size();
      return literal == "null" ? Json() : Json::boolean(literal == "true");
    }
    error(std::string("unexpected character '") + c + "'");
  }

  Json parse_object(int depth) {
    ++pos_;  // '{'
    std::vector<std::pair<std::string, Json>> members;
    skip_space();
    if (!at_end() && text_[pos_] == '}') {
      ++pos_;
      return Json::object();
    }
    while (true) {
      skip_space();
      if (at_end() || text_[pos_] != '"') error("expected a string key in an object");
      const size_t key_pos = pos_;
      std::string key = parse_string();
      for (const auto& member : members) {
        if (member.first == key) {
          pos_ = key_pos;
          error("duplicate key \"" + key + "\"");
        }
      }
      expect(':', "':' after an object key");
      Json value = parse_value(depth + 1);
      members.emplace_back(std::move(key), std::move(value));
      skip_space();
      if (at_end()) error("unexpected end of text inside an object");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == '}') {
        ++pos_;
        return Json::object(std::move(members));
      }
      error("expected ',' or '}' in an object");
    }
  }

  Json parse_array(int depth) {
    ++pos_;  // '['
    std::vector<Json> items;
    skip_space();
    if (!at_end() && text_[pos_] == ']') {
      ++pos_;
      return Json::array();
    }
    while (true) {
      items.push_back(parse_value(depth + 1));
      skip_space();
      if (at_end()) error("unexpected end of text inside an array");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ']') {
        ++pos_;
        return Json::array(std::move(items));
      }
      error("expected ',' or ']' in an array");
    }
  }

  Json parse_number() {
    const size_t start = pos_;
    auto digits = [this] {
      const size_t first = pos_;
      while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - first;
    };
    if (text_[pos_] == '-') ++pos_;
    if (!at_end() && text_[pos_] == '0') {
      ++pos_;  // a leading zero stands alone
    } else if (digits() == 0) {
      error("expected digits in a number");
    }
    if (!at_end() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) error("expected digits after '.' in a number");
    }
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) error("expected digits in a number's exponent");
    }
    return Json::number_from_text(text_.substr(start, pos_ - start));
  }

  unsigned parse_hex4() {
    if (pos_ + 4 > text_.size()) error("expected 4 hex digits after \\u");
    unsigned value = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= unsigned(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= unsigned(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= unsigned(c - 'A' + 10);
      } else {
        --pos_;
        error("expected 4 hex digits after \\u");
      }
    }
    return value;
  }

  static void append_utf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (at_end()) error("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) error("control character inside a string");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;  // backslash
      if (at_end()) error("unterminated escape in a string");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t code = parse_hex4();
          if (code >= 0xD800 && code <= 0xDBFF) {  // a surrogate pair encodes one code point
            if (text_.compare(pos_, 2, "\\u") != 0) error("lone high surrogate in a string");
            pos_ += 2;
            const uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) error("invalid low surrogate in a string");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code <= 0xDFFF) {
            error("lone low surrogate in a string");
          }
          append_utf8(out, code);
          break;
        }
        default: --pos_; error(std::string("invalid escape '\\") + e + "' in a string");
      }
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

std::string Json::dump() const {
  std::string out;
  dump_value(*this, out);
  return out;
}

Json parse_json(const std::string& text) { return Parser(text).parse_document(); }

}  // namespace stablenn
