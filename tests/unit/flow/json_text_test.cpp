// parseStrictJson: the JSON parser for documents users write (flow/json_text.h).
#include "flow/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace callflow {
namespace {

using namespace std::string_literals;

struct Parsed {
  bool ok = false;
  boost::json::value value;
  JsonError error;
};

Parsed parse(std::string_view text) {
  Parsed out;
  out.ok = parseStrictJson(text, out.value, out.error);
  return out;
}

TEST(JsonTextTest, ParsesAValidDocument) {
  Parsed p = parse(R"({"a": [1, 2.5, "x", true, null, {"b": {}}], "c": "caf\u00e9"})");
  ASSERT_TRUE(p.ok) << p.error.message;
  EXPECT_EQ(p.value.at("a").as_array().size(), 6u);
  EXPECT_EQ(p.value.at("a").at(1).as_double(), 2.5);
  EXPECT_EQ(std::string(p.value.at("c").as_string()), "caf\xC3\xA9");
}

TEST(JsonTextTest, ScalarDocumentsParse) {
  // The loader refuses them; the parser itself accepts any JSON value.
  EXPECT_TRUE(parse("42").ok);
  EXPECT_TRUE(parse(" \"x\" ").ok);
  EXPECT_TRUE(parse("\n[]\n").ok);
}

TEST(JsonTextTest, SyntaxErrorsHaveLineAndColumn) {
  struct Case {
    std::string text;
    int line;
    int column;
    const char* message;
  };
  const Case cases[] = {
      {"{\n  \"a\": 1,\n  \"b\": tru\n}", 3, 8, "syntax error"},
      {"[1, 2,\n 3,\n  @]", 3, 3, "syntax error"},
      {"[1,]", 1, 4, "syntax error"},
      {"{/*x*/}", 1, 2, "syntax error"},
      {"{\"a\": \"b\nc\"}", 1, 9, "syntax error"},  // at the raw line break
      {"{} x", 1, 4, "unexpected text after the JSON document"},
      {"{}\n\n  {}", 3, 3, "unexpected text after the JSON document"},
      {"", 1, 1, "the document ends too early"},
      {"{\"a\": [1, 2", 1, 12, "the document ends too early"},
      // Columns count characters, not bytes: "é" is one column.
      {"{\"\xC3\xA9\": x}", 1, 7, "syntax error"},
      {"{\"\xE6\x97\xA5\xE6\x9C\xAC\": x}", 1, 8, "syntax error"},
  };
  for (const Case& c : cases) {
    Parsed p = parse(c.text);
    ASSERT_FALSE(p.ok) << c.text;
    EXPECT_EQ(p.error.line, c.line) << c.text;
    EXPECT_EQ(p.error.column, c.column) << c.text;
    EXPECT_EQ(p.error.message, c.message) << c.text;
  }
}

TEST(JsonTextTest, DuplicateKeysAreRefused) {
  Parsed p = parse("{\n  \"a\": 1,\n  \"a\": 2\n}");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.message, "duplicate key \"a\"");
  EXPECT_EQ(p.error.line, 3);

  p = parse(R"({"x": {"k": 1, "j": 2, "k": 3}})");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.message, "duplicate key \"k\"");

  // Escapes are decoded before comparing.
  p = parse(R"({"ab": 1, "a\u0062": 2})");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.message, "duplicate key \"ab\"");
}

TEST(JsonTextTest, SameKeyInDifferentObjectsIsFine) {
  Parsed p = parse(R"({"a": {"a": 1}, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]})");
  ASSERT_TRUE(p.ok) << p.error.message;
  EXPECT_EQ(p.value.at("c").at(1).at("a").as_int64(), 4);
}

TEST(JsonTextTest, NulInStringsIsRefused) {
  Parsed p = parse(R"({"a": "x\u0000y"})");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.message, "a string contains a NUL character");
  EXPECT_EQ(p.error.line, 1);

  p = parse(R"({"a\u0000": 1})");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.message, "a key contains a NUL character");

  p = parse(R"(["ok", ["\u0000"]])");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.message, "a string contains a NUL character");

  // A raw NUL byte is not valid JSON at all.
  p = parse("{\"a\": \"x\0y\"}"s);
  EXPECT_FALSE(p.ok);
}

TEST(JsonTextTest, DepthLimit) {
  std::string deep(100000, '[');
  Parsed p = parse(deep);
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.message, "nested deeper than 64 levels");
  EXPECT_EQ(p.error.line, 1);
  EXPECT_EQ(p.error.column, 65);

  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  p = parse(objects);
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.message, "nested deeper than 64 levels");

  EXPECT_TRUE(parse(std::string(64, '[') + std::string(64, ']')).ok);
  EXPECT_FALSE(parse(std::string(65, '[') + std::string(65, ']')).ok);
}

TEST(JsonTextTest, InvalidUtf8IsRefused) {
  for (std::string bad : {"{\"a\": \"\xFF\"}"s,              // never valid
                          "{\"a\": \"\xC0\xAF\"}"s,          // overlong '/'
                          "{\"a\": \"\xC3\"}"s,              // truncated sequence
                          "{\"a\": \"\xED\xA0\x80\"}"s,      // UTF-16 surrogate as UTF-8
                          "{\"a\": \"\xF4\x90\x80\x80\"}"s,  // above U+10FFFF
                          "{\"\xFE\": 1}"s,                  // in a key
                          R"({"a": "\ud800"})"s}) {          // lone surrogate escape
    Parsed p = parse(bad);
    EXPECT_FALSE(p.ok) << bad;
    EXPECT_EQ(p.error.line, 1) << bad;
    EXPECT_GT(p.error.column, 1) << bad;
  }
  Parsed p = parse("{\"a\": \"\xF0\x9F\x98\x80 \\ud83d\\ude00\"}");
  ASSERT_TRUE(p.ok) << p.error.message;
  EXPECT_EQ(std::string(p.value.at("a").as_string()), "\xF0\x9F\x98\x80 \xF0\x9F\x98\x80");
}

TEST(JsonTextTest, FailureLeavesTheOutputAlone) {
  boost::json::value out = 7;
  JsonError error;
  EXPECT_FALSE(parseStrictJson("{", out, error));
  EXPECT_EQ(out, boost::json::value(7));
}

}  // namespace
}  // namespace callflow
