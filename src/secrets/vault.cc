#include "secrets/vault.h"

#include <algorithm>
#include <boost/json/parse.hpp>

#include "core/clock.h"
#include "crypto/aead.h"
#include "crypto/hash.h"

namespace bulwark::secrets {
namespace {

using store::Value;

constexpr std::size_t kMaxCachedDataKeys = 4096;
// Current rows held in memory: at most this many, each sealing at most this many bytes (larger
// values are read from the store every time), so with their keys (tenant and path) and metadata
// the rows take at most ~50 MB.
constexpr std::size_t kMaxCurrentRows = 10'000;
constexpr std::size_t kMaxCurrentRowSealedBytes = 4096;

std::string CurrentRowKey(std::string_view tenant, std::string_view path) {
  std::string key;
  key.reserve(tenant.size() + 1 + path.size());
  key.append(tenant).push_back('\0');
  key.append(path);
  return key;
}

Status NotFound() { return Status::NotFound("secret_not_found", "no such secret or version"); }

Value Text(std::string_view s) { return Value::Text(std::string(s)); }

}  // namespace

std::string SecretAad(std::string_view tenant, std::string_view path, std::int64_t version,
                      std::string_view key_id) {
  const std::string version_text = std::to_string(version);  // outlives the loop below
  std::string aad = "bulwark-secret-v1";
  for (std::string_view part : {tenant, path, std::string_view(version_text), key_id}) {
    aad.push_back('\0');
    aad.append(part);
  }
  return aad;
}

Vault::Vault(const keyring::Keyring& keys, VaultOptions options)
    : keys_(keys), options_(options), current_rows_(kMaxCurrentRows) {}

void Vault::ForgetCurrent(store::Transaction& tx, std::string_view tenant, std::string_view path) {
  if (options_.current_row_ttl.count() <= 0) return;
  tx.OnEnd([this, key = CurrentRowKey(tenant, path)] {
    try {
      current_rows_.Invalidate(key);
    } catch (...) {
      core::CacheGate::Process().Flush();  // out of memory: drop every kept entry instead
    }
  });
}

StatusOr<Vault::DataKey> Vault::ActiveKeyForSealing(store::Transaction& tx, std::string_view tenant,
                                                    std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT version, key_id, seals FROM tenant_data_keys "
                                    "WHERE tenant_id = ? ORDER BY version DESC LIMIT 1",
                                    {Text(tenant)}));
  std::int64_t version = 1;
  std::string key_id;
  if (!rows.empty() && rows[0][2].as_int() < options_.max_seals_per_key) {
    version = rows[0][0].as_int();
    key_id = rows[0][1].as_text();
  } else {
    if (!rows.empty()) version = rows[0][0].as_int() + 1;  // the old key has sealed enough
    key_id = "tenant-data:" + std::string(tenant) + ":" + std::to_string(version);
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO tenant_data_keys(tenant_id, version, key_id, created_at) "
                "VALUES (?, ?, ?, ?)",
                {Text(tenant), Value::Int(version), Value::Text(key_id), Value::Int(now)})
            .status());
  }
  BULWARK_RETURN_IF_ERROR(tx.Exec("UPDATE tenant_data_keys SET seals = seals + 1 WHERE key_id = ?",
                                  {Value::Text(key_id)})
                              .status());
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                           keys_.GetOrCreateKey(tx, key_id, "tenant_data", 32));
  return DataKey{.key_id = std::move(key_id), .key = std::move(key)};
}

std::shared_ptr<const crypto::SecretBytes> Vault::HeldKey(std::string_view key_id) {
  std::lock_guard lock(key_cache_mu_);
  auto it = key_cache_.find(std::string(key_id));
  return it == key_cache_.end() ? nullptr : it->second;
}

