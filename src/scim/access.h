#pragma once
// What a SCIM User may do in its tenant: its membership (identity/directory.h), kept in line with
// the User's `active` and its Groups, in the caller's transaction.
//
// Rules:
//   - active false (PUT, PATCH with or without a path, DELETE) suspends: the membership is
//     removed, every session of the member is revoked and every API key it created is revoked,
//     in the same transaction as the SCIM change; the role it held is kept on the SCIM User
//     (suspended_role). After the commit, Invalidate drops this node's cached state, and on
//     PostgreSQL the tables' triggers tell every other node (app/cluster_sync.h), so the next
//     request with any of those credentials fails on every node.
//   - active true re-enables: the membership comes back with the role the mapping gives (or,
//     with no mapping configured, the role held when suspended). Old sessions and keys stay
//     revoked.
//   - With a group-to-role mapping configured for the tenant (sso::GroupRoleSource: entries or a
//     default role), an active User's role is RoleForGroups over its Groups' displayName and
//     externalId, re-evaluated whenever its groups change. When they map to no role, the member
//     holds no access (no membership: it is suspended-without-role) until a mapping gives one;
//     no role is guessed. With no mapping configured, group changes leave roles as they are, and
//     a new User who was not already a member is provisioned without access.
//   - An owner is never created, demoted, suspended or removed by SCIM: a mapping to "owner" is
//     ignored, and suspending or deleting an owner's User is refused (kPermissionDenied
//     "scim_owner_protected"; the owner's access stays).
//
// Errors: the store's; the GroupRoleSource's; kPermissionDenied "scim_owner_protected".
// Thread-safe: holds references to thread-safe services, which must outlive it.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "identity/api_keys.h"
#include "identity/sessions.h"
#include "scim/store.h"
#include "sso/provisioning_gate.h"
#include "sso/role_mapping.h"
#include "store/store.h"

namespace bulwark::scim {

// What Apply or Remove did to the member's access.
struct AccessChange {
  bool changed = false;       // the membership or its role changed
  std::string role_before;    // "" when not a member before
  std::string role_after;     // "" when not a member after
  std::int64_t sessions_revoked = 0;
  std::int64_t api_keys_revoked = 0;
};

class MemberAccess {
 public:
  MemberAccess(identity::SessionService& sessions, identity::ApiKeyService& api_keys,
               const sso::GroupRoleSource& roles)
      : sessions_(sessions), api_keys_(api_keys), roles_(roles) {}

  // Brings the membership of `row`'s user in line with row.active and `groups` (the names and
  // external ids of its Groups). Updates row.suspended_role; the caller stores the row.
  StatusOr<AccessChange> Apply(store::Transaction& tx, std::string_view tenant_id,
                               db::UserRow& row, std::span<const std::string> groups,
                               std::int64_t now);
  // The User is being deleted: its membership ends as on suspension, and its path policies go.
  StatusOr<AccessChange> Remove(store::Transaction& tx, std::string_view tenant_id,
                                const db::UserRow& row, std::int64_t now);
  // Drops this node's cached sessions and keys of the member. Call after the commit.
  void Invalidate(std::string_view tenant_id, std::string_view user_id);

 private:
  Status Cut(store::Transaction& tx, std::string_view tenant_id, std::string_view user_id,
             std::int64_t now, AccessChange& change);

  identity::SessionService& sessions_;
  identity::ApiKeyService& api_keys_;
  const sso::GroupRoleSource& roles_;
};

// SCIM's answer to the SSO sign-in's question (sso/provisioning_gate.h): a member is
// deprovisioned in a tenant while that tenant's SCIM User of the member is inactive
// (active:false), so an SSO sign-in does not re-add the membership SCIM removed. A SCIM DELETE
// leaves no tombstone: the User is gone, so SSO's JIT rules apply again (the provider that deleted
// the user no longer signs it in; a provider that only unassigns sends active:false, which
// stays). Stateless; thread-safe. Errors: the store's.
class ScimProvisioningGate : public sso::ProvisioningGate {
 public:
  StatusOr<bool> Deprovisioned(store::Transaction& tx, std::string_view tenant_id,
                               std::string_view user_id) const override;
};

}  // namespace bulwark::scim
