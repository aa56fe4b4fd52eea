#pragma once
// The secrets vault: versioned secret values sealed with per-tenant data keys.
//
// Envelope encryption: every tenant has data keys (AES-256, wrapped by the keyring's KEK in
// wrapped_keys under "tenant-data:<tenant>:<n>"). Each secret version is sealed with the
// tenant's active data key, a fresh 96-bit random nonce, and AAD binding it to its place
// (tenant, path, version, data key id), so a ciphertext copied to another row, version or tenant
// fails to open (kIntegrity "integrity_error"), never yielding another secret. The exact
// ciphertext and AAD format, and when a data key is retired for sealing, are secrets/sealer.h's:
// the vault calls it to seal (Put), open (Get, Read) and reseal (ResealBatch). Its SQL is
// secrets/vault_store.h's; this unit decides (versions, check-and-set, pruning, expiry, caching).
//
// Everything runs inside the caller's transaction (AuditWriter::Commit for changes, so each
// change and its record are durable together). Tenant and path come from the caller, which
// takes the tenant from the principal and validates the path (policy/secret_path.h).
//
//   Vault vault(keyring);
//   auto w = vault.Put(tx, tenant, "prod/db/password", R"({"password":"s3cret"})", {}, actor, now);
//   auto r = vault.Get(tx, tenant, "prod/db/password", {});   // r->data: SecretBytes
//
// Errors: kNotFound "secret_not_found" (no such path, or the version is deleted, destroyed or
// pruned; another tenant's path is simply not found); kConflict "cas_mismatch" (check-and-set);
// kInvalidArgument "invalid_value" (not a JSON object, or larger than max_value_bytes).
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/invalidated_cache.h"
#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "keyring/keyring.h"
#include "secrets/sealer.h"
#include "store/store.h"

namespace bulwark::secrets {

struct VaultOptions {
  std::size_t max_value_bytes = 512 * 1024;
  std::int64_t default_max_versions = 10;
  std::int64_t max_seals_per_key = kMaxSealsPerDataKey;  // lower only in tests
  // How long a read of a path's current version may use that version's sealed row as last read
  // from the store, kept in memory, instead of reading it again (0: always read). Whatever
  // changes a path through this Vault drops its row once the change's transaction has ended, so
  // this bounds only how long a change written by something else goes unseen: a `bulwark key
  // rotate-data` (which changes no value), or the database file edited behind the server's back
  // (a tampered row fails to open once it is read again). The row is still opened, checked and
  // decrypted on every read. The server sets it for SQLite, where it is the only writer; with
  // PostgreSQL other nodes write, so it stays 0.
  std::chrono::milliseconds current_row_ttl{0};
};

struct VersionInfo {
  std::int64_t version = 0;
  std::int64_t created_at = 0;
  std::string created_by;
  std::optional<std::int64_t> deleted_at;
  bool destroyed = false;
};

struct SecretMetadata {
  std::string path;
  std::int64_t current_version = 0;
  std::int64_t oldest_version = 0;
  std::int64_t max_versions = 0;
  bool cas_required = false;
  std::int64_t delete_version_after = 0;  // seconds; 0: versions do not expire
  std::string custom_metadata;  // a JSON object
  std::int64_t created_at = 0;
  std::string created_by;
  std::int64_t updated_at = 0;
  std::string updated_by;
  std::vector<VersionInfo> versions;  // oldest first
};

// A secret's settings row, without its versions.
struct SecretHead {
  std::int64_t current_version = 0;  // 0: metadata written, no version yet
  std::int64_t max_versions = 0;
  bool cas_required = false;
  std::int64_t delete_version_after = 0;
};

// What a metadata update changes; unset fields stay as they are.
struct MetadataUpdate {
  std::optional<std::int64_t> max_versions;  // 0: the server default; lowering it prunes at once
  std::optional<bool> cas_required;
  // Seconds after its creation that a version reads as deleted (Vault's delete_version_after);
  // 0: never. Applies to every version of the secret, those already written too.
  std::optional<std::int64_t> delete_version_after;
  std::optional<std::string> custom_metadata;  // a JSON object of string values (see below)
};

inline constexpr std::size_t kMaxCustomMetadataKeys = 64;
inline constexpr std::size_t kMaxCustomMetadataKeyBytes = 128;
inline constexpr std::size_t kMaxCustomMetadataValueBytes = 512;
inline constexpr std::int64_t kMaxVersionsLimit = 1000;

struct SecretValue {
  crypto::SecretBytes data;  // the JSON object, exactly as written
  VersionInfo version;
};

class Vault {
 public:
  explicit Vault(const keyring::Keyring& keys, VaultOptions options = {});