StatusOr<std::shared_ptr<const crypto::SecretBytes>> Vault::KeyById(store::Transaction& tx,
                                                                    std::string_view key_id) {
  if (auto held = HeldKey(key_id)) return held;
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT wrapped, kek_version FROM wrapped_keys WHERE id = ? AND "
                          "purpose = ?",
                          {Text(key_id), Value::Text("tenant_data")}));
  if (rows.empty()) return Status::Integrity("a secret's data key is missing");
  const std::int64_t kek_version = rows[0][1].as_int();
  if (kek_version > static_cast<std::int64_t>(keys_.kek_version())) {
    // Re-wrapped by a master key rotation this process has not reloaded yet: not damage.
    return Status::Unavailable("master_key_reload_required",
                               "the master key was rotated; this server must reload it");
  }
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                           keys_.Unwrap(rows[0][0].as_bytes(), key_id, "tenant_data"));
  auto shared = std::make_shared<const crypto::SecretBytes>(std::move(key));
  std::lock_guard lock(key_cache_mu_);
  if (key_cache_.size() >= kMaxCachedDataKeys) key_cache_.clear();
  key_cache_.emplace(std::string(key_id), shared);
  return shared;
}

StatusOr<VersionInfo> Vault::Put(store::Transaction& tx, std::string_view tenant,
                                 std::string_view path, std::string_view json_object,
                                 std::optional<std::int64_t> cas, std::string_view actor,
                                 std::int64_t now) {
  ForgetCurrent(tx, tenant, path);
  if (json_object.size() > options_.max_value_bytes) {
    return Status::InvalidArgument("invalid_value", "the secret value is larger than the limit");
  }
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(json_object, ec);
  if (ec || !parsed.is_object())
    return Status::InvalidArgument("invalid_value", "a secret value is a JSON object");
  BULWARK_ASSIGN_OR_RETURN(const std::optional<SecretHead> head, Head(tx, tenant, path));
  const std::int64_t current = head ? head->current_version : 0;
  const std::int64_t max_versions = head ? head->max_versions : options_.default_max_versions;
  if (head && head->cas_required && !cas) {
    return Status::Conflict("cas_required", "this secret requires check-and-set (cas)");
  }
  if (cas && *cas != current) {
    return Status::Conflict("cas_mismatch",
                            "check-and-set version does not match the current version");
  }
  const std::int64_t version = current + 1;
  if (!head) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO secrets(tenant_id, path, current_version, max_versions, created_at, "
                "created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                {Text(tenant), Text(path), Value::Int(version), Value::Int(max_versions),
                 Value::Int(now), Text(actor), Value::Int(now), Text(actor)})
            .status());
  } else {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secrets SET current_version = ?, updated_at = ?, updated_by = ? "
                "WHERE tenant_id = ? AND path = ?",
                {Value::Int(version), Value::Int(now), Text(actor), Text(tenant), Text(path)})
            .status());
  }
  BULWARK_ASSIGN_OR_RETURN(DataKey key, ActiveKeyForSealing(tx, tenant, now));
  const std::string aad = SecretAad(tenant, path, version, key.key_id);
  BULWARK_ASSIGN_OR_RETURN(
      auto sealed,
      crypto::SealRandomNonce(key.key, crypto::AsBytes(json_object), crypto::AsBytes(aad)));
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO secret_versions(tenant_id, path, version, data_key_id, sealed, "
              "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
              {Text(tenant), Text(path), Value::Int(version), Value::Text(key.key_id),
               Value::Bytes(std::move(sealed)), Value::Int(now), Text(actor)})
          .status());
  // Keep at most max_versions: older ones go for good, as in Vault.
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM secret_versions WHERE tenant_id = ? AND path = ? AND version <= ?",
              {Text(tenant), Text(path), Value::Int(version - max_versions)})
          .status());
  return VersionInfo{.version = version, .created_at = now, .created_by = std::string(actor)};
}

