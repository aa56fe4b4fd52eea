// Roles are fixed verb sets: no wildcard, no implicit admin, unknown verbs granted to no one.
#include "policy/roles.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/clock.h"
#include "http/types.h"
#include "stages/access_stages.h"

namespace bulwark::policy {
namespace {

using stages::CredentialTenantGuard;
using stages::RoleAuthorizer;
using stages::kStepUpWindowSeconds;

TEST(RolesTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (Role r : {Role::kOwner, Role::kAdmin, Role::kMember, Role::kViewer})
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  for (const char* bad : {"", "Owner", "root", "admin ", "*", "superuser"})
    EXPECT_FALSE(ParseRole(bad)) << bad;
}

TEST(RolesTest, VerbTablesAreSortedWithoutWildcardsAndNested) {
  for (Role r : {Role::kOwner, Role::kAdmin, Role::kMember, Role::kViewer}) {
    const auto verbs = VerbsOf(r);
    EXPECT_TRUE(std::is_sorted(verbs.begin(), verbs.end())) << RoleName(r);
    for (auto v : verbs) {
      EXPECT_EQ(v.find('*'), std::string_view::npos) << v;
      EXPECT_TRUE(IsKnownVerb(v)) << v;
    }
  }
  // Each role's verbs are a subset of the next higher role's.
  const Role order[] = {Role::kViewer, Role::kMember, Role::kAdmin, Role::kOwner};
  for (int i = 0; i + 1 < 4; ++i) {
    for (auto v : VerbsOf(order[i])) EXPECT_TRUE(RoleGrants(order[i + 1], v)) << v;
  }
}

TEST(RolesTest, LeastPrivilegeExamples) {
  EXPECT_TRUE(RoleGrants(Role::kOwner, "breakglass.activate"));
  EXPECT_TRUE(RoleGrants(Role::kAdmin, "members.invite"));
  EXPECT_FALSE(RoleGrants(Role::kMember, "members.invite"));
  EXPECT_FALSE(RoleGrants(Role::kMember, "apikeys.create"));
  EXPECT_TRUE(RoleGrants(Role::kMember, "secrets.read"));
  EXPECT_FALSE(RoleGrants(Role::kViewer, "secrets.read"));  // metadata only
  EXPECT_TRUE(RoleGrants(Role::kViewer, "secrets.list"));
  EXPECT_FALSE(RoleGrants(Role::kViewer, "audit.read"));
  EXPECT_FALSE(RoleGrants(Role::kOwner, "*"));
  EXPECT_FALSE(RoleGrants(Role::kOwner, "secrets.*"));
  EXPECT_FALSE(RoleGrants(Role::kOwner, "no.such.verb"));
  EXPECT_FALSE(IsKnownVerb(""));
}

TEST(RolesTest, RanksOrderOwnerAboveAdminAboveMemberAboveViewer) {
  EXPECT_GT(RoleRank(Role::kOwner), RoleRank(Role::kAdmin));
  EXPECT_GT(RoleRank(Role::kAdmin), RoleRank(Role::kMember));
  EXPECT_GT(RoleRank(Role::kMember), RoleRank(Role::kViewer));
}

// ---- the authorizer and the tenant guard ------------------------------------------------

struct StageFixture {
  http::Request req;
  http::Route route;
  http::RequestContext ctx{.req = req};
  StageFixture() { ctx.route = &route; }
};

TEST(AccessStagesTest, RoleVerbDecidesAndMissingRoleIsDenied) {
  StageFixture f;
  f.route.permission = "members.invite";
  RoleAuthorizer authz;
  f.ctx.principal = {
      .kind = core::Principal::Kind::kUser, .id = "u", .tenant_id = "t", .role = "admin"};
  EXPECT_TRUE(authz.Authorize(f.ctx).ok());
  f.ctx.principal.role = "member";
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "permission_denied");
  f.ctx.principal.role = "";
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "permission_denied");
  f.ctx.principal = {.kind = core::Principal::Kind::kAnonymous};
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "permission_denied");
  f.ctx.principal = {
      .kind = core::Principal::Kind::kApiKey, .tenant_id = "t", .scopes = {"secrets.read"}};
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "permission_denied");
  f.ctx.principal.scopes.push_back("members.invite");
  EXPECT_TRUE(authz.Authorize(f.ctx).ok());
}

TEST(AccessStagesTest, StepUpNeedsAVerificationWithinFiveMinutesAndNeverAcceptsAnApiKey) {
  StageFixture f;
  f.route.permission = "members.invite";
  f.route.mfa_step_up = true;
  RoleAuthorizer authz;
  const std::int64_t now = core::NowUnixSeconds();
  f.ctx.principal = {.kind = core::Principal::Kind::kUser,
                     .tenant_id = "t",
                     .role = "owner",
                     .mfa_verified_at = 0};
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "mfa_required");
  f.ctx.principal.mfa_verified_at = now - kStepUpWindowSeconds - 5;
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "mfa_required");
  f.ctx.principal.mfa_verified_at = now - 10;
  EXPECT_TRUE(authz.Authorize(f.ctx).ok());
  f.ctx.principal = {.kind = core::Principal::Kind::kApiKey,
                     .tenant_id = "t",
                     .scopes = {"members.invite"},
                     .mfa_verified_at = now};
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "mfa_required");
}

TEST(AccessStagesTest, TenantGuardTakesTheCredentialsTenantOnly) {
  StageFixture f;
  CredentialTenantGuard guard;
  f.ctx.principal = {.kind = core::Principal::Kind::kUser, .tenant_id = "tnt_a"};
  EXPECT_TRUE(guard.Check(f.ctx).ok());
  f.req.set("X-Tenant-ID", "tnt_a");
  EXPECT_TRUE(guard.Check(f.ctx).ok());
  f.req.set("X-Tenant-ID", "tnt_b");
  const Status mismatch = guard.Check(f.ctx);
  EXPECT_EQ(mismatch.reason(), "tenant_mismatch");
  EXPECT_EQ(mismatch.code(), ErrorCode::kPermissionDenied);
  f.req.set("X-Tenant-ID", "");
  EXPECT_EQ(guard.Check(f.ctx).reason(), "tenant_mismatch");  // present but empty is a claim
  f.req.set("X-Tenant-ID", "tnt_a");
  f.req.insert("X-Tenant-ID", "tnt_b");
  EXPECT_EQ(guard.Check(f.ctx).reason(), "tenant_mismatch");  // one of two
  f.ctx.principal.tenant_id.clear();
  f.req.erase("X-Tenant-ID");
  EXPECT_EQ(guard.Check(f.ctx).reason(), "tenant_unknown");
}

}  // namespace
}  // namespace bulwark::policy
