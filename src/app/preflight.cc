#include "app/preflight.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <ostream>
#include <string>

#include "app/core_open.h"
#include "app/settings.h"
#include "audit/siem/audit_export.h"
#include "core/cidr.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/secret_quality.h"
#include "crypto/encoding.h"
#include "crypto/tls_context.h"
#include "stages/rate_limit_stage.h"
#include "http/server.h"
#include "identity/discovery.h"
#include "keyring/keyring.h"
#include "store/migrations.h"
#include "store/store.h"

namespace bulwark::app {
namespace {

namespace fs = std::filesystem;
using config::Config;
using config::ConfigProblem;
using Severity = ConfigProblem::Severity;

class Problems {
 public:
  void Error(std::string key, std::string message) {
    list.push_back({Severity::kError, std::move(key), std::move(message)});
  }
  void Warn(std::string key, std::string message) {
    list.push_back({Severity::kWarning, std::move(key), std::move(message)});
  }
  // An error in production, a warning in dev.
  void Unsafe(bool production, std::string key, std::string message) {
    list.push_back(
        {production ? Severity::kError : Severity::kWarning, std::move(key), std::move(message)});
  }
  std::vector<ConfigProblem> list;
};

std::string ModeString(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}


}  // namespace

int CountMasterKeySources(const Config& c) {
  return static_cast<int>(c.master_key.has_value()) + static_cast<int>(!c.master_key_file.empty()) +
         static_cast<int>(c.master_password.has_value()) +
         static_cast<int>(!c.master_password_file.empty());
}

std::vector<KeyringRule> BrokenKeyringRules(const Config& c, bool production) {
  std::vector<KeyringRule> broken;
  const int sources = CountMasterKeySources(c);
  if (sources > 1) broken.push_back(KeyringRule::kOneSourceAtMost);
  if (sources == 0 && production) broken.push_back(KeyringRule::kSourceRequired);
  if (c.pbkdf2_iterations < keyring::kMinPbkdf2Iterations) {
    broken.push_back(KeyringRule::kKdfIterations);
  }
  return broken;
}

namespace {

void CheckSecretFileMode(Problems& p, const std::string& key, const std::string& path,
                         bool production) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    p.Unsafe(production, key,
             "file " + path + " is readable by group or others (mode " + ModeString(st.st_mode) +
                 "); chmod 600 it");
  }
}

// What makes a master key source unsafe, one check per kind of source: `setting` names it in the
// problem, `what` in the message ("BULWARK_MASTER_KEY", "the key in /etc/bulwark/master.key").
void CheckKeyMaterial(Problems& p, const std::string& setting, const std::string& what,
                      std::string_view base64, bool production) {
  auto decoded = crypto::Base64DecodeSecret(base64);
  if (!decoded.ok()) {
    p.Error(setting, what + " is not valid base64");
  } else if (auto weak = core::WeakKeyReason(decoded->reveal_span(), keyring::kKekSize)) {
    p.Unsafe(production, setting, what + " " + *weak);
  }
}

void CheckPassword(Problems& p, const std::string& setting, const std::string& what,
                   std::string_view password, bool production) {
  if (auto weak = core::WeakTextSecretReason(password)) {
    p.Unsafe(production, setting, what + " " + *weak);
  }
}

void CheckKeyFile(Problems& p, const std::string& setting, const std::string& path,
                  bool production) {
  if (keyring::IsDevGeneratedKeyFile(path)) {
    p.Unsafe(production, setting,
             "the key in " + path +
                 " was auto-generated in dev mode; "
                 "auto-generated secrets are refused in production");
  }
  auto key = keyring::ReadKeyFile(path);
  if (!key.ok()) {
    p.Error(setting, path + ": " + key.status().message());
  } else if (auto weak = core::WeakKeyReason(key->reveal_span(), keyring::kKekSize)) {
    p.Unsafe(production, setting, "the key in " + path + " " + *weak);
  }
  CheckSecretFileMode(p, setting, path, production);
}

