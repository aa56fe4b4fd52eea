// Break-glass grants and tenant policies against a real migrated store: every refusal, the scope
// widening the authorizer applies, expiry, and the allowlist the authorizer enforces.
#include "policy/breakglass.h"

#include <gtest/gtest.h>

#include "../keyed_store_env.h"
#include "app/breakglass_sweeper.h"
#include "audit/ledger.h"
#include "audit/writer.h"
#include "core/clock.h"
#include "identity/directory.h"
#include "identity/sessions.h"
#include "stages/access_stages.h"
#include "policy/tenant_policy.h"
#include "receipts/service.h"

namespace bulwark::policy {
namespace {

using stages::CredentialTenantGuard;
using stages::RoleAuthorizer;
using stages::kStepUpWindowSeconds;

using store::TxMode;

struct Env : bulwark::testing::KeyedStore {
  identity::directory::CreatedTenant tenant;
  std::string session;
  Env() {
    auto tx = store->Begin(TxMode::kWrite);
    tenant = *identity::directory::CreateTenant(**tx, "acme", "ada@acme.test", 1000);
    EXPECT_TRUE(
        (*tx)
            ->Exec("INSERT INTO sessions(id, user_id, tenant_id, created_at, last_seen_at, "
                   "absolute_expires_at) VALUES ('ses_1', ?, ?, 0, 0, 9999999999)",
                   {store::Value::Text(tenant.owner_user_id), store::Value::Text(tenant.tenant_id)})
            .ok());
    EXPECT_TRUE((*tx)->Commit().ok());
    session = "ses_1";
  }
  breakglass::Request Req() {
    return {.tenant_id = tenant.tenant_id,
            .user_id = tenant.owner_user_id,
            .session_id = session,
            .reason = "database primary is down, restoring",
            .verbs = {"audit.read"},
            .ttl_s = 600};
  }
  StatusOr<breakglass::Grant> Activate(const breakglass::Request& r, bool server = true,
                                       std::int64_t now = 2000) {
    return Write([&](auto& tx) { return breakglass::Activate(tx, r, server, now); });
  }
  void Enable(bool tenant_switch, bool designated) {
    ASSERT_TRUE(
        Write([&](auto& tx) -> StatusOr<bool> {
          BULWARK_RETURN_IF_ERROR(SetBreakglassEnabled(tx, tenant.tenant_id, tenant_switch));
          BULWARK_RETURN_IF_ERROR(
              breakglass::Designate(tx, tenant.tenant_id, tenant.owner_user_id, designated));
          return true;
        }).ok());
  }
};

TEST(BreakglassTest, BothSwitchesAndADesignationAreNeeded) {
  Env env;
  EXPECT_EQ(env.Activate(env.Req(), false).status().reason(), "breakglass_disabled");
  EXPECT_EQ(env.Activate(env.Req()).status().reason(), "breakglass_disabled");  // tenant off
  env.Enable(true, false);
  EXPECT_EQ(env.Activate(env.Req()).status().reason(), "breakglass_not_designated");
  env.Enable(true, true);
  EXPECT_TRUE(env.Activate(env.Req()).ok());
}

TEST(BreakglassTest, ReasonScopeAndTtlAreChecked) {
  Env env;
  env.Enable(true, true);
  auto r = env.Req();
  for (std::string reason : {std::string("too short"), std::string(20, ' '),
                             std::string(" \t") + std::string(19, 'x'), [] {
                               std::string e;
                               for (int i = 0; i < 10; ++i)
                                 e += "\xC3\xA9";  // 10 characters, 20 bytes
                               return e;
                             }()}) {
    r.reason = reason;
    EXPECT_EQ(env.Activate(r).status().reason(), "reason_too_short") << reason;
  }
  r = env.Req();
  r.ttl_s = 3601;
  EXPECT_EQ(env.Activate(r).status().reason(), "invalid_ttl");
  r.ttl_s = 59;
  EXPECT_EQ(env.Activate(r).status().reason(), "invalid_ttl");
  for (auto verbs : std::vector<std::vector<std::string>>{
           {}, {"*"}, {"breakglass.activate"}, {"settings.update"}}) {
    r = env.Req();
    r.verbs = verbs;
    EXPECT_EQ(env.Activate(r).status().reason(), "invalid_scope");
  }
  for (const char* prefix : {"/etc", "prod/../x", "a b"}) {
    r = env.Req();
    r.path_prefix = prefix;
    EXPECT_EQ(env.Activate(r).status().reason(), "invalid_scope") << prefix;
  }
  r = env.Req();
  r.verbs = {};
  r.path_prefix = "prod/db/";
  auto g = env.Activate(r);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(env.Activate(env.Req()).status().reason(), "breakglass_active");
}

TEST(BreakglassTest, GrantEndsOnceWhenEndedOrExpired) {
  Env env;
  env.Enable(true, true);
  auto g = env.Activate(env.Req(), true, 2000);
  ASSERT_TRUE(g.ok());
  auto tx = env.store->Begin(TxMode::kWrite);
  EXPECT_TRUE((*breakglass::OpenGrant(**tx, env.session, 2599)).has_value());
  EXPECT_FALSE(
      (*breakglass::OpenGrant(**tx, env.session, 2600)).has_value());  // expired counts as closed
  EXPECT_EQ(*breakglass::DueGrants(**tx, 2599), std::vector<std::string>{});
  EXPECT_EQ(*breakglass::DueGrants(**tx, 2600), std::vector<std::string>{g->id});
  auto ended = breakglass::EndExpiredGrant(**tx, g->id);
  ASSERT_TRUE(ended.ok() && ended->has_value());
  EXPECT_EQ((*ended)->end_reason, "expired");
  EXPECT_EQ((*ended)->ended_at, 2600);
  EXPECT_FALSE((*breakglass::EndExpiredGrant(**tx, g->id)).has_value());
  EXPECT_EQ(breakglass::EndForSession(**tx, env.session, 2601).status().reason(),
            "breakglass_not_active");
}

TEST(BreakglassTest, TheSweeperEndsDueGrantsWithARecordAndAReceipt) {
  Env env;
  env.Enable(true, true);
  const std::int64_t now = core::NowUnixSeconds();
  auto g = env.Activate(env.Req(), true, now - 601);  // started 601 s ago with a 600 s TTL
  ASSERT_TRUE(g.ok());
  auto ledger = audit::Ledger::Open(*env.store, *env.keys);
  ASSERT_TRUE(ledger.ok());
  audit::AuditWriter writer(*env.store, **ledger, {});
  auto receipts = receipts::ReceiptService::Open(*env.store, *env.keys);
  auto sessions = identity::SessionService::Open(*env.store, *env.keys, {});
  ASSERT_TRUE(receipts.ok() && sessions.ok());
  app::BreakglassSweeper sweeper(*env.store, writer, **receipts, **sessions, std::chrono::hours(1));
  auto n = sweeper.SweepOnce();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(*sweeper.SweepOnce(), 0);
  sweeper.Stop();
  writer.Stop();
  auto tx = env.store->Begin(TxMode::kRead);
  auto rows = (*tx)->Query("SELECT entry FROM audit_ledger");
  ASSERT_EQ(rows->size(), 1u);
  const auto& bytes = (*rows)[0][0].as_bytes();
  const std::string entry(bytes.begin(), bytes.end());
  EXPECT_NE(entry.find("\"action\":\"breakglass.end\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"break_glass\":true"), std::string::npos) << entry;
  EXPECT_EQ((*(*tx)->Query("SELECT COUNT(*) FROM receipts"))[0][0].as_int(), 1);
}

TEST(BreakglassTest, AGrantAppliesOnlyWhileTheTenantAllowsItAndTheMemberIsDesignated) {
  Env env;
  auto sessions = identity::SessionService::Open(*env.store, *env.keys, {});
  ASSERT_TRUE(sessions.ok());
  const std::int64_t now = core::NowUnixSeconds();
  auto tokens = env.Write([&](auto& tx) {
    return (*sessions)->Start(tx, env.tenant.owner_user_id, env.tenant.tenant_id, now);
  });
  ASSERT_TRUE(tokens.ok());
  env.session = tokens->session_id;
  env.Enable(true, true);
  ASSERT_TRUE(env.Activate(env.Req(), true, now).ok());
  EXPECT_TRUE((*sessions)->Authenticate(tokens->access_token, now)->break_glass);
  env.Enable(false, true);  // the owner switches break-glass off for the tenant
  (*sessions)->InvalidateTenant(env.tenant.tenant_id);
  EXPECT_FALSE((*sessions)->Authenticate(tokens->access_token, now)->break_glass);
  env.Enable(true, false);  // or un-designates the member
  (*sessions)->InvalidateTenant(env.tenant.tenant_id);
  EXPECT_FALSE((*sessions)->Authenticate(tokens->access_token, now)->break_glass);
  env.Enable(true, true);
  (*sessions)->InvalidateTenant(env.tenant.tenant_id);
  EXPECT_TRUE((*sessions)->Authenticate(tokens->access_token, now)->break_glass);
}

// ---- the authorizer: allowlists and break-glass widening -----------------------------------

struct AuthzFixture {
  http::Request req;
  http::Route route;
  http::RequestContext ctx{.req = req};
  AuthzFixture() { ctx.route = &route; }
};

TEST(AuthorizerPolicyTest, AllowlistAppliesToEveryCredentialOfTheTenant) {
  Env env;
  TenantPolicies policies(*env.store);
  RoleAuthorizer authz(&policies);
  AuthzFixture f;
  f.ctx.client = *core::IpAddress::Parse("192.0.2.7");
  f.ctx.principal = {
      .kind = core::Principal::Kind::kUser, .tenant_id = env.tenant.tenant_id, .role = "owner"};
  EXPECT_TRUE(authz.Authorize(f.ctx).ok());  // no allowlist: any address
  ASSERT_TRUE(env.Write([&](auto& tx) -> StatusOr<bool> {
                   BULWARK_RETURN_IF_ERROR(SetIpAllowlist(
                       tx, env.tenant.tenant_id, *ParseAllowlist({"10.0.0.0/8", "2001:db8::/32"})));
                   return true;
                 })
                  .ok());
  EXPECT_TRUE(authz.Authorize(f.ctx).ok());  // cached until invalidated
  policies.Invalidate(env.tenant.tenant_id);
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "ip_not_allowed");
  f.ctx.principal = {.kind = core::Principal::Kind::kApiKey, .tenant_id = env.tenant.tenant_id};
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "ip_not_allowed");
  f.ctx.client = *core::IpAddress::Parse("2001:db8::5");
  EXPECT_TRUE(authz.Authorize(f.ctx).ok());
  EXPECT_EQ(ParseAllowlist({"10.0.0.1/8"}).status().reason(), "invalid_cidr");
  EXPECT_EQ(ParseAllowlist(std::vector<std::string>(65, "10.0.0.0/8")).status().reason(),
            "too_many_networks");
}

TEST(AuthorizerPolicyTest, BreakGlassWidensByItsVerbsOnly) {
  AuthzFixture f;
  RoleAuthorizer authz;
  f.route.permission = "audit.read";
  f.ctx.principal = {.kind = core::Principal::Kind::kUser, .tenant_id = "t", .role = "member"};
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "permission_denied");
  f.ctx.principal.break_glass = true;
  f.ctx.principal.breakglass_verbs = {"audit.read"};
  EXPECT_TRUE(authz.Authorize(f.ctx).ok());
  f.route.permission = "members.invite";
  EXPECT_EQ(authz.Authorize(f.ctx).reason(), "permission_denied");
}

}  // namespace
}  // namespace bulwark::policy