StatusOr<std::shared_ptr<const Vault::StoredVersion>> Vault::Load(
    store::Transaction& tx, std::string_view tenant, std::string_view path,
    std::optional<std::int64_t> version) {
  // The same columns either way; the current version is found through its head in one query.
  store::Rows rows;
  if (version && *version > 0) {
    BULWARK_ASSIGN_OR_RETURN(
        rows, tx.Query("SELECT v.version, v.data_key_id, v.sealed, v.created_at, v.created_by, "
                       "v.deleted_at, v.destroyed_at, s.delete_version_after FROM secret_versions v "
                       "JOIN secrets s ON s.tenant_id = v.tenant_id AND s.path = v.path "
                       "WHERE v.tenant_id = ? AND v.path = ? AND v.version = ?",
                       {Text(tenant), Text(path), Value::Int(*version)}));
  } else {
    BULWARK_ASSIGN_OR_RETURN(
        rows, tx.Query("SELECT v.version, v.data_key_id, v.sealed, v.created_at, v.created_by, "
                       "v.deleted_at, v.destroyed_at, s.delete_version_after "
                       "FROM secrets s JOIN secret_versions v "
                       "ON v.tenant_id = s.tenant_id AND v.path = s.path "
                       "AND v.version = s.current_version WHERE s.tenant_id = ? AND s.path = ?",
                       {Text(tenant), Text(path)}));
  }
  if (rows.empty() || !rows[0][5].is_null() || !rows[0][6].is_null() || rows[0][2].is_null())
    return NotFound();
  const auto& r = rows[0];
  const std::int64_t after = r[7].as_int();
  auto stored = std::make_shared<const StoredVersion>(
      StoredVersion{.version = r[0].as_int(),
                    .key_id = r[1].as_text(),
                    .sealed = r[2].as_bytes(),
                    .created_at = r[3].as_int(),
                    .created_by = r[4].as_text(),
                    .expires_at = after > 0 ? r[3].as_int() + after : 0,
                    .read_at = std::chrono::steady_clock::now()});
  if (Expired(*stored)) return NotFound();
  return stored;
}

bool Vault::Expired(const StoredVersion& stored) {
  return stored.expires_at != 0 && stored.expires_at <= core::NowUnixSeconds();
}

StatusOr<SecretValue> Vault::Open(const crypto::SecretBytes& key, std::string_view tenant,
                                  std::string_view path, const StoredVersion& stored) {
  const std::string aad = SecretAad(tenant, path, stored.version, stored.key_id);
  auto plain = crypto::OpenRandomNonce(key, stored.sealed, crypto::AsBytes(aad));
  if (!plain.ok()) return Status::Integrity("a secret version failed its integrity check");
  return SecretValue{.data = std::move(*plain),
                     .version = {.version = stored.version,
                                 .created_at = stored.created_at,
                                 .created_by = stored.created_by}};
}

StatusOr<SecretValue> Vault::Get(store::Transaction& tx, std::string_view tenant,
                                 std::string_view path, std::optional<std::int64_t> version) {
  BULWARK_ASSIGN_OR_RETURN(auto stored, Load(tx, tenant, path, version));
  BULWARK_ASSIGN_OR_RETURN(auto key, KeyById(tx, stored->key_id));
  return Open(*key, tenant, path, *stored);
}

StatusOr<SecretValue> Vault::Read(store::Store& store, std::string_view tenant,
                                  std::string_view path, std::optional<std::int64_t> version) {
  if ((version && *version > 0) || options_.current_row_ttl.count() <= 0) {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
    return Get(*tx, tenant, path, version);
  }
  const std::string row_key = CurrentRowKey(tenant, path);
  // Taken before the transaction below reads anything: its snapshot then holds every change
  // whose drop this epoch has counted, so a row it loads from before a later change is refused.
  const std::uint64_t epoch = current_rows_.Epoch();
  if (auto kept = current_rows_.Find(row_key);
      kept && std::chrono::steady_clock::now() - (*kept)->read_at < options_.current_row_ttl) {
    if (Expired(**kept)) return NotFound();
    // No transaction unless the data key is not held yet.
    auto key = HeldKey((*kept)->key_id);
    if (!key) {
      BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
      BULWARK_ASSIGN_OR_RETURN(key, KeyById(*tx, (*kept)->key_id));
    }
    return Open(*key, tenant, path, **kept);
  }
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto stored, Load(*tx, tenant, path, version));
  BULWARK_ASSIGN_OR_RETURN(auto key, KeyById(*tx, stored->key_id));
  BULWARK_ASSIGN_OR_RETURN(SecretValue value, Open(*key, tenant, path, *stored));
  // Kept only once it has opened: a row that fails is read, and fails, every time.
  if (stored->sealed.size() <= kMaxCurrentRowSealedBytes) {
    current_rows_.Insert(row_key, stored, epoch);
  }
  return value;
}

