// Preflight (app/preflight.h) as a function of the configuration and of the files it names: an
// accepted production configuration has no problem; each setting `serve` refuses in production is
// an error that names the setting and says why; what is only unsafe is a warning in dev; and the
// keyring settings rules that boot and a keyring reload share (BrokenKeyringRules).
#include "app/preflight.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "../keyring/key_sources.h"
#include "../store/store_test_util.h"
#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"

namespace bulwark::app {
namespace {

using config::Config;
using config::ConfigProblem;
using keyring::testing::RandomKeyBase64;
using store::testing::TempDir;
using Severity = ConfigProblem::Severity;

crypto::SecretBytes Secret(const std::string& s) {
  return crypto::SecretBytes::FromString(std::string(s));
}

// A production configuration `serve` starts with: loopback behind a TLS proxy's public URL, a
// strong master key, a data directory still to be made in a private temporary directory, mail
// off on purpose, and fewer connections than any limit on open files.
Config Production(const TempDir& dir) {
  Config c;
  c.dev = false;
  c.listen = "127.0.0.1:0";
  c.public_url = "https://bulwark.example";
  c.master_key = Secret(RandomKeyBase64());
  c.data_dir = dir.File("data");
  c.mail_disabled = true;
  c.max_connections = 64;
  return c;
}

std::vector<ConfigProblem> ErrorsOf(const std::vector<ConfigProblem>& problems) {
  std::vector<ConfigProblem> errors;
  for (const auto& p : problems) {
    if (p.severity == Severity::kError) errors.push_back(p);
  }
  return errors;
}

std::string Describe(const std::vector<ConfigProblem>& problems) {
  std::ostringstream out;
  PrintProblems(problems, out);
  return out.str();
}

bool Has(const std::vector<ConfigProblem>& problems, const std::string& key,
         const std::string& says) {
  for (const auto& p : problems) {
    if (p.key == key && p.message.find(says) != std::string::npos) return true;
  }
  return false;
}

TEST(Preflight, AProductionConfigurationIsAccepted) {
  TempDir dir;
  const auto problems = Preflight(Production(dir));
  EXPECT_TRUE(problems.empty()) << Describe(problems);
  // An existing private data directory is accepted too.
  ASSERT_EQ(::mkdir(dir.File("data").c_str(), 0700), 0);
  EXPECT_TRUE(Preflight(Production(dir)).empty());
}

struct Refusal {
  const char* name;
  std::function<void(Config&, const TempDir&)> change;
  const char* key;   // the setting the error names
  const char* says;  // part of why
};

TEST(Preflight, EachRefusalInProductionNamesItsSettingAndReason) {
  const Refusal refusals[] = {
      {"mode set to dev in the file", [](Config& c, const TempDir&) { c.mode_setting = "dev"; },
       "mode", "dev mode is enabled only by --dev"},
      {"unknown mode", [](Config& c, const TempDir&) { c.mode_setting = "staging"; }, "mode",
       "must be \"production\" or \"dev\""},
      {"unknown log level", [](Config& c, const TempDir&) { c.log_level = "loud"; }, "log.level",
       ""},
      {"local overlay", [](Config& c, const TempDir&) { c.local_overlay = true; },
       "local_overlay.enabled", "must be off in production"},
      {"tenant bypass", [](Config& c, const TempDir&) { c.tenant_bypass = true; },
       "debug.tenant_bypass", "refused in production"},
      {"body logging", [](Config& c, const TempDir&) { c.debug_log_bodies = true; },
       "debug.log_bodies", "debug flags are refused in production"},
      {"bad listen address", [](Config& c, const TempDir&) { c.listen = "not an address"; },
       "server.listen", ""},
      {"plain HTTP beyond loopback", [](Config& c, const TempDir&) { c.listen = "0.0.0.0:8420"; },
       "server.listen", "plain HTTP on a non-loopback address"},
      {"no public URL", [](Config& c, const TempDir&) { c.public_url.clear(); },
       "server.public_url", "required in production"},
      {"http public URL",
       [](Config& c, const TempDir&) { c.public_url = "http://bulwark.example"; },
       "server.public_url", "must be an https:// URL"},
      {"certificate without key",
       [](Config& c, const TempDir& d) { c.tls_cert_file = d.File("cert.pem"); },
       "server.tls_cert_file", "set both"},
      {"wildcard CORS origin",
       [](Config& c, const TempDir&) { c.cors_allowed_origins = {"*"}; }, "cors.allowed_origins",
       "wildcard"},
      {"http CORS origin",
       [](Config& c, const TempDir&) { c.cors_allowed_origins = {"http://app.example"}; },
       "cors.allowed_origins", "is not https"},
      {"bad trusted proxy",
       [](Config& c, const TempDir&) { c.trusted_proxies = {"not a range"}; },
       "server.trusted_proxies", ""},
      {"few KDF iterations", [](Config& c, const TempDir&) { c.pbkdf2_iterations = 1000; },
       "keyring.pbkdf2_iterations", "must be at least 100000"},
      {"no master key", [](Config& c, const TempDir&) { c.master_key.reset(); },
       "keyring.master_key", "required secret missing"},
      {"two master key sources",
       [](Config& c, const TempDir&) {
         c.master_password = Secret("correct horse battery staple zebra 42");
       },
       "keyring", "more than one master key source"},
      {"weak master key",
       [](Config& c, const TempDir&) {
         c.master_key = Secret(crypto::Base64Encode(std::vector<std::uint8_t>(32, 0)));
       },
       "keyring.master_key", "BULWARK_MASTER_KEY"},
      {"master key not base64", [](Config& c, const TempDir&) { c.master_key = Secret("no!"); },
       "keyring.master_key", "is not valid base64"},
      {"weak master password",
       [](Config& c, const TempDir&) {
         c.master_key.reset();
         c.master_password = Secret("password");
       },
       "keyring.master_password", "BULWARK_MASTER_PASSWORD"},
      {"key file others may read",
       [](Config& c, const TempDir& d) {
         c.master_key.reset();
         c.master_key_file = d.Write("open.key", RandomKeyBase64() + "\n", 0644);
       },
       "keyring.master_key_file", "readable by group or others"},
      {"missing key file",
       [](Config& c, const TempDir& d) {
         c.master_key.reset();
         c.master_key_file = d.File("missing.key");
       },
       "keyring.master_key_file", "missing.key"},
      {"everyone an operator",
       [](Config& c, const TempDir&) { c.operator_allow_cidrs = {"0.0.0.0/0"}; },
       "operator.allow_cidrs", "makes everyone an operator"},
      {"operator range holding a proxy",
       [](Config& c, const TempDir&) {
         c.trusted_proxies = {"10.0.0.1/32"};
         c.operator_allow_cidrs = {"10.0.0.0/8"};
       },
       "operator.allow_cidrs", "contains the trusted proxy"},
      {"weak operator token",
       [](Config& c, const TempDir&) { c.operator_token = Secret("changeme"); },
       "operator.token", "BULWARK_OPERATOR_TOKEN"},
      {"operator token twice",
       [](Config& c, const TempDir& d) {
         c.operator_token = Secret("a long and random enough operator token 7c1f9e");
         c.operator_token_file =
             d.Write("token", "another long and random operator token 3b8d\n", 0600);
       },
       "operator.token", "not both"},
      {"rollback journal", [](Config& c, const TempDir&) { c.journal_mode = "DELETE"; },
       "storage.journal_mode", "journal_mode must be WAL"},
      {"lax synchronous", [](Config& c, const TempDir&) { c.synchronous = "NORMAL"; },
       "storage.synchronous", "synchronous must be FULL"},
      {"no foreign keys", [](Config& c, const TempDir&) { c.foreign_keys = false; },
       "storage.foreign_keys", "foreign_keys must be on"},
      {"data directory others may enter",
       [](Config& c, const TempDir&) { ::mkdir(c.data_dir.c_str(), 0755); }, "storage.data_dir",
       "chmod 700"},
      {"data directory is a file",
       [](Config& c, const TempDir& d) { c.data_dir = d.Write("file", "x", 0600); },
       "storage.data_dir", "is not a directory"},
      {"data directory cannot be made",
       [](Config& c, const TempDir& d) { c.data_dir = d.Write("f", "x", 0600) + "/data"; },
       "storage.data_dir", "cannot create"},
      {"PostgreSQL without verified TLS",
       [](Config& c, const TempDir&) { c.storage_url = "postgresql://bulwark@127.0.0.1:1/db"; },
       "storage.url", "not verified TLS"},
      {"PostgreSQL password in the URL",
       [](Config& c, const TempDir&) {
         c.storage_url = "postgresql://bulwark:pw@127.0.0.1:1/db?sslmode=verify-full";
       },
       "storage.url", "password is written in storage.url"},
      {"unreachable store",
       [](Config& c, const TempDir&) {
         c.storage_url = "postgresql://bulwark@127.0.0.1:1/db?sslmode=verify-full";
       },
       "storage", "the store is unreachable"},
      {"audit sink in a missing directory",
       [](Config& c, const TempDir& d) { c.audit_file = d.File("missing/audit.log"); },
       "audit.file", "cannot be created"},
      {"no mail, not said to be meant",
       [](Config& c, const TempDir&) { c.mail_disabled = false; }, "mail.smtp_url",
       "no SMTP server"},
      {"SMTP URL of another scheme",
       [](Config& c, const TempDir&) {
         c.mail_disabled = false;
         c.smtp_url = "http://mail.example";
         c.mail_from = "bulwark@example.com";
       },
       "mail.smtp_url", "must be smtp://"},
      {"SMTP without a sender",
       [](Config& c, const TempDir&) {
         c.mail_disabled = false;
         c.smtp_url = "smtps://mail.example:465";
       },
       "mail.from", "a sender address is required"},
      {"bad rate limit rule",
       [](Config& c, const TempDir&) { c.rate_limit_rules = {"nonsense"}; }, "rate_limit.rules",
       ""},
      {"empty token audience",
       [](Config& c, const TempDir&) { c.access_token_audiences = {""}; },
       "auth.access_token_audiences", "non-empty UTF-8"},
  };
  for (const Refusal& r : refusals) {
    TempDir dir;
    Config c = Production(dir);
    r.change(c, dir);
    const auto errors = ErrorsOf(Preflight(c));
    EXPECT_TRUE(Has(errors, r.key, r.says))
        << r.name << ": expected an error on " << r.key << " saying \"" << r.says << "\", got\n"
        << Describe(errors);
  }
}

TEST(Preflight, MoreConnectionsThanOpenFilesAreRefused) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "no hard limit on open files";
  TempDir dir;
  Config c = Production(dir);
  c.max_connections = static_cast<std::int64_t>(rl.rlim_max);
  EXPECT_TRUE(Has(ErrorsOf(Preflight(c)), "server.max_connections", "the hard limit is"));
}

// What is only unsafe is refused in production and a warning in dev; what cannot work at all is
// an error in both.
TEST(Preflight, UnsafeSettingsAreWarningsInDev) {
  TempDir dir;
  Config c = Production(dir);
  c.dev = true;
  c.public_url.clear();
  c.master_key = Secret(crypto::Base64Encode(std::vector<std::uint8_t>(32, 0)));
  c.journal_mode = "DELETE";
  c.operator_token = Secret("changeme");
  const auto problems = Preflight(c);
  EXPECT_TRUE(ErrorsOf(problems).empty()) << Describe(problems);
  EXPECT_TRUE(Has(problems, "keyring.master_key", "BULWARK_MASTER_KEY"));
  EXPECT_TRUE(Has(problems, "storage.journal_mode", "WAL"));
  EXPECT_TRUE(Has(problems, "operator.token", "BULWARK_OPERATOR_TOKEN"));

  c.listen = "0.0.0.0:8420";  // dev serves on loopback only
  EXPECT_TRUE(Has(ErrorsOf(Preflight(c)), "server.listen", "loopback only"));
}

// Dev needs no master key source (it generates one); production does.
TEST(Preflight, DevGeneratesAMasterKeyProductionNeedsOne) {
  TempDir dir;
  Config c = Production(dir);
  c.master_key.reset();
  c.dev = true;
  c.public_url.clear();
  EXPECT_TRUE(ErrorsOf(Preflight(c)).empty());
  c.dev = false;
  c.public_url = "https://bulwark.example";
  EXPECT_TRUE(Has(ErrorsOf(Preflight(c)), "keyring.master_key", "required secret missing"));
}

// The configuration file's own problems come first, then every preflight problem: one round
// trip shows them all.
TEST(Preflight, AllProblemsListsTheFilesProblemsThenPreflights) {
  TempDir dir;
  config::ConfigLoad loaded;
  loaded.config = Production(dir);
  loaded.config.log_level = "loud";
  loaded.problems.push_back({Severity::kError, "server.listen", "from the file"});
  const auto problems = AllProblems(loaded);
  ASSERT_GE(problems.size(), 2u);
  EXPECT_EQ(problems[0].message, "from the file");
  EXPECT_TRUE(Has(problems, "log.level", ""));
  EXPECT_EQ(CountErrors(problems), problems.size());
}

// The keyring settings rules, which a keyring reload applies too (app/reload.h): one source at
// most, one required in production only, and the KDF floor keyring::kMinPbkdf2Iterations.
TEST(Preflight, KeyringRulesAreSharedWithReload) {
  TempDir dir;
  Config c = Production(dir);
  EXPECT_TRUE(BrokenKeyringRules(c, true).empty());
  c.pbkdf2_iterations = keyring::kMinPbkdf2Iterations;
  EXPECT_TRUE(BrokenKeyringRules(c, true).empty());
  c.pbkdf2_iterations = keyring::kMinPbkdf2Iterations - 1;
  EXPECT_EQ(BrokenKeyringRules(c, true), std::vector<KeyringRule>{KeyringRule::kKdfIterations});
  c.master_password_file = dir.File("pw");
  EXPECT_EQ(CountMasterKeySources(c), 2);
  EXPECT_EQ(BrokenKeyringRules(c, true),
            (std::vector<KeyringRule>{KeyringRule::kOneSourceAtMost, KeyringRule::kKdfIterations}));
  c.pbkdf2_iterations = keyring::kMinPbkdf2Iterations;
  c.master_key.reset();
  c.master_password_file.clear();
  EXPECT_EQ(CountMasterKeySources(c), 0);
  EXPECT_EQ(BrokenKeyringRules(c, true), std::vector<KeyringRule>{KeyringRule::kSourceRequired});
  EXPECT_TRUE(BrokenKeyringRules(c, false).empty());
}

}  // namespace
}  // namespace bulwark::app
