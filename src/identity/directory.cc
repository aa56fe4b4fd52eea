#include "identity/directory.h"

#include <algorithm>

#include "identity/tokens.h"

namespace bulwark::identity::directory {
namespace {

using store::Value;

bool ValidTenantName(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

StatusOr<std::int64_t> CountOwners(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT COUNT(*) FROM memberships WHERE tenant_id = ? AND role = ?",
                          {Value::Text(std::string(tenant_id)), Value::Text("owner")}));
  return rows[0][0].as_int();
}

// The rules shared by role changes and removals: who may act on whom.
StatusOr<Member> CheckMayActOn(store::Transaction& tx, std::string_view tenant_id,
                               policy::Role actor_role, std::string_view target_user_id,
                               bool target_leaves_owner_role) {
  BULWARK_ASSIGN_OR_RETURN(auto target, GetMember(tx, tenant_id, target_user_id));
  if (!target) return Status::NotFound("member_not_found", "no such member");
  if (policy::RoleRank(target->role) > policy::RoleRank(actor_role)) {
    return Status::PermissionDenied("owner_required",
                                    "only an owner may change or remove an owner");
  }
  if (target->role == policy::Role::kOwner && target_leaves_owner_role) {
    BULWARK_ASSIGN_OR_RETURN(std::int64_t owners, CountOwners(tx, tenant_id));
    if (owners <= 1)
      return Status::PermissionDenied("last_owner", "a tenant keeps at least one owner");
  }
  return *target;
}

}  // namespace

Status CheckNewTenant(std::string_view name, std::string_view owner_email) {
  if (!ValidTenantName(name)) {
    return Status::InvalidArgument("invalid_tenant_name",
                                   "a tenant name is 1-63 of a-z, 0-9 and '-'");
  }
  return NormalizeEmail(owner_email).status();
}

StatusOr<CreatedTenant> CreateTenant(store::Transaction& tx, std::string_view name,
                                     std::string_view owner_email, std::int64_t now) {
  BULWARK_RETURN_IF_ERROR(CheckNewTenant(name, owner_email));
  BULWARK_ASSIGN_OR_RETURN(std::string email, NormalizeEmail(owner_email));
  BULWARK_ASSIGN_OR_RETURN(auto existing, tx.Query("SELECT id FROM tenants WHERE name = ?",
                                                   {Value::Text(std::string(name))}));
  if (!existing.empty()) return Status::Conflict("tenant_exists", "a tenant with this name exists");
  CreatedTenant out;
  BULWARK_ASSIGN_OR_RETURN(out.tenant_id, NewId("tnt_"));
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO tenants(id, name, created_at) VALUES (?, ?, ?)",
              {Value::Text(out.tenant_id), Value::Text(std::string(name)), Value::Int(now)})
          .status());
  BULWARK_ASSIGN_OR_RETURN(out.owner_user_id, EnsureUser(tx, email, now));
  BULWARK_RETURN_IF_ERROR(
      AddMember(tx, out.tenant_id, out.owner_user_id, policy::Role::kOwner, now));
  return out;
}

StatusOr<std::string> EnsureUser(store::Transaction& tx, std::string_view normalized_email,
                                 std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT id FROM users WHERE email = ?",
                                               {Value::Text(std::string(normalized_email))}));
  if (!rows.empty()) return rows[0][0].as_text();
  BULWARK_ASSIGN_OR_RETURN(std::string id, NewId("usr_"));
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO users(id, email, created_at) VALUES (?, ?, ?)",
              {Value::Text(id), Value::Text(std::string(normalized_email)), Value::Int(now)})
          .status());
  return id;
}

StatusOr<std::optional<std::string>> FindActiveUser(store::Transaction& tx,
                                                    std::string_view normalized_email) {
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT id FROM users WHERE email = ? AND disabled = 0",
                                    {Value::Text(std::string(normalized_email))}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows[0][0].as_text());
}

StatusOr<std::vector<std::string>> TenantsOf(store::Transaction& tx, std::string_view user_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT m.tenant_id FROM memberships m JOIN tenants t ON t.id = m.tenant_id "
               "WHERE m.user_id = ? AND t.deleted_at IS NULL ORDER BY m.tenant_id",
               {Value::Text(std::string(user_id))}));
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r[0].as_text());
  return out;
}

StatusOr<std::optional<std::string>> ResolveTenant(store::Transaction& tx,
                                                   std::string_view id_or_name) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT id FROM tenants WHERE (id = ? OR name = ?) AND deleted_at IS NULL",
               {Value::Text(std::string(id_or_name)), Value::Text(std::string(id_or_name))}));
  if (rows.size() != 1) return std::optional<std::string>();
  return std::optional<std::string>(rows[0][0].as_text());
}

StatusOr<std::vector<Member>> ListMembers(store::Transaction& tx, std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT m.user_id, u.email, m.role, m.breakglass_designated, m.created_at "
               "FROM memberships m JOIN users u ON u.id = m.user_id "
               "WHERE m.tenant_id = ? ORDER BY u.email",
               {Value::Text(std::string(tenant_id))}));
  std::vector<Member> out;
  for (const auto& r : rows) {
    out.push_back({.user_id = r[0].as_text(),
                   .email = r[1].as_text(),
                   .role = policy::ParseRole(r[2].as_text()).value_or(policy::Role::kViewer),
                   .breakglass_designated = r[3].as_int() != 0,
                   .created_at = r[4].as_int()});
  }
  return out;
}

