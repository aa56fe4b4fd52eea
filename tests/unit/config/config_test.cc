// LoadConfig: file, then environment, then flags; every problem at once; secrets only from the
// environment and never echoed.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace bulwark::config {
namespace {

// A scratch TOML file, removed afterwards.
class TomlFile {
 public:
  explicit TomlFile(const std::string& text) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bulwark-config-XXXXXX").string();
    const int fd = ::mkstemp(tmpl.data());
    EXPECT_GE(fd, 0);
    if (fd >= 0) ::close(fd);
    path_ = tmpl;
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ~TomlFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TomlFile(const TomlFile&) = delete;
  TomlFile& operator=(const TomlFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A fake `environ`: owns its strings, exposes a null-terminated char** array.
class FakeEnv {
 public:
  FakeEnv(std::initializer_list<std::string> vars) : storage_(vars) {
    for (std::string& s : storage_) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  char** get() { return ptrs_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> ptrs_;
};

std::string AllProblems(const ConfigLoad& load) {
  std::string all;
  for (const ConfigProblem& p : load.problems) all += p.Format() + "\n";
  return all;
}

const ConfigProblem* ProblemFor(const ConfigLoad& load, const std::string& key) {
  for (const ConfigProblem& p : load.problems) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

TEST(CoreConfigTest, NoSourcesGivesDefaultsAndNoProblems) {
  ConfigLoad load = LoadConfig({});
  EXPECT_TRUE(load.problems.empty()) << AllProblems(load);
  EXPECT_FALSE(load.has_errors());
  EXPECT_EQ(load.config.listen, "127.0.0.1:8420");
  EXPECT_EQ(load.config.data_dir, "./data");
  EXPECT_FALSE(load.config.dev);
  EXPECT_FALSE(load.config.master_key.has_value());
  EXPECT_FALSE(load.config.operator_token.has_value());
}

TEST(CoreConfigTest, TomlValuesAreApplied) {
  TomlFile f(R"(mode = "production"
[server]
listen = "0.0.0.0:9000"
io_threads = 8
max_body_bytes = 2048
trusted_proxies = ["10.0.0.0/8", "192.168.1.1"]
public_url = "https://vault.example.com"
[storage]
data_dir = "/var/lib/bulwark"
foreign_keys = false
pool_size = 16
[cors]
allowed_origins = ["https://app.example.com"]
[local_overlay]
enabled = true
[log]
level = "debug"
)");
  ConfigLoad load = LoadConfig({.file = f.path()});
  ASSERT_TRUE(load.problems.empty()) << AllProblems(load);
  const Config& c = load.config;
  EXPECT_EQ(c.mode_setting, "production");
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.io_threads, 8);
  EXPECT_EQ(c.max_body_bytes, 2048);
  EXPECT_EQ(c.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "192.168.1.1"}));
  EXPECT_EQ(c.public_url, "https://vault.example.com");
  EXPECT_EQ(c.data_dir, "/var/lib/bulwark");
  EXPECT_FALSE(c.foreign_keys);
  EXPECT_EQ(c.pool_size, 16);
  EXPECT_EQ(c.cors_allowed_origins, std::vector<std::string>{"https://app.example.com"});
  ASSERT_TRUE(c.local_overlay.has_value());
  EXPECT_TRUE(*c.local_overlay);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.database_path(), "/var/lib/bulwark/bulwark.db");
}

TEST(CoreConfigTest, EnvironmentOverridesFile) {
  TomlFile f("[server]\nlisten = \"0.0.0.0:9000\"\nio_threads = 8\n[storage]\nforeign_keys = true\n");
  FakeEnv env({"PATH=/usr/bin", "BULWARK_SERVER_LISTEN=127.0.0.1:7000",
               "BULWARK_SERVER_IO_THREADS=3", "BULWARK_STORAGE_FOREIGN_KEYS=0",
               "BULWARK_SERVER_TRUSTED_PROXIES= 10.0.0.0/8 , ,172.16.0.0/12",
               "BULWARK_LOG_LEVEL=warn"});
  ConfigLoad load = LoadConfig({.file = f.path(), .environ = env.get()});
  ASSERT_TRUE(load.problems.empty()) << AllProblems(load);
  EXPECT_EQ(load.config.listen, "127.0.0.1:7000");
  EXPECT_EQ(load.config.io_threads, 3);
  EXPECT_FALSE(load.config.foreign_keys);
  EXPECT_EQ(load.config.trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "172.16.0.0/12"}));
  EXPECT_EQ(load.config.log_level, "warn");
}

