// io/json.cpp — JSON values, read through nlohmann-json, written compactly (chapter 3).
#include "io/json.h"

#include <cstdio>
#include <unordered_set>

#include <nlohmann/json.hpp>

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

void Json::add_member(std::string key, Json value) {
  members_.emplace_back(std::move(key), std::move(value));
}

void Json::add_item(Json value) { items_.push_back(std::move(value)); }

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

// Builds our Json from nlohmann's SAX events. nlohmann's parser keeps its own stack (no recursion
// on the input's nesting); ours is `open_`. Duplicate keys are found with one hash set per open
// object, so a header with many keys costs linear time.
class Builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  Json result;

  bool null() override { return value(Json()); }
  bool boolean(bool v) override { return value(Json::boolean(v)); }
  bool number_integer(number_integer_t v) override { return value(Json::integer(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    return value(Json::number_from_text(std::to_string(v)));
  }
  // The text as written: 64-bit offsets and "-2.5e3" keep their exact spelling.
  bool number_float(number_float_t, const string_t& text) override {
    return value(Json::number_from_text(text));
  }
  bool string(string_t& v) override { return value(Json::string(std::move(v))); }
  bool binary(binary_t&) override { return fail_with("binary values are not JSON"); }

  bool start_object(std::size_t) override { return open(Json::object()); }
  bool key(string_t& k) override {
    Frame& frame = open_.back();
    if (!frame.keys.insert(k).second) return fail_with("duplicate key \"" + k + "\" in an object");
    frame.key = std::move(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_array() override { return close(); }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 4: ...";
    // keep the part after the position.
    std::string what = e.what();
    const size_t colon = what.find(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    // nlohmann counts the byte it stopped at from 1.
    error_ = "malformed JSON at byte " + std::to_string(position == 0 ? 0 : position - 1) + ": " +
             what;
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    Json value;
    std::string key;                      // the member being read, for objects
    std::unordered_set<std::string> keys;  // the keys seen so far, for objects
  };
  static constexpr size_t kMaxDepth = 64;

  bool fail_with(const std::string& message) {
    error_ = "malformed JSON: " + message;
    return false;
  }
  bool open(Json container) {
    if (open_.size() >= kMaxDepth) return fail_with("nesting deeper than 64 levels");
    open_.push_back(Frame{std::move(container), {}, {}});
    return true;
  }
  bool close() {
    Json done = std::move(open_.back().value);
    open_.pop_back();
    return value(std::move(done));
  }
  // Places a finished value into the innermost open container, or makes it the result.
  bool value(Json v) {
    if (open_.empty()) {
      result = std::move(v);
      return true;
    }
    Frame& frame = open_.back();
    if (frame.value.is_object()) {
      frame.value.add_member(std::move(frame.key), std::move(v));
    } else {
      frame.value.add_item(std::move(v));
    }
    return true;
  }

  std::vector<Frame> open_;
  std::string error_;
};

}  // namespace

std::string Json::dump() const {
  std::string out;
  dump_value(*this, out);
  return out;
}

Json parse_json(const std::string& text) {
  Builder builder;
  // strict: content after the value is an error; ignore_comments stays off (JSON has none).
  const bool ok = nlohmann::json::sax_parse(text, &builder, nlohmann::json::input_format_t::json,
                                            /*strict=*/true);
  if (!ok) throw Error(builder.error().empty() ? "malformed JSON" : builder.error());
  return std::move(builder.result);
}

}  // namespace stablenn
