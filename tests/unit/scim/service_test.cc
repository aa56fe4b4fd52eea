// The SCIM service over a real migrated SQLite store: group membership re-maps roles through a
// GroupRoleSource (a small one here), a mapping to no role holds no access (no membership), an
// owner is never re-roled or suspended, and deactivation ends sessions and API keys.
#include "scim/service.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "../keyed_store_env.h"
#include "identity/directory.h"
#include "identity/sessions.h"

namespace bulwark::scim {
namespace {

namespace json = boost::json;
using policy::Role;

constexpr std::int64_t kNow = 1'800'000'000;

// The tenant's mapping, as SSO connections would hold it.
class FixedRoles : public sso::GroupRoleSource {
 public:
  sso::GroupRoleMap map;
  StatusOr<sso::GroupRoleMap> ForTenant(store::Transaction&, std::string_view) const override {
    return map;
  }
};

struct Env : bulwark::testing::KeyedStore {
  std::unique_ptr<identity::SessionService> sessions;
  identity::ApiKeyService api_keys{*store};
  FixedRoles roles;
  std::unique_ptr<MemberAccess> access;
  std::unique_ptr<ScimService> scim;
  std::string tenant;

  Env() {
    sessions = std::move(*identity::SessionService::Open(*store, *keys, {}));
    access = std::make_unique<MemberAccess>(*sessions, api_keys, roles);
    scim = std::make_unique<ScimService>(*access, ScimOptions{});
    tenant = Write([](store::Transaction& tx) {
               return identity::directory::CreateTenant(tx, "acme", "owner@acme.test", kNow);
             })->tenant_id;
  }

  std::optional<Role> RoleOf(std::string_view email) {
    auto tx = store->Begin(store::TxMode::kRead);
    auto members = identity::directory::ListMembers(**tx, tenant);
    for (const auto& m : *members) {
      if (m.email == email) return m.role;
    }
    return std::nullopt;
  }

  std::string Create(ResourceKind kind, const char* body) {
    ScimChange change;
    auto out = Write([&](store::Transaction& tx) {
      return kind == ResourceKind::kUser ? scim->CreateUser(tx, tenant, json::parse(body), kNow, change)
                                         : scim->CreateGroup(tx, tenant, json::parse(body), kNow, change);
    });
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? std::string((*out)["id"].as_string()) : "";
  }