void CheckPasswordFile(Problems& p, const std::string& setting, const std::string& path,
                       bool production) {
  auto pw = ReadSecretFile(path);
  if (!pw.ok()) {
    p.Error(setting, path + " " + pw.status().message());
  } else {
    CheckPassword(p, setting, "the password in " + path, pw->reveal_string_view(), production);
  }
  CheckSecretFileMode(p, setting, path, production);
}
void CheckKeyring(const Config& c, Problems& p, bool production) {
  const std::vector<KeyringRule> broken = BrokenKeyringRules(c, production);
  const auto breaks = [&](KeyringRule r) {
    return std::find(broken.begin(), broken.end(), r) != broken.end();
  };
  if (breaks(KeyringRule::kKdfIterations)) {
    p.Error("keyring.pbkdf2_iterations",
            "must be at least " + std::to_string(keyring::kMinPbkdf2Iterations));
  }
  if (breaks(KeyringRule::kOneSourceAtMost)) {
    p.Error("keyring",
            "more than one master key source is set; set exactly one of BULWARK_MASTER_KEY, "
            "keyring.master_key_file, BULWARK_MASTER_PASSWORD, keyring.master_password_file");
    return;
  }
  if (breaks(KeyringRule::kSourceRequired)) {
    std::string msg =
        "required secret missing: no master key source; set BULWARK_MASTER_KEY (base64 of 32 "
        "random bytes), keyring.master_key_file, BULWARK_MASTER_PASSWORD or "
        "keyring.master_password_file";
    if (fs::exists(c.dev_key_path())) {
      msg += " (the key at " + c.dev_key_path() + " was auto-generated in dev mode and is refused)";
    }
    p.Error("keyring.master_key", msg);
    return;
  }
  // At most one source is set from here (in dev perhaps none: one is generated, with a warning).
  if (c.master_key) {
    CheckKeyMaterial(p, "keyring.master_key", "BULWARK_MASTER_KEY",
                     c.master_key->reveal_string_view(), production);
  }
  if (c.master_password) {
    CheckPassword(p, "keyring.master_password", "BULWARK_MASTER_PASSWORD",
                  c.master_password->reveal_string_view(), production);
  }
  if (!c.master_key_file.empty()) {
    CheckKeyFile(p, "keyring.master_key_file", c.master_key_file, production);
  }
  if (!c.master_password_file.empty()) {
    CheckPasswordFile(p, "keyring.master_password_file", c.master_password_file, production);
  }
}

void CheckOperator(const Config& c, Problems& p, bool production) {
  if (auto r = core::ParseCidrList(c.operator_allow_cidrs); !r.ok()) {
    p.Error("operator.allow_cidrs", r.status().message());
  } else {
    auto proxies = core::ParseCidrList(c.trusted_proxies);
    for (const auto& range : *r) {
      const std::string text = range.ToString();
      if (text.ends_with("/0")) {
        p.Unsafe(production, "operator.allow_cidrs", text + " makes everyone an operator");
      }
      // An operator range that holds a trusted proxy would make every forwarded caller look local.
      if (proxies.ok()) {
        for (const auto& proxy : *proxies) {
          if (range.Contains(proxy.base())) {
            p.Unsafe(production, "operator.allow_cidrs",
                     text + " contains the trusted proxy " + proxy.ToString() +
                         "; operators must be named by their own addresses");
          }
        }
      }
    }
  }
  if (c.operator_token && !c.operator_token_file.empty()) {
    p.Error("operator.token", "set BULWARK_OPERATOR_TOKEN or operator.token_file, not both");
  }
  if (c.operator_token) {
    if (auto weak = core::WeakTextSecretReason(c.operator_token->reveal_string_view())) {
      p.Unsafe(production, "operator.token", "BULWARK_OPERATOR_TOKEN " + *weak);
    }
  }
  if (!c.operator_token_file.empty()) {
    auto t = ReadSecretFile(c.operator_token_file);
    if (!t.ok()) {
      p.Error("operator.token_file", c.operator_token_file + " " + t.status().message());
    } else if (auto weak = core::WeakTextSecretReason(t->reveal_string_view())) {
      p.Unsafe(production, "operator.token_file",
               "the token in " + c.operator_token_file + " " + *weak);
    }
    CheckSecretFileMode(p, "operator.token_file", c.operator_token_file, production);
  }
}

