#include "secrets/vault_store.h"

namespace bulwark::secrets::vault_store {
namespace {

using store::Value;

Value Text(std::string_view s) { return Value::Text(std::string(s)); }

}  // namespace

StatusOr<std::optional<SecretHead>> ReadHead(store::Transaction& tx, std::string_view tenant,
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

StatusOr<std::optional<SecretMetadata>> ReadMetadata(store::Transaction& tx,
                                                     std::string_view tenant,
                                                     std::string_view path) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT current_version, max_versions, cas_required, custom_metadata, "
                          "created_at, created_by, updated_at, updated_by, delete_version_after "
                          "FROM secrets "
                          "WHERE tenant_id = ? AND path = ?",
                          {Text(tenant), Text(path)}));
  if (rows.empty()) return std::optional<SecretMetadata>();
  const auto& r = rows[0];
  return std::optional<SecretMetadata>(SecretMetadata{.path = std::string(path),
                                                      .current_version = r[0].as_int(),
                                                      .max_versions = r[1].as_int(),
                                                      .cas_required = r[2].as_int() != 0,
                                                      .delete_version_after = r[8].as_int(),
                                                      .custom_metadata = r[3].as_text(),
                                                      .created_at = r[4].as_int(),
                                                      .created_by = r[5].as_text(),
                                                      .updated_at = r[6].as_int(),
                                                      .updated_by = r[7].as_text()});
}

Status InsertSecret(store::Transaction& tx, std::string_view tenant, std::string_view path,
                    std::int64_t version, std::int64_t max_versions, std::string_view actor,
                    std::int64_t now) {
  return tx
      .Exec("INSERT INTO secrets(tenant_id, path, current_version, max_versions, created_at, "
            "created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            {Text(tenant), Text(path), Value::Int(version), Value::Int(max_versions),
             Value::Int(now), Text(actor), Value::Int(now), Text(actor)})
      .status();
}

Status AdvanceSecret(store::Transaction& tx, std::string_view tenant, std::string_view path,
                     std::int64_t version, std::string_view actor, std::int64_t now) {
  return tx
      .Exec("UPDATE secrets SET current_version = ?, updated_at = ?, updated_by = ? "
            "WHERE tenant_id = ? AND path = ?",
            {Value::Int(version), Value::Int(now), Text(actor), Text(tenant), Text(path)})
      .status();
}

Status InsertSettings(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      std::int64_t max_versions, bool cas_required,
                      std::int64_t delete_version_after, std::string_view custom_metadata,
                      std::string_view actor, std::int64_t now) {
  return tx
      .Exec("INSERT INTO secrets(tenant_id, path, current_version, max_versions, cas_required, "
            "delete_version_after, custom_metadata, created_at, created_by, updated_at, "
            "updated_by) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
            {Text(tenant), Text(path), Value::Int(max_versions), Value::Int(cas_required ? 1 : 0),
             Value::Int(delete_version_after), Text(custom_metadata), Value::Int(now),
             Text(actor), Value::Int(now), Text(actor)})
      .status();
}

Status SetMaxVersions(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      std::int64_t max_versions) {
  return tx
      .Exec("UPDATE secrets SET max_versions = ? WHERE tenant_id = ? AND path = ?",
            {Value::Int(max_versions), Text(tenant), Text(path)})
      .status();
}

Status SetCasRequired(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      bool cas_required) {
  return tx
      .Exec("UPDATE secrets SET cas_required = ? WHERE tenant_id = ? AND path = ?",
            {Value::Int(cas_required ? 1 : 0), Text(tenant), Text(path)})
      .status();
}

Status SetDeleteVersionAfter(store::Transaction& tx, std::string_view tenant,
                             std::string_view path, std::int64_t seconds) {
  return tx
      .Exec("UPDATE secrets SET delete_version_after = ? WHERE tenant_id = ? AND path = ?",
            {Value::Int(seconds), Text(tenant), Text(path)})
      .status();
}

Status SetCustomMetadata(store::Transaction& tx, std::string_view tenant, std::string_view path,
                         std::string_view custom_metadata) {
  return tx
      .Exec("UPDATE secrets SET custom_metadata = ? WHERE tenant_id = ? AND path = ?",
            {Text(custom_metadata), Text(tenant), Text(path)})
      .status();
}

Status SetUpdated(store::Transaction& tx, std::string_view tenant, std::string_view path,
                  std::string_view actor, std::int64_t now) {
  return tx
      .Exec("UPDATE secrets SET updated_at = ?, updated_by = ? WHERE tenant_id = ? AND path = ?",
            {Value::Int(now), Text(actor), Text(tenant), Text(path)})
      .status();
}

StatusOr<std::int64_t> DeleteSecret(store::Transaction& tx, std::string_view tenant,
                                    std::string_view path) {
  return tx.Exec("DELETE FROM secrets WHERE tenant_id = ? AND path = ?",
                 {Text(tenant), Text(path)});
}

