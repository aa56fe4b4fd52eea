#include "core/json_merge_patch.h"

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

}  // namespace
}  // namespace bulwark::core