  Status PatchGroup(const std::string& id, const std::string& ops) {
    ScimChange change;
    return Write([&](store::Transaction& tx) {
             return scim->PatchGroup(
                 tx, tenant, id,
                 json::parse(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)" +
                             ops + "}"),
                 kNow, change);
           })
        .status();
  }
};

TEST(ScimService, GroupMembershipRemapsTheRoleAndNoRoleMeansNoAccess) {
  Env env;
  env.roles.map.entries = {{"eng-admins", Role::kAdmin}, {"eng", Role::kMember}};
  const std::string ada = env.Create(ResourceKind::kUser, R"({"userName":"ada@acme.test"})");
  EXPECT_EQ(env.RoleOf("ada@acme.test"), std::nullopt);  // in no mapped group: no access
  const std::string eng = env.Create(ResourceKind::kGroup, R"({"displayName":"eng"})");
  const std::string admins = env.Create(ResourceKind::kGroup, R"({"displayName":"ops","externalId":"eng-admins"})");
  ASSERT_TRUE(env.PatchGroup(eng, R"([{"op":"Add","path":"members","value":[{"value":")" + ada + R"("}]}])").ok());
  EXPECT_EQ(env.RoleOf("ada@acme.test"), Role::kMember);
  ASSERT_TRUE(env.PatchGroup(admins, R"([{"op":"add","path":"members","value":[{"value":")" + ada + R"("}]}])").ok());
  EXPECT_EQ(env.RoleOf("ada@acme.test"), Role::kAdmin);  // mapped by the group's externalId
  ASSERT_TRUE(env.PatchGroup(admins, R"([{"op":"remove","path":"members[value eq \")" + ada + R"(\"]"}])").ok());
  EXPECT_EQ(env.RoleOf("ada@acme.test"), Role::kMember);  // no leftover admin
  ASSERT_TRUE(env.PatchGroup(eng, R"([{"op":"Remove","path":"members","value":[{"value":")" + ada + R"("}]}])").ok());
  EXPECT_EQ(env.RoleOf("ada@acme.test"), std::nullopt);  // no group maps: no guessed role
}

TEST(ScimService, ADefaultRoleAppliesAndAnOwnerIsNeverRemapped) {
  Env env;
  env.roles.map.entries = {{"eng", Role::kMember}};
  env.roles.map.default_role = Role::kViewer;
  env.Create(ResourceKind::kUser, R"({"userName":"bo@acme.test"})");
  EXPECT_EQ(env.RoleOf("bo@acme.test"), Role::kViewer);
  const std::string owner = env.Create(ResourceKind::kUser, R"({"userName":"owner@acme.test"})");
  const std::string eng = env.Create(ResourceKind::kGroup, R"({"displayName":"eng"})");
  ASSERT_TRUE(env.PatchGroup(eng, R"([{"op":"add","path":"members","value":[{"value":")" + owner + R"("}]}])").ok());
  EXPECT_EQ(env.RoleOf("owner@acme.test"), Role::kOwner);
  ScimChange change;
  const Status st = env.Write([&](store::Transaction& tx) {
                         return env.scim->PatchUser(tx, env.tenant, owner, json::parse(R"({
      "schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      "Operations":[{"op":"replace","value":{"active":false}}]})"), kNow, change);
                       }).status();
  EXPECT_EQ(st.reason(), "scim_owner_protected");
  EXPECT_EQ(env.RoleOf("owner@acme.test"), Role::kOwner);
}

TEST(ScimService, DeactivationEndsSessionsAndKeysAndReactivationRestoresTheRole) {
  Env env;
  auto user_id = *env.Write([&](store::Transaction& tx) -> StatusOr<std::string> {
    BULWARK_ASSIGN_OR_RETURN(std::string id, identity::directory::EnsureUser(tx, "cy@acme.test", kNow));
    BULWARK_RETURN_IF_ERROR(identity::directory::AddMember(tx, env.tenant, id, Role::kAdmin, kNow));
    return id;
  });
  auto tokens = *env.Write([&](store::Transaction& tx) { return env.sessions->Start(tx, user_id, env.tenant, kNow); });
  auto key = *env.Write([&](store::Transaction& tx) {
    return env.api_keys.Create(tx, {.tenant_id = env.tenant, .name = "ci", .scopes = {"apikeys.read"},
                                    .creator_role = Role::kAdmin, .created_by = user_id}, kNow);
  });
  const std::string cy = env.Create(ResourceKind::kUser, R"({"userName":"cy@acme.test"})");
  EXPECT_EQ(env.RoleOf("cy@acme.test"), Role::kAdmin);
  ScimChange change;
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) {
                   return env.scim->PatchUser(tx, env.tenant, cy, json::parse(R"({
      "schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      "Operations":[{"op":"Replace","path":"active","value":"False"}]})"), kNow, change);
                 }).ok());
  env.scim->AfterCommit(env.tenant, change);
  EXPECT_EQ(env.RoleOf("cy@acme.test"), std::nullopt);
  EXPECT_FALSE(env.sessions->Authenticate(tokens.access_token, kNow + 1).ok());
  EXPECT_FALSE(env.api_keys.Authenticate(key.key, *core::IpAddress::Parse("127.0.0.1"), kNow + 1).ok());
  ScimChange again;
  ASSERT_TRUE(env.Write([&](store::Transaction& tx) {
                   return env.scim->PatchUser(tx, env.tenant, cy, json::parse(R"({
      "schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      "Operations":[{"op":"replace","value":{"active":true}}]})"), kNow, again);
                 }).ok());
  EXPECT_EQ(env.RoleOf("cy@acme.test"), Role::kAdmin);  // no mapping: the role it held
  EXPECT_FALSE(env.sessions->Authenticate(tokens.access_token, kNow + 2).ok());  // not revived
}

}  // namespace
}  // namespace bulwark::scim
