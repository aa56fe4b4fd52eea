#include "app/boot.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/audit_routes.h"
#include "api/identity_routes.h"
#include "api/login_page.h"
#include "api/ops.h"
#include "api/receipt_routes.h"
#include "app/breakglass_sweeper.h"
#include "app/cluster_sync.h"
#include "app/core_open.h"
#include "app/quickstart.h"
#include "app/undo_created.h"
#include "audit/alerts.h"
#include "audit/refusal_summary.h"
#include "audit/background_verifier.h"
#include "audit/ledger.h"
#include "audit/siem/audit_export.h"
#include "audit/writer.h"
#include "core/cidr.h"
#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/secret_quality.h"
#include "core/thread_name.h"
#include "crypto/encoding.h"
#include "crypto/tls_context.h"
#include "http/baseline_stages.h"
#include "stages/ledger_audit_stage.h"
#include "http/pipeline.h"
#include "stages/rate_limit_stage.h"
#include "http/server.h"
#include "stages/shared_rate_buckets.h"
#include "stages/authenticate_stage.h"
#include "identity/directory.h"
#include "identity/discovery.h"
#include "identity/mail_queue.h"
#include "identity/mailer.h"
#include "identity/mfa.h"
#include "identity/sessions.h"
#include "keyring/keyring.h"
#include "keyring/master_key.h"
#include "keyring/rotation.h"
#include "keyring/signing_keys.h"
#include "stages/access_stages.h"
#include "policy/roles.h"
#include "receipts/background_verifier.h"
#include "receipts/service.h"
#include "store/migrate.h"
#include "store/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace bulwark::app {
namespace {

namespace fs = std::filesystem;
using core::Config;
using core::ConfigProblem;
using Severity = ConfigProblem::Severity;

// How long a change written into an SQLite database by another process (`bulwark key
// rotate-data`, or an edit behind the server's back) may go unseen by reads of a current version.
constexpr std::chrono::milliseconds kSqliteCurrentRowTtl{1000};

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

// Which master-key source the configuration names; a problem if none or several.
int CountKeySources(const Config& c) {
  return static_cast<int>(c.master_key.has_value()) + static_cast<int>(!c.master_key_file.empty()) +
         static_cast<int>(c.master_password.has_value()) +
         static_cast<int>(!c.master_password_file.empty());
}

}  // namespace