void CheckServer(const Config& c, Problems& p, bool production) {
  if (auto ep = http::ParseListenAddress(c.listen); !ep.ok()) {
    p.Error("server.listen", ep.status().message());
  } else if (!production && !ep->address().is_loopback()) {
    p.Error("server.listen", "dev mode serves on loopback only (127.0.0.1 or ::1)");
  } else if (production && !ep->address().is_loopback() && c.tls_cert_file.empty() &&
             c.trusted_proxies.empty()) {
    p.Error("server.listen",
            "plain HTTP on a non-loopback address: set server.tls_cert_file/tls_key_file, "
            "or listen on loopback behind a TLS-terminating proxy (server.trusted_proxies)");
  }
  if (auto r = core::ParseCidrList(c.trusted_proxies); !r.ok()) {
    p.Error("server.trusted_proxies", r.status().message());
  }
  // The access tokens' issuer is made from it (identity/discovery.h), scheme and host
  // lower-cased: "HTTPS://Bulwark.Example/" is https://bulwark.example.
  const auto issuer = identity::NormalizeIssuer(c.public_url);
  if (production) {
    if (c.public_url.empty()) {
      p.Error("server.public_url",
              "required in production: the https:// URL clients reach Bulwark at");
    } else if (issuer.ok() && !issuer->starts_with("https://")) {
      p.Error("server.public_url", "must be an https:// URL (got \"" + c.public_url + "\")");
    }
  }
  if (!c.public_url.empty() && !issuer.ok()) {
    p.Error("server.public_url", issuer.status().message());
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    p.Error("server.tls_cert_file",
            "set both server.tls_cert_file and server.tls_key_file, or neither");
  } else if (!c.tls_cert_file.empty()) {
    if (auto ctx = crypto::MakeServerTlsContext(c.tls_cert_file, c.tls_key_file); !ctx.ok()) {
      p.Error("server.tls_cert_file", ctx.status().message());
    }
    CheckSecretFileMode(p, "server.tls_key_file", c.tls_key_file, production);
  }
  for (const std::string& origin : c.cors_allowed_origins) {
    if (origin == "*" || origin.find('*') != std::string::npos) {
      p.Unsafe(production, "cors.allowed_origins",
               "a wildcard origin is not allowed; list each origin");
    } else if (!(origin.starts_with("https://") || origin.starts_with("http://")) ||
               origin.find('/', origin.find("://") + 3) != std::string::npos) {
      p.Error("cors.allowed_origins", "\"" + origin + "\" is not an origin (scheme://host[:port])");
    } else if (production && origin.starts_with("http://")) {
      p.Error("cors.allowed_origins", "\"" + origin + "\" is not https");
    }
  }
}

void CheckModeAndFlags(const Config& c, Problems& p, bool production) {
  if (!c.mode_setting.empty() && c.mode_setting != "production" && c.mode_setting != "dev") {
    p.Error("mode", "must be \"production\" or \"dev\"");
  }
  if (production && c.mode_setting == "dev") {
    p.Error("mode",
            "dev mode is on in the configuration; dev mode is enabled only by --dev on the "
            "command line, never in production");
  }
  if (auto lvl = log::ParseLevel(c.log_level); !lvl.ok())
    p.Error("log.level", lvl.status().message());
  if (production && c.local_overlay.value_or(false)) {
    p.Error("local_overlay.enabled", "the local overlay /api/v1/local/* must be off in production");
  }
  if (c.tenant_bypass) {
    p.Unsafe(production, "debug.tenant_bypass",
             "the tenant-bypass flag is set; it is refused in production and has no effect in dev");
  }
  if (c.debug_log_bodies) {
    p.Unsafe(production, "debug.log_bodies",
             "a debug flag is set; debug flags are refused in production");
  }
}

// A reachable store passes its health checks and has no schema newer than this binary's.
void CheckOpenStore(store::Store& st, Problems& p) {
  for (const auto& check : st.CheckHealth()) {
    if (!check.ok) p.Error("storage", "store check " + check.name + " failed: " + check.detail);
  }
  if (auto v = st.SchemaVersion(); v.ok() && *v > store::LatestSchemaVersion()) {
    p.Error("storage", "the database schema (version " + std::to_string(*v) +
                           ") is newer than this binary supports (" +
                           std::to_string(store::LatestSchemaVersion()) + ")");
  }
}

// PostgreSQL: TLS with certificate and host name verification, no password in the URL (it would
// show in process listings and configuration backups), and a reachable, not-newer schema.
void CheckPostgres(const Config& c, Problems& p, bool production) {
  const std::string& u = c.storage_url;
  const bool verify_full = u.find("sslmode=verify-full") != std::string::npos;
  if (!verify_full) {
    p.Unsafe(production, "storage.url",
             "PostgreSQL without sslmode=verify-full: the connection is not verified TLS");
  }
  const auto scheme = u.find("://");
  const auto at = u.find('@');
  const bool inline_password =
      u.find("password=") != std::string::npos ||
      (scheme != std::string::npos && at != std::string::npos &&
       u.substr(scheme + 3, at - scheme - 3).find(':') != std::string::npos);
  if (inline_password) {
    p.Unsafe(production, "storage.url",
             "the PostgreSQL password is written in storage.url; use a passfile instead");
  }
  auto st_or = OpenExistingStore(c);
  if (!st_or.ok()) {
    p.Error("storage", "the store is unreachable: " + st_or.status().message());
    return;
  }
  CheckOpenStore(**st_or, p);
}