  // Writes a new version. `cas`: when set, the write happens only if the current version is
  // exactly *cas (0: only if the path does not exist yet); required when the secret says so.
  StatusOr<VersionInfo> Put(store::Transaction& tx, std::string_view tenant, std::string_view path,
                            std::string_view json_object, std::optional<std::int64_t> cas,
                            std::string_view actor, std::int64_t now);
  // The latest version, or `version` when given; deleted or destroyed versions are not found, nor
  // is a version older than the secret's delete_version_after (its metadata then shows it
  // deleted at the moment it expired).
  StatusOr<SecretValue> Get(store::Transaction& tx, std::string_view tenant, std::string_view path,
                            std::optional<std::int64_t> version);
  // Get for a caller that holds no transaction: the latest version may come from the row kept in
  // memory (VaultOptions::current_row_ttl), and then no transaction is begun; otherwise it reads
  // in a read transaction of its own.
  StatusOr<SecretValue> Read(store::Store& store, std::string_view tenant, std::string_view path,
                             std::optional<std::int64_t> version);
  StatusOr<SecretMetadata> Metadata(store::Transaction& tx, std::string_view tenant,
                                    std::string_view path);
  // Soft delete (recoverable), undelete, destroy (the ciphertext is gone for good). An empty
  // `versions` means the current one. Versions that do not exist are ignored, as Vault does.
  Status SoftDelete(store::Transaction& tx, std::string_view tenant, std::string_view path,
                    std::vector<std::int64_t> versions, std::int64_t now);
  Status Undelete(store::Transaction& tx, std::string_view tenant, std::string_view path,
                  const std::vector<std::int64_t>& versions);
  Status Destroy(store::Transaction& tx, std::string_view tenant, std::string_view path,
                 const std::vector<std::int64_t>& versions, std::int64_t now);
  // Changes a secret's settings, creating its metadata (with no version yet) if the path does
  // not exist. kInvalidArgument "invalid_metadata" for max_versions outside 0..1000 or custom
  // metadata that is not an object of at most 64 string members (keys up to 128 bytes, values
  // up to 512).
  Status UpdateMetadata(store::Transaction& tx, std::string_view tenant, std::string_view path,
                        const MetadataUpdate& update, std::string_view actor, std::int64_t now);
  // Whether `update` lowers the secret's max_versions, counting 0 as the server default: that
  // removes its oldest versions for good, so it is a delete. False for a value UpdateMetadata
  // refuses as invalid.
  bool LowersMaxVersions(const SecretHead& head, const MetadataUpdate& update) const;
  // Whether `update` makes versions expire sooner than `head` lets them (a delete_version_after
  // set where there was none, or shortened): every version older than it then reads as deleted,
  // at once, so it needs the same right as deleting them.
  static bool ShortensExpiry(const SecretHead& head, const MetadataUpdate& update);
  // Removes the secret: its metadata and every version.
  Status DeleteAll(store::Transaction& tx, std::string_view tenant, std::string_view path);
  // The path's settings row; nullopt when the path has none.
  StatusOr<std::optional<SecretHead>> Head(store::Transaction& tx, std::string_view tenant,
                                           std::string_view path);
  // Every path under `prefix` ("" or ending in '/'), relative to it, sorted. The caller filters
  // by what the principal may read, then folds to one level with NextLevel when it lists one.
  StatusOr<std::vector<std::string>> List(store::Transaction& tx, std::string_view tenant,
                                          std::string_view prefix);

  // The versions kept per secret whose own max_versions is 0 (VaultOptions::default_max_versions).
  std::int64_t DefaultMaxVersions() const { return options_.default_max_versions; }