StatusOr<std::vector<std::string>> PathsInRange(store::Transaction& tx, std::string_view tenant,
                                                std::string lower, std::string upper) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT path FROM secrets WHERE tenant_id = ? AND " + tx.BytewiseRange("path"),
               {Text(tenant), Value::Text(std::move(lower)), Value::Text(std::move(upper))}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(r[0].as_text());
  return out;
}

StatusOr<std::optional<VersionRow>> ReadVersion(store::Transaction& tx, std::string_view tenant,
                                                std::string_view path,
                                                std::optional<std::int64_t> version) {
  // The same columns either way; the current version is found through its head in one query.
  store::Rows rows;
  if (version) {
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
  if (rows.empty()) return std::optional<VersionRow>();
  const auto& r = rows[0];
  VersionRow row{.version = r[0].as_int(),
                 .key_id = r[1].as_text(),
                 .created_at = r[3].as_int(),
                 .created_by = r[4].as_text(),
                 .deleted = !r[5].is_null(),
                 .destroyed = !r[6].is_null(),
                 .delete_version_after = r[7].as_int()};
  if (!r[2].is_null()) row.sealed = r[2].as_bytes();
  return std::optional<VersionRow>(std::move(row));
}

StatusOr<std::vector<VersionInfo>> ReadVersions(store::Transaction& tx, std::string_view tenant,
                                                std::string_view path) {
  BULWARK_ASSIGN_OR_RETURN(
      auto versions, tx.Query("SELECT version, created_at, created_by, deleted_at, destroyed_at "
                              "FROM secret_versions WHERE tenant_id = ? AND path = ? "
                              "ORDER BY version",
                              {Text(tenant), Text(path)}));
  std::vector<VersionInfo> out;
  out.reserve(versions.size());
  for (const auto& v : versions) {
    VersionInfo info{.version = v[0].as_int(),
                     .created_at = v[1].as_int(),
                     .created_by = v[2].as_text(),
                     .destroyed = !v[4].is_null()};
    if (!v[3].is_null()) info.deleted_at = v[3].as_int();
    out.push_back(std::move(info));
  }
  return out;
}

Status InsertVersion(store::Transaction& tx, std::string_view tenant, std::string_view path,
                     NewVersion row) {
  return tx
      .Exec("INSERT INTO secret_versions(tenant_id, path, version, data_key_id, sealed, "
            "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            {Text(tenant), Text(path), Value::Int(row.version), Text(row.key_id),
             Value::Bytes(std::move(row.sealed)), Value::Int(row.now), Text(row.actor)})
      .status();
}

Status PruneVersions(store::Transaction& tx, std::string_view tenant, std::string_view path,
                     std::int64_t up_to) {
  return tx
      .Exec("DELETE FROM secret_versions WHERE tenant_id = ? AND path = ? AND version <= ?",
            {Text(tenant), Text(path), Value::Int(up_to)})
      .status();
}

Status DeleteVersions(store::Transaction& tx, std::string_view tenant, std::string_view path) {
  return tx
      .Exec("DELETE FROM secret_versions WHERE tenant_id = ? AND path = ?",
            {Text(tenant), Text(path)})
      .status();
}

Status SoftDeleteVersion(store::Transaction& tx, std::string_view tenant, std::string_view path,
                         std::int64_t version, std::int64_t now) {
  return tx
      .Exec("UPDATE secret_versions SET deleted_at = ? WHERE tenant_id = ? AND path = ? "
            "AND version = ? AND deleted_at IS NULL",
            {Value::Int(now), Text(tenant), Text(path), Value::Int(version)})
      .status();
}

Status UndeleteVersion(store::Transaction& tx, std::string_view tenant, std::string_view path,
                       std::int64_t version) {
  return tx
      .Exec("UPDATE secret_versions SET deleted_at = NULL WHERE tenant_id = ? AND path = ? "
            "AND version = ? AND destroyed_at IS NULL",
            {Text(tenant), Text(path), Value::Int(version)})
      .status();
}

Status DestroyVersion(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      std::int64_t version, std::int64_t now) {
  return tx
      .Exec("UPDATE secret_versions SET sealed = NULL, destroyed_at = ? "
            "WHERE tenant_id = ? AND path = ? AND version = ? AND destroyed_at IS NULL",
            {Value::Int(now), Text(tenant), Text(path), Value::Int(version)})
      .status();
}

StatusOr<std::optional<DataKeyRecord>> NewestDataKey(store::Transaction& tx,
                                                     std::string_view tenant) {
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT version, key_id, seals FROM tenant_data_keys "
                                    "WHERE tenant_id = ? ORDER BY version DESC LIMIT 1",
                                    {Text(tenant)}));
  if (rows.empty()) return std::optional<DataKeyRecord>();
  return std::optional<DataKeyRecord>(DataKeyRecord{.number = rows[0][0].as_int(),
                                                    .key_id = rows[0][1].as_text(),
                                                    .seals = rows[0][2].as_int()});
}