TEST(CoreConfigTest, OptionalBooleanFromEnvironment) {
  FakeEnv off({"BULWARK_LOCAL_OVERLAY_ENABLED=false"});
  ConfigLoad a = LoadConfig({.environ = off.get(), .dev_flag = true});
  ASSERT_TRUE(a.problems.empty()) << AllProblems(a);
  ASSERT_TRUE(a.config.local_overlay.has_value());
  EXPECT_FALSE(a.config.local_overlay_enabled());  // explicit false beats dev's default
  ConfigLoad b = LoadConfig({.dev_flag = false});
  EXPECT_FALSE(b.config.local_overlay.has_value());
  EXPECT_FALSE(b.config.local_overlay_enabled());
  FakeEnv on({"BULWARK_LOCAL_OVERLAY_ENABLED=1"});
  EXPECT_TRUE(LoadConfig({.environ = on.get()}).config.local_overlay_enabled());
}

TEST(CoreConfigTest, EnvPrefixOfAnotherNameIsNotConfused) {
  // BULWARK_SERVER_LISTENX is not BULWARK_SERVER_LISTEN.
  FakeEnv env({"BULWARK_SERVER_LISTENX=1.2.3.4:1"});
  ConfigLoad load = LoadConfig({.environ = env.get()});
  EXPECT_EQ(load.config.listen, "127.0.0.1:8420");
}

TEST(CoreConfigTest, FlagsWinOverEnvironmentAndFile) {
  TomlFile f("[server]\nlisten = \"0.0.0.0:9000\"\n[storage]\ndata_dir = \"/from/file\"\n");
  FakeEnv env({"BULWARK_SERVER_LISTEN=127.0.0.1:7000", "BULWARK_STORAGE_DATA_DIR=/from/env"});
  ConfigLoad load = LoadConfig({.file = f.path(),
                                .environ = env.get(),
                                .dev_flag = true,
                                .listen_flag = "127.0.0.1:1234",
                                .data_flag = "/from/flag"});
  ASSERT_TRUE(load.problems.empty()) << AllProblems(load);
  EXPECT_EQ(load.config.listen, "127.0.0.1:1234");
  EXPECT_EQ(load.config.data_dir, "/from/flag");
  EXPECT_TRUE(load.config.dev);
  EXPECT_TRUE(load.config.local_overlay_enabled());
}

TEST(CoreConfigTest, UnknownKeyIsAnErrorNamingIt) {
  TomlFile f("[server]\nlisten = \"0.0.0.0:9000\"\nlisen = \"typo\"\n");
  ConfigLoad load = LoadConfig({.file = f.path()});
  ASSERT_EQ(load.problems.size(), 1u) << AllProblems(load);
  EXPECT_TRUE(load.has_errors());
  EXPECT_EQ(load.problems[0].key, "server.lisen");
  EXPECT_NE(load.problems[0].Format().find("server.lisen"), std::string::npos);
  EXPECT_EQ(load.config.listen, "0.0.0.0:9000");  // the good key still applied
}

