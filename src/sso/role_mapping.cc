#include "sso/role_mapping.h"

#include <algorithm>

namespace bulwark::sso {
namespace {

Status Invalid(std::string message) {
  return Status::InvalidArgument("invalid_role_mapping", std::move(message));
}

// A mappable role: a known role name other than "owner".
StatusOr<policy::Role> ParseMappedRole(const boost::json::value& v) {
  if (!v.is_string()) return Invalid("a role must be a string");
  std::string_view name = v.get_string();
  std::optional<policy::Role> role = policy::ParseRole(name);
  if (!role) return Status::InvalidArgument("unknown_role", "a role is not one of admin, member, viewer");
  if (*role == policy::Role::kOwner) {
    return Status::InvalidArgument("owner_not_mappable", "a group mapping cannot make an owner");
  }
  return *role;
}

Status CheckGroupName(std::string_view group) {
  if (group.empty() || group.size() > kMaxGroupNameBytes) {
    return Status::InvalidArgument("invalid_group_name", "a group name is empty or too long");
  }
  for (char c : group) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Status::InvalidArgument("invalid_group_name", "a group name holds a control character");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<GroupRoleMap> ParseGroupRoleMap(const boost::json::value& value) {
  if (!value.is_object()) return Invalid("the role mapping must be an object");
  const boost::json::object& obj = value.get_object();
  GroupRoleMap map;
  for (const auto& [key, v] : obj) {
    if (key == "groups") {
      if (!v.is_object()) return Invalid("groups must be an object of group to role");
      const boost::json::object& groups = v.get_object();
      if (groups.size() > kMaxGroupEntries) {
        return Status::InvalidArgument("too_many_groups", "the role mapping has too many groups");
      }
      for (const auto& [group, role_value] : groups) {
        BULWARK_RETURN_IF_ERROR(CheckGroupName(group));
        BULWARK_ASSIGN_OR_RETURN(policy::Role role, ParseMappedRole(role_value));
        map.entries.push_back({std::string(group), role});
      }
    } else if (key == "default_role") {
      if (v.is_null()) continue;
      BULWARK_ASSIGN_OR_RETURN(policy::Role role, ParseMappedRole(v));
      map.default_role = role;
    } else {
      return Invalid("the role mapping has an unknown key");
    }
  }
  return map;
}

boost::json::object GroupRoleMapJson(const GroupRoleMap& map) {
  boost::json::object groups;
  for (const GroupRole& e : map.entries) groups[e.group] = policy::RoleName(e.role);
  boost::json::object out;
  out["groups"] = std::move(groups);
  if (map.default_role) {
    out["default_role"] = policy::RoleName(*map.default_role);
  } else {
    out["default_role"] = nullptr;
  }
  return out;
}

std::optional<policy::Role> RoleForGroups(const GroupRoleMap& map,
                                          std::span<const std::string> groups) {
  std::optional<policy::Role> best;
  for (const GroupRole& e : map.entries) {
    if (std::find(groups.begin(), groups.end(), e.group) == groups.end()) continue;
    if (!best || policy::RoleRank(e.role) > policy::RoleRank(*best)) best = e.role;
  }
  if (best) return best;
  return map.default_role;
}

}  // namespace bulwark::sso