StatusOr<SecretMetadata> Vault::Metadata(store::Transaction& tx, std::string_view tenant,
                                         std::string_view path) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT current_version, max_versions, cas_required, custom_metadata, "
                          "created_at, created_by, updated_at, updated_by, delete_version_after "
                          "FROM secrets "
                          "WHERE tenant_id = ? AND path = ?",
                          {Text(tenant), Text(path)}));
  if (rows.empty()) return NotFound();
  const std::int64_t now = core::NowUnixSeconds();
  const auto& r = rows[0];
  SecretMetadata m{.path = std::string(path),
                   .current_version = r[0].as_int(),
                   .max_versions = r[1].as_int(),
                   .cas_required = r[2].as_int() != 0,
                   .delete_version_after = r[8].as_int(),
                   .custom_metadata = r[3].as_text(),
                   .created_at = r[4].as_int(),
                   .created_by = r[5].as_text(),
                   .updated_at = r[6].as_int(),
                   .updated_by = r[7].as_text()};
  BULWARK_ASSIGN_OR_RETURN(
      auto versions, tx.Query("SELECT version, created_at, created_by, deleted_at, destroyed_at "
                              "FROM secret_versions WHERE tenant_id = ? AND path = ? "
                              "ORDER BY version",
                              {Text(tenant), Text(path)}));
  for (const auto& v : versions) {
    VersionInfo info{.version = v[0].as_int(),
                     .created_at = v[1].as_int(),
                     .created_by = v[2].as_text(),
                     .destroyed = !v[4].is_null()};
    if (!v[3].is_null()) info.deleted_at = v[3].as_int();
    // A version past delete_version_after is deleted since the moment it expired.
    if (const std::int64_t expires = info.created_at + m.delete_version_after;
        !info.deleted_at && !info.destroyed && m.delete_version_after > 0 && expires <= now) {
      info.deleted_at = expires;
    }
    m.versions.push_back(std::move(info));
  }
  m.oldest_version = m.versions.empty() ? 0 : m.versions.front().version;
  return m;
}

Status Vault::SoftDelete(store::Transaction& tx, std::string_view tenant, std::string_view path,
                         std::vector<std::int64_t> versions, std::int64_t now) {
  ForgetCurrent(tx, tenant, path);
  if (versions.empty()) {
    BULWARK_ASSIGN_OR_RETURN(const std::optional<SecretHead> head, Head(tx, tenant, path));
    if (!head) return NotFound();
    versions.push_back(head->current_version);
  }
  for (std::int64_t v : versions) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secret_versions SET deleted_at = ? WHERE tenant_id = ? AND path = ? "
                "AND version = ? AND deleted_at IS NULL",
                {Value::Int(now), Text(tenant), Text(path), Value::Int(v)})
            .status());
  }
  return Status::Ok();
}

Status Vault::Undelete(store::Transaction& tx, std::string_view tenant, std::string_view path,
                       const std::vector<std::int64_t>& versions) {
  ForgetCurrent(tx, tenant, path);
  for (std::int64_t v : versions) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secret_versions SET deleted_at = NULL WHERE tenant_id = ? AND path = ? "
                "AND version = ? AND destroyed_at IS NULL",
                {Text(tenant), Text(path), Value::Int(v)})
            .status());
  }
  return Status::Ok();
}

