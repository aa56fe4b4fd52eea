#include "http/router.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::http {
namespace {

StatusOr<Reply> Ok(RequestContext&) { return Reply{}; }

RouteSpec Spec(Verb method, std::string pattern, AuthDecision auth = AuthDecision::kPublic) {
  RouteSpec s;
  s.method = method;
  s.pattern = std::move(pattern);
  s.auth = auth;
  s.handler = Ok;
  return s;
}

void ExpectAddFails(Router& r, RouteSpec spec, std::string_view why) {
  const std::string label = std::string(bhttp::to_string(spec.method)) + " " + spec.pattern;
  const Status st = r.Add(std::move(spec));
  ASSERT_FALSE(st.ok()) << label;
  EXPECT_EQ(st.code(), ErrorCode::kInternal) << label;
  EXPECT_NE(st.message().find(label), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
}

TEST(HttpRouterTest, AddRefusesUndeclaredAuthDecision) {
  // The server builds its table at startup and exits on the first failed Add: a route that does
  // not declare its authentication decision stops the server from starting.
  Router r;
  RouteSpec s = Spec(Verb::get, "/api/v1/things", AuthDecision::kUndeclared);
  ExpectAddFails(r, std::move(s), "authentication decision");
  EXPECT_TRUE(r.routes().empty());
  // Default-constructed RouteSpec is undeclared too.
  RouteSpec d;
  d.method = Verb::get;
  d.pattern = "/x";
  d.handler = Ok;
  EXPECT_EQ(d.auth, AuthDecision::kUndeclared);
  EXPECT_FALSE(r.Add(std::move(d)).ok());
  EXPECT_EQ(r.Find(Verb::get, "/x").kind, Router::Match::Kind::kNotFound);
}

TEST(HttpRouterTest, AddRefusesMissingHandler) {
  Router r;
  RouteSpec s = Spec(Verb::get, "/x");
  s.handler = nullptr;
  ExpectAddFails(r, std::move(s), "no handler");
}

TEST(HttpRouterTest, AddRefusesTraceConnectAndUnknown) {
  Router r;
  ExpectAddFails(r, Spec(Verb::trace, "/x"), "method not allowed");
  ExpectAddFails(r, Spec(Verb::connect, "/x"), "method not allowed");
  EXPECT_FALSE(r.Add(Spec(Verb::unknown, "/x")).ok());
  EXPECT_TRUE(r.routes().empty());
}

TEST(HttpRouterTest, AddRefusesDuplicate) {
  Router r;
  ASSERT_TRUE(r.Add(Spec(Verb::get, "/x")).ok());
  ExpectAddFails(r, Spec(Verb::get, "/x"), "declared twice");
  EXPECT_TRUE(r.Add(Spec(Verb::post, "/x")).ok());  // other method: fine
  EXPECT_EQ(r.routes().size(), 2u);
}

TEST(HttpRouterTest, AddRefusesBadPatterns) {
  Router r;
  for (const char* bad : {"", "x", "relative/path", "//x", "/a//b", "/a/./b", "/a/../b", "/a/",
                          "/a/{id", "/a/id}", "/a/{}", "/a/x{id}", "/a/{id}x"}) {
    EXPECT_FALSE(r.Add(Spec(Verb::get, bad)).ok()) << "'" << bad << "'";
  }
  EXPECT_TRUE(r.routes().empty());
}

TEST(HttpRouterTest, AddRefusesRestParamNotLast) {
  Router r;
  ExpectAddFails(r, Spec(Verb::get, "/v1/{path*}/meta"), "must be last");
  EXPECT_TRUE(r.Add(Spec(Verb::get, "/v1/{path*}")).ok());
}

TEST(HttpRouterTest, AddRefusesPublicRouteWithPermission) {
  Router r;
  RouteSpec s = Spec(Verb::get, "/x");
  s.permission = "secrets.read";
  ExpectAddFails(r, std::move(s), "public route cannot require a permission");
  RouteSpec ok = Spec(Verb::get, "/x", AuthDecision::kSession);
  ok.permission = "secrets.read";
  EXPECT_TRUE(r.Add(std::move(ok)).ok());
}

TEST(HttpRouterTest, InlineIoOnlyForPublicUnauditedRoutes) {
  Router r;
  RouteSpec session = Spec(Verb::get, "/a", AuthDecision::kSession);
  session.inline_io = true;
  ExpectAddFails(r, std::move(session), "io thread");
  RouteSpec internal = Spec(Verb::get, "/b", AuthDecision::kInternal);
  internal.inline_io = true;
  ExpectAddFails(r, std::move(internal), "io thread");
  RouteSpec audited = Spec(Verb::get, "/c");
  audited.inline_io = true;
  audited.audit_action = "thing.read";
  ExpectAddFails(r, std::move(audited), "io thread");
  RouteSpec livez = Spec(Verb::get, "/livez");
  livez.inline_io = true;
  EXPECT_TRUE(r.Add(std::move(livez)).ok());
  EXPECT_EQ(r.routes().size(), 1u);
}

TEST(HttpRouterTest, RoutesGetDenseIndexAndLabel) {
  Router r;
  ASSERT_TRUE(r.Add(Spec(Verb::get, "/livez")).ok());
  ASSERT_TRUE(r.Add(Spec(Verb::post, "/api/v1/tenants/{id}", AuthDecision::kSession)).ok());
  ASSERT_EQ(r.routes().size(), 2u);
  EXPECT_EQ(r.routes()[0].index, 0u);
  EXPECT_EQ(r.routes()[0].label, "GET /livez");
  EXPECT_EQ(r.routes()[1].index, 1u);
  EXPECT_EQ(r.routes()[1].label, "POST /api/v1/tenants/{id}");
}

class HttpRouterFindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(r_.Add(Spec(Verb::get, "/")).ok());
    ASSERT_TRUE(r_.Add(Spec(Verb::get, "/livez")).ok());
    ASSERT_TRUE(r_.Add(Spec(Verb::post, "/livez")).ok());
    ASSERT_TRUE(r_.Add(Spec(Verb::get, "/api/v1/tenants/{tenant}/users/{user}", AuthDecision::kSession)).ok());
    ASSERT_TRUE(r_.Add(Spec(Verb::delete_, "/api/v1/tenants/{tenant}/users/{user}", AuthDecision::kSession)).ok());
    ASSERT_TRUE(r_.Add(Spec(Verb::get, "/v1/secret/data/{path*}", AuthDecision::kEither)).ok());
    RouteSpec big = Spec(Verb::put, "/v1/upload/{name}", AuthDecision::kApiKey);
    big.max_body_bytes = 8 * 1024 * 1024;
    ASSERT_TRUE(r_.Add(std::move(big)).ok());
  }
  Router r_;
};