TEST(CoreConfigTest, WrongTypeIsAnError) {
  TomlFile f("[server]\nio_threads = \"four\"\nlisten = 8420\n[storage]\nforeign_keys = \"yes\"\n");
  ConfigLoad load = LoadConfig({.file = f.path()});
  const ConfigProblem* threads = ProblemFor(load, "server.io_threads");
  ASSERT_NE(threads, nullptr) << AllProblems(load);
  EXPECT_NE(threads->message.find("integer"), std::string::npos);
  const ConfigProblem* listen = ProblemFor(load, "server.listen");
  ASSERT_NE(listen, nullptr) << AllProblems(load);
  EXPECT_NE(listen->message.find("string"), std::string::npos);
  const ConfigProblem* fk = ProblemFor(load, "storage.foreign_keys");
  ASSERT_NE(fk, nullptr) << AllProblems(load);
  EXPECT_NE(fk->message.find("boolean"), std::string::npos);
  EXPECT_EQ(load.config.io_threads, 0);  // default kept
  EXPECT_EQ(load.config.listen, "127.0.0.1:8420");
}

TEST(CoreConfigTest, ListWithNonStringItemIsAnError) {
  TomlFile f("[server]\ntrusted_proxies = [\"10.0.0.0/8\", 5]\n");
  ConfigLoad load = LoadConfig({.file = f.path()});
  ASSERT_NE(ProblemFor(load, "server.trusted_proxies"), nullptr) << AllProblems(load);
  EXPECT_TRUE(load.config.trusted_proxies.empty());
}

TEST(CoreConfigTest, OutOfRangeIntegerIsAnError) {
  TomlFile f("[server]\nio_threads = 257\nmax_body_bytes = 1023\n");
  ConfigLoad load = LoadConfig({.file = f.path()});
  ASSERT_EQ(load.problems.size(), 2u) << AllProblems(load);
  const ConfigProblem* threads = ProblemFor(load, "server.io_threads");
  ASSERT_NE(threads, nullptr);
  EXPECT_NE(threads->message.find("257"), std::string::npos);
  EXPECT_NE(threads->message.find("[0, 256]"), std::string::npos);
  ASSERT_NE(ProblemFor(load, "server.max_body_bytes"), nullptr);
  EXPECT_EQ(load.config.io_threads, 0);
  EXPECT_EQ(load.config.max_body_bytes, 1024 * 1024);
}

TEST(CoreConfigTest, RangeBoundsAreInclusive) {
  TomlFile f("[server]\nio_threads = 256\nmax_body_bytes = 1024\n");
  ConfigLoad load = LoadConfig({.file = f.path()});
  EXPECT_TRUE(load.problems.empty()) << AllProblems(load);
  EXPECT_EQ(load.config.io_threads, 256);
  EXPECT_EQ(load.config.max_body_bytes, 1024);
}

TEST(CoreConfigTest, BadEnvironmentValuesAreErrors) {
  FakeEnv env({"BULWARK_SERVER_IO_THREADS=12abc", "BULWARK_STORAGE_POOL_SIZE=0",
               "BULWARK_DEBUG_TENANT_BYPASS=yes"});
  ConfigLoad load = LoadConfig({.environ = env.get()});
  ASSERT_EQ(load.problems.size(), 3u) << AllProblems(load);
  const ConfigProblem* threads = ProblemFor(load, "server.io_threads");
  ASSERT_NE(threads, nullptr);
  EXPECT_NE(threads->message.find("BULWARK_SERVER_IO_THREADS"), std::string::npos);
  ASSERT_NE(ProblemFor(load, "storage.pool_size"), nullptr);
  ASSERT_NE(ProblemFor(load, "debug.tenant_bypass"), nullptr);
  EXPECT_FALSE(load.config.tenant_bypass);
}