StatusOr<crypto::SecretBytes> ReadSecretFile(const std::string& path) {
  BULWARK_ASSIGN_OR_RETURN(
      crypto::SecretBytes content,
      keyring::ReadWholeSecretFile(
          path, 64 * 1024,
          Status::FailedPrecondition("secret_file", "is not a readable file of at most 64 KiB")));
  std::string_view text = content.reveal_string_view();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return crypto::SecretBytes::CopyFrom(crypto::AsBytes(text));  // `content` is wiped when it goes
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
  if (c.pbkdf2_iterations < keyring::kMinPbkdf2Iterations) {
    p.Error("keyring.pbkdf2_iterations",
            "must be at least " + std::to_string(keyring::kMinPbkdf2Iterations));
  }
  const int sources = CountKeySources(c);
  if (sources > 1) {
    p.Error("keyring",
            "more than one master key source is set; set exactly one of BULWARK_MASTER_KEY, "
            "keyring.master_key_file, BULWARK_MASTER_PASSWORD, keyring.master_password_file");
    return;
  }
  if (sources == 0) {
    if (!production) return;  // dev generates one (with a warning)
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

std::string Upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// SQLite's journal mode is WAL (settings are case-insensitive).
bool JournalIsWal(const Config& c) { return Upper(c.journal_mode) == "WAL"; }

void CheckStorage(const Config& c, Problems& p, bool production) {
  if (!c.storage_url.empty()) {
    CheckPostgres(c, p, production);
    return;
  }
  if (!JournalIsWal(c)) {
    p.Unsafe(production, "storage.journal_mode", "storage is not strict: journal_mode must be WAL");
  }
  if (Upper(c.synchronous) != "FULL" && Upper(c.synchronous) != "EXTRA") {
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

void PrintProblems(const std::vector<ConfigProblem>& problems, std::ostream& out) {
  for (const auto& pr : problems) out << "  " << pr.Format() << "\n";
}

std::size_t CountErrors(const std::vector<ConfigProblem>& problems) {
  return static_cast<std::size_t>(
      std::count_if(problems.begin(), problems.end(),
                    [](const ConfigProblem& pr) { return pr.severity == Severity::kError; }));
}

}  // namespace

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

StatusOr<keyring::MasterKeySource> MasterKeySourceFor(Config& c) {
  keyring::MasterKeySource src;
  src.pbkdf2_iterations = static_cast<std::uint32_t>(c.pbkdf2_iterations);
  if (c.master_key) {
    src.kind = keyring::MasterKeySourceKind::kBase64;
    src.material = std::move(*c.master_key);
  } else if (!c.master_key_file.empty()) {
    src.kind = keyring::MasterKeySourceKind::kFile;
    src.file_path = c.master_key_file;
  } else if (c.master_password) {
    src.kind = keyring::MasterKeySourceKind::kPassword;
    src.material = std::move(*c.master_password);
  } else if (!c.master_password_file.empty()) {
    BULWARK_ASSIGN_OR_RETURN(auto pw, ReadSecretFile(c.master_password_file));
    src.kind = keyring::MasterKeySourceKind::kPassword;
    src.material = std::move(pw);
  } else if (c.dev) {
    src.kind = keyring::MasterKeySourceKind::kFile;  // the generated one (OpenCore)
    src.file_path = c.dev_key_path();
  } else {
    return Status::FailedPrecondition("no_master_key", "no master key source");
  }
  return src;
}

namespace {

// server.io_threads, or one per core when unset.
int IoThreads(const Config& c) {
  return c.io_threads > 0 ? static_cast<int>(c.io_threads)
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Open files a server needs beside its client connections: the store's (SQLite: the database, its
// WAL and shared memory for each connection; PostgreSQL: a socket each), each io thread's epoll
// and eventfd, the listener, the log and its SIEM sink, outgoing mail, the data directory's lock.
// Generous on purpose: when they run out, the store and the sinks fail too, not only accept().
std::uint64_t DescriptorsBesideConnections(const Config& c) {
  return 128 + 4 * static_cast<std::uint64_t>(c.pool_size) + 2 * static_cast<std::uint64_t>(IoThreads(c));
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
// server.max_connections is not cut short by the usual soft limit of 1024.
void RaiseDescriptorLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    log::Warn("server.descriptor_limit_not_raised", {{"soft", static_cast<std::uint64_t>(before)}});
    return;
  }
  log::Info("server.descriptor_limit_raised", {{"from", static_cast<std::uint64_t>(before)},
                                                {"to", static_cast<std::uint64_t>(rl.rlim_cur)}});
}

// Whether a read transaction is a local, non-blocking page lookup, so that routes that only read
// may run on the io threads: SQLite in WAL mode, where readers never wait for the writer. (In a
// rollback journal, a reader waits out every commit in SQLite's busy handler.) The store is
// SQLite when no storage.url names a PostgreSQL one.
bool LocalReads(const Config& c) { return c.storage_url.empty() && JournalIsWal(c); }

StatusOr<std::optional<crypto::SecretBytes>> OperatorToken(const Config& c) {
  if (c.operator_token) return std::optional<crypto::SecretBytes>(c.operator_token->Clone());
  if (c.operator_token_file.empty()) return std::optional<crypto::SecretBytes>();
  BULWARK_ASSIGN_OR_RETURN(auto t, ReadSecretFile(c.operator_token_file));
  return std::optional<crypto::SecretBytes>(std::move(t));
}

}  // namespace

// One server per SQLite data directory: it keeps state in memory that only its own changes
// drop (the kept secret rows of secrets/vault.h; the session, API-key and policy caches). An
// advisory lock on <data>/server.lock, held for the life of the process (the kernel lets go of
// it however the process ends), makes a second server on the same directory refuse to start.
// CLI commands (`key rotate-data`, `tenant create`) take no lock: they run beside the server.
class DataDirLock {
 public:
  static StatusOr<std::unique_ptr<DataDirLock>> Take(const std::string& data_dir) {
    const std::string path = (fs::path(data_dir) / "server.lock").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return Status::Unavailable("data_dir", "cannot open " + path + " to lock the data directory");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const bool held = errno == EWOULDBLOCK;
      ::close(fd);
      if (held) {
        return Status::FailedPrecondition(
            "data_dir_in_use", "another bulwark server is serving the data directory " + data_dir);
      }
      return Status::Unavailable("data_dir", "cannot lock the data directory " + data_dir);
    }
    return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
  }
  ~DataDirLock() { ::close(fd_); }
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

int Refuse(const std::string& what, const Status& st) {
  log::Error("boot.refused", {{"step", what}, {"reason", st.reason()}, {"message", st.message()}});
  std::cerr << "bulwark: refusing to start: " << what << ": " << st.message() << "\n";
  return kExitConfigRefused;
}

namespace {

// A store whose ledger does not reach the last checkpoint signed (the high-water mark, kept
// outside the database) was rolled back or rewritten: every command that writes refuses it, in
// dev mode too (a restored copy brings back what was revoked since). A missing mark is made at
// the next checkpoint.
Status CheckHighWater(const Config& config, Core& core) {
  core.high_water = std::make_shared<audit::HighWaterMark>(config.audit_high_water_path());
  auto read = core.high_water->Read();
  if (!read.ok()) {
    return Status::FailedPrecondition(
        "high_water_invalid", "the ledger high-water mark " + core.high_water->path() +
                                  " cannot be read as a checkpoint: " + read.status().message());
  }
  const std::optional<audit::LedgerCheckpoint>& mark = *read;
  if (mark) {
    BULWARK_RETURN_IF_ERROR(audit::CheckAgainstHighWater(*core.store, *core.ledger, *mark,
                                                         core.high_water->path()));
  } else {
    BULWARK_ASSIGN_OR_RETURN(auto tx, core.store->Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(std::int64_t signed_size, core.ledger->LastCheckpointSize(*tx));
    if (signed_size > 0) {
      log::Warn("audit.high_water_missing",
                {{"path", core.high_water->path()},
                 {"message",
                  "no ledger high-water mark: a rollback of the database to before this start "
                  "cannot be detected from this node; it is written at the next checkpoint"}});
    }
  }
  core.writer_options.checkpoint_every = 1;
  core.writer_options.on_checkpoint = [mark_file = core.high_water](
                                          const audit::LedgerCheckpoint& cp) {
    if (Status s = mark_file->Raise(cp); !s.ok()) {
      log::Error("audit.high_water_unwritable",
                 {{"path", mark_file->path()}, {"message", s.message()}});
    }
  };
  return Status::Ok();
}

}  // namespace

Status RequireDatabase(const Config& c) {
  std::error_code ec;
  if (!c.storage_url.empty() || fs::exists(c.database_path(), ec)) return Status::Ok();
  return Status::FailedPrecondition("no_database", "there is no Bulwark database in " + c.data_dir);
}

StatusOr<Core> OpenCore(Config& config, std::string& step, const OpenCoreOptions& options) {
  std::error_code ec;
  step = "storage";
  if (options.any_kek_version) BULWARK_RETURN_IF_ERROR(RequireDatabase(config));
  if (!fs::exists(config.data_dir, ec)) {
    fs::create_directories(config.data_dir, ec);
    if (ec || ::chmod(config.data_dir.c_str(), 0700) != 0) {
      return Status::Unavailable("data_dir", "cannot create the data directory");
    }
  }
  if (config.dev && CountKeySources(config) == 0) {
    step = "keyring";
    const std::string key_path = config.dev_key_path();
    if (!fs::exists(key_path, ec)) {
      BULWARK_RETURN_IF_ERROR(keyring::WriteDevKeyFile(key_path));
      log::Warn("dev.master_key_generated",
                {{"path", key_path},
                 {"message",
                  "DEV MODE: a master key was generated into the data directory. "
                  "Never use this data directory or key in production."}});
    }
    config.master_key_file = key_path;
  }
  step = "storage";
  // On SQLite, connections on top of the configured pool that only the threads every request
  // waits on may take (store::SqliteOptions::reserved): the ledger writer's, and when serving
  // with secret reads on the io threads (LocalReads), one per io thread. Workers holding every
  // other connection (slow LISTs, writes) then stall neither an io thread nor the commit of
  // records.
  const int kept = 1 + (options.serving && LocalReads(config) ? IoThreads(config) : 0);
  store::SqliteOptions sopts{.path = config.database_path(),
                             .create_if_missing = true,
                             .journal_mode = config.journal_mode,
                             .synchronous = config.synchronous,
                             .foreign_keys = config.foreign_keys,
                             .busy_timeout_ms = static_cast<int>(config.busy_timeout_ms),
                             .pool_size = static_cast<int>(config.pool_size) + kept,
                             .reserved = kept};
  Core core;
  if (!config.storage_url.empty()) {
    BULWARK_ASSIGN_OR_RETURN(
        core.store,
        store::OpenPostgresStore({.url = config.storage_url,
                                  .pool_size = static_cast<int>(config.pool_size),
                                  .busy_timeout_ms = static_cast<int>(config.busy_timeout_ms)}));
  } else {
    BULWARK_ASSIGN_OR_RETURN(core.store, store::OpenSqliteStore(sopts));
  }
  // A store that already has a keyring checks the master key against it before anything is
  // written, pending migrations included (opening an existing keyring only reads): a wrong key
  // must leave an older database as an older binary can still open it. A new store is migrated
  // first, and its keyring made after.
  bool has_keyring = false;
  {
    BULWARK_ASSIGN_OR_RETURN(auto rtx, core.store->Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(has_keyring, rtx->HasTable("keyring_kek"));
    if (has_keyring) {
      BULWARK_ASSIGN_OR_RETURN(auto rows, rtx->Query("SELECT COUNT(*) FROM keyring_kek"));
      has_keyring = !rows.empty() && rows[0][0].is_int() && rows[0][0].as_int() > 0;
    }
  }  // read only: rolled back
  BULWARK_ASSIGN_OR_RETURN(keyring::MasterKeySource source, MasterKeySourceFor(config));
  const auto open_keyring = [&]() -> Status {
    step = "keyring";
    if (options.any_kek_version) {
      BULWARK_ASSIGN_OR_RETURN(core.keys, keyring::Keyring::OpenAnyVersion(source, *core.store));
    } else {
      BULWARK_ASSIGN_OR_RETURN(core.keys, keyring::Keyring::Open(source, *core.store));
    }
    return Status::Ok();
  };
  if (has_keyring) BULWARK_RETURN_IF_ERROR(open_keyring());
  step = "storage";
  BULWARK_RETURN_IF_ERROR(store::Migrate(*core.store));
  if (!has_keyring) BULWARK_RETURN_IF_ERROR(open_keyring());
  step = "keyring";
  if (options.also_hold != nullptr) {
    // Not a version yet (a first rotation), or not a key at all: the caller reports that.
    (void)core.keys->Reload(*options.also_hold, *core.store);
  }
  if (options.any_kek_version) {
    // Whatever else it holds, the keyring must hold the active version: the ledger's and the
    // receipts' signing keys are sealed under it.
    BULWARK_ASSIGN_OR_RETURN(auto rtx, core.store->Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(auto versions, keyring::ListVersions(*rtx));
    for (const keyring::KekVersionInfo& v : versions) {
      if (v.active && !core.keys->holds_version(v.version)) {
        return Status::FailedPrecondition(
            "master_key_not_active",
            "the configured master key is version " + std::to_string(core.keys->kek_version()) +
                ", but version " + std::to_string(v.version) +
                " is the active version; configure the active key (or give it as --new-source to "
                "finish that rotation)");
      }
    }
  }
  step = "audit";
  BULWARK_ASSIGN_OR_RETURN(core.ledger, audit::Ledger::Open(*core.store, *core.keys));
  BULWARK_RETURN_IF_ERROR(CheckHighWater(config, core));
  return core;
}

namespace {

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

StatusOr<std::shared_ptr<identity::Mailer>> MailerFor(const Config& c,
                                                      identity::OutboxMailer** outbox,
                                                      identity::SmtpMailer** smtp_out) {
  *outbox = nullptr;
  *smtp_out = nullptr;
  if (c.smtp_url.empty()) {
    if (!c.dev) return std::shared_ptr<identity::Mailer>();
    auto box = std::make_shared<identity::OutboxMailer>();
    *outbox = box.get();
    return std::shared_ptr<identity::Mailer>(box);
  }
  identity::SmtpOptions o;
  o.url = c.smtp_url;
  o.username = c.smtp_username;
  if (c.smtp_password) {
    o.password = c.smtp_password->Clone();
  } else if (!c.smtp_password_file.empty()) {
    BULWARK_ASSIGN_OR_RETURN(o.password, ReadSecretFile(c.smtp_password_file));
  }
  o.from = c.mail_from;
  o.ca_file = c.smtp_ca_file;
  BULWARK_RETURN_IF_ERROR(identity::InitMailTransport());
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<identity::SmtpMailer> smtp,
                           identity::SmtpMailer::Create(std::move(o)));
  *smtp_out = smtp.get();
  return std::shared_ptr<identity::Mailer>(std::move(smtp));
}

// The keyring data key `key_id` for HMAC-SHA-256 (32 bytes of `purpose`), created on first use.
StatusOr<crypto::SecretBytes> HmacKey(store::Store& store, const keyring::Keyring& keys,
                                      std::string_view key_id, std::string_view purpose) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kWrite));
  BULWARK_ASSIGN_OR_RETURN(auto key, keys.GetOrCreateKey(*tx, key_id, purpose, 32));
  BULWARK_RETURN_IF_ERROR(tx->Commit());
  return key;
}

// Runs `fn` on its own thread each time it is poked; pokes while it runs coalesce into one more
// run. Stop() waits for a run in progress.
class BackgroundTask {
 public:
  explicit BackgroundTask(std::function<void()> fn)
      : fn_(std::move(fn)), thread_([this] {
          core::NameThisThread("bw-task");
          Run();
        }) {}
  ~BackgroundTask() { Stop(); }
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;

  void Poke() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = true;
    }
    cv_.notify_one();
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return pending_ || stopping_; });
      if (stopping_) return;
      pending_ = false;
      lock.unlock();
      fn_();
      lock.lock();
    }
  }

  std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is initialised
};

