#pragma once
// The secret operations of both API surfaces (the native one, api/secret_routes.cc, and the Vault
// KV v2 one, api/vault_routes.cc), free of HTTP: a caller asks, the service answers with the
// result and says what is to be recorded of it. docs/design.md shows where this sits (a domain
// service under the route adapters). Each operation, in this order:
//   1. validates the path (policy/secret_path.h) before anything else sees it;
//   2. asks the caller's path policies (policy::PathAccess) for the capability it needs (the
//      role verb was already checked by the authorizer; both must allow), else 403
//      `path_denied`, the same answer whether or not the path exists;
//   3. runs the vault. A change runs inside the caller's commit function (Caller::commit), which
//      commits it in one transaction with its record (the route adapter's: the audit writer);
//      a read returns what its record is to name, and the caller records it before the value
//      leaves. A version that fails its integrity check is to be recorded as an error with
//      alert.secret_integrity; the caller gets 500 integrity_error and never any plaintext.
// Every record named here has the resource "secret:<path>" (SecretResource).
//
// Capabilities: read data: read; write: create (new path) or update (existing); soft delete,
// destroy, delete everything: delete; undelete and metadata changes: update (lowering
// max_versions, which removes old versions, or setting or shortening an expiry, also delete);
// metadata read: read. List shows a path's name when the caller holds read or list on it (a
// folder when it holds that on some path below).
//
// Ownership and threads: the service holds references to the store, vault and path access,
// which outlive it; it keeps no state of its own, so one instance serves every thread at once
// (as the vault and path access do).
//
// Example:
//   secrets::SecretService svc(store, vault, path_access);
//   secrets::Recorded rec;
//   auto value = svc.Read({.principal = p}, "prod/db", std::nullopt, rec);
//   // rec.resource == "secret:prod/db", rec.details == {{"version", 3}}
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/event.h"
#include "core/principal.h"
#include "core/status.h"
#include "policy/path_policy_store.h"
#include "secrets/vault.h"
#include "store/store.h"

namespace bulwark::secrets {

// What is to be recorded of an operation, beside who asked and how it was answered (which the
// caller knows): the resource acted on, details (the version read or written), a reason for an
// answer that is no error Status, and the name of an alert raised with the record.
struct Recorded {
  std::string resource;  // "secret:prod/db"; empty: the caller's own name for the request
  std::vector<std::pair<std::string, audit::DetailValue>> details;
  std::string_view reason;  // a stable code, a string literal; empty: none
  std::string_view alert;   // "secret_integrity"; empty: none
};

// A change of the store made with its record: it runs inside the transaction the commit function
// opens and adds to `recorded` what it learns (the version written).
using RecordedChange = std::function<Status(store::Transaction&, Recorded& recorded)>;

// Commits `change` in one transaction together with the record of the request that asked for
// it, naming `recorded` (its resource, and the details the change adds): both are kept, or
// neither. Returns the change's error, or the commit's.
using CommitFn = std::function<Status(Recorded& recorded, const RecordedChange& change)>;

// Who asks: the principal (its id, kind and tenant, whose secrets these are), and how a change
// of theirs is committed with its record. Both outlive the call.
struct Caller {
  const core::Principal& principal;
  const CommitFn& commit;  // used by changes only
};

// The largest version number accepted anywhere (JSON clients count in doubles).
inline constexpr std::int64_t kMaxVersionNumber = std::int64_t{1} << 53;

// The resource naming a secret path, or a listed prefix: "secret:prod/db". Records of both
// surfaces name secrets alike, so a SIEM query for one path finds every record of it.
std::string SecretResource(std::string_view path);

enum class VersionAction { kSoftDelete, kUndelete, kDestroy };

class SecretService {
 public:
  SecretService(store::Store& store, Vault& vault, policy::PathAccess& access)
      : store_(store), vault_(vault), access_(access) {}

  // The value of `version` (nullopt: the current one). `recorded` names the path and the
  // version read, also when it fails its integrity check (with the alert to raise).
  StatusOr<SecretValue> Read(const Caller& caller, std::string_view path,
                             std::optional<std::int64_t> version, Recorded& recorded);
  // Writes `json_object` as a new version (check-and-set when `cas` is given: 0 means "only if
  // new"); 409 cas_mismatch when it does not match. Recorded with the version written.
  StatusOr<VersionInfo> Write(const Caller& caller, std::string_view path,
                              std::string_view json_object, std::optional<std::int64_t> cas);
  // Applies `action` to the versions named: at least one, else 400 invalid_versions (an empty
  // list never means "the current version"). Recorded with the versions ("1,2").
  Status ChangeVersions(const Caller& caller, std::string_view path, VersionAction action,
                        const std::vector<std::int64_t>& versions);
  // Soft-deletes the current version (recorded as versions "current").
  Status SoftDeleteCurrent(const Caller& caller, std::string_view path);
  // Deletes the secret with every version and its metadata, for good.
  Status DeleteAll(const Caller& caller, std::string_view path);

  StatusOr<SecretMetadata> Metadata(const Caller& caller, std::string_view path);
  // Creates or changes the metadata; recorded with the settings changed.
  Status UpdateMetadata(const Caller& caller, std::string_view path, const MetadataUpdate& update);

  // Names under `prefix` ("" or a folder, "dev" or "dev/"), relative to it: the next level ("db/"
  // for a folder) or, when `recursive`, every path below. Only what the caller may see; sorted.
  StatusOr<std::vector<std::string>> List(const Caller& caller, std::string_view prefix,
                                          bool recursive);

 private:
  Status Require(const Caller& caller, std::string_view path, std::uint8_t any_of);
  Status ApplyVersions(const Caller& caller, std::string_view path, VersionAction action,
                       const std::vector<std::int64_t>& versions);

  store::Store& store_;
  Vault& vault_;
  policy::PathAccess& access_;
};

}  // namespace bulwark::secrets
