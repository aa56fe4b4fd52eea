#include "core/log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <limits>
#include <regex>
#include <string>

#include "crypto/secret_bytes.h"

namespace bulwark::log {
namespace {

boost::json::object ParseLine(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  EXPECT_FALSE(ec) << "invalid JSON line: " << line;
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

std::string Str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return "<missing>";
  return std::string(v->as_string());
}

TEST(CoreLogTest, LineShape) {
  const std::string line =
      FormatLine(Level::kWarn, "server.started",
                 {{"listen", "127.0.0.1:8420"}, {"io_threads", 2}, {"ratio", 0.5}, {"tls", false}},
                 "req-123");
  const boost::json::object o = ParseLine(line);
  EXPECT_TRUE(std::regex_match(Str(o, "ts"),
                               std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)")))
      << Str(o, "ts");
  EXPECT_EQ(Str(o, "level"), "warn");
  EXPECT_EQ(Str(o, "event"), "server.started");
  EXPECT_EQ(Str(o, "request_id"), "req-123");
  EXPECT_EQ(Str(o, "listen"), "127.0.0.1:8420");
  ASSERT_TRUE(o.contains("io_threads"));
  EXPECT_EQ(o.at("io_threads").as_int64(), 2);
  ASSERT_TRUE(o.contains("ratio"));
  EXPECT_DOUBLE_EQ(o.at("ratio").as_double(), 0.5);
  ASSERT_TRUE(o.contains("tls"));
  EXPECT_FALSE(o.at("tls").as_bool());
  // ts, level, event come first, in that order.
  EXPECT_TRUE(line.starts_with("{\"ts\":\"")) << line;
  EXPECT_LT(line.find("\"level\""), line.find("\"event\""));
}

TEST(CoreLogTest, LevelNames) {
  EXPECT_EQ(Str(ParseLine(FormatLine(Level::kDebug, "e", {}, "r")), "level"), "debug");
  EXPECT_EQ(Str(ParseLine(FormatLine(Level::kInfo, "e", {}, "r")), "level"), "info");
  EXPECT_EQ(Str(ParseLine(FormatLine(Level::kError, "e", {}, "r")), "level"), "error");
}

TEST(CoreLogTest, EmptyRequestIdIsOmitted) {
  const boost::json::object o = ParseLine(FormatLine(Level::kInfo, "e", {}, ""));
  EXPECT_FALSE(o.contains("request_id"));
}

TEST(CoreLogTest, CredentialNamedFieldsAreRedactedWhateverTheirValue) {
  const std::string line = FormatLine(
      Level::kInfo, "auth.attempt",
      {{"token", "tok-AAAA1111"},
       {"api_key", "ak-BBBB2222"},
       {"password", "pw-CCCC3333"},
       {"Authorization", "Bearer DDDD4444"},
       {"x-api-key", "EEEE5555"},
       {"master_key", "FFFF6666"},
       {"secret", "GGGG7777"},
       {"cookie", "sid=HHHH8888"},
       {"totp_seed", "IIII9999"},
       {"access_token", 12345678},
       {"password_ok", true}},
      "r1");
  const boost::json::object o = ParseLine(line);
  for (std::string_view k : {"token", "api_key", "password", "Authorization", "x-api-key",
                             "master_key", "secret", "cookie", "totp_seed"}) {
    EXPECT_EQ(Str(o, k), "[redacted]") << k;
  }
  EXPECT_EQ(Str(o, "access_token"), "[redacted]");
  EXPECT_EQ(Str(o, "password_ok"), "[redacted]");
  for (std::string_view v : {"AAAA1111", "BBBB2222", "CCCC3333", "DDDD4444", "EEEE5555",
                             "FFFF6666", "GGGG7777", "HHHH8888", "IIII9999", "12345678"}) {
    EXPECT_EQ(line.find(v), std::string::npos) << v << " leaked: " << line;
  }
}

TEST(CoreLogTest, CredentialIdentifiersAreKept) {
  const boost::json::object o = ParseLine(FormatLine(
      Level::kInfo, "apikey.used",
      {{"key_id", "k_123"}, {"token_prefix", "bwk_ab"}, {"api_key_id", "ak_9"}, {"secret_version", 3}},
      "r1"));
  EXPECT_EQ(Str(o, "key_id"), "k_123");
  EXPECT_EQ(Str(o, "token_prefix"), "bwk_ab");
  EXPECT_EQ(Str(o, "api_key_id"), "ak_9");
  ASSERT_TRUE(o.contains("secret_version"));
  EXPECT_EQ(o.at("secret_version").as_int64(), 3);
}

TEST(CoreLogTest, SecretBytesFieldIsRedactedEvenUnderAnInnocentName) {
  const crypto::SecretBytes secret = crypto::SecretBytes::FromString(std::string("JJJJ0000-plaintext"));
  const std::string line = FormatLine(Level::kInfo, "vault.read", {{"payload", secret}}, "r1");
  const boost::json::object o = ParseLine(line);
  EXPECT_EQ(Str(o, "payload"), "[redacted]");
  EXPECT_EQ(line.find("JJJJ0000"), std::string::npos) << line;
}

TEST(CoreLogTest, ValueCannotForgeASecondLine) {
  const std::string evil = "x\n{\"level\":\"error\",\"event\":\"forged\"}\r\n";
  const std::string line = FormatLine(Level::kInfo, evil, {{"path", evil}, {evil, "v"}}, evil);
  const boost::json::object o = ParseLine(line);  // asserts exactly one '\n', at the end
  EXPECT_EQ(Str(o, "level"), "info");
  EXPECT_EQ(Str(o, "event"), evil);
  EXPECT_EQ(Str(o, "path"), evil);
  EXPECT_EQ(Str(o, "request_id"), evil);
}

TEST(CoreLogTest, InvalidUtf8ValueStillGivesValidJson) {
  const std::string line = FormatLine(Level::kInfo, "e", {{"path", "/a\xC0\x80\xFF"}}, "r");
  const boost::json::object o = ParseLine(line);
  EXPECT_TRUE(Str(o, "path").starts_with("/a\xEF\xBF\xBD")) << line;
}

TEST(CoreLogTest, NonFiniteDoubleStillGivesValidJson) {
  // A latency ratio of 0/0 must not break the line: JSON has no NaN or Infinity literals.
  const std::string line = FormatLine(
      Level::kInfo, "bench",
      {{"nan", std::numeric_limits<double>::quiet_NaN()},
       {"inf", std::numeric_limits<double>::infinity()}},
      "r");
  boost::system::error_code ec;
  boost::json::parse(line, ec);
  EXPECT_FALSE(ec) << "invalid JSON line: " << line;
}

TEST(CoreLogTest, IsCredentialNameTable) {
  struct Row {
    std::string_view name;
    bool credential;
  };
  const Row rows[] = {
      {"token", true},          {"Token", true},           {"access_token", true},
      {"refresh_token", true},  {"api_key", true},         {"apikey", true},
      {"x-api-key", true},      {"X-API-Key", true},       {"password", true},
      {"new_passwd", true},     {"authorization", true},   {"Authorization", true},
      {"master_key", true},     {"key", true},             {"signing-key", true},
      {"secret", true},         {"client_secret", true},   {"cookie", true},
      {"set-cookie", true},     {"totp_seed", true},       {"otp", true},
      {"private_pem", true},    {"credential", true},      {"x-vault-token", true},
      {"key_id", false},        {"token_prefix", false},   {"api_key_id", false},
      {"secret_version", false}, {"token_kind", false},    {"key_source", false},
      {"request_id", false},    {"path", false},           {"listen", false},
      {"status", false},        {"tenant_id", false},      {"keyring", false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(IsCredentialName(r.name), r.credential) << r.name;
  }
}

TEST(CoreLogTest, ParseLevel) {
  auto d = ParseLevel("debug");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Level::kDebug);
  auto e = ParseLevel("error");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, Level::kError);
  auto bad = ParseLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().reason(), "invalid_log_level");
}

}  // namespace
}  // namespace bulwark::log