TEST(CoreConfigTest, InlineSecretInTomlIsRefusedWithoutEchoingIt) {
  const std::string key_value = "c2VjcmV0LW1hc3Rlci1rZXktdmFsdWUtOTg3NjU0MzIxMA==";
  const std::string token_value = "op-token-ZyX9876543210-do-not-print";
  TomlFile f("[keyring]\nmaster_key = \"" + key_value + "\"\n[operator]\ntoken = \"" +
             token_value + "\"\n");
  ConfigLoad load = LoadConfig({.file = f.path()});
  ASSERT_EQ(load.problems.size(), 2u) << "problems hidden from output on purpose";
  const ConfigProblem* mk = ProblemFor(load, "keyring.master_key");
  ASSERT_NE(mk, nullptr);
  EXPECT_NE(mk->message.find("BULWARK_MASTER_KEY"), std::string::npos) << mk->message;
  const ConfigProblem* tok = ProblemFor(load, "operator.token");
  ASSERT_NE(tok, nullptr);
  EXPECT_NE(tok->message.find("BULWARK_OPERATOR_TOKEN"), std::string::npos) << tok->message;
  for (const ConfigProblem& p : load.problems) {
    const std::string text = p.Format();
    EXPECT_EQ(text.find(key_value), std::string::npos);
    EXPECT_EQ(text.find(token_value), std::string::npos);
    EXPECT_EQ(text.find("ZyX987"), std::string::npos);
  }
  EXPECT_FALSE(load.config.master_key.has_value());
  EXPECT_FALSE(load.config.operator_token.has_value());
}

TEST(CoreConfigTest, SecretsFromEnvironmentEndInSecretBytes) {
  FakeEnv env({"BULWARK_MASTER_KEY=bWFzdGVyLWtleQ==", "BULWARK_MASTER_PASSWORD=pw-from-env",
               "BULWARK_OPERATOR_TOKEN=tok-from-env"});
  ConfigLoad load = LoadConfig({.environ = env.get()});
  ASSERT_TRUE(load.problems.empty()) << AllProblems(load);
  ASSERT_TRUE(load.config.master_key.has_value());
  EXPECT_EQ(load.config.master_key->reveal_string_view(), "bWFzdGVyLWtleQ==");
  ASSERT_TRUE(load.config.master_password.has_value());
  EXPECT_EQ(load.config.master_password->reveal_string_view(), "pw-from-env");
  ASSERT_TRUE(load.config.operator_token.has_value());
  EXPECT_EQ(load.config.operator_token->reveal_string_view(), "tok-from-env");
}

TEST(CoreConfigTest, EmptySecretEnvironmentVariableIsUnset) {
  FakeEnv env({"BULWARK_OPERATOR_TOKEN="});
  ConfigLoad load = LoadConfig({.environ = env.get()});
  EXPECT_FALSE(load.config.operator_token.has_value());
}

TEST(CoreConfigTest, AllProblemsReportedAtOnce) {
  TomlFile f("[server]\nbogus_one = 1\nio_threads = -1\n[storage]\npool_size = \"x\"\n");
  ConfigLoad load = LoadConfig({.file = f.path()});
  ASSERT_EQ(load.problems.size(), 3u) << AllProblems(load);
  std::set<std::string> keys;
  for (const ConfigProblem& p : load.problems) {
    EXPECT_EQ(p.severity, ConfigProblem::Severity::kError);
    keys.insert(p.key);
  }
  EXPECT_EQ(keys, (std::set<std::string>{"server.bogus_one", "server.io_threads", "storage.pool_size"}));
}

TEST(CoreConfigTest, TomlSyntaxErrorIsOneErrorWithLineNumber) {
  TomlFile f("[server]\nlisten = \"a\"\nio_threads = = 4\n");
  ConfigLoad load = LoadConfig({.file = f.path()});
  ASSERT_EQ(load.problems.size(), 1u) << AllProblems(load);
  EXPECT_TRUE(load.has_errors());
  EXPECT_NE(load.problems[0].message.find("line 3"), std::string::npos) << load.problems[0].message;
}

TEST(CoreConfigTest, SyntaxErrorNearASecretDoesNotEchoIt) {
  // A secret pasted into the file with broken syntax must not come back in the parse error.
  const std::string secret = "Sup3rS3cretTok3nValue";
  for (const std::string& text :
       {"[operator]\ntoken = " + secret + "\n", "[operator]\ntoken = \"" + secret + "\n",
        "[operator]\ntoken = '" + secret + "\n", "[operator]\n" + secret + "\n",
        "[operator]\ntoken = \"" + secret + "\" junk\n", "[" + secret + "\n"}) {
    TomlFile f(text);
    ConfigLoad load = LoadConfig({.file = f.path()});
    ASSERT_FALSE(load.problems.empty());
    EXPECT_TRUE(load.has_errors());
    for (const ConfigProblem& p : load.problems) {
      // Not printed on failure on purpose: the point is that it must not be shown.
      EXPECT_EQ(p.Format().find("S3cret"), std::string::npos) << "secret echoed for key " << p.key;
      EXPECT_EQ(p.Format().find("Sup3r"), std::string::npos) << "secret echoed for key " << p.key;
    }
  }
}