Status Vault::Destroy(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      const std::vector<std::int64_t>& versions, std::int64_t now) {
  ForgetCurrent(tx, tenant, path);
  for (std::int64_t v : versions) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secret_versions SET sealed = NULL, destroyed_at = ? "
                "WHERE tenant_id = ? AND path = ? AND version = ? AND destroyed_at IS NULL",
                {Value::Int(now), Text(tenant), Text(path), Value::Int(v)})
            .status());
  }
  return Status::Ok();
}

StatusOr<std::string> Vault::StartDataRotation(store::Transaction& tx, std::string_view tenant,
                                               std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(
      auto open, tx.Query("SELECT target_key_id FROM data_rotation_jobs WHERE tenant_id = ? AND "
                          "finished_at IS NULL",
                          {Text(tenant)}));
  if (!open.empty()) return open[0][0].as_text();  // resume
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT COALESCE(MAX(version), 0) FROM tenant_data_keys WHERE tenant_id = ?",
               {Text(tenant)}));
  const std::int64_t version = rows[0][0].as_int() + 1;
  const std::string key_id = "tenant-data:" + std::string(tenant) + ":" + std::to_string(version);
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO tenant_data_keys(tenant_id, version, key_id, "
              "created_at) VALUES (?, ?, ?, ?)",
              {Text(tenant), Value::Int(version), Value::Text(key_id), Value::Int(now)})
          .status());
  BULWARK_RETURN_IF_ERROR(keys_.GetOrCreateKey(tx, key_id, "tenant_data", 32).status());
  BULWARK_RETURN_IF_ERROR(tx.Exec("INSERT INTO data_rotation_jobs(tenant_id, target_key_id, "
                                  "started_at) VALUES (?, ?, ?)",
                                  {Text(tenant), Value::Text(key_id), Value::Int(now)})
                              .status());
  return key_id;
}

StatusOr<std::int64_t> Vault::ResealBatch(store::Transaction& tx, std::string_view tenant,
                                          std::string_view target_key_id, std::int64_t limit) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT path, version, data_key_id, sealed FROM secret_versions "
                          "WHERE tenant_id = ? AND data_key_id <> ? AND sealed IS NOT NULL "
                          "ORDER BY path, version LIMIT ?",
                          {Text(tenant), Text(target_key_id), Value::Int(limit)}));
  if (rows.empty()) return std::int64_t{0};
  BULWARK_ASSIGN_OR_RETURN(auto target, KeyById(tx, target_key_id));
  std::string old_id;
  std::shared_ptr<const crypto::SecretBytes> old_key;
  const std::string* forgotten = nullptr;  // rows come by path: one drop per path, not version
  for (const auto& r : rows) {
    const std::string& path = r[0].as_text();
    const std::int64_t version = r[1].as_int();
    if (forgotten == nullptr || *forgotten != path) {
      ForgetCurrent(tx, tenant, path);
      forgotten = &path;
    }
    if (r[2].as_text() != old_id) {
      BULWARK_ASSIGN_OR_RETURN(old_key, KeyById(tx, r[2].as_text()));
      old_id = r[2].as_text();
    }
    auto plain = crypto::OpenRandomNonce(*old_key, r[3].as_bytes(),
                                         crypto::AsBytes(SecretAad(tenant, path, version, old_id)));
    if (!plain.ok()) return Status::Integrity("a secret version failed its integrity check");
    BULWARK_ASSIGN_OR_RETURN(
        auto sealed,
        crypto::SealRandomNonce(*target, plain->reveal_span(),
                                crypto::AsBytes(SecretAad(tenant, path, version, target_key_id))));
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secret_versions SET sealed = ?, data_key_id = ? WHERE tenant_id = ? AND "
                "path = ? AND version = ? AND data_key_id = ? AND sealed IS NOT NULL AND "
                "destroyed_at IS NULL",
                {Value::Bytes(std::move(sealed)), Text(target_key_id), Text(tenant), Text(path),
                 Value::Int(version), Value::Text(old_id)})
            .status());
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  BULWARK_RETURN_IF_ERROR(tx.Exec("UPDATE tenant_data_keys SET seals = seals + ? WHERE key_id = ?",
                                  {Value::Int(n), Text(target_key_id)})
                              .status());
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("UPDATE data_rotation_jobs SET resealed = resealed + ? WHERE tenant_id = ? AND "
              "target_key_id = ?",
              {Value::Int(n), Text(tenant), Text(target_key_id)})
          .status());
  return n;
}

