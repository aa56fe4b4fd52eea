#include "policy/roles.h"

#include <algorithm>
#include <array>

namespace bulwark::policy {
namespace {

// Kept sorted: VerbsOf and AllVerbs return these spans as they are.
constexpr std::array<std::string_view, 17> kOwner = {
    "apikeys.create",      "apikeys.read",   "apikeys.revoke",  "audit.read",
    "breakglass.activate", "members.invite", "members.read",    "members.remove",
    "members.role.update", "policies.read",  "policies.update", "receipts.read",
    "secrets.list",        "secrets.read",   "secrets.write",   "settings.read",
    "settings.update"};
// An admin holds every verb; what sets the owner apart are the owner-only acts (roles.h).
constexpr std::array<std::string_view, 17> kAdmin = kOwner;
constexpr std::array<std::string_view, 7> kMember = {
    "apikeys.read", "members.read", "policies.read", "receipts.read",
    "secrets.list", "secrets.read", "secrets.write"};
constexpr std::array<std::string_view, 4> kViewer = {"members.read", "policies.read",
                                                     "receipts.read", "secrets.list"};

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kOwner:
      return "owner";
    case Role::kAdmin:
      return "admin";
    case Role::kMember:
      return "member";
    case Role::kViewer:
      return "viewer";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kOwner, Role::kAdmin, Role::kMember, Role::kViewer}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::span<const std::string_view> AllVerbs() { return kOwner; }

std::span<const std::string_view> VerbsOf(Role role) {
  switch (role) {
    case Role::kOwner:
      return kOwner;
    case Role::kAdmin:
      return kAdmin;
    case Role::kMember:
      return kMember;
    case Role::kViewer:
      return kViewer;
  }
  return {};
}

bool RoleGrants(Role role, std::string_view verb) {
  const auto verbs = VerbsOf(role);
  return std::binary_search(verbs.begin(), verbs.end(), verb);
}

bool IsKnownVerb(std::string_view verb) {
  return std::binary_search(kOwner.begin(), kOwner.end(), verb);
}

int RoleRank(Role r) {
  switch (r) {
    case Role::kOwner:
      return 3;
    case Role::kAdmin:
      return 2;
    case Role::kMember:
      return 1;
    case Role::kViewer:
      return 0;
  }
  return 0;
}

}  // namespace bulwark::policy
