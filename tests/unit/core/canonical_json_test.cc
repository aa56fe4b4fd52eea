#include "core/canonical_json.h"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <system_error>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bulwark::core {
namespace {

// Canonical form of `v`, or a test failure naming the refusal.
std::string Canon(const boost::json::value& v) {
  StatusOr<std::string> c = CanonicalJson(v);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : std::string("<error>");
}

std::string CanonText(std::string_view text) {
  StatusOr<std::string> c = CanonicalizeText(text);
  EXPECT_TRUE(c.ok()) << c.status().ToString() << " for " << text;
  return c.ok() ? *c : std::string("<error>");
}

std::string CanonDouble(double d) { return Canon(boost::json::value(d)); }

// The refusal reason of CanonicalizeText, or "ok".
std::string TextReason(std::string_view text) {
  StatusOr<std::string> c = CanonicalizeText(text);
  if (c.ok()) return "ok";
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
  return c.status().reason();
}

std::string ValueReason(const boost::json::value& v) {
  StatusOr<std::string> c = CanonicalJson(v);
  if (c.ok()) return "ok";
  EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
  return c.status().reason();
}

// --- Structure and literals ------------------------------------------------------------------

TEST(CoreCanonicalJsonTest, LiteralsAndEmptyContainers) {
  EXPECT_EQ(Canon(nullptr), "null");
  EXPECT_EQ(Canon(true), "true");
  EXPECT_EQ(Canon(false), "false");
  EXPECT_EQ(Canon(boost::json::array()), "[]");
  EXPECT_EQ(Canon(boost::json::object()), "{}");
  EXPECT_EQ(Canon(""), "\"\"");
}

TEST(CoreCanonicalJsonTest, HeaderExample) {
  boost::json::value v = {{"b", 1.0}, {"a", {true, nullptr, "\xE2\x82\xAC"}}, {"c", 1e21}};
  EXPECT_EQ(Canon(v), "{\"a\":[true,null,\"\xE2\x82\xAC\"],\"b\":1,\"c\":1e+21}");
}

TEST(CoreCanonicalJsonTest, NestedArraysAndObjectsAreSortedAtEveryLevel) {
  EXPECT_EQ(CanonText(R"( { "z" : [ 3 , { "y" : 1 , "x" : [ ] } ] , "a" : { "c" : { } , "b" : null } } )"),
            R"({"a":{"b":null,"c":{}},"z":[3,{"x":[],"y":1}]})");
  // Array order is data and is kept.
  EXPECT_EQ(CanonText("[3,1,2]"), "[3,1,2]");
}

// RFC 8785 §3.2.2: the specification's own worked example, whitespace and all.
TEST(CoreCanonicalJsonTest, Rfc8785MainExample) {
  const std::string input = R"({
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
})";
  EXPECT_EQ(CanonText(input),
            "{\"literals\":[null,true,false],"
            "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

// --- Member order: UTF-16 code units, not UTF-8 bytes -----------------------------------------

TEST(CoreCanonicalJsonTest, SortsByUtf16CodeUnitsNotUtf8Bytes) {
  // U+1F600 is the surrogate pair D83D DE00 and so sorts before U+E000, although its UTF-8
  // (F0 9F 98 80) is bytewise after U+E000's (EE 80 80). A byte-order sort gets this wrong.
  const std::string grin = "\xF0\x9F\x98\x80";   // U+1F600
  const std::string priv = "\xEE\x80\x80";       // U+E000
  boost::json::object o;
  o[priv] = 2;
  o[grin] = 1;
  EXPECT_EQ(Canon(o), "{\"" + grin + "\":1,\"" + priv + "\":2}");
  EXPECT_EQ(CanonText("{\"\\ue000\":2,\"\\ud83d\\ude00\":1}"), "{\"" + grin + "\":1,\"" + priv + "\":2}");
}

// RFC 8785 §3.2.3's sorting example: names from U+000D to U+FB33, incl. a surrogate pair.
TEST(CoreCanonicalJsonTest, Rfc8785SortingExample) {
  const std::string input = R"({
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
})";
  EXPECT_EQ(CanonText(input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xC2\x80\":\"Control\","
            "\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\",\"\xE2\x82\xAC\":\"Euro Sign\","
            "\"\xF0\x9F\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

TEST(CoreCanonicalJsonTest, PrefixSortsFirst) {
  EXPECT_EQ(CanonText(R"({"ab":1,"a":2,"":3,"b":4})"), R"({"":3,"a":2,"ab":1,"b":4})");
}

// --- Strings -----------------------------------------------------------------------------------

TEST(CoreCanonicalJsonTest, EscapesEveryControlCharacterLikeJsonStringify) {
  // Expected output taken from JSON.stringify of U+0000..U+001F: the five short escapes where
  // they exist, \u00xx with lowercase hex for the rest.
  static const char* const kExpected[32] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
      "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
      "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  std::string all;
  std::string all_expected = "\"";
  for (int c = 0; c < 32; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(Canon(boost::json::value(s)), std::string("\"") + kExpected[c] + "\"") << "char " << c;
    all += s;
    all_expected += kExpected[c];
  }
  EXPECT_EQ(Canon(boost::json::value(all)), all_expected + "\"");
}

TEST(CoreCanonicalJsonTest, QuoteAndBackslashEscapedSlashNot) {
  EXPECT_EQ(Canon("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(CanonText(R"("\/")"), R"("/")");
}

TEST(CoreCanonicalJsonTest, DelLineSeparatorsAndNonAsciiAreLiteral) {
  EXPECT_EQ(Canon("\x7F"), "\"\x7F\"");
  EXPECT_EQ(CanonText(R"("\u2028\u2029")"), "\"\xE2\x80\xA8\xE2\x80\xA9\"");
  EXPECT_EQ(CanonText(R"("\u00e9\u0041")"), "\"\xC3\xA9" "A\"");
  EXPECT_EQ(CanonText(R"("\uD83D\uDE00")"), "\"\xF0\x9F\x98\x80\"");
  EXPECT_EQ(Canon("\xEF\xBF\xBF"), "\"\xEF\xBF\xBF\"");  // U+FFFF, a noncharacter, is still text
}

TEST(CoreCanonicalJsonTest, EscapesBetweenRunsOfPlainTextKeepEveryByte) {
  // Plain text is copied in runs; an escape at the start, the middle or the end of a string
  // must not lose or repeat a byte on either side.
  EXPECT_EQ(Canon("\"abc"), R"("\"abc")");
  EXPECT_EQ(Canon("abc\\"), R"("abc\\")");
  EXPECT_EQ(Canon("ab\ncd\te\x01"
                  "f\"\"g"),
            R"("ab\ncd\te\u0001f\"\"g")");
  EXPECT_EQ(Canon("\xC3\xA9t\xC3\xA9\n\xE2\x82\xAC"), "\"\xC3\xA9t\xC3\xA9\\n\xE2\x82\xAC\"");
  EXPECT_EQ(Canon(boost::json::value(std::string(300, 'x') + "\t" + std::string(300, 'y'))),
            "\"" + std::string(300, 'x') + "\\t" + std::string(300, 'y') + "\"");
}

TEST(CoreCanonicalJsonTest, EmbeddedNulIsEscaped) {
  EXPECT_EQ(Canon(boost::json::value(std::string("a\0b", 3))), R"("a\u0000b")");
}

TEST(CoreCanonicalJsonTest, InvalidUtf8IsRefused) {
  EXPECT_EQ(ValueReason("\xC3"), "non_canonicalizable");            // truncated
  EXPECT_EQ(ValueReason("\xC0\xAF"), "non_canonicalizable");        // overlong '/'
  EXPECT_EQ(ValueReason("\xED\xA0\x80"), "non_canonicalizable");    // UTF-8 encoded surrogate
  EXPECT_EQ(ValueReason("\xF4\x90\x80\x80"), "non_canonicalizable");  // above U+10FFFF
  boost::json::object o;
  o["\xFF"] = 1;
  EXPECT_EQ(ValueReason(o), "non_canonicalizable");
  boost::json::array deep = {1, {2, {"\x80"}}};
  EXPECT_EQ(ValueReason(deep), "non_canonicalizable");

  EXPECT_EQ(TextReason("\"\xC3\""), "invalid_utf8");
  EXPECT_EQ(TextReason("{\"\xFF\":1}"), "invalid_utf8");
  EXPECT_EQ(TextReason("[1]\xFF"), "invalid_utf8");
  // Lone surrogates have no UTF-8 form; JSON.parse would keep them, JCS cannot serialize them.
  EXPECT_EQ(TextReason(R"("\ud800")"), "invalid_utf8");
  EXPECT_EQ(TextReason(R"("\udc00")"), "invalid_utf8");
  EXPECT_EQ(TextReason(R"("\ud800x")"), "invalid_utf8");
  EXPECT_EQ(TextReason(R"("\ud800\u0041")"), "invalid_utf8");
  EXPECT_EQ(TextReason(R"({"\udfff":1})"), "invalid_utf8");
}

// --- Numbers -----------------------------------------------------------------------------------

TEST(CoreCanonicalJsonTest, NumbersFollowEcmascriptToString) {
  EXPECT_EQ(CanonDouble(0.0), "0");
  EXPECT_EQ(CanonDouble(-0.0), "0");
  EXPECT_EQ(CanonDouble(1.0), "1");
  EXPECT_EQ(CanonDouble(-1.0), "-1");
  EXPECT_EQ(CanonDouble(1.5), "1.5");
  EXPECT_EQ(CanonDouble(-1.5), "-1.5");
  EXPECT_EQ(CanonDouble(1e21), "1e+21");
  EXPECT_EQ(CanonDouble(1e20), "100000000000000000000");
  EXPECT_EQ(CanonDouble(1e-7), "1e-7");
  EXPECT_EQ(CanonDouble(0.000001), "0.000001");
  EXPECT_EQ(CanonDouble(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(CanonDouble(5e-324), "5e-324");
  EXPECT_EQ(CanonDouble(-5e-324), "-5e-324");
  EXPECT_EQ(CanonDouble(1.7976931348623157e308), "1.7976931348623157e+308");
  volatile double a = 0.1;  // computed at run time, not folded into a literal
  volatile double b = 0.2;
  EXPECT_EQ(CanonDouble(a + b), "0.30000000000000004");
  EXPECT_EQ(CanonDouble(1.23e-18), "1.23e-18");
  EXPECT_EQ(CanonDouble(2.5e-7), "2.5e-7");
  EXPECT_EQ(CanonDouble(1.5e300), "1.5e+300");
  EXPECT_EQ(CanonDouble(123.456), "123.456");
  EXPECT_EQ(CanonDouble(0.5), "0.5");
  EXPECT_EQ(CanonDouble(100.0), "100");
}

// Bit patterns and outputs of RFC 8785 Appendix B, plus pseudo-random doubles; every expected
// string was produced by JSON.stringify in Node.js (V8) from the same bits, the reference the
// RFC names. The first group spans every layout rule's edges; the second was drawn with
// exponents between 1e-8 and 1e22, where the plain decimal layouts apply.
TEST(CoreCanonicalJsonTest, NumbersMatchJsonStringifyBitForBit) {
  const std::vector<std::pair<std::uint64_t, std::string>> kVectors = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
      {0x0010000000000000, "2.2250738585072014e-308"},
      {0x000fffffffffffff, "2.225073858507201e-308"},
      {0xa6fbc7641d3fbb66, "-6.723514542495601e-121"},
      {0x5a3d4d4313f10c3d, "4.958754033786612e+126"},
      {0x546cccd54959eb08, "4.921336258586984e+98"},
      {0x25079fe4a376c9b7, "2.6626619268802698e-130"},
      {0xfe544cf85cddbf7a, "-3.398802652135254e+300"},
      {0x90292bb15419253c, "-8.106402976279622e-231"},
      {0x447958c8cab30bcd, "7.481059007740232e+21"},
      {0x0706f8021814a68c, "8.2926232003673e-275"},
      {0x3913cf931ba6fe4f, "9.538571743849136e-34"},
      {0xccb205dfe78a7f06, "-2.8961760426650514e+61"},
      {0xc1e20ee9a1ee8043, "-2423737615.453157"},
      {0xc371b5a14b6cb938, "-79756463421756290"},
      {0x3ecc84e60f8883b1, "0.0000033997458752797588"},
      {0xc2b9328abb41317e, "-27704866586929.492"},
      {0x3f9bb372d6c88eaf, "0.027051729544963873"},
      {0x422487107b8cccbd, "44082675142.39988"},
      {0xbf672738ad80f9fa, "-0.002826319407204678"},
      {0xc45b55a2ae566409, "-2.0169311044627105e+21"},
      {0x410f82437e0ea5b6, "258120.43655137502"},
      {0xc422f1acf83d3595, "-174727980063841220000"},
      {0xbe6956a2e9ef10b2, "-4.719649137439591e-8"},
      {0x430257fb18934b73, "645410692688238.4"},
      {0x44413ec0983c56ee, "636232861327732500000"},
      {0x3ea458d6da2ce2df, "6.063886995650179e-7"},
      {0x3fd7109597157884, "0.3603872275761051"},
      {0x3ee53c7fdd9ee020, "0.00001012626937667299"},
      {0xc340ffb6bf23ffb9, "-9569519966617458"},
      {0x424107357f59fe77, "146270781107.988"},
      {0x43374ea36488a0fc, "6560388137656572"},
      {0xbea6824c3ac7f245, "-6.708197495815691e-7"},
      {0xc3be8efeeba12522, "-2201977555805086200"},
      {0x404c96103afc7b11, "57.172370312959295"},
      {0xbf5e848bf0c3f05e, "-0.0018626562696786512"},
      {0x433461c9fd08e2da, "5737019695751898"},
  };
  for (const auto& [bits, expected] : kVectors) {
    const double d = std::bit_cast<double>(bits);
    EXPECT_EQ(CanonDouble(d), expected) << std::hex << bits;
    // The text path reads the printed digits back to the same double and prints them again.
    EXPECT_EQ(CanonText(expected), expected);
  }
}

TEST(CoreCanonicalJsonTest, NonFiniteDoublesAreRefused) {
  EXPECT_EQ(ValueReason(std::numeric_limits<double>::quiet_NaN()), "non_canonicalizable");
  EXPECT_EQ(ValueReason(std::numeric_limits<double>::infinity()), "non_canonicalizable");
  EXPECT_EQ(ValueReason(-std::numeric_limits<double>::infinity()), "non_canonicalizable");
  EXPECT_EQ(ValueReason(boost::json::array{1, std::numeric_limits<double>::quiet_NaN()}),
            "non_canonicalizable");
  // No JSON text spells NaN; a number too big for a double would become Infinity.
  EXPECT_EQ(TextReason("NaN"), "malformed_json");
  EXPECT_EQ(TextReason("Infinity"), "malformed_json");
  EXPECT_EQ(TextReason("1e400"), "non_canonicalizable");
  EXPECT_EQ(TextReason("-1.5e309"), "non_canonicalizable");
  EXPECT_EQ(TextReason("[1e99999999999999999999]"), "non_canonicalizable");
}

TEST(CoreCanonicalJsonTest, IntegersUpToTwoToThe53rdAreExact) {
  constexpr std::int64_t kTwo53 = std::int64_t{1} << 53;
  EXPECT_EQ(Canon(std::int64_t{0}), "0");
  EXPECT_EQ(Canon(std::int64_t{-42}), "-42");
  EXPECT_EQ(Canon(kTwo53), "9007199254740992");
  EXPECT_EQ(Canon(-kTwo53), "-9007199254740992");
  EXPECT_EQ(Canon(static_cast<std::uint64_t>(kTwo53)), "9007199254740992");
  EXPECT_EQ(ValueReason(kTwo53 + 1), "non_canonicalizable");
  EXPECT_EQ(ValueReason(-kTwo53 - 1), "non_canonicalizable");
  EXPECT_EQ(ValueReason(static_cast<std::uint64_t>(kTwo53) + 1), "non_canonicalizable");
  EXPECT_EQ(ValueReason(std::numeric_limits<std::int64_t>::min()), "non_canonicalizable");
  EXPECT_EQ(ValueReason(std::numeric_limits<std::uint64_t>::max()), "non_canonicalizable");

  EXPECT_EQ(CanonText("9007199254740992"), "9007199254740992");
  EXPECT_EQ(CanonText("-9007199254740992"), "-9007199254740992");
  EXPECT_EQ(TextReason("9007199254740993"), "non_canonicalizable");
  EXPECT_EQ(TextReason("-9007199254740993"), "non_canonicalizable");
  EXPECT_EQ(TextReason("18446744073709551615"), "non_canonicalizable");    // uint64 max
  EXPECT_EQ(TextReason("18446744073709551616"), "non_canonicalizable");    // beyond 64 bits
  EXPECT_EQ(TextReason("-9223372036854775809"), "non_canonicalizable");
  // Beyond 2^53 an integer literal is taken only as the canonical spelling of its double, which
  // canonical output of doubles such as 1e20 must be (idempotence); any other is refused.
  EXPECT_EQ(CanonText("9007199254740994"), "9007199254740994");
  EXPECT_EQ(CanonText("100000000000000000000"), "100000000000000000000");
  EXPECT_EQ(CanonText("-18446744073709552000"), "-18446744073709552000");
  EXPECT_EQ(CanonText("123456789012345680000"), "123456789012345680000");
  EXPECT_EQ(TextReason("123456789012345678901"), "non_canonicalizable");
  EXPECT_EQ(TextReason("1" + std::string(400, '0')), "non_canonicalizable");
  // With a fraction or exponent the literal is a double by its own spelling, and is rounded
  // exactly as JSON.parse rounds it.
  EXPECT_EQ(CanonText("9007199254740993.0"), "9007199254740992");
  EXPECT_EQ(CanonText("1e21"), "1e+21");
  EXPECT_EQ(CanonText("123456789012345678901234567890e0"), "1.2345678901234568e+29");
}

TEST(CoreCanonicalJsonTest, TextNumbersAreCorrectlyRounded) {
  EXPECT_EQ(CanonText("-0"), "0");
  EXPECT_EQ(CanonText("-0.0"), "0");
  EXPECT_EQ(CanonText("0e10"), "0");
  EXPECT_EQ(CanonText("1.0"), "1");
  EXPECT_EQ(CanonText("1E2"), "100");
  EXPECT_EQ(CanonText("0.1E1"), "1");
  EXPECT_EQ(CanonText("333333333.33333329"), "333333333.3333333");
  EXPECT_EQ(CanonText("2.2250738585072011e-308"), "2.225073858507201e-308");
  EXPECT_EQ(CanonText("0.30000000000000004"), "0.30000000000000004");
  // boost::json::parse 1.81 reads this one ulp low (...735e-264); JSON.parse and this parser
  // read it exactly, so it stays as written.
  EXPECT_EQ(CanonText("1.1838275821636737e-264"), "1.1838275821636737e-264");
  // 2^-1075 exactly halfway between 0 and the smallest subnormal rounds to even (0); a hair
  // above it rounds up.
  EXPECT_EQ(CanonText("2.4703282292062327e-324"), "0");
  EXPECT_EQ(CanonText("2.4703282292062328e-324"), "5e-324");
  // Underflow is zero, as in JSON.parse; a long mantissa with a negative exponent is still big.
  EXPECT_EQ(CanonText("1e-400"), "0");
  EXPECT_EQ(CanonText("-1e-400"), "0");
  EXPECT_EQ(TextReason("1" + std::string(400, '0') + "e-10"), "non_canonicalizable");
  EXPECT_EQ(CanonText("0." + std::string(400, '0') + "1e300"), "1e-101");
  EXPECT_EQ(CanonText("0." + std::string(400, '0') + "1e-10"), "0");
}

// --- Strict parsing ----------------------------------------------------------------------------

TEST(CoreCanonicalJsonTest, DuplicateKeysAreRefused) {
  EXPECT_EQ(TextReason(R"({"a":1,"a":2})"), "duplicate_key");
  EXPECT_EQ(TextReason(R"({"a":1,"a":1})"), "duplicate_key");
  // Equal after unescaping: a parser comparing raw text would see two names.
  EXPECT_EQ(TextReason(R"({"a":1,"\u0061":2})"), "duplicate_key");
  EXPECT_EQ(TextReason("{\"\xF0\x9F\x98\x80\":1,\"\\ud83d\\ude00\":2}"), "duplicate_key");
  EXPECT_EQ(TextReason(R"([{"x":{"b":1,"c":2,"b":3}}])"), "duplicate_key");
  // The same name in different objects, or as a value, is fine.
  EXPECT_EQ(CanonText(R"({"a":{"a":"a"},"b":{"a":1}})"), R"({"a":{"a":"a"},"b":{"a":1}})");
  EXPECT_EQ(CanonText(R"([{"a":1},{"a":2}])"), R"([{"a":1},{"a":2}])");
}

TEST(CoreCanonicalJsonTest, MalformedTextIsRefused) {
  for (std::string_view bad : {"", " ", "{", "[1,]", "{\"a\":1,}", "[1] [2]", "[1]x", "{'a':1}",
                               "// c\n1", "/* c */1", "01", "1.", ".5", "+1", "0x10", "\"a",
                               "\"\t\"", "{\"a\" 1}", "[1 2]", "tru", "nul", "\xEF\xBB\xBF{}"}) {
    EXPECT_EQ(TextReason(bad), "malformed_json") << "input: " << bad;
  }
  EXPECT_EQ(TextReason(std::string("[1]\0", 4)), "malformed_json");
}

TEST(CoreCanonicalJsonTest, WhitespaceAroundTokensIsAccepted) {
  EXPECT_EQ(CanonText(" \t\r\n{ \"a\" :\t[ 1 ,\n2 ] } \n"), R"({"a":[1,2]})");
}

TEST(CoreCanonicalJsonTest, NestingLimitIsTheSameForValuesAndText) {
  auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  const std::string at_limit = nested(kCanonicalJsonMaxDepth);
  EXPECT_EQ(CanonText(at_limit), at_limit);
  EXPECT_EQ(TextReason(nested(kCanonicalJsonMaxDepth + 1)), "malformed_json");
  EXPECT_EQ(TextReason(nested(100000)), "malformed_json");  // no stack overflow

  boost::json::value v = boost::json::array();
  for (std::size_t i = 1; i < kCanonicalJsonMaxDepth; ++i) v = boost::json::array{v};
  EXPECT_EQ(Canon(v), at_limit);
  v = boost::json::object{{"k", v}};
  EXPECT_EQ(ValueReason(v), "non_canonicalizable");
}

// --- IsCanonical -------------------------------------------------------------------------------

TEST(CoreCanonicalJsonTest, IsCanonicalAcceptsOnlyTheExactForm) {
  const std::string canonical = R"({"a":[1,1.5,"A",true,null],"b":{"c":"\u001f"}})";
  EXPECT_TRUE(IsCanonical(canonical));
  EXPECT_TRUE(IsCanonical("0"));
  EXPECT_TRUE(IsCanonical("\"\xF0\x9F\x98\x80\""));
  EXPECT_FALSE(IsCanonical(R"({"a":[1,1.5,"A",true,null], "b":{"c":"\u001f"}})"));  // space
  EXPECT_FALSE(IsCanonical(canonical + "\n"));                                       // newline
  EXPECT_FALSE(IsCanonical(R"({"b":{"c":"\u001f"},"a":[1,1.5,"A",true,null]})"));    // order
  EXPECT_FALSE(IsCanonical(R"({"a":[1.0,1.5,"A",true,null],"b":{"c":"\u001f"}})"));  // 1.0
  EXPECT_FALSE(IsCanonical(R"({"a":[1,1.5,"\u0041",true,null],"b":{"c":"\u001f"}})"));  // \u0041
  EXPECT_FALSE(IsCanonical(R"({"a":[1,1.5,"A",true,null],"b":{"c":"\u001F"}})"));  // upper hex
  EXPECT_FALSE(IsCanonical(R"("\/")"));
  EXPECT_FALSE(IsCanonical("-0"));
  EXPECT_FALSE(IsCanonical("1E+21"));
  EXPECT_FALSE(IsCanonical(R"({"a":1,"a":1})"));  // duplicates are never canonical
  EXPECT_FALSE(IsCanonical("9007199254740993"));
  EXPECT_FALSE(IsCanonical("\"\xFF\""));
  EXPECT_FALSE(IsCanonical(""));
}

// --- Properties over random values -------------------------------------------------------------

class RandomJson {
 public:
  explicit RandomJson(std::uint64_t seed) : rng_(seed) {}

  boost::json::value Value(int depth) {
    const int pick = Uniform(0, depth >= 4 ? 5 : 7);
    switch (pick) {
      case 0: return nullptr;
      case 1: return Uniform(0, 1) == 1;
      case 2: return Number();
      case 3: return Number();
      case 4:
      case 5: return boost::json::value(String());
      case 6: {
        boost::json::array a;
        const int n = Uniform(0, 5);
        for (int i = 0; i < n; ++i) a.push_back(Value(depth + 1));
        return a;
      }
      default: {
        boost::json::object o;
        const int n = Uniform(0, 6);
        for (int i = 0; i < n; ++i) o[String()] = Value(depth + 1);
        return o;
      }
    }
  }

  boost::json::value Number() {
    constexpr std::int64_t kTwo53 = std::int64_t{1} << 53;
    switch (Uniform(0, 4)) {
      case 0: return static_cast<std::int64_t>(Uniform(-1000, 1000));
      case 1: return std::uniform_int_distribution<std::int64_t>(-kTwo53, kTwo53)(rng_);
      case 2: {  // any finite double, subnormals included
        double d;
        do {
          d = std::bit_cast<double>(rng_());
        } while (!std::isfinite(d));
        return d;
      }
      case 3: {  // a short decimal at a random scale, across every ES layout
        const double mantissa = Uniform(-99999, 99999);
        return mantissa * std::pow(10.0, Uniform(-30, 30));
      }
      default: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    }
  }

  std::string String() {
    std::string s;
    const int n = Uniform(0, 6);
    for (int i = 0; i < n; ++i) AppendUtf8(s, CodePoint());
    return s;
  }

  // Code points from every class the escaping and ordering rules treat differently.
  char32_t CodePoint() {
    switch (Uniform(0, 7)) {
      case 0: return static_cast<char32_t>(Uniform(0, 0x1F));
      case 1: return U"\"\\/\x7F"[Uniform(0, 3)];
      case 2:
      case 3: return static_cast<char32_t>(Uniform('a', 'e'));  // small alphabet: shared prefixes
      case 4: return static_cast<char32_t>(Uniform(0x80, 0x7FF));
      case 5: return U"\u2028\u2029\uE000\uFFFF\uFB33\u20AC"[Uniform(0, 5)];
      case 6: return static_cast<char32_t>(Uniform(0xE000, 0xFFFD));
      default: return static_cast<char32_t>(Uniform(0x10000, 0x10FFFF));
    }
  }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::mt19937_64& rng() { return rng_; }

 private:
  static void AppendUtf8(std::string& s, char32_t cp) {
    auto byte = [&s](std::uint32_t b) { s.push_back(static_cast<char>(b)); };
    const auto c = static_cast<std::uint32_t>(cp);
    if (c < 0x80) {
      byte(c);
    } else if (c < 0x800) {
      byte(0xC0 | (c >> 6));
      byte(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      byte(0xE0 | (c >> 12));
      byte(0x80 | ((c >> 6) & 0x3F));
      byte(0x80 | (c & 0x3F));
    } else {
      byte(0xF0 | (c >> 18));
      byte(0x80 | ((c >> 12) & 0x3F));
      byte(0x80 | ((c >> 6) & 0x3F));
      byte(0x80 | (c & 0x3F));
    }
  }

  std::mt19937_64 rng_;
};

// Rebuilds `v` with every object's members inserted in reverse order.
boost::json::value Reversed(const boost::json::value& v) {
  if (v.is_array()) {
    boost::json::array a;
    for (const auto& e : v.get_array()) a.push_back(Reversed(e));
    return a;
  }
  if (v.is_object()) {
    std::vector<const boost::json::key_value_pair*> members;
    for (const auto& kv : v.get_object()) members.push_back(&kv);
    boost::json::object o;
    for (auto it = members.rbegin(); it != members.rend(); ++it) o[(*it)->key()] = Reversed((*it)->value());
    return o;
  }
  return v;
}

// Re-spells canonical text with whitespace between tokens and, inside strings, \u escapes for
// random characters, so the parser sees a different text of the same value.
std::string Respell(std::string_view canonical, std::mt19937_64& rng) {
  std::string out;
  bool in_string = false;
  std::size_t i = 0;
  auto coin = [&rng] { return (rng() & 3) == 0; };
  while (i < canonical.size()) {
    const char c = canonical[i];
    if (in_string) {
      if (c == '\\') {  // copy an escape whole: \uXXXX or a two-character one
        const std::size_t len = canonical[i + 1] == 'u' ? 6 : 2;
        out.append(canonical.substr(i, len));
        i += len;
        continue;
      }
      if (c == '"') in_string = false;
      if (c != '"' && static_cast<unsigned char>(c) < 0x80 && coin()) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        out += "\\u00";
        out.push_back(kHex[(c >> 4) & 0xF]);
        out.push_back(kHex[c & 0xF]);
      } else {
        out.push_back(c);
      }
      ++i;
      continue;
    }
    // Whitespace goes only between tokens, never inside a number or literal.
    if (std::string_view("{}[],:\"").find(c) != std::string_view::npos && coin()) {
      out += " \n\t\r"[rng() & 3];
    }
    if (c == '"') in_string = true;
    out.push_back(c);
    ++i;
  }
  return out;
}

bool SameValue(const boost::json::value& a, const boost::json::value& b);

// Numbers compare as doubles: the canonical text of int64 7 parses back as int64, of 7.0 too.
// `b` comes from boost::json::parse, whose 1.81 decimal conversion can be a few ulps off (it
// reads "1.1838275821636737e-264" as ...735e-264), so a relative 1e-15 is allowed here; the
// bit-exact round trip is checked with std::from_chars in RandomDoublesRoundTripExactly.
bool SameNumber(const boost::json::value& a, const boost::json::value& b) {
  const double x = a.to_number<double>();
  const double y = b.to_number<double>();
  // +0 == -0: -0 is printed as 0 on purpose.
  return x == y || std::fabs(x - y) <= 1e-15 * std::fabs(x);
}

bool SameValue(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number()) return SameNumber(a, b);
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!SameValue(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const auto* other = y.if_contains(kv.key());
      if (other == nullptr || !SameValue(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

TEST(CoreCanonicalJsonPropertyTest, RandomValuesAreStableAndLossless) {
  RandomJson gen(20261122);
  for (int round = 0; round < 400; ++round) {
    const boost::json::value v = gen.Value(0);
    StatusOr<std::string> c = CanonicalJson(v);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    SCOPED_TRACE(*c);

    // Idempotent: canonical text canonicalizes to itself.
    EXPECT_TRUE(IsCanonical(*c));
    EXPECT_EQ(CanonText(*c), *c);
    // Member insertion order does not matter.
    EXPECT_EQ(Canon(Reversed(v)), *c);
    // Another spelling of the same value gives the same bytes.
    EXPECT_EQ(CanonText(Respell(*c, gen.rng())), *c);
    // Lossless: the canonical text is standard JSON holding the same value, doubles bit-exact.
    boost::system::error_code ec;
    const boost::json::value back = boost::json::parse(*c, ec);
    ASSERT_FALSE(ec) << ec.message();
    StatusOr<std::string> via_text = CanonicalizeText(*c);
    ASSERT_TRUE(via_text.ok());
    EXPECT_TRUE(SameValue(v, back));
  }
}

TEST(CoreCanonicalJsonPropertyTest, RandomDoublesRoundTripExactly) {
  std::mt19937_64 rng(8785);
  for (int i = 0; i < 2000; ++i) {
    double d = std::bit_cast<double>(rng());
    if (!std::isfinite(d)) continue;
    const std::string c = CanonDouble(d);
    // Reading the canonical digits back must give the very same double (or 0 for -0).
    boost::json::value arr = boost::json::array{d};
    StatusOr<std::string> text = CanonicalJson(arr);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(CanonText(c), c);
    double back = 0;
    const auto res = std::from_chars(c.data(), c.data() + c.size(), back);
    ASSERT_EQ(res.ec, std::errc()) << c;
    EXPECT_EQ(std::bit_cast<std::uint64_t>(back), std::bit_cast<std::uint64_t>(d == 0 ? 0.0 : d)) << c;
  }
}

}  // namespace
}  // namespace bulwark::core
