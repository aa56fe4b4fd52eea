// The authenticator without a server: identity::CredentialAuthenticator (a credential resolved
// to a principal, no HTTP) and stages::AuthenticateStage (which header or cookie carries which
// credential, CSRF, the operator token through the baseline, X-Vault-Token on the Vault
// surface), against a migrated SQLite store with real sessions and API keys.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "../keyed_store_env.h"
#include "core/clock.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"
#include "http/baseline_stages.h"
#include "http/cookies.h"
#include "identity/api_keys.h"
#include "identity/authenticator.h"
#include "identity/directory.h"
#include "identity/sessions.h"
#include "stages/access_stages.h"
#include "stages/authenticate_stage.h"

namespace bulwark::stages {
namespace {

using core::Principal;
using http::AuthDecision;
using http::Verb;
using identity::AcceptedCredentials;
using identity::CredentialKind;
using policy::Role;

constexpr std::string_view kOperatorToken = "operator-token-for-the-authenticator-test-0123";
constexpr std::string_view kCsrf = "csrf-token-of-at-least-thirty-two-characters";

core::IpAddress Ip(const char* s) { return *core::IpAddress::Parse(s); }

struct AuthEnv : bulwark::testing::KeyedStore {
  std::unique_ptr<identity::SessionService> sessions;
  identity::ApiKeyService api_keys{*store, std::chrono::milliseconds(50)};
  identity::directory::CreatedTenant tenant;
  identity::directory::CreatedTenant other;
  std::int64_t now = core::NowUnixSeconds();

