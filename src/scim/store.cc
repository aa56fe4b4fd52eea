#include "scim/store.h"

#include <algorithm>

namespace bulwark::scim::db {
namespace {

using store::Value;

Value T(std::string_view s) { return Value::Text(std::string(s)); }

constexpr std::string_view kUserColumns =
    "id, user_id, doc, active, suspended_role, version, created, last_modified";

UserRow ToUser(const store::Row& r) {
  return UserRow{.id = r[0].as_text(),
                 .user_id = r[1].as_text(),
                 .doc = r[2].as_text(),
                 .active = r[3].as_int() != 0,
                 .suspended_role = r[4].is_null() ? "" : r[4].as_text(),
                 .version = r[5].as_int(),
                 .created = r[6].as_text(),
                 .last_modified = r[7].as_text()};
}

GroupRow ToGroup(const store::Row& r) {
  return GroupRow{.id = r[0].as_text(),
                  .doc = r[1].as_text(),
                  .version = r[2].as_int(),
                  .created = r[3].as_text(),
                  .last_modified = r[4].as_text()};
}

Value OptionalText(std::string_view s) { return s.empty() ? Value::Null() : T(s); }

StatusOr<std::optional<UserRow>> OneUser(store::Transaction& tx, std::string_view where,
                                         std::string_view tenant_id, std::string_view arg) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT " + std::string(kUserColumns) +
                              " FROM scim_users WHERE tenant_id = ? AND " + std::string(where),
                          {T(tenant_id), T(arg)}));
  if (rows.empty()) return std::optional<UserRow>();
  return std::optional<UserRow>(ToUser(rows[0]));
}

StatusOr<std::vector<std::string>> Column(store::Transaction& tx, std::string_view sql,
                                          std::string_view a, std::string_view b) {
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, {T(a), T(b)}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r[0].as_text());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Status PutToken(store::Transaction& tx, std::string_view tenant_id, std::string_view id,
                const crypto::Digest256& hash, std::string_view created_by, std::int64_t now) {
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM scim_tokens WHERE tenant_id = ?", {T(tenant_id)}).status());
  return tx
      .Exec("INSERT INTO scim_tokens(tenant_id, id, token_hash, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            {T(tenant_id), T(id), Value::Bytes(hash), T(created_by), Value::Int(now)})
      .status();
}

StatusOr<bool> DeleteToken(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(std::int64_t n,
                           tx.Exec("DELETE FROM scim_tokens WHERE tenant_id = ?", {T(tenant_id)}));
  return n > 0;
}

StatusOr<std::optional<TokenRow>> FindToken(store::Transaction& tx, std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT s.tenant_id, s.token_hash FROM scim_tokens s "
                          "JOIN tenants t ON t.id = s.tenant_id "
                          "WHERE s.id = ? AND t.deleted_at IS NULL",
                          {T(id)}));
  if (rows.empty()) return std::optional<TokenRow>();
  TokenRow row{.tenant_id = rows[0][0].as_text(), .id = std::string(id)};
  const auto& bytes = rows[0][1].as_bytes();
  if (bytes.size() != row.hash.size()) return Status::Integrity("a SCIM token hash is malformed");
  std::copy(bytes.begin(), bytes.end(), row.hash.begin());
  return std::optional<TokenRow>(std::move(row));
}

Status InsertUser(store::Transaction& tx, std::string_view tenant_id, const UserRow& row,
                  std::string_view user_name_key) {
  return tx
      .Exec("INSERT INTO scim_users(tenant_id, id, user_id, user_name_key, doc, active, "
            "suspended_role, version, created, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {T(tenant_id), T(row.id), T(row.user_id), T(user_name_key), T(row.doc),
             Value::Int(row.active ? 1 : 0), OptionalText(row.suspended_role),
             Value::Int(row.version), T(row.created), T(row.last_modified)})
      .status();
}

Status UpdateUser(store::Transaction& tx, std::string_view tenant_id, const UserRow& row,
                  std::string_view user_name_key) {
  return tx
      .Exec("UPDATE scim_users SET user_name_key = ?, doc = ?, active = ?, suspended_role = ?, "
            "version = ?, last_modified = ? WHERE tenant_id = ? AND id = ?",
            {T(user_name_key), T(row.doc), Value::Int(row.active ? 1 : 0),
             OptionalText(row.suspended_role), Value::Int(row.version), T(row.last_modified),
             T(tenant_id), T(row.id)})
      .status();
}

Status SetSuspendedRole(store::Transaction& tx, std::string_view tenant_id, std::string_view id,
                        std::string_view role) {
  return tx
      .Exec("UPDATE scim_users SET suspended_role = ? WHERE tenant_id = ? AND id = ?",
            {OptionalText(role), T(tenant_id), T(id)})
      .status();
}

StatusOr<std::optional<UserRow>> GetUser(store::Transaction& tx, std::string_view tenant_id,
                                         std::string_view id) {
  return OneUser(tx, "id = ?", tenant_id, id);
}