void CheckStorage(const Config& c, Problems& p, bool production) {
  if (!c.storage_url.empty()) {
    CheckPostgres(c, p, production);
    return;
  }
  if (!JournalIsWal(c)) {
    p.Unsafe(production, "storage.journal_mode", "storage is not strict: journal_mode must be WAL");
  }
  if (!SynchronousIsFull(c)) {
    p.Unsafe(production, "storage.synchronous", "storage is not strict: synchronous must be FULL");
  }
  if (!c.foreign_keys) {
    p.Unsafe(production, "storage.foreign_keys", "storage is not strict: foreign_keys must be on");
  }

  std::error_code ec;
  const fs::path dir(c.data_dir);
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      p.Error("storage.data_dir", c.data_dir + " is not a directory: the store is unreachable");
      return;
    }
    struct stat st {};
    if (::stat(c.data_dir.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      p.Unsafe(production, "storage.data_dir",
               c.data_dir + " can be accessed by group or others (mode " + ModeString(st.st_mode) +
                   "); chmod 700 it");
    }
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      struct stat fst {};
      if (::lstat(it->path().c_str(), &fst) == 0 && (fst.st_mode & 077) != 0) {
        p.Unsafe(production, "storage.data_dir",
                 it->path().string() + " can be read by group or others (mode " +
                     ModeString(fst.st_mode) + ")");
      }
    }
    const std::string db = c.database_path();
    if (fs::exists(db, ec)) {
      auto st_or = OpenExistingStore(c);
      if (!st_or.ok()) {
        p.Error("storage", "the store is unreachable: " + st_or.status().message());
        return;
      }
      CheckOpenStore(**st_or, p);
      return;
    }
    if (::access(c.data_dir.c_str(), W_OK | X_OK) != 0) {
      p.Error("storage.data_dir", c.data_dir + " is not writable: the store is unreachable");
    }
    return;
  }
  // The directory will be created: its nearest existing parent must be a writable directory.
  fs::path parent = fs::absolute(dir, ec).parent_path();
  while (!parent.empty() && !fs::exists(parent, ec)) parent = parent.parent_path();
  if (parent.empty() || !fs::is_directory(parent, ec) ||
      ::access(parent.c_str(), W_OK | X_OK) != 0) {
    p.Error("storage.data_dir", "cannot create " + c.data_dir + ": the store is unreachable");
  }
}

void CheckAudit(const Config& c, Problems& p, bool production) {
  audit::siem::CheckExportConfig(c, production, p.list);
  if (c.audit_file.empty()) return;
  std::error_code ec;
  const fs::path f(c.audit_file);
  if (fs::exists(f, ec)) {
    if (!fs::is_regular_file(f, ec) || ::access(c.audit_file.c_str(), W_OK) != 0) {
      p.Error("audit.file", "the audit sink " + c.audit_file + " is not writable");
    }
    return;
  }
  const fs::path parent = fs::absolute(f, ec).parent_path();
  if (!fs::is_directory(parent, ec) || ::access(parent.c_str(), W_OK | X_OK) != 0) {
    p.Error("audit.file", "the audit sink " + c.audit_file +
                              " cannot be created (directory missing or not writable)");
  }
}

