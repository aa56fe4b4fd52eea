#include "app/reload.h"

#include <functional>
#include <string>
#include <vector>

#include "app/core_open.h"
#include "app/preflight.h"
#include "core/log.h"
#include "core/secret_quality.h"
#include "keyring/master_key.h"
#include "keyring/signing_keys.h"

namespace bulwark::app {
namespace {

using config::Config;
using Severity = config::ConfigProblem::Severity;

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


void ReloadSigningKeys(const Reloader::Deps& h, const keyring::Keyring& keys,
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

void ReloadServiceSecrets(const config::ConfigSources& sources, bool production,
                          http::BaselineAuthenticator& operator_auth, identity::SmtpMailer* smtp,
                          audit::AuditWriter& writer, std::string_view trigger) {
  config::ConfigLoad loaded = config::LoadConfig(sources);
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

Status ReloadKeyring(const config::ConfigSources& sources, keyring::Keyring& keys,
                     store::Store& store, bool production) {
  config::ConfigLoad loaded = config::LoadConfig(sources);
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
  // The rules boot holds the keyring settings to (app/preflight.h), in a reload's words.
  for (const KeyringRule rule : BrokenKeyringRules(c, production)) {
    switch (rule) {
      case KeyringRule::kOneSourceAtMost:
        return Status::FailedPrecondition("config_invalid",
                                          "more than one master key source is set; the keyring was "
                                          "not changed");
      case KeyringRule::kSourceRequired:
        return Status::FailedPrecondition(
            "no_master_key",
            "the configuration names no master key file or password file (BULWARK_MASTER_KEY and "
            "BULWARK_MASTER_PASSWORD are read once at start and cannot change while it runs)");
      case KeyringRule::kKdfIterations:
        return Status::InvalidArgument("weak_kdf_iterations",
                                       "keyring.pbkdf2_iterations must be at least " +
                                           std::to_string(keyring::kMinPbkdf2Iterations));
    }
  }
  BULWARK_ASSIGN_OR_RETURN(keyring::MasterKeySource source, MasterKeySourceFor(c));
  return keys.Reload(source, store);
}

StatusOr<api::KeyringReload> Reloader::MasterKey(std::string_view trigger) {
  std::lock_guard<std::mutex> lock(keyring_mu_);
  keyring::Keyring& keys = *d_.keys;
  Status s = ReloadKeyring(*d_.sources, keys, *d_.store, d_.production);
  // The operator route's request is recorded by the pipeline; a signal's reload has no
  // request, so it is recorded here, failures included (docs/key-rotation.md, step 5).
  const bool record = trigger != "api";
  audit::Event ev = ReloadEvent("keyring.reload", trigger, "keyring");
  if (!s.ok()) {
    if (record) {  // recorded before it is logged: whoever sees the log line finds the record
      ev.result = audit::Result::kError;
      ev.reason = s.reason();
      RecordReload(*d_.writer, std::move(ev));
    }
    log::Warn(
        "keyring.reload_failed",
        {{"trigger", std::string(trigger)}, {"reason", s.reason()}, {"message", s.message()}});
    return s;
  }
  api::KeyringReload out{.kek_version = keys.kek_version(),
                         .held_versions = keys.held_versions()};
  std::string held;
  for (std::uint32_t v : out.held_versions) {
    if (!held.empty()) held += ',';
    held += std::to_string(v);
  }
  if (record) {
    ev.details.emplace_back("kek_version", std::to_string(out.kek_version));
    ev.details.emplace_back("held_versions", held);
    RecordReload(*d_.writer, std::move(ev));
  }
  log::Info("keyring.reloaded", {{"trigger", std::string(trigger)},
                                 {"kek_version", static_cast<std::int64_t>(out.kek_version)},
                                 {"held_versions", held}});
  return out;
}

void Reloader::SigningKeys(std::string_view trigger) {
  std::lock_guard<std::mutex> lock(signing_mu_);
  ReloadSigningKeys(d_, *d_.keys, *d_.store, *d_.writer, trigger);
}

void Reloader::ServiceSecrets(std::string_view trigger, http::BaselineAuthenticator& operator_auth,
                              identity::SmtpMailer* smtp) {
  ReloadServiceSecrets(*d_.sources, d_.production, operator_auth, smtp, *d_.writer, trigger);
}

}  // namespace bulwark::app
