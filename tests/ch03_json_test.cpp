// tests/ch03_json_test.cpp — the JSON values behind safetensors headers, parsed by nlohmann-json
// (chapter 3).
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/json.h"

namespace stablenn {
namespace {

void expect_parse_error(const std::string& text, const std::string& needle) {
  try {
    parse_json(text);
    ADD_FAILURE() << "expected an error for: " << text;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << text << " -> " << e.what();
  }
}

TEST(Json, ParsesAllValueKinds) {
  const Json j = parse_json(
      R"( {"a": [1, -2.5e3, 0], "b": {"c": "x\ty"}, "t": true, "f": false, "n": null} )");
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j.members().size(), 5u);
  EXPECT_EQ(j.members()[0].first, "a");  // file order is kept
  const Json& a = *j.find("a");
  ASSERT_EQ(a.items().size(), 3u);
  EXPECT_EQ(a.items()[1].number_text(), "-2.5e3");
  EXPECT_EQ(j.find("b")->find("c")->as_string(), "x\ty");
  EXPECT_TRUE(j.find("t")->as_bool());
  EXPECT_FALSE(j.find("f")->as_bool());
  EXPECT_TRUE(j.find("n")->is_null());
  EXPECT_EQ(j.find("missing"), nullptr);
  EXPECT_THROW(a.as_string(), Error);
  EXPECT_THROW(j.items(), Error);
}

TEST(Json, DumpIsCompactAndRoundTrips) {
  const std::string text =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  EXPECT_EQ(parse_json(text).dump(), text);
  const Json built =
      Json::object({{"q\"uote", Json::string("back\\slash\nnew\x01")},
                    {"list", Json::array({Json::integer(-7), Json(), Json::boolean(true)})}});
  EXPECT_EQ(built.dump(), R"({"q\"uote":"back\\slash\u000anew\u0001","list":[-7,null,true]})");
  EXPECT_EQ(parse_json(built.dump()).dump(), built.dump());
}

TEST(Json, UnicodeEscapesBecomeUtf8) {
  EXPECT_EQ(parse_json(R"("\u03b5")").as_string(), "\xCE\xB5");                // ε
  EXPECT_EQ(parse_json(R"("\ud83d\ude00")").as_string(), "\xF0\x9F\x98\x80");  // a surrogate pair
  EXPECT_EQ(parse_json("\"\xCE\xB5\"").as_string(), "\xCE\xB5");  // raw UTF-8 passes through
  EXPECT_EQ(parse_json(R"("\/\b\f\r")").as_string(), "/\b\f\r");
  expect_parse_error(R"("\ud83d")", "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
  expect_parse_error(R"("\ude00")", "surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
  expect_parse_error(R"("\u12g4")", "4 hex digits");
}

TEST(Json, ExactUnsignedIntegers) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_json("18446744073709551615").to_uint64(v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_TRUE(parse_json("0").to_uint64(v));
  EXPECT_EQ(v, 0u);
  v = 42;
  EXPECT_FALSE(parse_json("18446744073709551616").to_uint64(v));  // one too many
  EXPECT_FALSE(parse_json("-1").to_uint64(v));
  EXPECT_FALSE(parse_json("1.0").to_uint64(v));
  EXPECT_FALSE(parse_json("1e3").to_uint64(v));
  EXPECT_FALSE(parse_json("\"1\"").to_uint64(v));
  EXPECT_EQ(v, 42u);  // untouched on failure
}

TEST(Json, MalformedTextIsRejectedWithItsPosition) {
  // nlohmann-json's reasons, behind "malformed JSON at byte N".
  expect_parse_error("", "malformed JSON at byte 0: ");
  expect_parse_error("", "unexpected end of input");
  expect_parse_error("{\"a\":1", "while parsing object - unexpected end of input; expected '}'");
  expect_parse_error("{\"a\" 1}", "malformed JSON at byte 5: ");
  expect_parse_error("{\"a\" 1}", "expected ':'");
  expect_parse_error("{\"a\":1,}", "expected string literal");
  expect_parse_error("[1,]", "unexpected ']'");
  expect_parse_error("[1 2]", "expected ']'");
  expect_parse_error("{\"a\":1} x", "expected end of input");
  expect_parse_error("{\"a\":1,\"a\":2}", "duplicate key \"a\"");
  expect_parse_error("01", "expected end of input");  // a leading zero stands alone
  expect_parse_error("-", "expected digit after '-'");
  expect_parse_error("1.", "expected digit after '.'");
  expect_parse_error("1e+", "exponent");
  expect_parse_error("\"a\nb\"", "control character");
  expect_parse_error("\"abc", "missing closing quote");
  expect_parse_error("\"\\x\"", "forbidden character after backslash");
  expect_parse_error("tru", "invalid literal");
  expect_parse_error(std::string(100, '[') + std::string(100, ']'), "nesting deeper than 64");
  expect_parse_error(std::string(100000, '['), "nesting deeper than 64");  // no deep recursion
  EXPECT_NO_THROW(parse_json(std::string(60, '[') + std::string(60, ']')));
}

}  // namespace
}  // namespace stablenn