TEST_F(HttpRouterFindTest, StaticMatch) {
  Router::Match m = r_.Find(Verb::get, "/livez");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->label, "GET /livez");
  EXPECT_TRUE(m.params.empty());
  Router::Match p = r_.Find(Verb::post, "/livez");
  ASSERT_EQ(p.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(p.route->label, "POST /livez");
  Router::Match root = r_.Find(Verb::get, "/");
  ASSERT_EQ(root.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(root.route->label, "GET /");
}

TEST_F(HttpRouterFindTest, ParamExtraction) {
  Router::Match m = r_.Find(Verb::get, "/api/v1/tenants/t_42/users/u_7");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(m.route->label, "GET /api/v1/tenants/{tenant}/users/{user}");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"tenant", "t_42"}));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"user", "u_7"}));
  // Too few or too many segments do not match.
  EXPECT_EQ(r_.Find(Verb::get, "/api/v1/tenants/t_42/users").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(r_.Find(Verb::get, "/api/v1/tenants/t_42/users/u_7/x").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(r_.Find(Verb::get, "/api/v1/tenants/t_42/groups/u_7").kind, Router::Match::Kind::kNotFound);
}

TEST_F(HttpRouterFindTest, ContextParamLookup) {
  Router::Match m = r_.Find(Verb::get, "/api/v1/tenants/t_42/users/u_7");
  Request req;
  RequestContext ctx{.req = req};
  ctx.params = m.params;
  EXPECT_EQ(ctx.param("tenant"), "t_42");
  EXPECT_EQ(ctx.param("user"), "u_7");
  EXPECT_EQ(ctx.param("nope"), "");
}

TEST_F(HttpRouterFindTest, RestParamJoinsSegments) {
  Router::Match m = r_.Find(Verb::get, "/v1/secret/data/prod/db/password");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "path");
  EXPECT_EQ(m.params[0].second, "prod/db/password");
  Router::Match one = r_.Find(Verb::get, "/v1/secret/data/x");
  ASSERT_EQ(one.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(one.params[0].second, "x");
  // The rest parameter needs at least one segment.
  EXPECT_EQ(r_.Find(Verb::get, "/v1/secret/data").kind, Router::Match::Kind::kNotFound);
}

TEST_F(HttpRouterFindTest, HeadMatchesGet) {
  Router::Match m = r_.Find(Verb::head, "/livez");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(m.route->method, Verb::get);
  Router::Match p = r_.Find(Verb::head, "/api/v1/tenants/a/users/b");
  ASSERT_EQ(p.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(p.params.size(), 2u);
}

TEST_F(HttpRouterFindTest, MethodNotAllowedListsSortedAllow) {
  Router::Match m = r_.Find(Verb::put, "/livez");
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  Router::Match p = r_.Find(Verb::post, "/api/v1/tenants/a/users/b");
  EXPECT_EQ(p.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(p.allow, "DELETE, GET, HEAD");
  Router::Match t = r_.Find(Verb::trace, "/livez");
  EXPECT_EQ(t.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(t.allow.find("TRACE"), std::string::npos);
}

TEST_F(HttpRouterFindTest, UnknownPathIsNotFound) {
  Router::Match m = r_.Find(Verb::get, "/nope");
  EXPECT_EQ(m.kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.allow.empty());
  EXPECT_EQ(r_.Find(Verb::get, "/LIVEZ").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(r_.Find(Verb::get, "").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(r_.Find(Verb::get, "livez").kind, Router::Match::Kind::kNotFound);
}

TEST_F(HttpRouterFindTest, DotAndEmptySegmentsNeverMatch) {
  for (std::string_view p : {"//livez", "/livez/", "/./livez", "/livez/.", "/x/../livez",
                             "/api/v1/tenants/t/users/.", "/api/v1/tenants/t/users/..",
                             "/api/v1/tenants//users/u", "/api/v1/tenants/./users/u",
                             "/v1/secret/data/prod/../admin", "/v1/secret/data/a//b",
                             "/v1/secret/data/./x", "/v1/secret/data/x/.", "/v1/secret/data/x/",
                             "/v1/secret/data//x", "/v1/secret/data/.."}) {
    Router::Match m = r_.Find(Verb::get, p);
    EXPECT_EQ(m.kind, Router::Match::Kind::kNotFound) << p;
    EXPECT_EQ(m.route, nullptr) << p;
  }
}

TEST_F(HttpRouterFindTest, BodyLimitPerRouteAndFallback) {
  EXPECT_EQ(Router::BodyLimit(r_.Find(Verb::put, "/v1/upload/file.bin"), 1024), 8u * 1024 * 1024);
  EXPECT_EQ(Router::BodyLimit(r_.Find(Verb::post, "/livez"), 1024),
            1024u);                                                         // route without a limit
  EXPECT_EQ(Router::BodyLimit(r_.Find(Verb::post, "/nope"), 4096), 4096u);  // no route
  EXPECT_EQ(Router::BodyLimit(r_.Find(Verb::post, "/v1/upload/file.bin"), 77),
            77u);  // 405: fallback
}

TEST(HttpRouterTest, StaticAndParamRouteOnSamePath) {
  Router r;
  ASSERT_TRUE(r.Add(Spec(Verb::get, "/api/v1/tenants/{id}", AuthDecision::kSession)).ok());
  ASSERT_TRUE(r.Add(Spec(Verb::post, "/api/v1/tenants/new", AuthDecision::kSession)).ok());
  Router::Match m = r.Find(Verb::get, "/api/v1/tenants/new");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(m.route->label, "GET /api/v1/tenants/{id}");
  EXPECT_EQ(m.params[0].second, "new");
  Router::Match d = r.Find(Verb::delete_, "/api/v1/tenants/new");
  EXPECT_EQ(d.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(d.allow, "GET, HEAD, POST");
}

TEST(HttpRouterTest, AuthDecisionNames) {
  EXPECT_EQ(AuthDecisionName(AuthDecision::kUndeclared), "undeclared");
  EXPECT_EQ(AuthDecisionName(AuthDecision::kPublic), "public");
  EXPECT_EQ(AuthDecisionName(AuthDecision::kSession), "session");
  EXPECT_EQ(AuthDecisionName(AuthDecision::kApiKey), "api_key");
  EXPECT_EQ(AuthDecisionName(AuthDecision::kEither), "either");
  EXPECT_EQ(AuthDecisionName(AuthDecision::kInternal), "internal");
}

}  // namespace
}  // namespace bulwark::http
