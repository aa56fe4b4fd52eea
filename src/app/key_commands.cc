#include "app/key_commands.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

#include "app/core_open.h"
#include "app/preflight.h"
#include "audit/writer.h"
#include "core/clock.h"
#include "keyring/rotation.h"
#include "keyring/signing_keys.h"
#include "receipts/receipt.h"
#include "receipts/service.h"
#include "secrets/vault.h"
#include "store/migrate.h"
#include "store/migrations.h"
#include "store/postgres/roles.h"

namespace bulwark::app {
namespace {

namespace json = boost::json;

constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

int Fail(std::string_view cmd, const Status& s, int code = kExitRefused) {
  std::cerr << "bulwark: " << cmd << ": " << s.message() << " (" << s.reason() << ")\n";
  return code;
}

int FailOpen(std::string_view cmd, const std::string& step, const Status& s) {
  std::cerr << "bulwark: " << cmd << ": " << step << ": " << s.message() << " (" << s.reason()
            << ")\n";
  return kExitConfigRefused;
}

// The configuration as for `serve`; nullopt (after printing why) if it has errors.
std::optional<config::Config> LoadOrComplain(std::string_view cmd,
                                           const config::ConfigSources& sources) {
  config::ConfigLoad loaded = config::LoadConfig(sources);
  if (loaded.has_errors()) {
    std::cerr << "bulwark: " << cmd << ": the configuration has errors:\n";
    for (const auto& p : loaded.problems) std::cerr << "  " << p.Format() << "\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

// The store, keyring and ledger of `config` for a maintenance command (RequireDatabase, then
// OpenCore); nullopt after saying on stderr what failed, and the command exits
// kExitConfigRefused.
std::optional<Core> OpenCoreOrComplain(std::string_view cmd, config::Config& config) {
  if (Status s = RequireDatabase(config); !s.ok()) {
    FailOpen(cmd, "storage", s);
    return std::nullopt;
  }
  std::string step;
  auto core_or = OpenCore(config, step);
  if (!core_or.ok()) {
    FailOpen(cmd, step, core_or.status());
    return std::nullopt;
  }
  return std::move(core_or).value();
}

audit::Event CliEvent(std::string action) {
  audit::Event e;
  e.actor = {audit::ActorKind::kOperator, "cli"};
  e.action = std::move(action);
  e.auth_method = "cli";
  e.resource = "keyring";
  return e;
}

bool IsEnvName(std::string_view n) {
  if (n.empty() || n.size() > 128 || (n[0] >= '0' && n[0] <= '9')) return false;
  for (char c : n) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

}  // namespace

StatusOr<keyring::MasterKeySource> ParseNewMasterKeySource(std::string_view spec, char** environ,
                                                           std::int64_t pbkdf2_iterations) {
  const auto invalid = [](std::string m) {
    return Status::InvalidArgument("invalid_new_source", std::move(m));
  };
  keyring::MasterKeySource src;
  if (spec.starts_with("file:")) {
    const std::string_view path = spec.substr(5);
    if (path.empty()) return invalid("--new-source file: needs a path");
    src.kind = keyring::MasterKeySourceKind::kFile;
    src.file_path = std::string(path);
    return src;
  }
  if (spec.starts_with("env:")) {
    const std::string_view name = spec.substr(4);
    if (!IsEnvName(name)) return invalid("--new-source env: needs a variable name");
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=') {
        src.kind = keyring::MasterKeySourceKind::kBase64;
        src.material =
            crypto::SecretBytes::CopyFrom(crypto::AsBytes(entry.substr(name.size() + 1)));
        return src;
      }
    }
    return invalid("the environment variable " + std::string(name) + " is not set or empty");
  }
  if (spec.starts_with("password-file:")) {
    const std::string path(spec.substr(14));
    if (path.empty()) return invalid("--new-source password-file: needs a path");
    if (pbkdf2_iterations < keyring::kMinPbkdf2Iterations || pbkdf2_iterations > UINT32_MAX) {
      return Status::InvalidArgument("weak_kdf_iterations",
                                     "keyring.pbkdf2_iterations must be at least 100000");
    }
    auto pw = ReadSecretFile(path);
    if (!pw.ok()) return invalid("cannot read the new password file");
    if (pw->empty()) return invalid("the new password file is empty");
    if (pw->reveal_string_view().find('\n') != std::string_view::npos) {
      return invalid("the new password file must hold the password on one line");
    }
    src.kind = keyring::MasterKeySourceKind::kPassword;
    src.material = std::move(pw).value();
    src.file_path = path;
    src.pbkdf2_iterations = static_cast<std::uint32_t>(pbkdf2_iterations);
    return src;
  }
  return invalid("--new-source must be file:/path, env:NAME or password-file:/path");
}

int KeyRotate(const config::ConfigSources& sources, const std::string& new_source,
              std::ostream& out) {
  std::optional<config::Config> config = LoadOrComplain("key rotate", sources);
  if (!config) return kExitConfigRefused;
  auto source = ParseNewMasterKeySource(new_source, sources.environ, config->pbkdf2_iterations);
  if (!source.ok()) return Fail("rotate: --new-source", source.status());
  // The key rotated to must be one `serve` boots with: refused here, not at the next restart.
  bool refused = false;
  for (const config::ConfigProblem& p : CheckNewMasterKeySource(*source, !config->dev)) {
    std::cerr << "bulwark: key rotate: " << p.Format() << "\n";
    refused = refused || p.severity == config::ConfigProblem::Severity::kError;
  }
  if (refused) return kExitRefused;  // nothing was opened or changed

  std::string step;
  auto core_or = OpenCore(*config, step, {.any_kek_version = true, .also_hold = &*source});
  if (!core_or.ok()) return FailOpen("key rotate", step, core_or.status());
  Core& core = *core_or;
  // The slow part (a password's KDF) before the write lock is taken.
  auto next = keyring::PrepareMasterKey(*source, *core.store);
  if (!next.ok()) return Fail("rotate: --new-source", next.status());
  auto receipts_or = receipts::ReceiptService::Open(*core.store, *core.keys);
  if (!receipts_or.ok()) return FailOpen("key rotate", "receipts", receipts_or.status());

  keyring::RotationResult result;
  std::string receipt_id;
  Status s;
  {
    audit::AuditWriter writer(*core.store, *core.ledger, core.writer_options);
    s = writer.CommitAmending(
        [&](store::Transaction& tx, audit::Event& ev) -> Status {
          BULWARK_ASSIGN_OR_RETURN(result, keyring::Rotate(tx, *core.keys, *next));
          const json::object fields{{"from_version", result.from_version},
                                    {"to_version", result.to_version},
                                    {"rewrapped", result.rewrapped}};
          BULWARK_ASSIGN_OR_RETURN(
              receipts::Receipt r,
              (*receipts_or)
                  ->Issue(tx, kKeyringReceiptTenant, receipts::kind::kKeyRotate, fields, {}));
          receipt_id = r.id;
          ev.resource = "keyring:v" + std::to_string(result.to_version);
          ev.details.emplace_back("from_version", static_cast<std::int64_t>(result.from_version));
          ev.details.emplace_back("to_version", static_cast<std::int64_t>(result.to_version));
          ev.details.emplace_back("rewrapped", result.rewrapped);
          ev.details.emplace_back("new_version", result.created_version);
          ev.details.emplace_back("source_kind", next->source_kind);
          ev.details.emplace_back("receipt_id", r.id);
          return Status::Ok();
        },
        CliEvent("key.rotate"));
    writer.Stop();
  }
  if (!s.ok()) return Fail("key rotate", s);
  out << json::serialize(json::object{{"kek_version", result.to_version},
                                      {"rewrapped", result.rewrapped},
                                      {"receipt_id", receipt_id}})
      << "\n";
  return 0;
}

int KeyRetire(const config::ConfigSources& sources, std::uint32_t version, std::ostream& out) {
  std::optional<config::Config> config = LoadOrComplain("key retire", sources);
  if (!config) return kExitConfigRefused;
  if (version == 0) {
    return Fail("key retire", Status::InvalidArgument("invalid_version", "--version must be >= 1"));
  }
  std::optional<Core> opened = OpenCoreOrComplain("key retire", *config);
  if (!opened) return kExitConfigRefused;
  Core& core = *opened;
  auto receipts_or = receipts::ReceiptService::Open(*core.store, *core.keys);
  if (!receipts_or.ok()) return FailOpen("key retire", "receipts", receipts_or.status());

  std::string receipt_id;
  Status s;
  {
    audit::AuditWriter writer(*core.store, *core.ledger, core.writer_options);
    audit::Event event = CliEvent("key.retire");
    event.resource = "keyring:v" + std::to_string(version);
    s = writer.CommitAmending(
        [&](store::Transaction& tx, audit::Event& ev) -> Status {
          BULWARK_RETURN_IF_ERROR(keyring::Retire(tx, version));
          BULWARK_ASSIGN_OR_RETURN(
              receipts::Receipt r,
              (*receipts_or)
                  ->Issue(tx, kKeyringReceiptTenant, receipts::kind::kKeyRetire,
                          json::object{{"version", version}}, {}));
          receipt_id = r.id;
          ev.details.emplace_back("version", static_cast<std::int64_t>(version));
          ev.details.emplace_back("receipt_id", r.id);
          return Status::Ok();
        },
        std::move(event));
    writer.Stop();
  }
  if (!s.ok()) return Fail("key retire", s);
  out << json::serialize(json::object{{"retired_version", version}, {"receipt_id", receipt_id}})
      << "\n";
  return 0;
}

int KeyRotateData(const config::ConfigSources& sources, const std::string& tenant,
                  std::int64_t batch_size, std::int64_t pause_ms, std::ostream& out) {
  constexpr std::string_view kCmd = "rotate-data";
  std::optional<config::Config> config = LoadOrComplain(kCmd, sources);
  if (!config) return kExitConfigRefused;
  if (batch_size < 1 || batch_size > 10000 || pause_ms < 0 || pause_ms > 60000) {
    return Fail(kCmd, Status::InvalidArgument("invalid_option",
                                              "--batch-size is 1-10000, --pause-ms 0-60000"));
  }
  std::optional<Core> opened = OpenCoreOrComplain(kCmd, *config);
  if (!opened) return kExitConfigRefused;
  Core& core = *opened;
  auto receipts_or = receipts::ReceiptService::Open(*core.store, *core.keys);
  if (!receipts_or.ok()) return FailOpen(kCmd, "receipts", receipts_or.status());
  std::string tenant_id;
  {
    auto tx = core.store->Begin(store::TxMode::kRead);
    if (!tx.ok()) return FailOpen(kCmd, "storage", tx.status());
    auto rows =
        (*tx)->Query("SELECT id FROM tenants WHERE (id = ? OR name = ?) AND deleted_at IS NULL",
                     {store::Value::Text(tenant), store::Value::Text(tenant)});
    if (!rows.ok()) return FailOpen(kCmd, "storage", rows.status());
    if (rows->empty()) {
      return Fail(kCmd, Status::NotFound("tenant_not_found", "no such tenant: " + tenant));
    }
    tenant_id = (*rows)[0][0].as_text();
  }
  secrets::Vault vault(*core.keys);
  audit::AuditWriter writer(*core.store, *core.ledger, core.writer_options);
  const auto event_for = [&](std::string action) {
    audit::Event e = CliEvent(std::move(action));
    e.tenant = tenant_id;
    e.resource = "tenant-data:" + tenant_id;
    return e;
  };
  std::string target;
  Status s = writer.CommitAmending(
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(target,
                                 vault.StartDataRotation(tx, tenant_id, core::NowUnixSeconds()));
        ev.details.emplace_back("data_key_id", target);
        return Status::Ok();
      },
      event_for("key.rotate_data.start"));
  if (!s.ok()) {
    writer.Stop();
    return Fail(kCmd, s);
  }
  // Batches: each its own short write transaction, so requests keep flowing in between.
  for (;;) {
    auto tx = core.store->Begin(store::TxMode::kWrite);
    if (!tx.ok()) {
      writer.Stop();
      return Fail(kCmd, tx.status());
    }
    auto n = vault.ResealBatch(**tx, tenant_id, target, batch_size);
    if (!n.ok()) {
      writer.Stop();
      return Fail(kCmd, n.status());
    }
    if (*n == 0) break;
    if (Status c = (*tx)->Commit(); !c.ok()) {
      writer.Stop();
      return Fail(kCmd, c);
    }
    if (pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
  std::int64_t total = 0;
  std::string receipt_id;
  s = writer.CommitAmending(
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(
            total, vault.FinishDataRotation(tx, tenant_id, target, core::NowUnixSeconds()));
        BULWARK_ASSIGN_OR_RETURN(
            receipts::Receipt r,
            (*receipts_or)
                ->Issue(tx, tenant_id, receipts::kind::kKeyRotateData,
                        json::object{
                            {"tenant_id", tenant_id}, {"data_key_id", target}, {"resealed", total}},
                        {}));
        receipt_id = r.id;
        ev.details.emplace_back("data_key_id", target);
        ev.details.emplace_back("resealed", total);
        ev.details.emplace_back("receipt_id", r.id);
        return Status::Ok();
      },
      event_for("key.rotate_data"));
  writer.Stop();
  if (!s.ok()) return Fail(kCmd, s);
  out << json::serialize(json::object{{"tenant_id", tenant_id},
                                      {"data_key_id", target},
                                      {"resealed", total},
                                      {"receipt_id", receipt_id}})
      << "\n";
  return 0;
}

namespace {

// The --kind of the signing-key commands; nullopt (after saying why) for anything else.
std::optional<keyring::SigningKind> SigningKindOrComplain(std::string_view cmd,
                                                          const std::string& kind) {
  auto k = keyring::ParseSigningKind(kind);
  if (!k) {
    std::cerr << "bulwark: " << cmd << ": unknown --kind \"" << kind
              << "\": expected jwt, ledger or receipt (invalid_kind); nothing was changed\n";
  }
  return k;
}

json::array SigningKeysJson(const std::vector<keyring::PublicSigningKey>& keys) {
  json::array list;
  for (const keyring::PublicSigningKey& k : keys) {
    list.push_back(json::object{
        {"kid", k.kid},
        {"generation", k.generation},
        {"created_at", k.created_at},
        {"retired_at", k.retired_at ? json::value(*k.retired_at) : json::value(nullptr)},
        {"active", k.active}});
  }
  return list;
}

// Runs `change` with a receipt of `receipt_kind` in the keyring's chain and the ledger record
// `event`, all in one transaction (as `key rotate` does).
Status CommitSigningChange(
    Core& core, audit::Event event, std::string_view receipt_kind, std::string& receipt_id,
    const std::function<StatusOr<json::object>(store::Transaction&, audit::Event&)>& change) {
  BULWARK_ASSIGN_OR_RETURN(auto receipts, receipts::ReceiptService::Open(*core.store, *core.keys));
  audit::AuditWriter writer(*core.store, *core.ledger, {});
  Status s = writer.CommitAmending(
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(json::object fields, change(tx, ev));
        BULWARK_ASSIGN_OR_RETURN(receipts::Receipt r, receipts->Issue(tx, kKeyringReceiptTenant,
                                                                      receipt_kind, fields, {}));
        receipt_id = r.id;
        ev.details.emplace_back("receipt_id", r.id);
        return Status::Ok();
      },
      std::move(event));
  writer.Stop();
  return s;
}

}  // namespace

int KeyRotateSigning(const config::ConfigSources& sources, const std::string& kind_name,
                     std::ostream& out) {
  constexpr std::string_view kCmd = "key rotate-signing";
  const auto kind = SigningKindOrComplain(kCmd, kind_name);
  if (!kind) return kExitUsage;
  std::optional<config::Config> config = LoadOrComplain(kCmd, sources);
  if (!config) return kExitConfigRefused;
  std::optional<Core> opened = OpenCoreOrComplain(kCmd, *config);
  if (!opened) return kExitConfigRefused;
  Core& core = *opened;
  const std::string name(keyring::SigningKindName(*kind));
  keyring::SigningRotation rotation;
  std::string receipt_id;
  audit::Event event = CliEvent("key.rotate_signing");
  event.resource = "signing_key:" + name;
  Status s = CommitSigningChange(
      core, std::move(event), receipts::kind::kKeyRotateSigning, receipt_id,
      [&](store::Transaction& tx, audit::Event& ev) -> StatusOr<json::object> {
        BULWARK_ASSIGN_OR_RETURN(rotation, keyring::RotateSigningKey(tx, *core.keys, *kind));
        ev.resource = "signing_key:" + name + ":" + rotation.to_kid;
        ev.details.emplace_back("kind", name);
        ev.details.emplace_back("from_kid", rotation.from_kid);
        ev.details.emplace_back("to_kid", rotation.to_kid);
        ev.details.emplace_back("generation", rotation.generation);
        return json::object{{"kind", name},
                            {"from_kid", rotation.from_kid},
                            {"to_kid", rotation.to_kid},
                            {"generation", rotation.generation}};
      });
  if (!s.ok()) return Fail(kCmd, s);
  out << json::serialize(json::object{{"kind", name},
                                      {"kid", rotation.to_kid},
                                      {"previous_kid", rotation.from_kid},
                                      {"generation", rotation.generation},
                                      {"receipt_id", receipt_id}})
      << "\n";
  return 0;
}

int KeyRetireSigning(const config::ConfigSources& sources, const std::string& kind_name,
                     const std::string& kid, std::ostream& out) {
  constexpr std::string_view kCmd = "key retire-signing";
  const auto kind = SigningKindOrComplain(kCmd, kind_name);
  if (!kind) return kExitUsage;
  if (kid.empty()) {
    return Fail(kCmd, Status::InvalidArgument("invalid_kid", "--kid must name a key"), kExitUsage);
  }
  std::optional<config::Config> config = LoadOrComplain(kCmd, sources);
  if (!config) return kExitConfigRefused;
  std::optional<Core> opened = OpenCoreOrComplain(kCmd, *config);
  if (!opened) return kExitConfigRefused;
  Core& core = *opened;
  const std::string name(keyring::SigningKindName(*kind));
  std::string receipt_id;
  audit::Event event = CliEvent("key.retire_signing");
  event.resource = "signing_key:" + name + ":" + kid;
  Status s = CommitSigningChange(
      core, std::move(event), receipts::kind::kKeyRetireSigning, receipt_id,
      [&](store::Transaction& tx, audit::Event& ev) -> StatusOr<json::object> {
        BULWARK_ASSIGN_OR_RETURN(std::int64_t generation,
                                 keyring::RetireSigningKey(tx, *kind, kid));
        ev.details.emplace_back("kind", name);
        ev.details.emplace_back("kid", kid);
        ev.details.emplace_back("generation", generation);
        return json::object{{"kind", name}, {"kid", kid}, {"generation", generation}};
      });
  if (!s.ok()) return Fail(kCmd, s);
  out << json::serialize(
             json::object{{"kind", name}, {"retired_kid", kid}, {"receipt_id", receipt_id}})
      << "\n";
  return 0;
}

int KeySigningStatus(const config::ConfigSources& sources, const std::string& kind_name,
                     std::ostream& out) {
  constexpr std::string_view kCmd = "key signing-status";
  std::vector<keyring::SigningKind> kinds = {
      keyring::SigningKind::kJwt, keyring::SigningKind::kLedger, keyring::SigningKind::kReceipt};
  if (!kind_name.empty()) {
    const auto kind = SigningKindOrComplain(kCmd, kind_name);
    if (!kind) return kExitUsage;
    kinds = {*kind};
  }
  std::optional<config::Config> config = LoadOrComplain(kCmd, sources);
  if (!config) return kExitConfigRefused;
  if (Status s = RequireDatabase(*config); !s.ok()) return FailOpen(kCmd, "storage", s);
  auto store = OpenExistingStore(*config);
  if (!store.ok()) return FailOpen(kCmd, "storage", store.status());
  auto tx = (*store)->Begin(store::TxMode::kRead);
  if (!tx.ok()) return FailOpen(kCmd, "storage", tx.status());
  json::object doc;
  for (keyring::SigningKind kind : kinds) {
    auto keys = keyring::ListSigningKeys(**tx, kind);
    if (!keys.ok()) return FailOpen(kCmd, "keyring", keys.status());
    doc[keyring::SigningKindName(kind)] = SigningKeysJson(*keys);
  }
  out << json::serialize(doc) << "\n";
  return 0;
}

int KeyStatus(const config::ConfigSources& sources, std::ostream& out) {
  std::optional<config::Config> config = LoadOrComplain("key status", sources);
  if (!config) return kExitConfigRefused;
  if (Status s = RequireDatabase(*config); !s.ok()) return FailOpen("key status", "storage", s);
  auto store = OpenExistingStore(*config);
  if (!store.ok()) return FailOpen("key status", "storage", store.status());
  auto tx = (*store)->Begin(store::TxMode::kRead);
  if (!tx.ok()) return FailOpen("key status", "storage", tx.status());
  auto versions = keyring::ListVersions(**tx);
  if (!versions.ok()) return FailOpen("key status", "keyring", versions.status());
  json::array list;
  json::value active = nullptr;
  for (const keyring::KekVersionInfo& v : *versions) {
    list.push_back(json::object{
        {"version", v.version},
        {"source_kind", v.source_kind},
        {"created_at", v.created_at},
        {"retired_at", v.retired_at ? json::value(*v.retired_at) : json::value(nullptr)},
        {"wrapped_keys", v.wrapped_keys},
        {"active", v.active}});
    if (v.active) active = v.version;
  }
  out << json::serialize(json::object{{"active_version", active}, {"versions", std::move(list)}})
      << "\n";
  return 0;
}

int DbMigrate(const config::ConfigSources& sources, const std::string& app_role, std::ostream& out) {
  std::optional<config::Config> config = LoadOrComplain("db migrate", sources);
  if (!config) return kExitConfigRefused;
  if (Status s = RequireDatabase(*config); !s.ok()) return FailOpen("db migrate", "storage", s);
  auto store = OpenExistingStore(*config);
  if (!store.ok()) return FailOpen("db migrate", "storage", store.status());
  if (Status s = store::Migrate(**store); !s.ok()) return Fail("db migrate", s);
  if (!app_role.empty()) {
    if (Status s = store::GrantAppRole(**store, app_role); !s.ok()) return Fail("db migrate", s);
  }
  out << json::serialize(json::object{
             {"schema_version", store::LatestSchemaVersion()},
             {"app_role", app_role.empty() ? json::value(nullptr) : json::value(app_role)}})
      << "\n";
  return 0;
}

}  // namespace bulwark::app
