#include "core/json_merge_patch.h"

#include <chrono>

#include <gtest/gtest.h>

#include <string>

namespace bulwark::core {
namespace {

std::string Patched(const char* target, const char* patch) {
  return MergePatchText(target, patch).value_or("<not JSON>");
}

// The examples of RFC 7396, appendix A.
TEST(JsonMergePatch, Rfc7396AppendixA) {
  EXPECT_EQ(Patched(R"({"a":"b"})", R"({"a":"c"})"), R"({"a":"c"})");
  EXPECT_EQ(Patched(R"({"a":"b"})", R"({"b":"c"})"), R"({"a":"b","b":"c"})");
  EXPECT_EQ(Patched(R"({"a":"b"})", R"({"a":null})"), R"({})");
  EXPECT_EQ(Patched(R"({"a":"b","b":"c"})", R"({"a":null})"), R"({"b":"c"})");
  EXPECT_EQ(Patched(R"({"a":["b"]})", R"({"a":"c"})"), R"({"a":"c"})");
  EXPECT_EQ(Patched(R"({"a":"c"})", R"({"a":["b"]})"), R"({"a":["b"]})");
  EXPECT_EQ(Patched(R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})"), R"({"a":{"b":"d"}})");
  EXPECT_EQ(Patched(R"({"a":[{"b":"c"}]})", R"({"a":[1]})"), R"({"a":[1]})");
  EXPECT_EQ(Patched(R"(["a","b"])", R"(["c","d"])"), R"(["c","d"])");
  EXPECT_EQ(Patched(R"({"a":"b"})", R"(["c"])"), R"(["c"])");
  EXPECT_EQ(Patched(R"({"a":"foo"})", "null"), "null");
  EXPECT_EQ(Patched(R"({"a":"foo"})", R"("bar")"), R"("bar")");
  EXPECT_EQ(Patched(R"({"e":null})", R"({"a":1})"), R"({"e":null,"a":1})");
  EXPECT_EQ(Patched(R"([1,2])", R"({"a":"b","c":null})"), R"({"a":"b"})");
  EXPECT_EQ(Patched(R"({})", R"({"a":{"bb":{"ccc":null}}})"), R"({"a":{"bb":{}}})");
}

TEST(JsonMergePatchText, KeepsNumbersExactlyAndRefusesWhatIsNotJson) {
  EXPECT_EQ(MergePatchText(R"({"n": 12345678901234567890123, "f": 1.50, "s": "x"})",
                           R"({"s": null, "m": {"e": 1e400}})"),
            R"({"n":12345678901234567890123,"f":1.50,"m":{"e":1e400}})");
  EXPECT_FALSE(MergePatchText("{", "{}").has_value());
  EXPECT_FALSE(MergePatchText("{}", "[").has_value());
}

// Strings holding the characters the member scanner tracks (quotes, escapes, brackets, commas,
// colons) stay one member each.
TEST(JsonMergePatchText, MembersWithJsonPunctuationInStringsStayWhole) {
  EXPECT_EQ(MergePatchText(R"({"a,\"b":"x:{[,\\","c":[1,{"d":"}"}]})", R"({"c":null,"e":"]"})"),
            R"({"a,\"b":"x:{[,\\","e":"]"})");
}

// A merge is linear in its texts: 40,000 members (about 500 KiB, a secret near its size limit)
// on both sides merge in well under a second; the first version re-parsed the whole text for
// every member (about 98 s of CPU for this target alone).
TEST(JsonMergePatchText, ManyMembersMergeInLinearTime) {
  std::string target = "{";
  std::string patch = "{";
  for (int i = 0; i < 40000; ++i) {
    const std::string n = std::to_string(i);
    if (i > 0) {
      target += ',';
      patch += ',';
    }
    target += "\"k" + n + "\":\"" + n + "\"";
    patch += "\"p" + n + "\":" + n;
  }
  target += '}';
  patch += '}';
  const auto start = std::chrono::steady_clock::now();
  const auto merged = MergePatchText(target, patch);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(merged->size(), target.size() + patch.size() - 1);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

}  // namespace
}  // namespace bulwark::core