StatusOr<std::int64_t> HighestDataKeyNumber(store::Transaction& tx, std::string_view tenant) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT COALESCE(MAX(version), 0) FROM tenant_data_keys WHERE tenant_id = ?",
               {Text(tenant)}));
  return rows[0][0].as_int();
}

Status InsertDataKey(store::Transaction& tx, std::string_view tenant, std::int64_t number,
                     std::string_view key_id, std::int64_t now) {
  return tx
      .Exec("INSERT INTO tenant_data_keys(tenant_id, version, key_id, created_at) "
            "VALUES (?, ?, ?, ?)",
            {Text(tenant), Value::Int(number), Text(key_id), Value::Int(now)})
      .status();
}

Status CountSeals(store::Transaction& tx, std::string_view key_id, std::int64_t n) {
  return tx
      .Exec("UPDATE tenant_data_keys SET seals = seals + ? WHERE key_id = ?",
            {Value::Int(n), Text(key_id)})
      .status();
}

StatusOr<std::optional<WrappedDataKey>> ReadWrappedDataKey(store::Transaction& tx,
                                                           std::string_view key_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT wrapped, kek_version FROM wrapped_keys WHERE id = ? AND "
                          "purpose = ?",
                          {Text(key_id), Text(kDataKeyPurpose)}));
  if (rows.empty()) return std::optional<WrappedDataKey>();
  return std::optional<WrappedDataKey>(
      WrappedDataKey{.wrapped = rows[0][0].as_bytes(), .kek_version = rows[0][1].as_int()});
}

StatusOr<std::optional<std::string>> UnfinishedRotation(store::Transaction& tx,
                                                        std::string_view tenant) {
  BULWARK_ASSIGN_OR_RETURN(
      auto open, tx.Query("SELECT target_key_id FROM data_rotation_jobs WHERE tenant_id = ? AND "
                          "finished_at IS NULL",
                          {Text(tenant)}));
  if (open.empty()) return std::optional<std::string>();
  return std::optional<std::string>(open[0][0].as_text());
}

Status InsertRotation(store::Transaction& tx, std::string_view tenant,
                      std::string_view target_key_id, std::int64_t now) {
  return tx
      .Exec("INSERT INTO data_rotation_jobs(tenant_id, target_key_id, "
            "started_at) VALUES (?, ?, ?)",
            {Text(tenant), Text(target_key_id), Value::Int(now)})
      .status();
}

StatusOr<std::vector<ResealRow>> VersionsToReseal(store::Transaction& tx, std::string_view tenant,
                                                  std::string_view target_key_id,
                                                  std::int64_t limit) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT path, version, data_key_id, sealed FROM secret_versions "
                          "WHERE tenant_id = ? AND data_key_id <> ? AND sealed IS NOT NULL "
                          "ORDER BY path, version LIMIT ?",
                          {Text(tenant), Text(target_key_id), Value::Int(limit)}));
  std::vector<ResealRow> out;
  out.reserve(rows.size());
  for (auto& r : rows) {
    out.push_back(ResealRow{.path = r[0].as_text(),
                            .version = r[1].as_int(),
                            .key_id = r[2].as_text(),
                            .sealed = r[3].as_bytes()});
  }
  return out;
}

Status ReplaceSealed(store::Transaction& tx, std::string_view tenant, std::string_view path,
                     std::int64_t version, std::string_view old_key_id,
                     std::string_view new_key_id, store::Value::Blob sealed) {
  return tx
      .Exec("UPDATE secret_versions SET sealed = ?, data_key_id = ? WHERE tenant_id = ? AND "
            "path = ? AND version = ? AND data_key_id = ? AND sealed IS NOT NULL AND "
            "destroyed_at IS NULL",
            {Value::Bytes(std::move(sealed)), Text(new_key_id), Text(tenant), Text(path),
             Value::Int(version), Text(old_key_id)})
      .status();
}

Status CountResealed(store::Transaction& tx, std::string_view tenant,
                     std::string_view target_key_id, std::int64_t n) {
  return tx
      .Exec("UPDATE data_rotation_jobs SET resealed = resealed + ? WHERE tenant_id = ? AND "
            "target_key_id = ?",
            {Value::Int(n), Text(tenant), Text(target_key_id)})
      .status();
}

Status FinishRotation(store::Transaction& tx, std::string_view tenant,
                      std::string_view target_key_id, std::int64_t now) {
  return tx
      .Exec("UPDATE data_rotation_jobs SET finished_at = ? WHERE tenant_id = ? AND "
            "target_key_id = ? AND finished_at IS NULL",
            {Value::Int(now), Text(tenant), Text(target_key_id)})
      .status();
}

StatusOr<std::optional<std::int64_t>> ResealedCount(store::Transaction& tx,
                                                    std::string_view tenant,
                                                    std::string_view target_key_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT resealed FROM data_rotation_jobs WHERE tenant_id = ? AND "
                          "target_key_id = ?",
                          {Text(tenant), Text(target_key_id)}));
  if (rows.empty()) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(rows[0][0].as_int());
}

}  // namespace bulwark::secrets::vault_store
