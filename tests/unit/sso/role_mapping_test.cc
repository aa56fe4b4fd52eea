// The group-to-role mapping: what it accepts, everything it refuses (owner above all), and the
// role a set of groups resolves to.
#include "sso/role_mapping.h"

#include <gtest/gtest.h>

namespace bulwark::sso {
namespace {

using policy::Role;

boost::json::value J(std::string_view text) { return boost::json::parse(text); }

std::string ReasonOf(std::string_view text) {
  StatusOr<GroupRoleMap> m = ParseGroupRoleMap(J(text));
  return m.ok() ? "ok" : m.status().reason();
}

TEST(SsoRoleMapping, ParsesGroupsAndDefault) {
  auto m = ParseGroupRoleMap(
      J(R"({"groups": {"eng-admins": "admin", "eng": "member"}, "default_role": "viewer"})"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->entries.size(), 2u);
  EXPECT_EQ(m->entries[0].group, "eng-admins");
  EXPECT_EQ(m->entries[0].role, Role::kAdmin);
  EXPECT_EQ(m->entries[1].group, "eng");
  EXPECT_EQ(m->entries[1].role, Role::kMember);
  EXPECT_EQ(m->default_role, Role::kViewer);
}

TEST(SsoRoleMapping, BothKeysOptionalAndNullDefault) {
  auto empty = ParseGroupRoleMap(J("{}"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->entries.empty());
  EXPECT_FALSE(empty->default_role);
  auto null_default = ParseGroupRoleMap(J(R"({"groups": {}, "default_role": null})"));
  ASSERT_TRUE(null_default.ok());
  EXPECT_FALSE(null_default->default_role);
}

TEST(SsoRoleMapping, RefusesOwnerAnywhere) {
  EXPECT_EQ(ReasonOf(R"({"groups": {"root": "owner"}})"), "owner_not_mappable");
  EXPECT_EQ(ReasonOf(R"({"default_role": "owner"})"), "owner_not_mappable");
}

TEST(SsoRoleMapping, RefusesUnknownRolesAndShapes) {
  EXPECT_EQ(ReasonOf(R"({"groups": {"eng": "superuser"}})"), "unknown_role");
  EXPECT_EQ(ReasonOf(R"({"groups": {"eng": "Admin"}})"), "unknown_role");
  EXPECT_EQ(ReasonOf(R"({"default_role": "root"})"), "unknown_role");
  EXPECT_EQ(ReasonOf(R"({"groups": {"eng": 1}})"), "invalid_role_mapping");
  EXPECT_EQ(ReasonOf(R"({"groups": ["eng"]})"), "invalid_role_mapping");
  EXPECT_EQ(ReasonOf(R"({"group": {}})"), "invalid_role_mapping");
  EXPECT_EQ(ReasonOf(R"([])"), "invalid_role_mapping");
  EXPECT_EQ(ReasonOf(R"({"default_role": 3})"), "invalid_role_mapping");
}

TEST(SsoRoleMapping, RefusesBadGroupNames) {
  EXPECT_EQ(ReasonOf(R"({"groups": {"": "member"}})"), "invalid_group_name");
  EXPECT_EQ(ReasonOf(R"({"groups": {"a\u0000b": "member"}})"), "invalid_group_name");
  std::string at_limit(kMaxGroupNameBytes, 'g');
  std::string over = at_limit + "g";
  EXPECT_EQ(ReasonOf(R"({"groups": {")" + at_limit + R"(": "member"}})"), "ok");
  EXPECT_EQ(ReasonOf(R"({"groups": {")" + over + R"(": "member"}})"), "invalid_group_name");
}

TEST(SsoRoleMapping, RefusesTooManyEntries) {
  boost::json::object groups;
  for (std::size_t i = 0; i < kMaxGroupEntries; ++i) groups["g" + std::to_string(i)] = "member";
  boost::json::object ok_map{{"groups", groups}};
  EXPECT_TRUE(ParseGroupRoleMap(ok_map).ok());
  groups["one-more"] = "member";
  boost::json::object over{{"groups", groups}};
  EXPECT_EQ(ParseGroupRoleMap(over).status().reason(), "too_many_groups");
}

TEST(SsoRoleMapping, JsonRoundTrips) {
  GroupRoleMap m{{{"b", Role::kViewer}, {"a", Role::kAdmin}}, Role::kMember};
  auto back = ParseGroupRoleMap(GroupRoleMapJson(m));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->entries.size(), 2u);
  EXPECT_EQ(back->entries[0].group, "b");
  EXPECT_EQ(back->entries[1].role, Role::kAdmin);
  EXPECT_EQ(back->default_role, Role::kMember);
  EXPECT_TRUE(GroupRoleMapJson(GroupRoleMap{}).at("default_role").is_null());
}

TEST(SsoRoleMapping, HighestRankingMappedRoleWins) {
  GroupRoleMap m{{{"viewers", Role::kViewer}, {"admins", Role::kAdmin}, {"eng", Role::kMember}},
                 std::nullopt};
  std::vector<std::string> groups{"eng", "admins", "viewers"};
  EXPECT_EQ(RoleForGroups(m, groups), Role::kAdmin);
  std::vector<std::string> two{"viewers", "eng"};
  EXPECT_EQ(RoleForGroups(m, two), Role::kMember);
}

TEST(SsoRoleMapping, ExactCaseSensitiveMatchThenDefault) {
  GroupRoleMap m{{{"Admins", Role::kAdmin}}, std::nullopt};
  std::vector<std::string> lower{"admins", "Admins "};
  EXPECT_EQ(RoleForGroups(m, lower), std::nullopt);
  m.default_role = Role::kViewer;
  EXPECT_EQ(RoleForGroups(m, lower), Role::kViewer);
  EXPECT_EQ(RoleForGroups(m, std::span<const std::string>{}), Role::kViewer);
  std::vector<std::string> exact{"Admins"};
  EXPECT_EQ(RoleForGroups(m, exact), Role::kAdmin);
}

}  // namespace
}  // namespace bulwark::sso