  AuthEnv() {
    auto s = identity::SessionService::Open(*store, *keys, {});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    sessions = std::move(*s);
    tenant = *Write([&](auto& tx) {
      return identity::directory::CreateTenant(tx, "acme", "ada@acme.test", now);
    });
    other = *Write([&](auto& tx) {
      return identity::directory::CreateTenant(tx, "other", "eve@other.test", now);
    });
  }
  identity::CredentialAuthenticator Credentials() { return {*sessions, api_keys}; }
  identity::SessionTokens Session() {
    return *Write([&](auto& tx) {
      return sessions->Start(tx, tenant.owner_user_id, tenant.tenant_id, now);
    });
  }
  identity::CreatedApiKey Key(std::vector<std::string> cidrs = {}) {
    return *Write([&](auto& tx) {
      return api_keys.Create(tx,
                             {.tenant_id = tenant.tenant_id,
                              .name = "ci",
                              .scopes = {"secrets.read"},
                              .creator_role = Role::kOwner,
                              .created_by = tenant.owner_user_id,
                              .cidrs = std::move(cidrs)},
                             now);
    });
  }
};

// ---- the domain: a credential resolved to a principal, no HTTP ------------------------------

TEST(CredentialAuthenticatorTest, AnApiKeyResolvesToItsTenantAndScopes) {
  AuthEnv env;
  const auto key = env.Key();
  auto p = env.Credentials().Resolve({CredentialKind::kApiKey, key.key}, {.api_keys = true},
                                     Ip("192.0.2.1"), env.now);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->kind, Principal::Kind::kApiKey);
  EXPECT_EQ(p->id, key.info.id);
  EXPECT_EQ(p->tenant_id, env.tenant.tenant_id);  // bound to the key's tenant, nothing else
  EXPECT_EQ(p->auth_method, "api_key");
  EXPECT_EQ(p->scopes, std::vector<std::string>{"secrets.read"});
}

TEST(CredentialAuthenticatorTest, AnAccessTokenAndTheCookieResolveToTheMemberNow) {
  AuthEnv env;
  const auto t = env.Session();
  auto bearer = env.Credentials().Resolve({CredentialKind::kAccessToken, t.access_token},
                                          {.sessions = true}, Ip("192.0.2.1"), env.now);
  ASSERT_TRUE(bearer.ok()) << bearer.status().ToString();
  EXPECT_EQ(bearer->kind, Principal::Kind::kUser);
  EXPECT_EQ(bearer->id, env.tenant.owner_user_id);
  EXPECT_EQ(bearer->tenant_id, env.tenant.tenant_id);
  EXPECT_EQ(bearer->role, "owner");
  EXPECT_EQ(bearer->auth_method, "session");
  auto cookie = env.Credentials().Resolve({CredentialKind::kSessionCookie, t.access_token},
                                          {.api_keys = true, .sessions = true}, Ip("192.0.2.1"),
                                          env.now);
  ASSERT_TRUE(cookie.ok()) << cookie.status().ToString();
  EXPECT_EQ(cookie->id, env.tenant.owner_user_id);
  EXPECT_EQ(cookie->auth_method, "session_cookie");
}

TEST(CredentialAuthenticatorTest, ACredentialTheRouteDoesNotAcceptIsRefusedUnchecked) {
  AuthEnv env;
  const auto key = env.Key();
  const auto t = env.Session();
  Principal refused;
  auto k = env.Credentials().Resolve({CredentialKind::kApiKey, key.key}, {.sessions = true},
                                     Ip("192.0.2.1"), env.now, &refused);
  EXPECT_EQ(k.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(k.status().reason(), "session_required");
  EXPECT_EQ(refused.kind, Principal::Kind::kAnonymous);  // not checked, so not named
  auto s = env.Credentials().Resolve({CredentialKind::kAccessToken, t.access_token},
                                     {.api_keys = true}, Ip("192.0.2.1"), env.now);
  EXPECT_EQ(s.status().reason(), "authentication_required");
  auto empty = env.Credentials().Resolve({CredentialKind::kAccessToken, ""}, {.sessions = true},
                                         Ip("192.0.2.1"), env.now);
  EXPECT_EQ(empty.status().reason(), "authentication_required");
}

TEST(CredentialAuthenticatorTest, ExpiredForgedRevokedAndUnboundCredentialsAreRefused) {
  AuthEnv env;
  const auto t = env.Session();
  const AcceptedCredentials both{.api_keys = true, .sessions = true};
  auto auth = env.Credentials();
  EXPECT_EQ(auth.Resolve({CredentialKind::kAccessToken, t.access_token}, both, Ip("192.0.2.1"),
                         env.now + 900 + 31)
                .status()
                .reason(),
            "token_expired");
  EXPECT_EQ(auth.Resolve({CredentialKind::kAccessToken, t.access_token + "x"}, both,
                         Ip("192.0.2.1"), env.now)
                .status()
                .code(),
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(auth.Resolve({CredentialKind::kAccessToken, t.refresh_token}, both, Ip("192.0.2.1"),
                         env.now)
                .status()
                .code(),
            ErrorCode::kUnauthenticated);

  // A key with its id and a valid checksum but another secret: refused, and named by its id
  // with no tenant (the record is against the key, never a tenant it did not prove).
  const auto key = env.Key({"10.0.0.0/8"});
  const std::string body = key.key.substr(0, 4 + 16 + 1) + std::string(43, 'A');
  const std::string forged =
      body + "_" + crypto::Base64UrlEncode(crypto::Sha256(body)).substr(0, 6);
  ASSERT_TRUE(identity::ApiKeyChecksumValid(forged));
  Principal refused;
  EXPECT_EQ(auth.Resolve({CredentialKind::kApiKey, forged}, both, Ip("10.1.2.3"), env.now,
                         &refused)
                .status()
                .reason(),
            "invalid_api_key");
  EXPECT_EQ(refused.kind, Principal::Kind::kApiKey);
  EXPECT_EQ(refused.id, key.info.id);
  EXPECT_EQ(refused.auth_method, "api_key");
  EXPECT_TRUE(refused.tenant_id.empty());
  // Bound to its addresses.
  EXPECT_EQ(auth.Resolve({CredentialKind::kApiKey, key.key}, both, Ip("192.0.2.1"), env.now)
                .status()
                .reason(),
            "apikey_address_refused");
  EXPECT_TRUE(
      auth.Resolve({CredentialKind::kApiKey, key.key}, both, Ip("10.1.2.3"), env.now).ok());
  // Revoked: refused from the next request on.
  ASSERT_TRUE(env.Write([&](auto& tx) {
                   return env.api_keys.Revoke(tx, env.tenant.tenant_id, key.info.id, env.now);
                 }).ok());
  env.api_keys.Invalidate(key.info.id);
  EXPECT_EQ(auth.Resolve({CredentialKind::kApiKey, key.key}, both, Ip("10.1.2.3"), env.now)
                .status()
                .reason(),
            "apikey_revoked");
}

// ---- the stage: what the request carries, onto the context --------------------------------

struct StageEnv : AuthEnv {
  std::shared_ptr<http::BaselineAuthenticator> baseline =
      std::make_shared<http::BaselineAuthenticator>(
          std::vector<core::Cidr>{},
          std::optional<crypto::SecretBytes>(crypto::SecretBytes::FromString(std::string(kOperatorToken))));
  AuthenticateStage stage{baseline, Credentials()};
  http::Route route;

  // Runs the stage for `req` on a route of `auth` at `path` (on the Vault surface if `vault`).
  Status Run(http::Request& req, AuthDecision auth, http::RequestContext** out = nullptr,
             bool vault = false) {
    route.method = req.method();
    route.pattern = std::string(req.target());
    route.auth = auth;
    route.surface = vault ? http::Surface::kVault : http::Surface::kApi;
    ctx_.emplace(http::RequestContext{.req = req, .client = Ip("192.0.2.1")});
    ctx_->path = req.target();
    ctx_->route = &route;
    const Status s = stage.Authenticate(*ctx_);
    if (out != nullptr) *out = &*ctx_;
    return s;
  }

 private:
  std::optional<http::RequestContext> ctx_;
};

TEST(AuthenticateStageTest, ApiKeyFromXApiKeyOrBearerAndTheTenantIsTheKeys) {
  StageEnv env;
  const auto key = env.Key();
  http::RequestContext* ctx = nullptr;
  http::Request a{Verb::get, "/api/v1/secrets/x", 11};
  a.set("X-API-Key", key.key);
  a.set("X-Tenant-ID", env.other.tenant_id);  // a claim, never a source of the tenant
  ASSERT_TRUE(env.Run(a, AuthDecision::kEither, &ctx).ok());
  EXPECT_EQ(ctx->principal.id, key.info.id);
  EXPECT_EQ(ctx->principal.tenant_id, env.tenant.tenant_id);
  // The tenant guard then refuses the other tenant's header.
  CredentialTenantGuard guard;
  EXPECT_EQ(guard.Check(*ctx).reason(), "tenant_mismatch");

  http::Request b{Verb::get, "/api/v1/secrets/x", 11};
  b.set(http::bhttp::field::authorization, "Bearer " + key.key);
  ASSERT_TRUE(env.Run(b, AuthDecision::kApiKey, &ctx).ok());
  EXPECT_EQ(ctx->principal.kind, Principal::Kind::kApiKey);
  // A session-only route refuses the key.
  EXPECT_EQ(env.Run(b, AuthDecision::kSession).reason(), "session_required");
}

TEST(AuthenticateStageTest, SessionFromBearerOrCookieWithCsrfForChanges) {
  StageEnv env;
  const auto t = env.Session();
  http::RequestContext* ctx = nullptr;
  http::Request bearer{Verb::post, "/api/v1/me", 11};
  bearer.set(http::bhttp::field::authorization, "Bearer " + t.access_token);
  ASSERT_TRUE(env.Run(bearer, AuthDecision::kSession, &ctx).ok());
  EXPECT_EQ(ctx->principal.auth_method, "session");
  EXPECT_EQ(env.Run(bearer, AuthDecision::kApiKey).reason(), "authentication_required");

  const std::string cookies = std::string(http::kAccessCookie) + "=" + t.access_token + "; " +
                              std::string(http::kCsrfCookie) + "=" + std::string(kCsrf);
  http::Request get{Verb::get, "/api/v1/me", 11};
  get.set(http::bhttp::field::cookie, cookies);
  ASSERT_TRUE(env.Run(get, AuthDecision::kSession, &ctx).ok());
  EXPECT_EQ(ctx->principal.auth_method, "session_cookie");
  EXPECT_EQ(ctx->principal.tenant_id, env.tenant.tenant_id);

  http::Request post{Verb::post, "/api/v1/me", 11};
  post.set(http::bhttp::field::cookie, cookies);
  EXPECT_EQ(env.Run(post, AuthDecision::kSession).reason(), "csrf_failed");
  post.set(http::kCsrfHeader, "not-the-cookie-value-not-the-cookie-value");
  EXPECT_EQ(env.Run(post, AuthDecision::kSession).reason(), "csrf_failed");
  post.set(http::kCsrfHeader, kCsrf);
  EXPECT_TRUE(env.Run(post, AuthDecision::kSession).ok());
}

TEST(AuthenticateStageTest, NoCredentialOrARefusedOneIs401AndARefusedKeyIsNamed) {
  StageEnv env;
  const auto key = env.Key();
  http::RequestContext* ctx = nullptr;
  http::Request none{Verb::get, "/api/v1/me", 11};
  EXPECT_EQ(env.Run(none, AuthDecision::kEither).reason(), "authentication_required");
  http::Request expired{Verb::get, "/api/v1/me", 11};
  expired.set(http::bhttp::field::authorization, "Bearer not-a-token");
  EXPECT_EQ(env.Run(expired, AuthDecision::kEither).code(), ErrorCode::kUnauthenticated);

  http::Request revoked{Verb::get, "/api/v1/secrets/x", 11};
  revoked.set("X-API-Key", key.key);
  ASSERT_TRUE(env.Write([&](auto& tx) {
                   return env.api_keys.Revoke(tx, env.tenant.tenant_id, key.info.id, env.now);
                 }).ok());
  env.api_keys.Invalidate(key.info.id);
  EXPECT_EQ(env.Run(revoked, AuthDecision::kEither, &ctx).reason(), "apikey_revoked");
  EXPECT_EQ(ctx->principal.kind, Principal::Kind::kApiKey);
  EXPECT_EQ(ctx->principal.id, key.info.id);
  EXPECT_TRUE(ctx->principal.tenant_id.empty());
}

TEST(AuthenticateStageTest, TheOperatorTokenOpensOnlyInternalRoutes) {
  StageEnv env;
  http::RequestContext* ctx = nullptr;
  http::Request op{Verb::get, "/ops/thing", 11};
  op.set(http::bhttp::field::authorization, "Bearer " + std::string(kOperatorToken));
  ASSERT_TRUE(env.Run(op, AuthDecision::kInternal, &ctx).ok());
  EXPECT_EQ(ctx->principal.kind, Principal::Kind::kOperator);
  EXPECT_EQ(ctx->principal.auth_method, "operator_token");
  // Not a tenant credential anywhere else.
  EXPECT_EQ(env.Run(op, AuthDecision::kEither).code(), ErrorCode::kUnauthenticated);
  http::Request wrong{Verb::get, "/ops/thing", 11};
  wrong.set(http::bhttp::field::authorization, "Bearer operator-token-guessed");
  EXPECT_EQ(env.Run(wrong, AuthDecision::kInternal).code(), ErrorCode::kNotFound);
  http::Request anon{Verb::get, "/livez", 11};
  ASSERT_TRUE(env.Run(anon, AuthDecision::kPublic, &ctx).ok());
  EXPECT_EQ(ctx->principal.kind, Principal::Kind::kAnonymous);
}

TEST(AuthenticateStageTest, XVaultTokenCountsOnlyOnTheVaultSurface) {
  StageEnv env;
  const auto key = env.Key();
  const auto t = env.Session();
  http::RequestContext* ctx = nullptr;
  http::Request k{Verb::get, "/v1/secret/data/x", 11};
  k.set("X-Vault-Token", key.key);
  ASSERT_TRUE(env.Run(k, AuthDecision::kEither, &ctx, /*vault=*/true).ok());
  EXPECT_EQ(ctx->principal.id, key.info.id);
  http::Request s{Verb::get, "/v1/secret/data/x", 11};
  s.set("X-Vault-Token", t.access_token);
  ASSERT_TRUE(env.Run(s, AuthDecision::kEither, &ctx, /*vault=*/true).ok());
  EXPECT_EQ(ctx->principal.id, env.tenant.owner_user_id);
  // The route's surface decides, not the path: the same header on a route of the API is unread.
  EXPECT_EQ(env.Run(k, AuthDecision::kEither, nullptr, /*vault=*/false).reason(),
            "authentication_required");
}

}  // namespace
}  // namespace bulwark::stages
