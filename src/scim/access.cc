#include "scim/access.h"

#include <optional>

#include "identity/directory.h"
#include "policy/path_policy_store.h"

namespace bulwark::scim {
namespace {

namespace directory = identity::directory;

Status OwnerProtected() {
  return Status::PermissionDenied(
      "scim_owner_protected",
      "an owner is not suspended, removed or re-roled by SCIM; change owners in Bulwark");
}

}  // namespace

Status MemberAccess::Cut(store::Transaction& tx, std::string_view tenant_id,
                         std::string_view user_id, std::int64_t now, AccessChange& change) {
  // Acting as an admin: the directory's rules refuse an owner (checked before, too).
  BULWARK_RETURN_IF_ERROR(directory::RemoveMember(tx, tenant_id, policy::Role::kAdmin, user_id));
  BULWARK_ASSIGN_OR_RETURN(change.api_keys_revoked,
                           api_keys_.RevokeCreatedBy(tx, tenant_id, user_id, now));
  BULWARK_ASSIGN_OR_RETURN(change.sessions_revoked,
                           sessions_.RevokeMember(tx, tenant_id, user_id, "scim_deprovisioned", now));
  change.changed = true;
  change.role_after.clear();
  return Status::Ok();
}

StatusOr<AccessChange> MemberAccess::Apply(store::Transaction& tx, std::string_view tenant_id,
                                           db::UserRow& row, std::span<const std::string> groups,
                                           std::int64_t now) {
  AccessChange change;
  BULWARK_ASSIGN_OR_RETURN(auto member, directory::GetMember(tx, tenant_id, row.user_id));
  if (member) change.role_before = change.role_after = std::string(policy::RoleName(member->role));
  if (member && member->role == policy::Role::kOwner) {
    if (!row.active) return OwnerProtected();
    return change;
  }
  if (!row.active) {
    if (member) {
      row.suspended_role = change.role_before;
      BULWARK_RETURN_IF_ERROR(Cut(tx, tenant_id, row.user_id, now, change));
    }
    return change;
  }
  BULWARK_ASSIGN_OR_RETURN(sso::GroupRoleMap map, roles_.ForTenant(tx, tenant_id));
  const bool configured = !map.entries.empty() || map.default_role.has_value();
  std::optional<policy::Role> desired;
  if (configured) {
    desired = sso::RoleForGroups(map, groups);
    if (desired == policy::Role::kOwner) desired.reset();  // never made by a mapping
  } else if (member) {
    desired = member->role;
  } else if (!row.suspended_role.empty()) {
    desired = policy::ParseRole(row.suspended_role);
    if (desired == policy::Role::kOwner) desired.reset();
  }
  row.suspended_role.clear();
  if (desired && !member) {
    BULWARK_RETURN_IF_ERROR(directory::AddMember(tx, tenant_id, row.user_id, *desired, now));
    change.changed = true;
    change.role_after = std::string(policy::RoleName(*desired));
  } else if (desired && member->role != *desired) {
    BULWARK_RETURN_IF_ERROR(
        directory::ChangeRole(tx, tenant_id, policy::Role::kAdmin, row.user_id, *desired));
    change.changed = true;
    change.role_after = std::string(policy::RoleName(*desired));
  } else if (!desired && member) {
    BULWARK_RETURN_IF_ERROR(Cut(tx, tenant_id, row.user_id, now, change));
  }
  return change;
}

StatusOr<AccessChange> MemberAccess::Remove(store::Transaction& tx, std::string_view tenant_id,
                                            const db::UserRow& row, std::int64_t now) {
  AccessChange change;
  BULWARK_ASSIGN_OR_RETURN(auto member, directory::GetMember(tx, tenant_id, row.user_id));
  if (!member) return change;
  if (member->role == policy::Role::kOwner) return OwnerProtected();
  change.role_before = std::string(policy::RoleName(member->role));
  BULWARK_RETURN_IF_ERROR(Cut(tx, tenant_id, row.user_id, now, change));
  BULWARK_RETURN_IF_ERROR(policy::path_policies::ForgetMember(tx, tenant_id, row.user_id));
  return change;
}

void MemberAccess::Invalidate(std::string_view tenant_id, std::string_view user_id) {
  sessions_.InvalidateMember(tenant_id, user_id);
  api_keys_.InvalidateTenant(tenant_id);  // keys hold at most their creator's verbs
}

StatusOr<bool> ScimProvisioningGate::Deprovisioned(store::Transaction& tx,
                                                   std::string_view tenant_id,
                                                   std::string_view user_id) const {
  BULWARK_ASSIGN_OR_RETURN(auto row, db::FindUserByUserId(tx, tenant_id, user_id));
  return row.has_value() && !row->active;
}

}  // namespace bulwark::scim