// Re-reads the configuration (file; the environment's secrets were read once at start and
// scrubbed) and reloads the master key it names into `keys`.
Status ReloadKeyring(const core::ConfigSources& sources, keyring::Keyring& keys,
                     store::Store& store, bool production) {
  core::ConfigLoad loaded = core::LoadConfig(sources);
  if (loaded.has_errors()) {
    std::string first;
    for (const auto& pr : loaded.problems) {
      if (pr.severity == Severity::kError) {
        first = pr.Format();
        break;
      }
    }
    return Status::FailedPrecondition(
        "config_invalid", "the configuration has errors; the keyring was not changed: " + first);
  }
  Config& c = loaded.config;
  if (CountKeySources(c) == 0 && production) {
    return Status::FailedPrecondition(
        "no_master_key",
        "the configuration names no master key file or password file (BULWARK_MASTER_KEY and "
        "BULWARK_MASTER_PASSWORD are read once at start and cannot change while it runs)");
  }
  if (CountKeySources(c) > 1) {
    return Status::FailedPrecondition("config_invalid",
                                      "more than one master key source is set; the keyring was "
                                      "not changed");
  }
  if (c.pbkdf2_iterations < keyring::kMinPbkdf2Iterations) {
    return Status::InvalidArgument("weak_kdf_iterations",
                                   "keyring.pbkdf2_iterations must be at least 100000");
  }
  BULWARK_ASSIGN_OR_RETURN(keyring::MasterKeySource source, MasterKeySourceFor(c));
  return keys.Reload(source, store);
}

