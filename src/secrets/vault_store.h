#pragma once
// The vault's store statements: every SQL statement the secrets vault runs, one function each,
// over the tables secrets, secret_versions, tenant_data_keys, data_rotation_jobs and (read only)
// wrapped_keys. No decisions are made here: which version to write, which key seals, what is
// pruned and what a refusal is are the vault's (secrets/vault.h) and the sealer's
// (secrets/sealer.h). Layers and "how to add a capability": docs/design.md.
//
// Every function runs inside the caller's transaction and returns the store's error as it came
// (kUnavailable, kInternal, ...); none returns kNotFound: an absent row is an empty optional or
// a zero count, for the vault to decide about. Tenant and path are bound as parameters, never
// spliced into the text. Thread-safety: as the Transaction passed in (one thread at a time).
//
//   BULWARK_ASSIGN_OR_RETURN(auto head, vault_store::ReadHead(tx, tenant, path));
//   BULWARK_RETURN_IF_ERROR(vault_store::InsertVersion(tx, tenant, path, {...}));
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "secrets/sealer.h"
#include "secrets/vault.h"
#include "store/store.h"

namespace bulwark::secrets::vault_store {

// ---- secrets: a path's settings row ----

StatusOr<std::optional<SecretHead>> ReadHead(store::Transaction& tx, std::string_view tenant,
                                             std::string_view path);
// The settings row as SecretMetadata, `versions` and `oldest_version` left empty.
StatusOr<std::optional<SecretMetadata>> ReadMetadata(store::Transaction& tx,
                                                     std::string_view tenant,
                                                     std::string_view path);
// A path's first version, its row created with it.
Status InsertSecret(store::Transaction& tx, std::string_view tenant, std::string_view path,
                    std::int64_t version, std::int64_t max_versions, std::string_view actor,
                    std::int64_t now);
// The path's current version moved to `version`.
Status AdvanceSecret(store::Transaction& tx, std::string_view tenant, std::string_view path,
                     std::int64_t version, std::string_view actor, std::int64_t now);
// A settings row with no version yet (current_version 0).
Status InsertSettings(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      std::int64_t max_versions, bool cas_required,
                      std::int64_t delete_version_after, std::string_view custom_metadata,
                      std::string_view actor, std::int64_t now);
Status SetMaxVersions(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      std::int64_t max_versions);
Status SetCasRequired(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      bool cas_required);
Status SetDeleteVersionAfter(store::Transaction& tx, std::string_view tenant,
                             std::string_view path, std::int64_t seconds);
Status SetCustomMetadata(store::Transaction& tx, std::string_view tenant, std::string_view path,
                         std::string_view custom_metadata);
Status SetUpdated(store::Transaction& tx, std::string_view tenant, std::string_view path,
                  std::string_view actor, std::int64_t now);
// Removes the settings row; returns how many rows went (0 or 1).
StatusOr<std::int64_t> DeleteSecret(store::Transaction& tx, std::string_view tenant,
                                    std::string_view path);
// Every path of the tenant from `lower` up to (not including) `upper`, compared byte by byte
// (Transaction::BytewiseRange), in no particular order.
StatusOr<std::vector<std::string>> PathsInRange(store::Transaction& tx, std::string_view tenant,
                                                std::string lower, std::string upper);

// ---- secret_versions ----

// One version row, with its secret's delete_version_after.
struct VersionRow {
  std::int64_t version = 0;
  std::string key_id;
  std::optional<store::Value::Blob> sealed;  // empty once destroyed
  std::int64_t created_at = 0;
  std::string created_by;
  bool deleted = false;
  bool destroyed = false;
  std::int64_t delete_version_after = 0;
};
// Version `version` of the path, or its current version when `version` is empty.
StatusOr<std::optional<VersionRow>> ReadVersion(store::Transaction& tx, std::string_view tenant,
                                                std::string_view path,
                                                std::optional<std::int64_t> version);
// Every version of the path, oldest first, deleted_at as stored.
StatusOr<std::vector<VersionInfo>> ReadVersions(store::Transaction& tx, std::string_view tenant,
                                                std::string_view path);
struct NewVersion {
  std::int64_t version = 0;
  std::string_view key_id;
  store::Value::Blob sealed;
  std::string_view actor;
  std::int64_t now = 0;
};
Status InsertVersion(store::Transaction& tx, std::string_view tenant, std::string_view path,
                     NewVersion row);
// Removes, for good, every version numbered `up_to` or lower.
Status PruneVersions(store::Transaction& tx, std::string_view tenant, std::string_view path,
                     std::int64_t up_to);
Status DeleteVersions(store::Transaction& tx, std::string_view tenant, std::string_view path);
// Marks a version deleted at `now` unless it is already.
Status SoftDeleteVersion(store::Transaction& tx, std::string_view tenant, std::string_view path,
                         std::int64_t version, std::int64_t now);
// Clears a version's deletion unless it was destroyed.
Status UndeleteVersion(store::Transaction& tx, std::string_view tenant, std::string_view path,
                       std::int64_t version);
// Drops a version's ciphertext and marks it destroyed at `now`, unless it is already.
Status DestroyVersion(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      std::int64_t version, std::int64_t now);

// ---- tenant_data_keys and wrapped_keys ----

// The tenant's highest-numbered data key.
StatusOr<std::optional<DataKeyRecord>> NewestDataKey(store::Transaction& tx,
                                                     std::string_view tenant);
// The highest data key number the tenant has (0: none).
StatusOr<std::int64_t> HighestDataKeyNumber(store::Transaction& tx, std::string_view tenant);
Status InsertDataKey(store::Transaction& tx, std::string_view tenant, std::int64_t number,
                     std::string_view key_id, std::int64_t now);
// Adds `n` to how many values the key has sealed.
Status CountSeals(store::Transaction& tx, std::string_view key_id, std::int64_t n);
struct WrappedDataKey {
  store::Value::Blob wrapped;
  std::int64_t kek_version = 0;
};
// A tenant data key as the keyring wrapped it (purpose kDataKeyPurpose).
StatusOr<std::optional<WrappedDataKey>> ReadWrappedDataKey(store::Transaction& tx,
                                                           std::string_view key_id);

// ---- data_rotation_jobs ----

// The target key of the tenant's unfinished rotation, if one is.
StatusOr<std::optional<std::string>> UnfinishedRotation(store::Transaction& tx,
                                                        std::string_view tenant);
Status InsertRotation(store::Transaction& tx, std::string_view tenant,
                      std::string_view target_key_id, std::int64_t now);
// A version still sealed under another key than the target.
struct ResealRow {
  std::string path;
  std::int64_t version = 0;
  std::string key_id;
  store::Value::Blob sealed;
};
// Up to `limit` of them, by path then version.
StatusOr<std::vector<ResealRow>> VersionsToReseal(store::Transaction& tx, std::string_view tenant,
                                                  std::string_view target_key_id,
                                                  std::int64_t limit);
// Replaces the ciphertext of a version still sealed under `old_key_id` and not destroyed.
Status ReplaceSealed(store::Transaction& tx, std::string_view tenant, std::string_view path,
                     std::int64_t version, std::string_view old_key_id,
                     std::string_view new_key_id, store::Value::Blob sealed);
Status CountResealed(store::Transaction& tx, std::string_view tenant,
                     std::string_view target_key_id, std::int64_t n);
Status FinishRotation(store::Transaction& tx, std::string_view tenant,
                      std::string_view target_key_id, std::int64_t now);
// How many versions the rotation resealed; empty if there is no such rotation.
StatusOr<std::optional<std::int64_t>> ResealedCount(store::Transaction& tx,
                                                    std::string_view tenant,
                                                    std::string_view target_key_id);

}  // namespace bulwark::secrets::vault_store