StatusOr<std::int64_t> Vault::FinishDataRotation(store::Transaction& tx, std::string_view tenant,
                                                 std::string_view target_key_id, std::int64_t now) {
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("UPDATE data_rotation_jobs SET finished_at = ? WHERE tenant_id = ? AND "
              "target_key_id = ? AND finished_at IS NULL",
              {Value::Int(now), Text(tenant), Text(target_key_id)})
          .status());
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT resealed FROM data_rotation_jobs WHERE tenant_id = ? AND "
                          "target_key_id = ?",
                          {Text(tenant), Text(target_key_id)}));
  if (rows.empty()) return Status::NotFound("rotation_not_found", "no such data-key rotation");
  return rows[0][0].as_int();
}

Status Vault::UpdateMetadata(store::Transaction& tx, std::string_view tenant, std::string_view path,
                             const MetadataUpdate& update, std::string_view actor,
                             std::int64_t now) {
  ForgetCurrent(tx, tenant, path);
  const auto invalid = [](std::string_view why) {
    return Status::InvalidArgument("invalid_metadata", std::string(why));
  };
  if (update.max_versions && (*update.max_versions < 0 || *update.max_versions > kMaxVersionsLimit))
    return invalid("max_versions is between 0 (the default) and 1000");
  if (update.delete_version_after && *update.delete_version_after < 0)
    return invalid("delete_version_after is a duration of 0 (never) or more");
  if (update.custom_metadata) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(*update.custom_metadata, ec);
    if (ec || !v.is_object()) return invalid("custom_metadata is a JSON object");
    if (v.as_object().size() > kMaxCustomMetadataKeys)
      return invalid("custom_metadata has at most 64 members");
    for (const auto& kv : v.as_object()) {
      if (kv.key().empty() || kv.key().size() > kMaxCustomMetadataKeyBytes ||
          !kv.value().is_string() || kv.value().as_string().size() > kMaxCustomMetadataValueBytes) {
        return invalid(
            "custom_metadata members are strings; keys of 1-128 bytes, values up to 512 bytes");
      }
    }
  }
  BULWARK_ASSIGN_OR_RETURN(const std::optional<SecretHead> head, Head(tx, tenant, path));
  const std::int64_t max_versions = EffectiveMaxVersions(update);
  if (!head) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO secrets(tenant_id, path, current_version, max_versions, cas_required, "
                "delete_version_after, custom_metadata, created_at, created_by, updated_at, "
                "updated_by) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                {Text(tenant), Text(path), Value::Int(max_versions),
                 Value::Int(update.cas_required.value_or(false) ? 1 : 0),
                 Value::Int(update.delete_version_after.value_or(0)),
                 Value::Text(update.custom_metadata.value_or("{}")), Value::Int(now), Text(actor),
                 Value::Int(now), Text(actor)})
            .status());
    return Status::Ok();
  }
  if (update.max_versions) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secrets SET max_versions = ? WHERE tenant_id = ? AND path = ?",
                {Value::Int(max_versions), Text(tenant), Text(path)})
            .status());
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM secret_versions WHERE tenant_id = ? AND path = ? AND version <= ?",
                {Text(tenant), Text(path), Value::Int(head->current_version - max_versions)})
            .status());
  }
  if (update.cas_required) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secrets SET cas_required = ? WHERE tenant_id = ? AND path = ?",
                {Value::Int(*update.cas_required ? 1 : 0), Text(tenant), Text(path)})
            .status());
  }
  if (update.delete_version_after) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secrets SET delete_version_after = ? WHERE tenant_id = ? AND path = ?",
                {Value::Int(*update.delete_version_after), Text(tenant), Text(path)})
            .status());
  }
  if (update.custom_metadata) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE secrets SET custom_metadata = ? WHERE tenant_id = ? AND path = ?",
                {Value::Text(*update.custom_metadata), Text(tenant), Text(path)})
            .status());
  }
  return tx
      .Exec("UPDATE secrets SET updated_at = ?, updated_by = ? WHERE tenant_id = ? AND path = ?",
            {Value::Int(now), Text(actor), Text(tenant), Text(path)})
      .status();
}

