// io/json.h — JSON values for safetensors headers, parsed by nlohmann-json (chapter 3).
//
// Objects keep their members in file order (and reject duplicate keys: two values for one tensor
// name would make a file mean two things). Numbers keep their text, so 64-bit byte offsets are
// read exactly rather than through a double.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stablenn {

// Chapter 3: one JSON value.
class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;  // null
  static Json boolean(bool value);
  static Json integer(int64_t value);
  static Json number_from_text(std::string text);  // text must be a valid JSON number
  static Json string(std::string value);
  static Json array(std::vector<Json> items = {});
  static Json object(std::vector<std::pair<std::string, Json>> members = {});

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }
  // "null", "bool", "number", "string", "array", "object": for error messages.
  const char* type_name() const;

  bool as_bool() const;                    // throws unless a bool
  const std::string& as_string() const;    // throws unless a string
  const std::string& number_text() const;  // throws unless a number
  // Reads a number written as plain digits (no sign, fraction or exponent) that fits in 64 bits;
  // returns false, leaving `out` alone, for anything else.
  bool to_uint64(uint64_t& out) const;
  const std::vector<Json>& items() const;                            // throws unless an array
  const std::vector<std::pair<std::string, Json>>& members() const;  // throws unless an object
  // The member named `key`, or nullptr (throws unless an object).
  const Json* find(const std::string& key) const;

  // Appends to an object or an array (used by the parser); the caller keeps keys unique.
  void add_member(std::string key, Json value);
  void add_item(Json value);

  // Compact text: no spaces, members in insertion order, strings escaped as JSON requires.
  std::string dump() const;

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  std::string text_;  // the string value, or the number's text
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Chapter 3: parses a complete JSON text (RFC 8259, through nlohmann-json; nesting up to 64
// levels). Throws stablenn::Error "malformed JSON at byte N: <what was expected>" on a syntax
// error or trailing content, and "malformed JSON: duplicate key ..." or "... nesting deeper than
// 64 levels". Linear in the text's length, also with many keys.
Json parse_json(const std::string& text);

}  // namespace stablenn