StatusOr<std::optional<UserRow>> FindUserByName(store::Transaction& tx,
                                                std::string_view tenant_id, std::string_view key) {
  return OneUser(tx, "user_name_key = ?", tenant_id, key);
}

StatusOr<std::optional<UserRow>> FindUserByUserId(store::Transaction& tx,
                                                  std::string_view tenant_id,
                                                  std::string_view user_id) {
  return OneUser(tx, "user_id = ?", tenant_id, user_id);
}

StatusOr<std::vector<UserRow>> ListUsers(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT " + std::string(kUserColumns) +
                              " FROM scim_users WHERE tenant_id = ? ORDER BY created, id",
                          {T(tenant_id)}));
  std::vector<UserRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(ToUser(r));
  return out;
}

Status DeleteUser(store::Transaction& tx, std::string_view tenant_id, std::string_view id) {
  return tx.Exec("DELETE FROM scim_users WHERE tenant_id = ? AND id = ?", {T(tenant_id), T(id)})
      .status();
}

Status InsertGroup(store::Transaction& tx, std::string_view tenant_id, const GroupRow& row) {
  return tx
      .Exec("INSERT INTO scim_groups(tenant_id, id, doc, version, created, last_modified) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            {T(tenant_id), T(row.id), T(row.doc), Value::Int(row.version), T(row.created),
             T(row.last_modified)})
      .status();
}

Status UpdateGroup(store::Transaction& tx, std::string_view tenant_id, const GroupRow& row) {
  return tx
      .Exec("UPDATE scim_groups SET doc = ?, version = ?, last_modified = ? "
            "WHERE tenant_id = ? AND id = ?",
            {T(row.doc), Value::Int(row.version), T(row.last_modified), T(tenant_id), T(row.id)})
      .status();
}

StatusOr<std::optional<GroupRow>> GetGroup(store::Transaction& tx, std::string_view tenant_id,
                                           std::string_view id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT id, doc, version, created, last_modified FROM scim_groups "
                          "WHERE tenant_id = ? AND id = ?",
                          {T(tenant_id), T(id)}));
  if (rows.empty()) return std::optional<GroupRow>();
  return std::optional<GroupRow>(ToGroup(rows[0]));
}

StatusOr<std::vector<GroupRow>> ListGroups(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT id, doc, version, created, last_modified FROM scim_groups "
                          "WHERE tenant_id = ? ORDER BY created, id",
                          {T(tenant_id)}));
  std::vector<GroupRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(ToGroup(r));
  return out;
}

Status DeleteGroup(store::Transaction& tx, std::string_view tenant_id, std::string_view id) {
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM scim_group_members WHERE tenant_id = ? AND group_id = ?",
              {T(tenant_id), T(id)})
          .status());
  return tx.Exec("DELETE FROM scim_groups WHERE tenant_id = ? AND id = ?", {T(tenant_id), T(id)})
      .status();
}

StatusOr<std::vector<std::string>> MembersOf(store::Transaction& tx, std::string_view tenant_id,
                                             std::string_view group_id) {
  return Column(tx,
                "SELECT member_id FROM scim_group_members WHERE tenant_id = ? AND group_id = ?",
                tenant_id, group_id);
}

Status AddGroupMember(store::Transaction& tx, std::string_view tenant_id,
                      std::string_view group_id, std::string_view member_id) {
  return tx
      .Exec("INSERT INTO scim_group_members(tenant_id, group_id, member_id) VALUES (?, ?, ?)",
            {T(tenant_id), T(group_id), T(member_id)})
      .status();
}

Status RemoveGroupMember(store::Transaction& tx, std::string_view tenant_id,
                         std::string_view group_id, std::string_view member_id) {
  return tx
      .Exec("DELETE FROM scim_group_members WHERE tenant_id = ? AND group_id = ? AND "
            "member_id = ?",
            {T(tenant_id), T(group_id), T(member_id)})
      .status();
}

StatusOr<std::vector<std::string>> GroupsOf(store::Transaction& tx, std::string_view tenant_id,
                                            std::string_view member_id) {
  return Column(tx,
                "SELECT group_id FROM scim_group_members WHERE tenant_id = ? AND member_id = ?",
                tenant_id, member_id);
}

StatusOr<std::vector<std::pair<std::string, std::string>>> AllGroupMembers(
    store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT group_id, member_id FROM scim_group_members WHERE tenant_id = ? "
                          "ORDER BY group_id, member_id",
                          {T(tenant_id)}));
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.emplace_back(r[0].as_text(), r[1].as_text());
  return out;
}

Status ForgetMember(store::Transaction& tx, std::string_view tenant_id,
                    std::string_view member_id) {
  return tx
      .Exec("DELETE FROM scim_group_members WHERE tenant_id = ? AND member_id = ?",
            {T(tenant_id), T(member_id)})
      .status();
}

}  // namespace bulwark::scim::db