StatusOr<std::optional<Member>> GetMember(store::Transaction& tx, std::string_view tenant_id,
                                          std::string_view user_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT m.user_id, u.email, m.role, m.breakglass_designated, m.created_at "
               "FROM memberships m JOIN users u ON u.id = m.user_id "
               "WHERE m.tenant_id = ? AND m.user_id = ?",
               {Value::Text(std::string(tenant_id)), Value::Text(std::string(user_id))}));
  if (rows.empty()) return std::optional<Member>();
  const auto& r = rows[0];
  const auto role = policy::ParseRole(r[2].as_text());
  if (!role) return Status::Integrity("a membership has an unknown role");
  return std::optional<Member>(Member{.user_id = r[0].as_text(),
                                      .email = r[1].as_text(),
                                      .role = *role,
                                      .breakglass_designated = r[3].as_int() != 0,
                                      .created_at = r[4].as_int()});
}

Status AddMember(store::Transaction& tx, std::string_view tenant_id, std::string_view user_id,
                 policy::Role role, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(auto existing, GetMember(tx, tenant_id, user_id));
  if (existing) return Status::Conflict("already_member", "already a member of this tenant");
  return tx
      .Exec("INSERT INTO memberships(tenant_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
            {Value::Text(std::string(tenant_id)), Value::Text(std::string(user_id)),
             Value::Text(std::string(policy::RoleName(role))), Value::Int(now)})
      .status();
}

Status ChangeRole(store::Transaction& tx, std::string_view tenant_id, policy::Role actor_role,
                  std::string_view target_user_id, policy::Role new_role) {
  if (policy::RoleRank(new_role) > policy::RoleRank(actor_role)) {
    return Status::PermissionDenied("owner_required", "only an owner may make an owner");
  }
  BULWARK_RETURN_IF_ERROR(
      CheckMayActOn(tx, tenant_id, actor_role, target_user_id, new_role != policy::Role::kOwner)
          .status());
  return tx
      .Exec("UPDATE memberships SET role = ? WHERE tenant_id = ? AND user_id = ?",
            {Value::Text(std::string(policy::RoleName(new_role))),
             Value::Text(std::string(tenant_id)), Value::Text(std::string(target_user_id))})
      .status();
}

Status RemoveMember(store::Transaction& tx, std::string_view tenant_id, policy::Role actor_role,
                    std::string_view target_user_id) {
  BULWARK_RETURN_IF_ERROR(CheckMayActOn(tx, tenant_id, actor_role, target_user_id, true).status());
  return tx
      .Exec("DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?",
            {Value::Text(std::string(tenant_id)), Value::Text(std::string(target_user_id))})
      .status();
}

}  // namespace bulwark::identity::directory

namespace bulwark::identity::directory {

StatusOr<std::optional<std::string>> TenantName(store::Transaction& tx,
                                                std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT name FROM tenants WHERE id = ? AND deleted_at IS NULL",
                                    {Value::Text(std::string(tenant_id))}));
  if (rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows[0][0].as_text());
}

StatusOr<TenantDeletion> DeleteTenant(store::Transaction& tx, std::string_view tenant_id,
                                      policy::Role actor_role, std::string_view confirm_name,
                                      std::int64_t now) {
  if (actor_role != policy::Role::kOwner) {
    return Status::PermissionDenied("owner_required", "only an owner may delete the tenant");
  }
  const Value tenant = Value::Text(std::string(tenant_id));
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("SELECT name FROM tenants WHERE id = ? AND deleted_at IS NULL", {tenant}));
  if (rows.empty()) return Status::NotFound("tenant_not_found", "no such tenant");
  if (rows[0][0].as_text() != confirm_name) {
    return Status::InvalidArgument("confirmation_mismatch", "confirm with the tenant's exact name");
  }
  TenantDeletion out;
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("UPDATE tenants SET deleted_at = ? WHERE id = ?", {Value::Int(now), tenant})
          .status());
  BULWARK_ASSIGN_OR_RETURN(
      out.sessions_revoked,
      tx.Exec("UPDATE sessions SET revoked_at = ?, revoked_reason = 'tenant_deleted', "
              "version = version + 1 WHERE tenant_id = ? AND revoked_at IS NULL",
              {Value::Int(now), tenant}));
  BULWARK_ASSIGN_OR_RETURN(
      out.api_keys_revoked,
      tx.Exec("UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND revoked_at IS NULL",
              {Value::Int(now), tenant}));
  BULWARK_ASSIGN_OR_RETURN(
      out.invites_cancelled,
      tx.Exec("UPDATE invites SET expires_at = ? WHERE tenant_id = ? AND accepted_at IS NULL "
              "AND expires_at > ?",
              {Value::Int(now), tenant, Value::Int(now)}));
  return out;
}

}  // namespace bulwark::identity::directory
