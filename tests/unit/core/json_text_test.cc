#include "core/json_text.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>

namespace bulwark::core {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string Quote(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

// Parses `json` (a JSON string literal) with Boost.JSON and returns the decoded string.
std::string Decode(const std::string& json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  EXPECT_FALSE(ec) << "not valid JSON: " << json << " (" << ec.message() << ")";
  if (ec || !v.is_string()) {
    ADD_FAILURE() << "not a JSON string: " << json;
    return {};
  }
  return std::string(v.as_string());
}

// True when `s` is prefix + one or more U+FFFD + suffix.
bool IsReplacedBetween(std::string_view s, std::string_view prefix, std::string_view suffix) {
  if (!s.starts_with(prefix) || !s.ends_with(suffix)) return false;
  std::string_view mid = s.substr(prefix.size(), s.size() - prefix.size() - suffix.size());
  if (mid.empty()) return false;
  while (!mid.empty()) {
    if (!mid.starts_with(kReplacement)) return false;
    mid.remove_prefix(kReplacement.size());
  }
  return true;
}

TEST(CoreJsonTextTest, PlainAsciiIsQuoted) {
  EXPECT_EQ(Quote("hello world"), "\"hello world\"");
  EXPECT_EQ(Quote(""), "\"\"");
}

TEST(CoreJsonTextTest, AppendsToExistingContent) {
  std::string out = "{\"k\":";
  AppendJsonString(out, "v");
  EXPECT_EQ(out, "{\"k\":\"v\"");
}

TEST(CoreJsonTextTest, EscapesQuotesBackslashAndControls) {
  EXPECT_EQ(Quote("a\"b"), R"("a\"b")");
  EXPECT_EQ(Quote("a\\b"), R"("a\\b")");
  EXPECT_EQ(Quote("line1\nline2"), R"("line1\nline2")");
  EXPECT_EQ(Quote("\r\t"), R"("\r\t")");
  EXPECT_EQ(Quote("\x01"), R"("\u0001")");
  EXPECT_EQ(Quote("\x1f"), R"("\u001f")");
  EXPECT_EQ(Quote("\x7f"), R"("\u007f")");
  EXPECT_EQ(Quote(std::string_view("a\0b", 3)), R"("a\u0000b")");
}

TEST(CoreJsonTextTest, EveryAsciiByteRoundTrips) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  const std::string quoted = Quote(all);
  EXPECT_EQ(quoted.find('\n'), std::string::npos);
  EXPECT_EQ(Decode(quoted), all);
}

TEST(CoreJsonTextTest, KeepsValidMultiByteUtf8) {
  const std::string s =
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xED\x9F\xBF \xEE\x80\x80";
  EXPECT_TRUE(IsValidUtf8(s));
  const std::string quoted = Quote(s);
  EXPECT_EQ(quoted, "\"" + s + "\"");
  EXPECT_EQ(Decode(quoted), s);
}

struct InvalidCase {
  const char* name;
  std::string bytes;
};

class CoreJsonTextInvalidUtf8Test : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(CoreJsonTextInvalidUtf8Test, ReplacedByFffdAndStillValidJson) {
  const std::string input = "x" + GetParam().bytes + "y";
  EXPECT_FALSE(IsValidUtf8(input));
  const std::string quoted = Quote(input);
  EXPECT_EQ(quoted.find(GetParam().bytes), std::string::npos);
  const std::string decoded = Decode(quoted);
  EXPECT_TRUE(IsValidUtf8(decoded));
  EXPECT_TRUE(IsReplacedBetween(decoded, "x", "y")) << quoted;
}

INSTANTIATE_TEST_SUITE_P(
    Core, CoreJsonTextInvalidUtf8Test,
    ::testing::Values(
        InvalidCase{"overlong_nul", "\xC0\x80"}, InvalidCase{"overlong_slash", "\xC0\xAF"},
        InvalidCase{"overlong_3byte", "\xE0\x80\x80"},
        InvalidCase{"overlong_4byte", "\xF0\x80\x80\x80"},
        InvalidCase{"surrogate_high", "\xED\xA0\x80"}, InvalidCase{"surrogate_low", "\xED\xBF\xBF"},
        InvalidCase{"truncated_3byte", "\xE2\x82"}, InvalidCase{"truncated_4byte", "\xF0\x9F\x98"},
        InvalidCase{"above_max", "\xF4\x90\x80\x80"}, InvalidCase{"lone_continuation", "\x80"},
        InvalidCase{"five_byte_lead", "\xF8\x88\x80\x80\x80"}, InvalidCase{"ff_byte", "\xFF"}),
    [](const ::testing::TestParamInfo<InvalidCase>& p) { return std::string(p.param.name); });

TEST(CoreJsonTextTest, TruncatedSequenceAtEndOfInputIsReplaced) {
  const std::string quoted = Quote("ab\xE2\x82");
  const std::string decoded = Decode(quoted);
  EXPECT_TRUE(IsReplacedBetween(decoded, "ab", "")) << quoted;
}

TEST(CoreJsonTextTest, ValidCharacterAfterInvalidByteIsKept) {
  // The byte after a broken lead is not swallowed: "\xC3" then "é".
  const std::string decoded = Decode(Quote("\xC3\xC3\xA9"));
  EXPECT_EQ(decoded, std::string(kReplacement) + "\xC3\xA9");
}

TEST(CoreJsonTextTest, IsValidUtf8Cases) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));           // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));       // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));   // U+10000, smallest 4-byte
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBD"));       // U+FFFD itself
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));          // overlong U+007F
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // overlong U+07FF
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // overlong U+FFFF
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));          // bad continuation
  // ASCII is skipped byte by byte: what follows or precedes it is still checked.
  EXPECT_TRUE(IsValidUtf8("plain ascii \xC3\xA9 then ascii"));
  EXPECT_FALSE(IsValidUtf8("plain ascii then \xFF"));
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xED\xA0\x80"));  // U+D800 after ASCII
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xE2\x82"));      // truncated at the end, after ASCII
  EXPECT_FALSE(
      IsValidUtf8("\x80"
                  "abcdefgh"));  // a lone continuation byte first
}

