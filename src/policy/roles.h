#pragma once
// Roles and their permission verbs: the whole of "who may do what" inside a tenant.
//
// A role is a fixed, documented set of verbs (docs/security-model.md lists them). There are no
// wildcard verbs and no implicit admin: a verb not in the table below is granted to no one, and
// a route naming an unknown verb is refused when the route table is built.
//
//   if (!policy::RoleGrants(policy::Role::kMember, "members.invite")) -> 403 permission_denied
//
// Owner-only acts (changing an owner's role, removing an owner, tenant deletion, break-glass
// setup) are not verbs: the services that perform them check for the owner role themselves.
#include <optional>
#include <span>
#include <string_view>

namespace bulwark::policy {

enum class Role { kOwner, kAdmin, kMember, kViewer };

// "owner", "admin", "member", "viewer".
std::string_view RoleName(Role r);
// The role named `name` (exact, lower case), or nullopt.
std::optional<Role> ParseRole(std::string_view name);

// Every verb any role grants, sorted.
std::span<const std::string_view> AllVerbs();
// The verbs of `role`, sorted.
std::span<const std::string_view> VerbsOf(Role role);
// True if `role` grants `verb` (exact match; there are no patterns).
bool RoleGrants(Role role, std::string_view verb);
// True if `verb` is a verb some role grants.
bool IsKnownVerb(std::string_view verb);

// Rank for "may act on": an actor may change members whose role ranks no higher than its own,
// except that only an owner may make or unmake an owner.
int RoleRank(Role r);

}  // namespace bulwark::policy