// What a reload of the signing keys, the operator token or the SMTP password records: the
// trigger ("sighup", "api", "cluster") is the actor, and the ledger has the outcome. No secret,
// nor any digest of one, is recorded.
audit::Event ReloadEvent(std::string action, std::string_view trigger, std::string resource) {
  audit::Event e;
  e.actor = {audit::ActorKind::kOperator, std::string(trigger)};
  e.auth_method = std::string(trigger);
  e.action = std::move(action);
  e.resource = std::move(resource);
  return e;
}

// Records `event` (durably); a failure to record is logged, not fatal: the reload itself already
// happened or did not. Callers record before they log the outcome, so that whoever sees the log
// line finds the record.
void RecordReload(audit::AuditWriter& writer, audit::Event event) {
  const std::string action = event.action;
  if (Status s = writer.Record(std::move(event)); !s.ok()) {
    log::Warn("reload.record_failed", {{"action", action}, {"reason", s.reason()}});
  }
}

// The signing keys of the three kinds, re-read from the store (keyring/signing_keys.h). Each
// kind that changed is logged and recorded as signing_key.reload with its active kid; a kind
// that fails keeps its keys and is recorded with result error.
struct SigningKeyHolders {
  identity::SessionService* sessions;
  audit::Ledger* ledger;
  receipts::ReceiptService* receipts;
};

void ReloadSigningKeys(const SigningKeyHolders& h, const keyring::Keyring& keys,
                       store::Store& store, audit::AuditWriter& writer, std::string_view trigger) {
  struct Kind {
    keyring::SigningKind kind;
    std::function<StatusOr<bool>()> reload;
    std::function<std::string()> active_kid;
  };
  const Kind kinds[] = {
      {keyring::SigningKind::kJwt, [&] { return h.sessions->ReloadSigningKeys(keys); },
       [&] { return h.sessions->active_kid(); }},
      {keyring::SigningKind::kLedger, [&] { return h.ledger->ReloadSigningKeys(store, keys); },
       [&] { return h.ledger->key_id(); }},
      {keyring::SigningKind::kReceipt, [&] { return h.receipts->ReloadSigningKeys(keys); },
       [&] { return h.receipts->key_id(); }},
  };
  for (const Kind& k : kinds) {
    const std::string name(keyring::SigningKindName(k.kind));
    StatusOr<bool> changed = k.reload();
    audit::Event ev = ReloadEvent("signing_key.reload", trigger, "signing_key:" + name);
    ev.details.emplace_back("kind", name);
    if (!changed.ok()) {
      ev.result = audit::Result::kError;
      ev.reason = changed.status().reason();
      RecordReload(writer, std::move(ev));
      log::Warn("signing_keys.reload_failed", {{"trigger", std::string(trigger)},
                                               {"kind", name},
                                               {"reason", changed.status().reason()},
                                               {"message", changed.status().message()}});
      continue;
    }
    if (!*changed) continue;
    const std::string kid = k.active_kid();
    ev.details.emplace_back("active_kid", kid);
    RecordReload(writer, std::move(ev));
    log::Info("signing_keys.reloaded",
              {{"trigger", std::string(trigger)}, {"kind", name}, {"kid", kid}});
  }
}

// The operator token and the SMTP password as the configuration now names them (their files:
// the environment's secrets were read once at start and scrubbed), swapped in where they
// changed. Each change is logged and recorded (operator.token_reload, mail.smtp_password_reload);
// a refused one (unreadable or weak file, bad password) keeps the old secret and is recorded
// with result error.
void ReloadServiceSecrets(const core::ConfigSources& sources, bool production,
                          http::BaselineAuthenticator& operator_auth, identity::SmtpMailer* smtp,
                          audit::AuditWriter& writer, std::string_view trigger) {
  core::ConfigLoad loaded = core::LoadConfig(sources);
  if (loaded.has_errors()) return;  // the keyring reload reports a broken configuration
  const Config& c = loaded.config;
  // Recorded before it is logged: whoever sees the log line finds the record.
  const auto refuse = [&](std::string action, std::string resource, std::string reason,
                          std::string message) {
    const std::string event = action + "_failed";
    audit::Event ev = ReloadEvent(std::move(action), trigger, std::move(resource));
    ev.result = audit::Result::kError;
    ev.reason = reason;
    RecordReload(writer, std::move(ev));
    log::Warn(event, {{"trigger", std::string(trigger)}, {"reason", reason}, {"message", std::move(message)}});
  };
  if (!c.operator_token_file.empty()) {
    auto token = ReadSecretFile(c.operator_token_file);
    if (!token.ok()) {
      refuse("operator.token_reload", "operator_token", "secret_file",
             c.operator_token_file + " " + token.status().message());
    } else if (auto weak = core::WeakTextSecretReason(token->reveal_string_view());
               weak && production) {
      refuse("operator.token_reload", "operator_token", "weak_secret",
             "the token in " + c.operator_token_file + " " + *weak);
    } else if (operator_auth.SetOperatorToken(
                   std::optional<crypto::SecretBytes>(std::move(*token)))) {
      RecordReload(writer, ReloadEvent("operator.token_reload", trigger, "operator_token"));
      log::Info("operator.token_reloaded", {{"trigger", std::string(trigger)}});
    }
  }
  if (smtp != nullptr && !c.smtp_password_file.empty()) {
    auto password = ReadSecretFile(c.smtp_password_file);
    StatusOr<bool> changed =
        password.ok() ? smtp->SetPassword(std::move(*password)) : StatusOr<bool>(password.status());
    if (!changed.ok()) {
      refuse("mail.smtp_password_reload", "smtp_password", changed.status().reason(),
             changed.status().message());
    } else if (*changed) {
      RecordReload(writer, ReloadEvent("mail.smtp_password_reload", trigger, "smtp_password"));
      log::Info("mail.smtp_password_reloaded", {{"trigger", std::string(trigger)}});
    }
  }
}

}  // namespace

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

