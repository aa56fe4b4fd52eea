#pragma once
// What a running server re-reads without restarting (docs/key-rotation.md): the master key (the
// configuration is re-read, and the version its key opens is held beside those already held),
// the signing keys of the three kinds (keyring/signing_keys.h), and the operator token and SMTP
// password from their files. Triggered by SIGHUP, POST /api/v1/ops/keyring/reload and, for the
// signing keys, another PostgreSQL node's change. Each reload is logged and recorded in the audit
// ledger (a master key reload through the API is recorded by the pipeline with its request); no
// secret, nor any digest of one, is recorded or logged.
//
// Thread-safe: each kind of reload runs one at a time (an older read never replaces a newer one).
// The Reloader holds pointers only; what they point at must outlive it.
#include <mutex>
#include <string_view>

#include "api/ops.h"
#include "audit/ledger.h"
#include "audit/writer.h"
#include "config/config.h"
#include "core/status.h"
#include "http/baseline_stages.h"
#include "identity/mailer.h"
#include "identity/sessions.h"
#include "keyring/keyring.h"
#include "receipts/service.h"
#include "store/store.h"

namespace bulwark::app {

// Re-reads the configuration (file; the environment's secrets were read once at start and
// scrubbed) and reloads the master key it names into `keys`, after the keyring settings rules
// boot holds it to (app/preflight.h, BrokenKeyringRules). kFailedPrecondition "config_invalid"
// (configuration errors, several sources), "no_master_key"; kInvalidArgument
// "weak_kdf_iterations"; or what keyring::Keyring::Reload returns.
Status ReloadKeyring(const config::ConfigSources& sources, keyring::Keyring& keys,
                     store::Store& store, bool production);

class Reloader {
 public:
  struct Deps {
    const config::ConfigSources* sources = nullptr;  // as `serve` loaded them
    bool production = true;
    keyring::Keyring* keys = nullptr;
    store::Store* store = nullptr;
    audit::AuditWriter* writer = nullptr;
    // Who holds each kind of signing key.
    identity::SessionService* sessions = nullptr;
    audit::Ledger* ledger = nullptr;
    receipts::ReceiptService* receipts = nullptr;
  };
  explicit Reloader(Deps deps) : d_(deps) {}
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // The master key (ReloadKeyring), logged as keyring.reloaded or keyring.reload_failed, and
  // recorded as keyring.reload unless `trigger` is "api" (the pipeline records that request).
  StatusOr<api::KeyringReload> MasterKey(std::string_view trigger);

  // The signing keys of the three kinds, re-read from the store. Each kind that changed is logged
  // and recorded as signing_key.reload with its active kid; a kind that fails keeps its keys and
  // is recorded with result error.
  void SigningKeys(std::string_view trigger);

  // The operator token and the SMTP password as the configuration now names them (their files:
  // the environment's secrets were read once at start and scrubbed), swapped into
  // `operator_auth` and `smtp` (if any) where they changed. Each change is logged and recorded
  // (operator.token_reload, mail.smtp_password_reload); a refused one (unreadable or weak file,
  // bad password) keeps the old secret and is recorded with result error.
  void ServiceSecrets(std::string_view trigger, http::BaselineAuthenticator& operator_auth,
                      identity::SmtpMailer* smtp);

 private:
  const Deps d_;
  std::mutex keyring_mu_;
  std::mutex signing_mu_;
};

}  // namespace bulwark::app