TEST(CoreJsonTextTest, Utf8PrefixNeverCutsACharacterInTwo) {
  EXPECT_EQ(Utf8Prefix("short", 10), "short");
  EXPECT_EQ(Utf8Prefix("exactly", 7), "exactly");
  EXPECT_EQ(Utf8Prefix("abcdef", 3), "abc");
  EXPECT_EQ(Utf8Prefix("", 0), "");
  EXPECT_EQ(Utf8Prefix("abc", 0), "");
  // A limit inside a 2-, 3- or 4-byte character backs off to the character's start.
  EXPECT_EQ(Utf8Prefix("ab\xC3\xA9", 3), "ab");
  EXPECT_EQ(Utf8Prefix("ab\xC3\xA9", 4), "ab\xC3\xA9");
  EXPECT_EQ(Utf8Prefix("a\xE2\x82\xAC", 2), "a");
  EXPECT_EQ(Utf8Prefix("a\xE2\x82\xAC", 3), "a");
  EXPECT_EQ(Utf8Prefix("a\xF0\x9F\x98\x80", 2), "a");
  EXPECT_EQ(Utf8Prefix("a\xF0\x9F\x98\x80", 4), "a");
  EXPECT_EQ(Utf8Prefix("a\xF0\x9F\x98\x80"
                       "b",
                       5),
            "a\xF0\x9F\x98\x80");
  // Every prefix of valid text is valid, for every limit.
  const std::string text = "x\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80y";
  for (std::size_t max = 0; max <= text.size() + 1; ++max) {
    const std::string_view p = Utf8Prefix(text, max);
    EXPECT_LE(p.size(), max);
    EXPECT_TRUE(IsValidUtf8(p)) << max;
    EXPECT_GE(p.size() + 3, std::min(max, text.size())) << max;
  }
  // Invalid text: it backs off over at most three continuation bytes, never further.
  EXPECT_EQ(Utf8Prefix(std::string(10, '\x80'), 5).size(), 2u);
}

}  // namespace
}  // namespace bulwark::core

namespace bulwark::core {
namespace {

TEST(CoreJsonDuplicateKeysTest, FindsARepeatedNameAtAnyDepthAfterUnescaping) {
  EXPECT_FALSE(HasDuplicateKeys(R"({"a":1,"b":2})"));
  EXPECT_FALSE(
      HasDuplicateKeys(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})"));  // same name, other objects
  EXPECT_TRUE(HasDuplicateKeys(R"({"email":"x@y.z","email":"a@b.c"})"));
  EXPECT_TRUE(HasDuplicateKeys(R"({"a":1,"\u0061":2})"));
  EXPECT_TRUE(HasDuplicateKeys(R"({"x":[{"k":1,"k":1}]})"));
  EXPECT_TRUE(HasDuplicateKeys(R"({"x":{"y":{"z":1,"z":2}}})"));
  EXPECT_FALSE(HasDuplicateKeys(R"([1,2,3])"));
  EXPECT_FALSE(HasDuplicateKeys("not json"));
  EXPECT_FALSE(HasDuplicateKeys(""));
}

TEST(CoreJsonMemberTextExactTest, KeepsNumberLiteralsAsWrittenAndCompactsTheRest) {
  EXPECT_EQ(MemberTextExact(R"({"data": {"n": 1.50, "big": 12345678901234567890123}})", "data"),
            R"({"n":1.50,"big":12345678901234567890123})");
  EXPECT_EQ(MemberTextExact(R"({"cas":1,"data":{"a":[1e400, -0, 2E-5, {"b": null}],"t":true}})",
                            "data"),
            R"({"a":[1e400,-0,2E-5,{"b":null}],"t":true})");
  // Strings are written again with their escapes normalized; a nested "data" is not the member.
  EXPECT_EQ(MemberTextExact(R"({"x":{"data":1},"data":{"s":"a\u0062\n","data":[]}})", "data"),
            R"({"s":"ab\n","data":[]})");
  EXPECT_EQ(MemberTextExact(R"({"data":[]})", "data"), "[]");
  EXPECT_EQ(MemberTextExact(R"({"data":7})", "data"), "7");
  EXPECT_EQ(MemberTextExact(R"({"other":{}})", "data"), std::nullopt);
  EXPECT_EQ(MemberTextExact(R"([{"data":{}}])", "data"), std::nullopt);
  EXPECT_EQ(MemberTextExact(R"({"data":{})", "data"), std::nullopt);  // not JSON
  EXPECT_EQ(MemberTextExact(R"({"data":[[[1]]]})", "data", 3), std::nullopt);  // too deep
}

}  // namespace
}  // namespace bulwark::core