Status Vault::DeleteAll(store::Transaction& tx, std::string_view tenant, std::string_view path) {
  ForgetCurrent(tx, tenant, path);
  BULWARK_RETURN_IF_ERROR(tx.Exec("DELETE FROM secret_versions WHERE tenant_id = ? AND path = ?",
                                  {Text(tenant), Text(path)})
                              .status());
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("DELETE FROM secrets WHERE tenant_id = ? AND path = ?", {Text(tenant), Text(path)}));
  if (n == 0) return NotFound();
  return Status::Ok();
}

std::int64_t Vault::EffectiveMaxVersions(const MetadataUpdate& update) const {
  return update.max_versions.value_or(0) > 0 ? *update.max_versions : options_.default_max_versions;
}

bool Vault::LowersMaxVersions(const SecretHead& head, const MetadataUpdate& update) const {
  if (!update.max_versions || *update.max_versions < 0 ||
      *update.max_versions > kMaxVersionsLimit) {
    return false;
  }
  return EffectiveMaxVersions(update) < head.max_versions;
}

bool Vault::ShortensExpiry(const SecretHead& head, const MetadataUpdate& update) {
  if (!update.delete_version_after || *update.delete_version_after <= 0) return false;
  return head.delete_version_after == 0 || *update.delete_version_after < head.delete_version_after;
}

StatusOr<std::optional<SecretHead>> Vault::Head(store::Transaction& tx, std::string_view tenant,
                                                std::string_view path) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT current_version, max_versions, cas_required, "
                          "delete_version_after FROM secrets "
                          "WHERE tenant_id = ? AND path = ?",
                          {Text(tenant), Text(path)}));
  if (rows.empty()) return std::optional<SecretHead>();
  return std::optional<SecretHead>(SecretHead{.current_version = rows[0][0].as_int(),
                                              .max_versions = rows[0][1].as_int(),
                                              .cas_required = rows[0][2].as_int() != 0,
                                              .delete_version_after = rows[0][3].as_int()});
}

StatusOr<std::vector<std::string>> Vault::List(store::Transaction& tx, std::string_view tenant,
                                               std::string_view prefix) {
  // The prefix is matched, and the paths sorted, byte by byte, whatever the database's collation
  // (BytewiseRange). Paths are ASCII ([A-Za-z0-9._-] and '/', ValidateSecretPath), so the range
  // holds exactly the paths that start with the prefix; starts_with below keeps anything else out
  // all the same.
  auto [lower, upper] = store::AsciiPrefixBounds(prefix);
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT path FROM secrets WHERE tenant_id = ? AND " + tx.BytewiseRange("path"),
               {Text(tenant), Value::Text(std::move(lower)), Value::Text(std::move(upper))}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    const std::string& path = r[0].as_text();
    if (path.starts_with(prefix)) out.push_back(path.substr(prefix.size()));
  }
  std::sort(out.begin(), out.end());  // std::string compares as unsigned bytes
  return out;
}

std::vector<std::string> NextLevel(const std::vector<std::string>& relative_paths) {
  std::vector<std::string> out;
  for (const std::string& p : relative_paths) {
    const auto slash = p.find('/');
    std::string shown = slash == std::string::npos ? p : p.substr(0, slash + 1);  // a folder
    // Sorted input keeps a folder's paths together (nothing sorts between "db/a" and "db/b"
    // that does not start with "db/"), so one look back removes its repeats.
    if (out.empty() || out.back() != shown) out.push_back(std::move(shown));
  }
  return out;
}

}  // namespace bulwark::secrets
