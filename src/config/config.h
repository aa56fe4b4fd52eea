#pragma once
// Configuration: a TOML file, then BULWARK_* environment overrides, then command-line flags.
//
// Every setting has one row in the settings table (config.cc), which gives its TOML key, its
// environment variable (BULWARK_ + the key upper-cased with '.' → '_', e.g. server.listen →
// BULWARK_SERVER_LISTEN) and its type; docs/configuration.md lists them all. An unknown key in
// the file is an error, so a typo cannot silently leave a default in force.
//
// Secret values are never read from the TOML file: they come from the environment
// (BULWARK_MASTER_KEY, BULWARK_MASTER_PASSWORD, BULWARK_OPERATOR_TOKEN) or from a file whose
// path the TOML names (keyring.master_key_file, ...). They are held in SecretBytes and never
// printed, not even by `bulwark config check`.
//
// Example:
//   ConfigSources src{.file = "/etc/bulwark.toml", .environ = environ};
//   ConfigLoad loaded = LoadConfig(src);
//   for (const ConfigProblem& p : loaded.problems) std::cerr << p.Format() << "\n";
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/secret_bytes.h"

namespace bulwark::config {

struct ConfigProblem {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string key;      // the setting concerned, e.g. "server.public_url" (never its secret value)
  std::string message;  // what is wrong and how to fix it

  // "error: server.public_url: must be an https:// URL"
  std::string Format() const;
};

struct Config {
  // --- mode -------------------------------------------------------------------------------
  bool dev = false;          // true only through `--dev` on the command line
  std::string mode_setting;  // `mode` from the file or BULWARK_MODE, if any

  // --- server -----------------------------------------------------------------------------
  std::string listen = "127.0.0.1:8420";
  std::int64_t io_threads = 0;       // 0: one per core
  std::int64_t worker_threads = 32;  // requests that may wait on the store run here
  std::int64_t max_header_bytes = 16 * 1024;
  std::int64_t max_body_bytes = 1024 * 1024;
  std::int64_t max_connections = 4096;
  std::int64_t max_connections_per_client = 256;  // per IPv4 address / IPv6 /64; 0: no cap
  std::int64_t header_timeout_ms = 10'000;   // whole header must arrive within this
  std::int64_t request_timeout_ms = 30'000;  // whole request (header + body)
  std::int64_t idle_timeout_ms = 60'000;     // keep-alive idle
  std::int64_t shutdown_grace_ms = 15'000;   // SIGTERM: in-flight requests get this long
  std::string public_url;                    // https:// URL clients use (magic links, issuer)
  std::vector<std::string> trusted_proxies;  // CIDRs whose X-Forwarded-For is believed
  std::string tls_cert_file;
  std::string tls_key_file;

  // --- cors -------------------------------------------------------------------------------
  std::vector<std::string> cors_allowed_origins;

  // --- storage ----------------------------------------------------------------------------
  std::string data_dir = "./data";
  // PostgreSQL (libpq URI or key=value string); empty: SQLite in the data directory. In
  // production sslmode=verify-full is required and a password may not be inline (use a passfile).
  std::string storage_url;
  std::string journal_mode = "WAL";
  std::string synchronous = "FULL";
  bool foreign_keys = true;
  std::int64_t busy_timeout_ms = 5000;
  std::int64_t pool_size = 4;

  // --- keyring ----------------------------------------------------------------------------
  std::optional<crypto::SecretBytes> master_key;       // BULWARK_MASTER_KEY (base64)
  std::optional<crypto::SecretBytes> master_password;  // BULWARK_MASTER_PASSWORD
  std::string master_key_file;
  std::string master_password_file;
  std::int64_t pbkdf2_iterations = 600'000;

  // --- operator (/metrics, /build-info) ---------------------------------------------------
  std::vector<std::string> operator_allow_cidrs;
  std::optional<crypto::SecretBytes> operator_token;  // BULWARK_OPERATOR_TOKEN
  std::string operator_token_file;

  // --- log --------------------------------------------------------------------------------
  std::string log_level = "info";
  std::string log_file;  // empty: stderr

