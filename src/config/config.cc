#include "config/config.h"

#include <stdlib.h>
#include <string.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>
#include <string_view>

namespace bulwark::config {
namespace {

using Severity = ConfigProblem::Severity;

enum class Kind { kString, kInt, kBool, kStringList, kOptBool };

// One row per setting. Getters/setters act on Config by pointer to member, so TOML and the
// environment share a single code path.
struct Setting {
  std::string_view key;
  Kind kind;
  std::string Config::*str = nullptr;
  std::int64_t Config::*num = nullptr;
  bool Config::*flag = nullptr;
  std::vector<std::string> Config::*list = nullptr;
  std::optional<bool> Config::*opt_flag = nullptr;
  std::int64_t min = 0;
  std::int64_t max = 0;
};

Setting Str(std::string_view k, std::string Config::*m) {
  return {.key = k, .kind = Kind::kString, .str = m};
}
Setting Int(std::string_view k, std::int64_t Config::*m, std::int64_t lo, std::int64_t hi) {
  return {.key = k, .kind = Kind::kInt, .num = m, .min = lo, .max = hi};
}
Setting Bool(std::string_view k, bool Config::*m) {
  return {.key = k, .kind = Kind::kBool, .flag = m};
}
Setting List(std::string_view k, std::vector<std::string> Config::*m) {
  return {.key = k, .kind = Kind::kStringList, .list = m};
}
Setting OptBool(std::string_view k, std::optional<bool> Config::*m) {
  return {.key = k, .kind = Kind::kOptBool, .opt_flag = m};
}

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> kSettings = {
      Str("mode", &Config::mode_setting),
      Str("server.listen", &Config::listen),
      Int("server.io_threads", &Config::io_threads, 0, 256),
      Int("server.worker_threads", &Config::worker_threads, 1, 1024),
      Int("server.max_header_bytes", &Config::max_header_bytes, 1024, 1 << 20),
      Int("server.max_body_bytes", &Config::max_body_bytes, 1024, 64LL << 20),
      Int("server.max_connections", &Config::max_connections, 1, 1'000'000),
      Int("server.max_connections_per_client", &Config::max_connections_per_client, 0, 1'000'000),
      Int("server.header_timeout_ms", &Config::header_timeout_ms, 100, 600'000),
      Int("server.request_timeout_ms", &Config::request_timeout_ms, 100, 3'600'000),
      Int("server.idle_timeout_ms", &Config::idle_timeout_ms, 100, 3'600'000),
      Int("server.shutdown_grace_ms", &Config::shutdown_grace_ms, 0, 600'000),
      Str("server.public_url", &Config::public_url),
      List("server.trusted_proxies", &Config::trusted_proxies),
      Str("server.tls_cert_file", &Config::tls_cert_file),
      Str("server.tls_key_file", &Config::tls_key_file),
      List("cors.allowed_origins", &Config::cors_allowed_origins),
      Str("storage.data_dir", &Config::data_dir),
      Str("storage.url", &Config::storage_url),
      Str("storage.journal_mode", &Config::journal_mode),
      Str("storage.synchronous", &Config::synchronous),
      Bool("storage.foreign_keys", &Config::foreign_keys),
      Int("storage.busy_timeout_ms", &Config::busy_timeout_ms, 0, 600'000),
      Int("storage.pool_size", &Config::pool_size, 1, 256),
      Str("keyring.master_key_file", &Config::master_key_file),
      Str("keyring.master_password_file", &Config::master_password_file),
      Int("keyring.pbkdf2_iterations", &Config::pbkdf2_iterations, 1, 100'000'000),
      List("operator.allow_cidrs", &Config::operator_allow_cidrs),
      Str("operator.token_file", &Config::operator_token_file),
      Str("log.level", &Config::log_level),
      Str("log.file", &Config::log_file),
      Str("audit.file", &Config::audit_file),
      Str("audit.syslog_address", &Config::audit_syslog_address),
      Bool("audit.syslog_tls", &Config::audit_syslog_tls),
      Str("audit.syslog_ca_file", &Config::audit_syslog_ca_file),
      Str("audit.syslog_server_name", &Config::audit_syslog_server_name),
      Int("audit.syslog_facility", &Config::audit_syslog_facility, 0, 23),
      Int("audit.export_batch", &Config::audit_export_batch, 1, 10'000),
      Int("audit.checkpoint_every", &Config::audit_checkpoint_every, 1, 1'000'000),
      Int("audit.checkpoint_interval_ms", &Config::audit_checkpoint_interval_ms, 100, 3'600'000),
      Int("audit.verify_interval_ms", &Config::audit_verify_interval_ms, 100, 3'600'000),
      Str("audit.high_water_file", &Config::audit_high_water_file),
      Int("audit.alert_auth_failures", &Config::audit_alert_auth_failures, 0, 1'000'000),
      Int("audit.alert_rate_limited", &Config::audit_alert_rate_limited, 0, 1'000'000),
      Int("audit.alert_window_ms", &Config::audit_alert_window_ms, 1000, 86'400'000),
      Int("audit.refusal_summary_threshold", &Config::audit_refusal_summary_threshold, 0,
          1'000'000),
      Int("audit.refusal_summary_window_ms", &Config::audit_refusal_summary_window_ms, 1000,
          3'600'000),
      Int("auth.access_token_ttl_s", &Config::access_token_ttl_s, 5, 900),
      List("auth.access_token_audiences", &Config::access_token_audiences),
      Int("auth.session_idle_timeout_s", &Config::session_idle_timeout_s, 60, 90 * 86400),
      Int("auth.session_absolute_timeout_s", &Config::session_absolute_timeout_s, 60, 365 * 86400),
      Int("auth.magic_link_ttl_s", &Config::magic_link_ttl_s, 1, 900),
      List("rate_limit.rules", &Config::rate_limit_rules),
      Bool("breakglass.enabled", &Config::breakglass_enabled),
      Int("secrets.max_value_bytes", &Config::secrets_max_value_bytes, 2, 4 * 1024 * 1024),
      Int("secrets.max_versions", &Config::secrets_max_versions, 1, 1000),
      Str("sso.dns_resolver", &Config::sso_dns_resolver),
      Str("sso.ca_file", &Config::sso_ca_file),
      Int("sso.jwks_refetch_interval_s", &Config::sso_jwks_refetch_interval_s, 1, 3600),
      Int("sso.max_session_without_backchannel_s", &Config::sso_max_session_without_backchannel_s,
          300, 7 * 86400),
      Str("mail.smtp_url", &Config::smtp_url),
      Str("mail.smtp_username", &Config::smtp_username),
      Str("mail.smtp_password_file", &Config::smtp_password_file),
      Str("mail.from", &Config::mail_from),
      Str("mail.smtp_ca_file", &Config::smtp_ca_file),
      Bool("mail.disabled", &Config::mail_disabled),
      OptBool("local_overlay.enabled", &Config::local_overlay),
      Bool("debug.tenant_bypass", &Config::tenant_bypass),
      Bool("debug.log_bodies", &Config::debug_log_bodies),
  };
  return kSettings;
}

// Secret settings: environment only (or a *_file setting above). Naming one in TOML is an error.
struct SecretSetting {
  std::string_view toml_key;
  std::string_view env;
  std::optional<crypto::SecretBytes> Config::*member;
  std::string_view file_key;
};
const std::vector<SecretSetting>& SecretSettings() {
  static const std::vector<SecretSetting> kSecrets = {
      {"keyring.master_key", "BULWARK_MASTER_KEY", &Config::master_key, "keyring.master_key_file"},
      {"keyring.master_password", "BULWARK_MASTER_PASSWORD", &Config::master_password,
       "keyring.master_password_file"},
      {"operator.token", "BULWARK_OPERATOR_TOKEN", &Config::operator_token, "operator.token_file"},
      {"mail.smtp_password", "BULWARK_SMTP_PASSWORD", &Config::smtp_password,
       "mail.smtp_password_file"},
  };
  return kSecrets;
}

std::string EnvName(std::string_view key) {
  std::string env = "BULWARK_";
  for (char c : key) {
    env.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return env;
}

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kString:
      return "string";
    case Kind::kInt:
      return "integer";
    case Kind::kBool:
    case Kind::kOptBool:
      return "boolean";
    case Kind::kStringList:
      return "list of strings";
  }
  return "string";
}

class Loader {
 public:
  explicit Loader(ConfigLoad& out) : out_(out) {}

  void Error(std::string key, std::string message) {
    out_.problems.push_back({Severity::kError, std::move(key), std::move(message)});
  }

  void CheckRange(const Setting& s, std::int64_t v, std::string_view origin) {
    if (v < s.min || v > s.max) {
      Error(std::string(s.key), std::string(origin) + " value " + std::to_string(v) +
                                    " is out of range [" + std::to_string(s.min) + ", " +
                                    std::to_string(s.max) + "]");
      return;
    }
    out_.config.*(s.num) = v;
  }

  void ApplyToml(const Setting& s, const toml::node& node) {
    Config& c = out_.config;
    const std::string key(s.key);
    switch (s.kind) {
      case Kind::kString:
        if (auto v = node.value<std::string>(); v && node.is_string()) {
          c.*(s.str) = *v;
          return;
        }
        break;
      case Kind::kInt:
        if (node.is_integer()) {
          CheckRange(s, *node.value<std::int64_t>(), "the");
          return;
        }
        break;
      case Kind::kBool:
        if (node.is_boolean()) {
          c.*(s.flag) = *node.value<bool>();
          return;
        }
        break;
      case Kind::kOptBool:
        if (node.is_boolean()) {
          c.*(s.opt_flag) = *node.value<bool>();
          return;
        }
        break;
      case Kind::kStringList:
        if (const toml::array* arr = node.as_array()) {
          std::vector<std::string> items;
          for (const toml::node& item : *arr) {
            if (!item.is_string()) {
              Error(key, "every item must be a string");
              return;
            }
            items.push_back(*item.value<std::string>());
          }
          c.*(s.list) = std::move(items);
          return;
        }
        break;
    }
    Error(key, "must be a " + std::string(KindName(s.kind)));
  }

  void ApplyEnv(const Setting& s, std::string_view raw) {
    Config& c = out_.config;
    const std::string env = EnvName(s.key);
    switch (s.kind) {
      case Kind::kString:
        c.*(s.str) = std::string(raw);
        return;
      case Kind::kInt: {
        std::int64_t v = 0;
        auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
        if (ec != std::errc() || end != raw.data() + raw.size()) {
          Error(std::string(s.key), env + " must be an integer");
          return;
        }
        CheckRange(s, v, env);
        return;
      }
      case Kind::kBool:
      case Kind::kOptBool: {
        bool v;
        if (raw == "true" || raw == "1") {
          v = true;
        } else if (raw == "false" || raw == "0") {
          v = false;
        } else {
          Error(std::string(s.key), env + " must be true, false, 1 or 0");
          return;
        }
        if (s.kind == Kind::kBool) {
          c.*(s.flag) = v;
        } else {
          c.*(s.opt_flag) = v;
        }
        return;
      }
      case Kind::kStringList: {
        std::vector<std::string> items;
        std::string item;
        std::istringstream in{std::string(raw)};
        while (std::getline(in, item, ',')) {
          item.erase(0, item.find_first_not_of(' '));
          item.erase(item.find_last_not_of(' ') + 1);
          if (!item.empty()) items.push_back(item);
        }
        c.*(s.list) = std::move(items);
        return;
      }
    }
  }

  // Walks the parsed table; every leaf must be a known setting.
  void WalkToml(const toml::table& table, const std::string& prefix) {
    for (const auto& [k, node] : table) {
      const std::string key =
          prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      if (const toml::table* sub = node.as_table()) {
        WalkToml(*sub, key);
        continue;
      }
      const auto& settings = Settings();
      auto it = std::find_if(settings.begin(), settings.end(),
                             [&](const Setting& s) { return s.key == key; });
      if (it != settings.end()) {
        ApplyToml(*it, node);
        continue;
      }
      auto secret = std::find_if(SecretSettings().begin(), SecretSettings().end(),
                                 [&](const SecretSetting& s) { return s.toml_key == key; });
      if (secret != SecretSettings().end()) {
        Error(key, "secrets are not accepted in the configuration file; set " +
                       std::string(secret->env) + " or " + std::string(secret->file_key));
        continue;
      }
      Error(key, "unknown setting (see docs/configuration.md)");
    }
  }

 private:
  ConfigLoad& out_;
};

std::optional<std::string_view> FindEnv(char** environ, std::string_view name) {
  if (environ == nullptr) return std::nullopt;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.size() > name.size() && kv.starts_with(name) && kv[name.size()] == '=') {
      return kv.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string ConfigProblem::Format() const {
  std::string out = severity == Severity::kError ? "error: " : "warning: ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

bool ConfigLoad::has_errors() const {
  return std::any_of(problems.begin(), problems.end(),
                     [](const ConfigProblem& p) { return p.severity == Severity::kError; });
}

ConfigLoad LoadConfig(const ConfigSources& sources) {
  ConfigLoad out;
  Loader loader(out);

  if (!sources.file.empty()) {
    std::ifstream probe(sources.file);
    if (!probe) {
      loader.Error("", "cannot read configuration file " + sources.file);
    } else {
      try {
        toml::table table = toml::parse_file(sources.file);
        loader.WalkToml(table, "");
      } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        loader.Error("", "configuration file " + sources.file + " line " +
                             std::to_string(where.line) + ": " + std::string(e.description()));
      }
    }
  }

  for (const Setting& s : Settings()) {
    if (auto v = FindEnv(sources.environ, EnvName(s.key))) loader.ApplyEnv(s, *v);
  }
  for (const SecretSetting& s : SecretSettings()) {
    if (auto v = FindEnv(sources.environ, s.env); v && !v->empty()) {
      out.config.*(s.member) = crypto::SecretBytes::FromString(std::string(*v));
      if (sources.scrub_secrets) {
        // The value lives in the process's environment block: wipe it in place, then unset.
        explicit_bzero(const_cast<char*>(v->data()), v->size());
        ::unsetenv(std::string(s.env).c_str());
      }
    }
  }

  out.config.dev = sources.dev_flag;
  if (sources.listen_flag) out.config.listen = *sources.listen_flag;
  if (sources.data_flag) out.config.data_dir = *sources.data_flag;
  return out;
}

std::string DefaultText(const Setting& s) {
  static const Config kDefaults;
  switch (s.kind) {
    case Kind::kString:
      return kDefaults.*s.str;
    case Kind::kInt:
      return std::to_string(kDefaults.*s.num);
    case Kind::kBool:
      return kDefaults.*s.flag ? "true" : "false";
    case Kind::kOptBool:
      return "";
    case Kind::kStringList: {
      std::string out = "[";
      for (const std::string& item : kDefaults.*s.list) out += (out.size() > 1 ? ", " : "") + item;
      return out + "]";
    }
  }
  return "";
}

std::vector<SettingInfo> AllSettings() {
  std::vector<SettingInfo> all;
  for (const Setting& s : Settings()) {
    all.push_back({std::string(s.key), EnvName(s.key), std::string(KindName(s.kind)), DefaultText(s)});
  }
  for (const SecretSetting& s : SecretSettings()) {
    all.push_back({std::string(s.toml_key), std::string(s.env), "secret (environment only)", ""});
  }
  return all;
}

}  // namespace bulwark::config
