#pragma once
// Tenants, users and memberships: who belongs where, with which role.
//
// Every function works inside the caller's transaction, so a change and its audit record commit
// together (audit::AuditWriter::Commit). The tenant is always an argument taken from the
// authenticated principal: nothing here looks a tenant up from a user's say-so.
//
//   BULWARK_ASSIGN_OR_RETURN(auto created, directory::CreateTenant(tx, "acme", "ada@acme.test",
//   now));
//
// Errors: kInvalidArgument for a bad name, email or role; kConflict "tenant_exists"; kNotFound
// "member_not_found" for a user who is not a member of *this* tenant (another tenant's member is
// simply not found); kPermissionDenied "owner_required" for owner-only acts and "last_owner" when
// a change would leave a tenant without an owner.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/roles.h"
#include "store/store.h"

namespace bulwark::identity::directory {

struct CreatedTenant {
  std::string tenant_id;
  std::string owner_user_id;
};

struct Member {
  std::string user_id;
  std::string email;
  policy::Role role = policy::Role::kViewer;
  bool breakglass_designated = false;
  std::int64_t created_at = 0;
};

// Whether `name` and `owner_email` are a valid tenant name and address: what CreateTenant checks
// first, for a command to refuse before it opens (and perhaps creates) a store.
Status CheckNewTenant(std::string_view name, std::string_view owner_email);

// A tenant named `name` (1-63 of [a-z0-9-], starting with a letter or digit) and its first
// owner, created with the user if the email is new. The only way an account comes to exist
// besides an accepted invite: there is no default account.
StatusOr<CreatedTenant> CreateTenant(store::Transaction& tx, std::string_view name,
                                     std::string_view owner_email, std::int64_t now);

// The id of the user with this (normalized) email, creating it when absent.
StatusOr<std::string> EnsureUser(store::Transaction& tx, std::string_view normalized_email,
                                 std::int64_t now);

// The user id for an email, or nullopt. A disabled user is reported as absent.
StatusOr<std::optional<std::string>> FindActiveUser(store::Transaction& tx,
                                                    std::string_view normalized_email);

// The tenants the user is a member of, sorted.
StatusOr<std::vector<std::string>> TenantsOf(store::Transaction& tx, std::string_view user_id);

// The tenant id for a tenant id or name, or nullopt.
StatusOr<std::optional<std::string>> ResolveTenant(store::Transaction& tx,
                                                   std::string_view id_or_name);

// The name of tenant `tenant_id` (not deleted), or nullopt.
StatusOr<std::optional<std::string>> TenantName(store::Transaction& tx, std::string_view tenant_id);

StatusOr<std::vector<Member>> ListMembers(store::Transaction& tx, std::string_view tenant_id);
StatusOr<std::optional<Member>> GetMember(store::Transaction& tx, std::string_view tenant_id,
                                          std::string_view user_id);

// Adds the user to the tenant with `role`. kConflict "already_member" if they are one.
Status AddMember(store::Transaction& tx, std::string_view tenant_id, std::string_view user_id,
                 policy::Role role, std::int64_t now);

// Changes a member's role on behalf of a member with `actor_role`. Only an owner may make or
// unmake an owner; no one may act on a member ranking above themselves; the last owner stays.
Status ChangeRole(store::Transaction& tx, std::string_view tenant_id, policy::Role actor_role,
                  std::string_view target_user_id, policy::Role new_role);

// Removes a member (same rules as ChangeRole; removing an owner is owner-only).
Status RemoveMember(store::Transaction& tx, std::string_view tenant_id, policy::Role actor_role,
                    std::string_view target_user_id);

struct TenantDeletion {
  std::int64_t sessions_revoked = 0;
  std::int64_t api_keys_revoked = 0;
  std::int64_t invites_cancelled = 0;
};

// Deletes a tenant (owner only, confirmed by its exact name): marks it deleted, revokes every
// session and API key of it and cancels pending invitations, in the caller's transaction (whose
// caller ends the tenant's break-glass grants with their receipts in the same one). Its row, audit
// entries and receipts stay (the name stays taken, the history verifiable); no credential of it
// works again. Call the session and API-key cache invalidations after the commit. kPermissionDenied
// "owner_required", kInvalidArgument "confirmation_mismatch", kNotFound "tenant_not_found".
StatusOr<TenantDeletion> DeleteTenant(store::Transaction& tx, std::string_view tenant_id,
                                      policy::Role actor_role, std::string_view confirm_name,
                                      std::int64_t now);

}  // namespace bulwark::identity::directory