  // Data-key rotation for one tenant (`bulwark key rotate-data`): every stored version is
  // resealed under a new data key, a batch per transaction, so it runs beside live traffic and a
  // crash loses nothing. StartDataRotation resumes the tenant's unfinished job if there is one,
  // else creates the next data key (from then on every new version is sealed with it) and a job
  // for it; it returns the target key id. ResealBatch reseals up to `limit` versions not yet
  // under the target (opening each with its own key and AAD, sealing with the target's) and
  // returns how many; 0 means done, and FinishDataRotation closes the job (returns the total).
  // A version that fails to open stops the job with kIntegrity; nothing of that batch is kept.
  StatusOr<std::string> StartDataRotation(store::Transaction& tx, std::string_view tenant,
                                          std::int64_t now);
  StatusOr<std::int64_t> ResealBatch(store::Transaction& tx, std::string_view tenant,
                                     std::string_view target_key_id, std::int64_t limit);
  StatusOr<std::int64_t> FinishDataRotation(store::Transaction& tx, std::string_view tenant,
                                            std::string_view target_key_id, std::int64_t now);

 private:
  // update.max_versions, with 0 (or none) as the server default.
  std::int64_t EffectiveMaxVersions(const MetadataUpdate& update) const;
  struct DataKey {
    std::string key_id;
    crypto::SecretBytes key;
  };
  // The steps of Put: the value is a JSON object within the size limit; the version to write
  // under check-and-set; the value sealed under the tenant's active data key.
  Status ValidateValue(std::string_view json_object) const;
  struct NextVersion {
    std::int64_t version = 0;
    std::int64_t max_versions = 0;
    bool first = false;  // the path has no settings row yet
  };
  StatusOr<NextVersion> CheckAndSet(store::Transaction& tx, std::string_view tenant,
                                    std::string_view path, std::optional<std::int64_t> cas);
  struct SealedValue {
    std::string key_id;
    store::Value::Blob sealed;
  };
  StatusOr<SealedValue> SealNew(store::Transaction& tx, std::string_view tenant,
                                std::string_view path, std::int64_t version,
                                std::string_view json_object, std::int64_t now);
  // The data key that seals the tenant's next value (sealer's ChooseSealingKey), made if new,
  // its seal counted.
  StatusOr<DataKey> ActiveKeyForSealing(store::Transaction& tx, std::string_view tenant,
                                        std::int64_t now);
  // A data key by id, unwrapped once and then held (a data key never changes: rotation makes a
  // new one, and a master key rotation only re-wraps it), so reads skip the lookup and unwrap,
  // and a running server keeps opening what it has read across a master key rotation.
  StatusOr<std::shared_ptr<const crypto::SecretBytes>> KeyById(store::Transaction& tx,
                                                               std::string_view key_id);
  // The data key if it is held already (null otherwise); KeyById looks here first.
  std::shared_ptr<const crypto::SecretBytes> HeldKey(std::string_view key_id);

  // One version as stored; for a path's current version, what Read keeps in memory.
  struct StoredVersion {
    std::int64_t version = 0;
    std::string key_id;
    store::Value::Blob sealed;
    std::int64_t created_at = 0;
    std::string created_by;
    std::int64_t expires_at = 0;  // created_at + delete_version_after; 0: never
    std::chrono::steady_clock::time_point read_at;
  };
  StatusOr<std::shared_ptr<const StoredVersion>> Load(store::Transaction& tx,
                                                      std::string_view tenant,
                                                      std::string_view path,
                                                      std::optional<std::int64_t> version);
  // Whether `stored` is past its secret's delete_version_after now.
  static bool Expired(const StoredVersion& stored);
  // Opens `stored` (of `tenant`'s `path`) with its data key `key`.
  static StatusOr<SecretValue> Open(const crypto::SecretBytes& key, std::string_view tenant,
                                    std::string_view path, const StoredVersion& stored);
  // Drops the path's kept row once `tx` has ended: every change to a path calls it.
  void ForgetCurrent(store::Transaction& tx, std::string_view tenant, std::string_view path);

  const keyring::Keyring& keys_;
  const VaultOptions options_;
  core::InvalidatedCache<std::shared_ptr<const StoredVersion>> current_rows_;
  std::mutex key_cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<const crypto::SecretBytes>> key_cache_;
};

// One listing level of sorted relative paths: "db/user" becomes the folder "db/" (once).
std::vector<std::string> NextLevel(const std::vector<std::string>& relative_paths);

}  // namespace bulwark::secrets
