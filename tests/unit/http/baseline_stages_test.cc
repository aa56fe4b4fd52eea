#include "http/baseline_stages.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace bulwark::http {
namespace {

constexpr std::string_view kOperatorToken = "op-token-3f9a1c7e5b2d8f4a6c0e9b1d3f5a7c9e";

core::IpAddress Ip(std::string_view s) {
  auto ip = core::IpAddress::Parse(s);
  EXPECT_TRUE(ip.ok()) << s;
  return ip.ok() ? *ip : core::IpAddress();
}

Route MakeRoute(AuthDecision auth, std::string permission = {}) {
  Route r;
  r.method = Verb::get;
  r.pattern = "/x";
  r.auth = auth;
  r.permission = std::move(permission);
  return r;
}

class HttpBaselineAuthenticatorTest : public ::testing::Test {
 protected:
  HttpBaselineAuthenticatorTest()
      : auth_(Cidrs({"10.0.0.0/8", "::1"}),
              std::optional<crypto::SecretBytes>(crypto::SecretBytes::FromString(std::string(kOperatorToken)))) {}

  static std::vector<core::Cidr> Cidrs(const std::vector<std::string>& v) {
    auto c = core::ParseCidrList(v);
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : std::vector<core::Cidr>{};
  }

  Status Run(AuthDecision decision, std::string_view peer, std::string_view authorization = {},
             core::Principal* principal = nullptr) {
    Request req{Verb::get, "/x", 11};
    if (!authorization.empty()) req.set(bhttp::field::authorization, authorization);
    const Route route = MakeRoute(decision);
    RequestContext ctx{.req = req};
    ctx.route = &route;
    ctx.peer = Ip(peer);
    ctx.client = ctx.peer;
    Status st = auth_.Authenticate(ctx);
    if (principal != nullptr) *principal = ctx.principal;
    return st;
  }

  BaselineAuthenticator auth_;
};

TEST_F(HttpBaselineAuthenticatorTest, PublicIsAnonymous) {
  core::Principal p;
  p.kind = core::Principal::Kind::kSystem;
  const Status st = Run(AuthDecision::kPublic, "203.0.113.9", {}, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.kind, core::Principal::Kind::kAnonymous);
  EXPECT_EQ(p.auth_method, "none");
  EXPECT_TRUE(p.tenant_id.empty());
}

TEST_F(HttpBaselineAuthenticatorTest, InternalFromOperatorNetworkIsOperator) {
  core::Principal p;
  ASSERT_TRUE(Run(AuthDecision::kInternal, "10.20.30.40", {}, &p).ok());
  EXPECT_EQ(p.kind, core::Principal::Kind::kOperator);
  EXPECT_EQ(p.auth_method, "operator_cidr");
  core::Principal p6;
  ASSERT_TRUE(Run(AuthDecision::kInternal, "::1", {}, &p6).ok());
  EXPECT_EQ(p6.kind, core::Principal::Kind::kOperator);
}

TEST_F(HttpBaselineAuthenticatorTest, InternalWithOperatorTokenIsOperator) {
  core::Principal p;
  const Status st = Run(AuthDecision::kInternal, "203.0.113.9", "Bearer " + std::string(kOperatorToken), &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.kind, core::Principal::Kind::kOperator);
  EXPECT_EQ(p.auth_method, "operator_token");
}

TEST_F(HttpBaselineAuthenticatorTest, InternalWithoutOperatorCredentialIsNotFound) {
  const std::string wrong = std::string(kOperatorToken.substr(0, kOperatorToken.size() - 1)) + "f";
  const std::string cases[] = {
      "",                                          // no token
      "Bearer " + wrong,                           // wrong token
      "Bearer ",                                   // empty token
      "bearer " + std::string(kOperatorToken),    // scheme is case-sensitive here
      "Basic " + std::string(kOperatorToken),     // other scheme
      std::string(kOperatorToken),                 // no scheme
  };
  for (const std::string& authz : cases) {
    core::Principal p;
    const Status st = Run(AuthDecision::kInternal, "203.0.113.9", authz, &p);
    ASSERT_FALSE(st.ok()) << "'" << authz << "'";
    EXPECT_EQ(st.code(), ErrorCode::kNotFound) << "'" << authz << "'";
    EXPECT_EQ(p.kind, core::Principal::Kind::kAnonymous);
    EXPECT_EQ(st.message().find(kOperatorToken), std::string::npos);
  }
}

TEST_F(HttpBaselineAuthenticatorTest, Ipv4MappedPeerInOperatorRange) {
  core::Principal p;
  ASSERT_TRUE(Run(AuthDecision::kInternal, "::ffff:10.0.0.5", {}, &p).ok());
  EXPECT_EQ(p.kind, core::Principal::Kind::kOperator);
}

TEST_F(HttpBaselineAuthenticatorTest, SessionAndApiKeyRoutesAreUnauthenticated) {
  for (AuthDecision d : {AuthDecision::kSession, AuthDecision::kApiKey, AuthDecision::kEither}) {
    // Even from an operator network and with the operator token.
    const Status st = Run(d, "10.0.0.1", "Bearer " + std::string(kOperatorToken));
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << AuthDecisionName(d);
  }
}

TEST_F(HttpBaselineAuthenticatorTest, UndeclaredIsInternalError) {
  const Status st = Run(AuthDecision::kUndeclared, "10.0.0.1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kInternal);
}

TEST(HttpBaselineAuthenticatorNoTokenTest, EmptyOrMissingTokenNeverMatches) {
  for (bool with_empty : {false, true}) {
    std::optional<crypto::SecretBytes> token;
    if (with_empty) token = crypto::SecretBytes();
    BaselineAuthenticator auth({}, token);
    Request req{Verb::get, "/metrics", 11};
    req.set(bhttp::field::authorization, "Bearer ");
    Route route = MakeRoute(AuthDecision::kInternal);
    RequestContext ctx{.req = req};
    ctx.route = &route;
    ctx.peer = Ip("127.0.0.1");
    const Status st = auth.Authenticate(ctx);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  }
}

TEST(HttpDenyByDefaultAuthorizerTest, PermissionlessPassesPermissionDenied) {
  DenyByDefaultAuthorizer authz;
  Request req{Verb::get, "/x", 11};
  Route open = MakeRoute(AuthDecision::kSession);
  RequestContext ctx{.req = req};
  ctx.route = &open;
  EXPECT_TRUE(authz.Authorize(ctx).ok());

  Route guarded = MakeRoute(AuthDecision::kSession, "secrets.read");
  ctx.route = &guarded;
  const Status st = authz.Authorize(ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(st.reason(), "permission_denied");
}

TEST(HttpDenyTenantGuardTest, AlwaysDenies) {
  DenyTenantGuard guard;
  Request req{Verb::get, "/x", 11};
  req.set("X-Tenant-ID", "t_1");
  Route route = MakeRoute(AuthDecision::kSession);
  route.tenant_scoped = true;
  RequestContext ctx{.req = req};
  ctx.route = &route;
  ctx.principal.tenant_id = "t_1";
  const Status st = guard.Check(ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(st.reason(), "tenant_unknown");
}

TEST(HttpNoopStagesTest, NoRateLimitsAndNoAuditPass) {
  Request req{Verb::get, "/x", 11};
  RequestContext ctx{.req = req};
  NoRateLimits limits;
  NoAudit audit;
  EXPECT_TRUE(limits.Check(ctx).ok());
  int calls = 0;
  audit.Record(ctx, 200, Status::Ok(), [&](Status s) {
    EXPECT_TRUE(s.ok());
    ++calls;
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace bulwark::http