Status RegisterRoutes(http::Router& router, const RouteDeps& deps, bool local_overlay) {
  BULWARK_RETURN_IF_ERROR(api::AddOpsRoutes(router, deps.ops));
  BULWARK_RETURN_IF_ERROR(api::AddAuditRoutes(router, deps.ops.store));
  BULWARK_RETURN_IF_ERROR(api::AddReceiptRoutes(router, deps.receipts, local_overlay));
  BULWARK_RETURN_IF_ERROR(api::AddIdentityRoutes(router, deps.identity, local_overlay));
  BULWARK_RETURN_IF_ERROR(api::AddDiscoveryRoutes(router, deps.identity));
  BULWARK_RETURN_IF_ERROR(api::AddApiKeyRoutes(router, deps.identity));
  BULWARK_RETURN_IF_ERROR(api::AddSettingsRoutes(router, deps.identity));
  BULWARK_RETURN_IF_ERROR(api::AddBreakglassRoutes(router, deps.identity));
  BULWARK_RETURN_IF_ERROR(api::AddPolicyRoutes(router, deps.identity));
  BULWARK_RETURN_IF_ERROR(api::AddSecretRoutes(router, deps.identity));
  BULWARK_RETURN_IF_ERROR(api::AddVaultRoutes(router, deps.identity));
  if (local_overlay) BULWARK_RETURN_IF_ERROR(api::AddLoginPageRoutes(router));
  // No route may name a verb no role grants: a typo would otherwise deny everyone silently, or
  // tempt someone to add a wildcard.
  for (const http::Route& r : router.routes()) {
    if (!r.permission.empty() && !policy::IsKnownVerb(r.permission)) {
      return Status::InvalidArgument("unknown_permission",
                                     r.label + " names the unknown permission " + r.permission);
    }
  }
  return Status::Ok();
}

int PrintRoutes(bool dev, std::ostream& out) {
  http::Router router;
  if (Status s = RegisterRoutes(router, RouteDeps{}, dev); !s.ok()) {
    std::cerr << "bulwark: " << s.ToString() << "\n";
    return 1;
  }
  for (const http::Route& r : router.routes()) {
    boost::json::object o{{"method", std::string(http::bhttp::to_string(r.method))},
                          {"path", r.pattern},
                          {"auth", std::string(http::AuthDecisionName(r.auth))},
                          {"permission", r.permission},
                          {"tenant_scoped", r.tenant_scoped},
                          {"mfa_step_up", r.mfa_step_up},
                          {"summary", r.summary}};
    out << boost::json::serialize(o) << "\n";
  }
  return 0;
}

int ConfigCheck(const core::ConfigSources& sources, std::ostream& out) {
  core::ConfigLoad loaded = core::LoadConfig(sources);
  std::vector<ConfigProblem> problems = loaded.problems;
  // Even with file errors, report every other problem too: one round trip to fix them all.
  auto more = Preflight(loaded.config);
  problems.insert(problems.end(), more.begin(), more.end());
  const std::string mode = loaded.config.dev ? "dev" : "production";
  const std::size_t errors = CountErrors(problems);
  if (errors == 0) {
    out << "configuration OK for " << mode << " (" << problems.size() << " warning(s))\n";
    PrintProblems(problems, out);
    return 0;
  }
  out << mode << " would refuse to start: " << errors << " problem(s)\n";
  PrintProblems(problems, out);
  return 1;
}

namespace {

// A production server holds the master key and the tenants' data keys in memory: no core dump may
// carry them to disk. A core size of 0 stops the dump; not dumpable also keeps other processes
// of the same user from reading its memory through /proc or ptrace.
void KeepKeysOutOfCoreDumps() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0 || ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::cerr << "bulwark: warning: core dumps could not be turned off\n";
  }
}

}  // namespace