TEST(CoreConfigTest, MissingFileIsAnError) {
  ConfigLoad load = LoadConfig({.file = "/nonexistent/bulwark-test/none.toml"});
  ASSERT_EQ(load.problems.size(), 1u) << AllProblems(load);
  EXPECT_TRUE(load.has_errors());
  EXPECT_NE(load.problems[0].message.find("/nonexistent/bulwark-test/none.toml"), std::string::npos);
}

TEST(CoreConfigTest, ProblemFormat) {
  ConfigProblem e{ConfigProblem::Severity::kError, "server.public_url", "must be an https:// URL"};
  EXPECT_EQ(e.Format(), "error: server.public_url: must be an https:// URL");
  ConfigProblem w{ConfigProblem::Severity::kWarning, "", "something"};
  EXPECT_EQ(w.Format(), "warning: something");
  ConfigLoad only_warning;
  only_warning.problems.push_back(w);
  EXPECT_FALSE(only_warning.has_errors());
}

TEST(CoreConfigTest, AllSettingsListsEveryKeyWithItsEnvVar) {
  const std::vector<SettingInfo> all = AllSettings();
  auto find = [&](const std::string& key) -> const SettingInfo* {
    for (const SettingInfo& s : all) {
      if (s.key == key) return &s;
    }
    return nullptr;
  };
  const SettingInfo* listen = find("server.listen");
  ASSERT_NE(listen, nullptr);
  EXPECT_EQ(listen->env, "BULWARK_SERVER_LISTEN");
  EXPECT_EQ(listen->type, "string");
  const SettingInfo* threads = find("server.io_threads");
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->env, "BULWARK_SERVER_IO_THREADS");
  EXPECT_EQ(threads->type, "integer");
  const SettingInfo* mk = find("keyring.master_key");
  ASSERT_NE(mk, nullptr);
  EXPECT_EQ(mk->env, "BULWARK_MASTER_KEY");
  const SettingInfo* tok = find("operator.token");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->env, "BULWARK_OPERATOR_TOKEN");
  ASSERT_NE(find("keyring.master_password"), nullptr);
  ASSERT_NE(find("local_overlay.enabled"), nullptr);
  EXPECT_GE(all.size(), 35u);

  std::set<std::string> keys;
  for (const SettingInfo& s : all) {
    EXPECT_TRUE(keys.insert(s.key).second) << "duplicate " << s.key;
    EXPECT_TRUE(s.env.starts_with("BULWARK_")) << s.key;
    EXPECT_FALSE(s.type.empty()) << s.key;
  }
}

// Every non-secret key that AllSettings() lists is accepted from the environment under the
// name it advertises (string-typed ones take any value).
TEST(CoreConfigTest, EveryAdvertisedStringEnvVarIsRead) {
  for (const SettingInfo& s : AllSettings()) {
    if (s.type != "string") continue;
    std::string kv = s.env + "=value-for-" + s.key;
    FakeEnv env({kv});
    ConfigLoad load = LoadConfig({.environ = env.get()});
    EXPECT_TRUE(load.problems.empty()) << s.key << ": " << AllProblems(load);
  }
  FakeEnv env({"BULWARK_SERVER_PUBLIC_URL=https://x.example", "BULWARK_AUDIT_FILE=/tmp/a.jsonl"});
  ConfigLoad load = LoadConfig({.environ = env.get()});
  EXPECT_EQ(load.config.public_url, "https://x.example");
  EXPECT_EQ(load.config.audit_file, "/tmp/a.jsonl");
}

}  // namespace
}  // namespace bulwark::config
