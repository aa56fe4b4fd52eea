#pragma once
// The group-to-role mapping of an SSO connection: which Bulwark role a member gets from the
// groups their identity provider (or SCIM) says they are in.
//
// A mapping is a list of (group, role) entries and an optional default role for identities in
// none of the mapped groups. It never produces an owner: owners are made by people, not by an
// identity provider's group membership, so "owner" is refused wherever it appears.
//
//   {"groups": {"eng-admins": "admin", "eng": "member"}, "default_role": "viewer"}
//
//   StatusOr<GroupRoleMap> map = ParseGroupRoleMap(json);        // 400 on anything else
//   std::optional<policy::Role> role = RoleForGroups(*map, {"eng", "eng-admins"});  // kAdmin
//
// Errors (Status::InvalidArgument, stable reasons): "invalid_role_mapping" (not an object, an
// unknown key, a role that is not a string), "owner_not_mappable", "unknown_role",
// "invalid_group_name" (empty, over kMaxGroupNameBytes, or a control character),
// "too_many_groups" (over kMaxGroupEntries).
//
// Thread safety: the functions are pure; GroupRoleMap is a value. A GroupRoleSource's
// implementation states its own (the connections store's is safe to share).
#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/roles.h"
#include "store/store.h"

namespace bulwark::sso {

inline constexpr std::size_t kMaxGroupNameBytes = 256;
inline constexpr std::size_t kMaxGroupEntries = 200;

struct GroupRole {
  std::string group;
  policy::Role role;
};

struct GroupRoleMap {
  // Distinct groups, in the order they were given.
  std::vector<GroupRole> entries;
  // The role of an identity in none of the mapped groups; nullopt: such an identity gets no role.
  std::optional<policy::Role> default_role;
};

// Parses {"groups": {"<group>": "<role>", ...}, "default_role": "<role>"|null}. Both keys are
// optional (absent: no entries, no default). Refuses "owner" anywhere, unknown roles,
// empty/oversized group names and more than kMaxGroupEntries entries (see the header comment).
StatusOr<GroupRoleMap> ParseGroupRoleMap(const boost::json::value& value);

// The JSON form ParseGroupRoleMap reads; ParseGroupRoleMap(GroupRoleMapJson(m)) equals m.
boost::json::object GroupRoleMapJson(const GroupRoleMap& map);

// The highest-ranking role (policy::RoleRank) any of `groups` maps to (exact, case-sensitive
// group match), else map.default_role, else nullopt.
std::optional<policy::Role> RoleForGroups(const GroupRoleMap& map,
                                          std::span<const std::string> groups);

// Where a tenant's mapping is read. The connections store implements it (the union of the
// tenant's enabled connections' maps); SCIM and the SSO flow take a const reference.
// Errors: the store's (kUnavailable when it cannot be read); a tenant with no connection has an
// empty map (no entries, no default), not an error.
class GroupRoleSource {
 public:
  virtual ~GroupRoleSource() = default;
  virtual StatusOr<GroupRoleMap> ForTenant(store::Transaction& tx,
                                           std::string_view tenant_id) const = 0;
};

}  // namespace bulwark::sso
