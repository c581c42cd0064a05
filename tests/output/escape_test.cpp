// The escaper shared by all formats: every input gives valid UTF-8 JSON content.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>

#include "output/escape.hpp"

using vmitrace::output::append_escaped;

namespace {

std::string esc(std::string_view s) {
  std::string out;
  append_escaped(out, s);
  return out;
}

TEST(Escape, Basics) {
  EXPECT_EQ(esc("plain /etc/passwd"), "plain /etc/passwd");
  EXPECT_EQ(esc("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(esc("\n\r\t\b\f"), "\\n\\r\\t\\b\\f");
  EXPECT_EQ(esc(std::string_view("\0\x1f\x7f", 3)), "\\u0000\\u001f\\u007f");
  EXPECT_EQ(esc(""), "");
}

TEST(Escape, Utf8KeptInvalidBytesEscaped) {
  EXPECT_EQ(esc("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(esc("\xff"), "\\u00ff");
  EXPECT_EQ(esc("\xc3"), "\\u00c3");                      // cut sequence at the end
  EXPECT_EQ(esc("\xc0\xaf"), "\\u00c0\\u00af");           // overlong '/'
  EXPECT_EQ(esc("\xed\xa0\x80"), "\\u00ed\\u00a0\\u0080");  // surrogate
  EXPECT_EQ(esc("\xf4\x90\x80\x80"), "\\u00f4\\u0090\\u0080\\u0080");  // > U+10FFFF
}

TEST(Escape, RandomBytesAlwaysGiveValidJson) {
  std::mt19937 rng(42);
  simdjson::dom::parser parser;
  for (int n = 0; n < 2000; ++n) {
    std::string in(rng() % 40, '\0');
    for (char& c : in) c = static_cast<char>(rng());
    std::string doc = "\"" + esc(in) + "\"";
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(doc).get(e), simdjson::SUCCESS) << doc;
    EXPECT_TRUE(e.is_string());
  }
}

}  // namespace