void CheckIdentity(const Config& c, Problems& p, bool production) {
  if (auto rules = stages::RateLimitRules(c.rate_limit_rules); !rules.ok()) {
    p.Error("rate_limit.rules", rules.status().message());
  }
  for (const std::string& aud : c.access_token_audiences) {
    if (aud.empty() || !core::IsValidUtf8(aud)) {
      p.Error("auth.access_token_audiences", "an audience must be a non-empty UTF-8 string");
    }
  }
  if (!c.smtp_url.empty()) {
    if (!c.smtp_url.starts_with("smtp://") && !c.smtp_url.starts_with("smtps://")) {
      p.Error("mail.smtp_url", "must be smtp://host:port (STARTTLS) or smtps://host:port");
    }
    if (c.mail_from.empty())
      p.Error("mail.from", "a sender address is required with mail.smtp_url");
    if (c.mail_disabled) {
      p.Error("mail.disabled", "mail.disabled = true and mail.smtp_url are both set: choose one");
    }
  } else if (production && !c.mail_disabled) {
    // Without mail no one can sign in or be invited: a production server that cannot do that
    // is a mistake unless the operator says it is meant (mail.disabled = true).
    p.Error("mail.smtp_url",
            "no SMTP server: sign-in links and invitations cannot be sent; set mail.smtp_url, or "
            "mail.disabled = true to run without sign-in mail (503 mail_unavailable)");
  }
  if (c.smtp_password && !c.smtp_password_file.empty()) {
    p.Error("mail.smtp_password_file",
            "set the SMTP password either in BULWARK_SMTP_PASSWORD or in a file, not both");
  }
  // Strength-checked like every other secret: `changeme` is refused in production.
  if (c.smtp_password) {
    CheckPassword(p, "mail.smtp_password", "BULWARK_SMTP_PASSWORD",
                  c.smtp_password->reveal_string_view(), production);
  }
  if (!c.smtp_password_file.empty()) {
    CheckPasswordFile(p, "mail.smtp_password_file", c.smtp_password_file, production);
  }
}

// server.max_connections must fit under the hard limit on open files with what the server needs
// beside them (the soft limit is raised to the hard one at boot): a server past its descriptors
// cannot accept, and its store and sinks fail with it. Refused in production, a warning in dev.
void CheckDescriptors(const Config& c, Problems& p, bool production) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY) return;
  const std::uint64_t beside = DescriptorsBesideConnections(c);
  const std::uint64_t need = static_cast<std::uint64_t>(c.max_connections) + beside;
  if (rl.rlim_max >= need) return;
  const std::uint64_t fit = rl.rlim_max > beside ? rl.rlim_max - beside : 0;
  p.Unsafe(production, "server.max_connections",
           std::to_string(c.max_connections) + " connections and " + std::to_string(beside) +
               " descriptors for the store, io threads, logs and sinks need " + std::to_string(need) +
               " open files, but the hard limit is " + std::to_string(rl.rlim_max) +
               ": raise it (ulimit -Hn, systemd LimitNOFILE=) or set server.max_connections to at most " +
               std::to_string(fit));
}

// Raises the soft limit on open files to the hard one (as far as it goes), so that

}  // namespace

void PrintProblems(const std::vector<ConfigProblem>& problems, std::ostream& out) {
  for (const auto& pr : problems) out << "  " << pr.Format() << "\n";
}

std::size_t CountErrors(const std::vector<ConfigProblem>& problems) {
  return static_cast<std::size_t>(
      std::count_if(problems.begin(), problems.end(),
                    [](const ConfigProblem& pr) { return pr.severity == Severity::kError; }));
}

std::vector<ConfigProblem> CheckNewMasterKeySource(const keyring::MasterKeySource& source,
                                                   bool production) {
  Problems p;
  const std::string setting = "--new-source";
  switch (source.kind) {
    case keyring::MasterKeySourceKind::kBase64:
      CheckKeyMaterial(p, setting, "the new key", source.material.reveal_string_view(), production);
      break;
    case keyring::MasterKeySourceKind::kFile:
      CheckKeyFile(p, setting, source.file_path, production);
      break;
    case keyring::MasterKeySourceKind::kPassword:
      // Already read (and checked readable) from its file, if it came from one: not read again.
      CheckPassword(
          p, setting,
          source.file_path.empty() ? "the new password" : "the password in " + source.file_path,
          source.material.reveal_string_view(), production);
      if (!source.file_path.empty()) {
        CheckSecretFileMode(p, setting, source.file_path, production);
      }
      break;
  }
  return std::move(p.list);
}

std::vector<ConfigProblem> Preflight(const Config& config) {
  Problems p;
  const bool production = !config.dev;
  CheckModeAndFlags(config, p, production);
  CheckServer(config, p, production);
  CheckKeyring(config, p, production);
  CheckOperator(config, p, production);
  CheckStorage(config, p, production);
  CheckAudit(config, p, production);
  CheckIdentity(config, p, production);
  CheckDescriptors(config, p, production);
  return p.list;
}

std::vector<ConfigProblem> AllProblems(const config::ConfigLoad& loaded) {
  std::vector<ConfigProblem> problems = loaded.problems;
  auto more = Preflight(loaded.config);
  problems.insert(problems.end(), more.begin(), more.end());
  return problems;
}

}  // namespace bulwark::app