int Serve(const core::ConfigSources& sources_in) {
  if (!sources_in.dev_flag) KeepKeysOutOfCoreDumps();  // before any secret is read
  core::ConfigSources sources = sources_in;
  sources.scrub_secrets = true;  // the server keeps secrets only in SecretBytes from here on
  core::ConfigLoad loaded = core::LoadConfig(sources);
  Config& config = loaded.config;
  const bool production = !config.dev;
  std::vector<ConfigProblem> problems = loaded.problems;
  auto more = Preflight(config);
  problems.insert(problems.end(), more.begin(), more.end());
  if (const std::size_t errors = CountErrors(problems); errors > 0) {
    std::cerr << "bulwark: refusing to start in " << (production ? "production" : "dev")
              << " mode: " << errors << " problem(s); nothing was written\n";
    PrintProblems(problems, std::cerr);
    return kExitConfigRefused;
  }

  if (Status s = log::Init(*log::ParseLevel(config.log_level), config.log_file); !s.ok()) {
    return Refuse("log", s);
  }
  for (const auto& pr : problems)
    log::Warn("config.warning", {{"setting", pr.key}, {"message", pr.message}});

  if (config.dev) {
    log::Warn("dev.mode", {{"message",
                            "DEV MODE: plain HTTP on loopback, local overlay on, "
                            "generated keys allowed. Not for production."}});
  }
  // Nothing has been written until here. With SQLite, a data directory another server is
  // serving is refused before anything opens it (a new one is locked once OpenCore made it).
  std::unique_ptr<DataDirLock> dir_lock;
  auto lock_dir = [&]() -> Status {
    if (!config.storage_url.empty() || dir_lock) return Status::Ok();
    BULWARK_ASSIGN_OR_RETURN(dir_lock, DataDirLock::Take(config.data_dir));
    return Status::Ok();
  };
  if (std::error_code ec; fs::is_directory(config.data_dir, ec)) {
    if (Status s = lock_dir(); !s.ok()) return Refuse("storage", s);
  }
  std::string step;
  auto core_or = OpenCore(config, step, {.serving = true});
  if (!core_or.ok()) return Refuse(step, core_or.status());
  if (Status s = lock_dir(); !s.ok()) return Refuse("storage", s);
  std::unique_ptr<store::Store> store = std::move(core_or->store);
  std::unique_ptr<keyring::Keyring> keys = std::move(core_or->keys);
  std::unique_ptr<audit::Ledger> ledger = std::move(core_or->ledger);
  audit::WriterOptions writer_options = core_or->writer_options;
  writer_options.checkpoint_every = config.audit_checkpoint_every;
  writer_options.checkpoint_interval = std::chrono::milliseconds(config.audit_checkpoint_interval_ms);
  // On SQLite this server is the ledger's only writer (CLI commands beside it sign their heads).
  writer_options.guard_head = store->backend() == store::Backend::kSqlite;
  audit::AuditWriter writer(*store, *ledger, std::move(writer_options));
  auto receipts_or = receipts::ReceiptService::Open(*store, *keys);
  if (!receipts_or.ok()) return Refuse("receipts", receipts_or.status());
  std::unique_ptr<receipts::ReceiptService> receipt_service = std::move(*receipts_or);

  audit::AlertMonitor alerts({.auth_failure_threshold = config.audit_alert_auth_failures,
                              .rate_limit_threshold = config.audit_alert_rate_limited,
                              .window = std::chrono::milliseconds(config.audit_alert_window_ms)});
  audit::RefusalSummaries refusal_summaries(
      writer, {.threshold = config.audit_refusal_summary_threshold,
               .window = std::chrono::milliseconds(config.audit_refusal_summary_window_ms)});
  audit::BackgroundVerifier verifier(*store, *ledger, writer,
                                     std::chrono::milliseconds(config.audit_verify_interval_ms));
  receipts::BackgroundVerifier receipt_verifier(
      *store, *receipt_service, writer, std::chrono::milliseconds(config.audit_verify_interval_ms));

  // SIEM export: its own threads read the durable ledger; requests never wait for a receiver.
  auto exports_or = audit::siem::AuditExport::Start(config, *store, ledger->ledger_id());
  if (!exports_or.ok()) return Refuse("audit_export", exports_or.status());
  std::unique_ptr<audit::siem::AuditExport> exports = std::move(*exports_or);

  auto op_token = OperatorToken(config);
  if (!op_token.ok()) return Refuse("operator", op_token.status());

  // Identity: sessions (signing key sealed by the keyring), MFA, mail off the request path.
  // The issuer: the public URL, normalised; in dev without one, the bound address (set once the
  // server listens, below).
  std::string issuer;
  if (!config.public_url.empty()) {
    auto iss = identity::NormalizeIssuer(config.public_url);
    if (!iss.ok()) return Refuse("identity", iss.status());
    issuer = std::move(*iss);
  } else {
    issuer = identity::DevIssuer(config.listen);
  }
  auto sessions_or = identity::SessionService::Open(
      *store, *keys,
      {.issuer = std::move(issuer),
       .audiences = config.access_token_audiences,
       .access_ttl_s = config.access_token_ttl_s,
       .idle_timeout_s = config.session_idle_timeout_s,
       .absolute_timeout_s = config.session_absolute_timeout_s});
  if (!sessions_or.ok()) return Refuse("identity", sessions_or.status());
  std::unique_ptr<identity::SessionService> sessions = std::move(*sessions_or);
  identity::MfaService mfa(*keys);
  identity::ApiKeyService api_keys(*store);
  policy::TenantPolicies tenant_policies(*store);
  // With SQLite this process is the store's only writer of secrets, so reads of a current
  // version may use the row last read (secrets/vault.h); PostgreSQL has other nodes writing.
  secrets::Vault vault(
      *keys, {.max_value_bytes = static_cast<std::size_t>(config.secrets_max_value_bytes),
              .default_max_versions = config.secrets_max_versions,
              .current_row_ttl = store->backend() == store::Backend::kSqlite ? kSqliteCurrentRowTtl
                                                              : std::chrono::milliseconds(0)});
  policy::PathAccess path_access(*store);
  // Signing key rotation (`bulwark key rotate-signing`): the keys are re-read on SIGHUP, POST
  // /api/v1/ops/keyring/reload and, on PostgreSQL, when any node's store changes them. One
  // reload at a time, so an older read never replaces a newer one.
  std::mutex signing_mu;
  const SigningKeyHolders signing_holders{
      .sessions = sessions.get(), .ledger = ledger.get(), .receipts = receipt_service.get()};
  auto reload_signing = [&signing_mu, &signing_holders, &keys, &store,
                         &writer](std::string_view trigger) {
    std::lock_guard<std::mutex> lock(signing_mu);
    ReloadSigningKeys(signing_holders, *keys, *store, writer, trigger);
  };
  BackgroundTask cluster_signing_reload([&reload_signing] { reload_signing("cluster"); });
  // Several nodes on one PostgreSQL: follow the other nodes' changes (app/cluster_sync.h).
  std::unique_ptr<store::PgListener> cluster_sync;
  if (store->backend() == store::Backend::kPostgresql) {
    auto sync_or = StartClusterSync(
        config.storage_url,
        {.sessions = sessions.get(),
         .api_keys = &api_keys,
         .tenant_policies = &tenant_policies,
         .path_access = &path_access,
         .signing_keys_changed = [&cluster_signing_reload] { cluster_signing_reload.Poke(); }});
    if (!sync_or.ok()) return Refuse("storage", sync_or.status());
    cluster_sync = std::move(*sync_or);
  }
  identity::OutboxMailer* outbox = nullptr;
  identity::SmtpMailer* smtp = nullptr;
  auto mailer_or = MailerFor(config, &outbox, &smtp);
  if (!mailer_or.ok()) return Refuse("mail", mailer_or.status());
  std::unique_ptr<identity::MailQueue> mail;
  if (*mailer_or) mail = std::make_unique<identity::MailQueue>(*mailer_or);
  auto rules_or = stages::RateLimitRules(config.rate_limit_rules);
  if (!rules_or.ok()) return Refuse("rate_limit", rules_or.status());
  // One node keeps its buckets in memory; nodes sharing PostgreSQL share them there.
  std::shared_ptr<stages::RateBuckets> buckets;
  if (store->backend() == store::Backend::kPostgresql) {
    auto key_or = HmacKey(*store, *keys, "rate-bucket-names-v1", "rate_bucket_hmac");
    if (!key_or.ok()) return Refuse("rate_limit", key_or.status());
    buckets = std::make_shared<stages::SharedRateBuckets>(*store, std::move(*key_or));
  } else {
    buckets = std::make_shared<stages::TokenBuckets>();
  }
  auto limiter = std::make_shared<stages::RouteRateLimiter>(std::move(*rules_or), std::move(buckets));
  // Names addresses with no account in sign-in records (api/identity_routes.h).
  auto pseudonym_key_or =
      HmacKey(*store, *keys, "sign-in-email-pseudonyms-v1", "email_pseudonym_hmac");
  if (!pseudonym_key_or.ok()) return Refuse("identity", pseudonym_key_or.status());
  const crypto::SecretBytes email_pseudonym_key = std::move(*pseudonym_key_or);

  // Master key reload (SIGHUP, POST /api/v1/ops/keyring/reload): re-read the configuration and
  // hold the version its key opens, besides those already held. One at a time.
  std::mutex reload_mu;
  auto reload_keyring = [&sources, &reload_mu, &keys, &store, &writer,
                         production](std::string_view trigger) -> StatusOr<api::KeyringReload> {
    std::lock_guard<std::mutex> lock(reload_mu);
    Status s = ReloadKeyring(sources, *keys, *store, production);
    // The operator route's request is recorded by the pipeline; a signal's reload has no
    // request, so it is recorded here, failures included (docs/key-rotation.md, step 5).
    const bool record = trigger != "api";
    audit::Event ev = ReloadEvent("keyring.reload", trigger, "keyring");
    if (!s.ok()) {
      if (record) {  // recorded before it is logged: whoever sees the log line finds the record
        ev.result = audit::Result::kError;
        ev.reason = s.reason();
        RecordReload(writer, std::move(ev));
      }
      log::Warn(
          "keyring.reload_failed",
          {{"trigger", std::string(trigger)}, {"reason", s.reason()}, {"message", s.message()}});
      return s;
    }
    api::KeyringReload out{.kek_version = keys->kek_version(),
                           .held_versions = keys->held_versions()};
    std::string held;
    for (std::uint32_t v : out.held_versions) held += (held.empty() ? "" : ",") + std::to_string(v);
    if (record) {
      ev.details.emplace_back("kek_version", std::to_string(out.kek_version));
      ev.details.emplace_back("held_versions", held);
      RecordReload(writer, std::move(ev));
    }
    log::Info("keyring.reloaded", {{"trigger", std::string(trigger)},
                                   {"kek_version", static_cast<std::int64_t>(out.kek_version)},
                                   {"held_versions", held}});
    return out;
  };

  http::Router router;
  http::Metrics metrics;
  api::OpsDeps ops{.store = store.get(),
                   .metrics = &metrics,
                   .keys_loaded = [k = keys.get()] { return k != nullptr; },
                   .ledger_healthy = [&writer] { return writer.healthy(); },
                   .audit_file = config.audit_file,
                   .audit_export = [&exports] { return exports->States(); },
                   .reload_keyring =
                       [&reload_keyring, &reload_signing] {
                         auto out = reload_keyring("api");
                         reload_signing("api");
                         return out;
                       },
                   .production = production};
  std::string dev_link_base;  // set below once the server listens
  const RouteDeps route_deps{.ops = ops,
                             .receipts = {.service = receipt_service.get(),
                                          .writer = &writer,
                                          .ledger = ledger.get()},
                             .identity = {.store = store.get(),
                                          .writer = &writer,
                                          .sessions = sessions.get(),
                                          .mfa = &mfa,
                                          .api_keys = &api_keys,
                                          .policies = &tenant_policies,
                                          .receipts = receipt_service.get(),
                                          .breakglass_enabled = config.breakglass_enabled,
                                          .mail = mail.get(),
                                          .outbox = outbox,
                                          .limiter = limiter.get(),
                                          .magic_link_ttl_s = config.magic_link_ttl_s,
                                          .public_url = config.public_url,
                                          .dev_link_base = &dev_link_base,
                                          .email_pseudonym_key = &email_pseudonym_key,
                                          .vault = &vault,
                                          .path_access = &path_access,
                                          .secret_max_value_bytes = static_cast<std::size_t>(
                                              config.secrets_max_value_bytes)}};
  if (Status s = RegisterRoutes(router, route_deps, config.dev && config.local_overlay_enabled());
      !s.ok()) {
    return Refuse("routes", s);
  }
  std::vector<std::string> labels;
  for (const auto& r : router.routes()) labels.push_back(r.label);
  metrics.SetRoutes(std::move(labels));

  std::vector<std::string> allowed_hosts;
  if (!config.public_url.empty()) {  // the host of the issuer, the public URL normalised
    const std::string issuer_url = sessions->issuer();
    std::string host = issuer_url.substr(issuer_url.find("://") + 3);
    host = host.substr(0, host.find_first_of("/:"));
    if (!host.empty()) allowed_hosts.push_back(host);
  }
  http::PipelineOptions popts{.production = production,
                              .trusted_proxies = *core::ParseCidrList(config.trusted_proxies),
                              .cors_allowed_origins = config.cors_allowed_origins,
                              .allowed_hosts = std::move(allowed_hosts),
                              // A SQLite read is a local page lookup; a PostgreSQL one waits
                              // on the network, which no io thread may do.
                              .local_reads = LocalReads(config)};
  std::vector<std::string> operator_cidrs = config.operator_allow_cidrs;
  if (config.dev && operator_cidrs.empty())
    operator_cidrs = {"127.0.0.0/8", "::1"};  // dev: loopback operates
  // Kept: SIGHUP swaps the operator token in it.
  const auto operator_auth = std::make_shared<http::BaselineAuthenticator>(
      *core::ParseCidrList(operator_cidrs), *op_token);
  http::PipelineStages pipeline_stages{
      .rate_limiter = limiter,
      .authenticator =
          std::make_shared<stages::AuthenticateStage>(
              operator_auth, identity::CredentialAuthenticator(*sessions, api_keys)),
      .tenant_guard = std::make_shared<stages::CredentialTenantGuard>(&tenant_policies),
      .authorizer = std::make_shared<stages::RoleAuthorizer>(&tenant_policies),
      .audit = std::make_shared<stages::LedgerAuditStage>(writer, &alerts, &refusal_summaries),
  };
  http::Pipeline pipeline(std::move(popts), router, metrics, std::move(pipeline_stages));
  BreakglassSweeper breakglass_sweeper(*store, writer, *receipt_service, *sessions,
                                       std::chrono::seconds(1));

  http::ServerOptions sopts2;
  sopts2.listen = config.listen;
  sopts2.worker_threads = static_cast<int>(config.worker_threads);
  sopts2.io_threads = IoThreads(config);
  sopts2.max_header_bytes = static_cast<std::size_t>(config.max_header_bytes);
  sopts2.max_body_bytes = static_cast<std::size_t>(config.max_body_bytes);
  sopts2.max_connections = static_cast<std::size_t>(config.max_connections);
  sopts2.max_connections_per_client = static_cast<std::size_t>(config.max_connections_per_client);
  sopts2.uncapped_peers = *core::ParseCidrList(config.trusted_proxies);
  sopts2.header_timeout = std::chrono::milliseconds(config.header_timeout_ms);
  sopts2.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  sopts2.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  if (!config.tls_cert_file.empty()) {
    auto tls = crypto::MakeServerTlsContext(config.tls_cert_file, config.tls_key_file);
    if (!tls.ok()) return Refuse("tls", tls.status());
    sopts2.tls = *tls;
  }
  RaiseDescriptorLimit();
  http::Server server(std::move(sopts2), pipeline, metrics);
  if (Status s = server.Listen(); !s.ok()) return Refuse("listen", s);
  if (config.public_url.empty()) sessions->SetIssuer(identity::DevIssuer(server.bound_address()));

  // SIGHUP: reload the master key on a thread of its own (a password's KDF takes a while, and the
  // I/O threads must not wait for it).
  // The master key, then the signing keys (a rotated key may be sealed under the new master
  // key), then the operator token and SMTP password: each on its own, so that one failing (say,
  // a master key given in the environment, which cannot be re-read) does not stop the others.
  BackgroundTask hup_reload(
      [&reload_keyring, &reload_signing, &sources, production, &operator_auth, smtp, &writer] {
        (void)reload_keyring("sighup");
        reload_signing("sighup");
        ReloadServiceSecrets(sources, production, *operator_auth, smtp, writer, "sighup");
      });
  boost::asio::signal_set hup(server.io_context(), SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hup =
      [&hup, &hup_reload, &on_hup](const boost::system::error_code& sig_ec, int) {
        if (sig_ec) return;
        hup_reload.Poke();
        hup.async_wait(on_hup);
      };
  hup.async_wait(on_hup);

  boost::asio::signal_set signals(server.io_context(), SIGTERM, SIGINT);
  const auto grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  signals.async_wait([&server, &hup, grace](const boost::system::error_code& sig_ec, int signo) {
    if (sig_ec) return;
    log::Info("server.shutdown_requested",
              {{"signal", signo}, {"grace_ms", static_cast<std::int64_t>(grace.count())}});
    boost::system::error_code ignored;
    hup.cancel(ignored);
    server.Shutdown(grace);
  });

  log::Info("server.listening", {{"address", server.bound_address()},
                                 {"mode", production ? "production" : "dev"},
                                 {"tls", !config.tls_cert_file.empty()},
                                 {"store", std::string(store::BackendName(store->backend()))},
                                 {"routes", static_cast<std::int64_t>(router.routes().size())}});
  if (!production) {
    dev_link_base = ClientAddress(config, server.bound_address());
    PrintDevWelcome(std::cerr, config, sources, server.bound_address());
  }
  server.Run();
  hup_reload.Stop();
  cluster_sync.reset();  // no more cluster-triggered reloads
  cluster_signing_reload.Stop();
  breakglass_sweeper.Stop();
  if (mail) mail->Stop();  // delivers what is queued
  api_keys.Stop();         // writes the batched last-used times
  verifier.Stop();
  refusal_summaries.Stop();  // writes every open summary of refusals
  writer.Stop();    // drains and writes the final checkpoint
  exports->Stop();  // ships what it can of the tail (bounded), persists the cursors
  log::Info("server.stopped", {{"ledger_head", writer.stats().head}});
  return 0;
}

int TenantCreate(const core::ConfigSources& sources, const std::string& name,
                 const std::string& owner, std::ostream& out) {
  core::ConfigLoad loaded = core::LoadConfig(sources);
  Config& config = loaded.config;
  if (loaded.has_errors()) {
    std::cerr << "bulwark: the configuration has errors:\n";
    PrintProblems(loaded.problems, std::cerr);
    return kExitConfigRefused;
  }
  // A bad name or address is refused before anything is opened; any later refusal leaves
  // nothing behind: not the data directory, database or dev master key OpenCore makes on first
  // use (declared first: it cleans up after the store is closed).
  if (Status bad = identity::directory::CheckNewTenant(name, owner); !bad.ok()) {
    std::cerr << "bulwark: tenant create: " << bad.reason() << ": " << bad.message() << "\n";
    return 1;
  }
  UndoCreated undo(config);
  std::string step;
  auto core_or = OpenCore(config, step);
  if (!core_or.ok()) return Refuse(step, core_or.status());
  identity::directory::CreatedTenant created;
  Status s;
  {
    audit::AuditWriter writer(*core_or->store, *core_or->ledger, core_or->writer_options);
    audit::Event e;
    e.actor = {audit::ActorKind::kOperator, "cli"};
    e.action = "tenant.create";
    e.auth_method = "cli";
    e.resource = "tenant:" + name;
    s = writer.CommitAmending(
        [&](store::Transaction& tx, audit::Event& ev) -> Status {
          BULWARK_ASSIGN_OR_RETURN(
              created, identity::directory::CreateTenant(tx, name, owner, core::NowUnixSeconds()));
          ev.tenant = created.tenant_id;
          ev.details.emplace_back("owner", created.owner_user_id);
          return Status::Ok();
        },
        std::move(e));
    writer.Stop();
  }
  if (!s.ok()) {
    std::cerr << "bulwark: tenant create: " << s.reason() << ": " << s.message() << "\n";
    return 1;
  }
  undo.Keep();
  boost::json::object o{
      {"tenant_id", created.tenant_id}, {"name", name}, {"owner_user_id", created.owner_user_id}};
  out << boost::json::serialize(o) << "\n";
  return 0;
}

StatusOr<std::unique_ptr<store::Store>> OpenExistingStore(const core::Config& c) {
  if (!c.storage_url.empty()) {
    return store::OpenPostgresStore({.url = c.storage_url, .pool_size = 1});
  }
  return store::OpenSqliteStore({.path = c.database_path(),
                                 .create_if_missing = false,
                                 .journal_mode = c.journal_mode,
                                 .synchronous = c.synchronous,
                                 .foreign_keys = c.foreign_keys,
                                 .busy_timeout_ms = static_cast<int>(c.busy_timeout_ms),
                                 .pool_size = 1});
}

}  // namespace bulwark::app