  // --- audit ------------------------------------------------------------------------------
  std::string audit_file;                   // optional JSON-lines sink (must be writable if set)
  std::string audit_syslog_address;         // "host:port" of an RFC 5424 receiver (TCP); empty: off
  bool audit_syslog_tls = false;            // TLS with the receiver's certificate verified
  std::string audit_syslog_ca_file;         // trust anchors for it (empty: the system store)
  std::string audit_syslog_server_name;     // name its certificate must carry (empty: the host)
  std::int64_t audit_syslog_facility = 13;  // "log audit"; PRI = facility * 8 + severity
  std::int64_t audit_export_batch = 256;    // entries read and shipped at a time, per sink
  std::int64_t audit_checkpoint_every = 1000;          // entries between signed checkpoints
  std::int64_t audit_checkpoint_interval_ms = 10'000;  // and at least this often
  std::int64_t audit_verify_interval_ms = 5'000;       // background re-verification of new entries
  std::string audit_high_water_file;  // the last signed checkpoint; default <data_dir>/audit-checkpoint.json
  std::string audit_high_water_path() const {
    return audit_high_water_file.empty() ? data_dir + "/audit-checkpoint.json" : audit_high_water_file;
  }
  std::int64_t audit_alert_auth_failures = 50;         // 401/403 within the window raise an alert
  std::int64_t audit_alert_rate_limited = 100;         // 429 within the window raise an alert
  std::int64_t audit_alert_window_ms = 60'000;
  // Refusals recorded one by one per (client network, reason, route) and window before the rest
  // are summarized in one entry (audit/refusal_summary.h); 0: every refusal one by one.
  std::int64_t audit_refusal_summary_threshold = 20;
  std::int64_t audit_refusal_summary_window_ms = 60'000;

  // --- identity ---------------------------------------------------------------------------
  std::int64_t access_token_ttl_s = 900;           // JWT lifetime, at most 15 minutes
  // "aud" of access tokens, and what Bulwark accepts; empty: the issuer (identity/discovery.h).
  std::vector<std::string> access_token_audiences;
  std::int64_t session_idle_timeout_s = 8 * 3600;  // no refresh for this long ends a session
  std::int64_t session_absolute_timeout_s = 7 * 24 * 3600;  // and this long after sign-in, always
  std::int64_t magic_link_ttl_s = 900;                      // sign-in links, at most 15 minutes
  std::vector<std::string> rate_limit_rules;          // "POST /api/v1/auth/verify ip 20/10m", ...
  bool breakglass_enabled = false;                    // the server's half of the break-glass switch
  std::int64_t secrets_max_value_bytes = 512 * 1024;  // a secret value (JSON object), bytes
  std::int64_t secrets_max_versions = 10;             // versions kept per secret by default

  // --- single sign-on ----------------------------------------------------------------------
  std::string sso_dns_resolver;  // "host:port" of the DNS server domain TXT records are read from
  // The longest (and default) session life of an SSO connection without back-channel logout.
  std::int64_t sso_max_session_without_backchannel_s = 8 * 3600;
  // A PEM bundle the SSO provider client trusts (a private CA); empty: the system's store.
  std::string sso_ca_file;
  // At most one JWKS refetch per provider for an unknown kid per this many seconds.
  std::int64_t sso_jwks_refetch_interval_s = 60;

  // --- mail (sign-in links, invitations) ---------------------------------------------------
  std::string smtp_url;  // smtp://host:587 (STARTTLS required) or smtps://host:465
  std::string smtp_username;
  std::optional<crypto::SecretBytes> smtp_password;  // BULWARK_SMTP_PASSWORD
  std::string smtp_password_file;
  std::string mail_from;
  // Production without mail.smtp_url is refused unless this says it is meant: no sign-in links
  // or invitations can be sent (503 mail_unavailable).
  bool mail_disabled = false;
  std::string smtp_ca_file;  // trust anchors for the SMTP server (empty: the system store)

  // --- overlays and debug flags (each refused in production) ------------------------------
  std::optional<bool> local_overlay;  // /api/v1/local/*; unset: on in dev, off in production
  bool tenant_bypass = false;
  bool debug_log_bodies = false;

  bool local_overlay_enabled() const { return local_overlay.value_or(dev); }
  std::string database_path() const { return data_dir + "/bulwark.db"; }
  std::string dev_key_path() const { return data_dir + "/keys/master.key"; }
};

struct ConfigSources {
  std::string file;                        // empty: no file
  char** environ = nullptr;                // the process environment (BULWARK_* is read)
  bool dev_flag = false;                   // --dev
  std::optional<std::string> listen_flag;  // --listen
  std::optional<std::string> data_flag;    // --data
  // Overwrite the secret variables' values in the environment block (and unset them) once read,
  // so /proc/<pid>/environ no longer shows them. Only for the real process environment.
  bool scrub_secrets = false;
};

struct ConfigLoad {
  Config config;
  std::vector<ConfigProblem> problems;  // parse errors, unknown keys, wrong types
  bool has_errors() const;
};

// Reads the file and the environment, applies the flags. Never throws; every problem found is
// in `problems` (all of them, not just the first).
ConfigLoad LoadConfig(const ConfigSources& sources);

// Every TOML key that LoadConfig accepts, with its environment variable; for docs and tests.
struct SettingInfo {
  std::string key;
  std::string env;
  std::string type;
  // The default as the docs write it: an integer's digits, true/false, a string's text ("" when
  // unset), "[]" or "[a, b]" for a list; "" for secrets and settings whose default depends on
  // the mode (an optional boolean).
  std::string default_value;
};
std::vector<SettingInfo> AllSettings();

}  // namespace bulwark::config
