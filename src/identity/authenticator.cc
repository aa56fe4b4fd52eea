#include "identity/authenticator.h"

#include "core/clock.h"
#include "http/cookies.h"

namespace bulwark::identity {
namespace {

Status Missing() {
  return Status::Unauthenticated("authentication_required", "a valid credential is required");
}

}  // namespace

IdentityAuthenticator::IdentityAuthenticator(std::shared_ptr<http::Authenticator> baseline,
                                             SessionService& sessions, ApiKeyService& api_keys)
    : baseline_(std::move(baseline)), sessions_(sessions), api_keys_(api_keys) {}

Status IdentityAuthenticator::Authenticate(http::RequestContext& ctx) {
  using http::AuthDecision;
  const AuthDecision decision = ctx.route->auth;
  if (decision == AuthDecision::kPublic || decision == AuthDecision::kInternal ||
      decision == AuthDecision::kUndeclared) {
    return baseline_->Authenticate(ctx);
  }
  const std::string_view auth = ctx.req[http::bhttp::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view bearer;
  if (auth.size() > kBearer.size() && auth.starts_with(kBearer))
    bearer = auth.substr(kBearer.size());
  std::string_view api_key = ctx.req["X-API-Key"];
  if (api_key.empty() && bearer.starts_with(kApiKeyPrefix)) api_key = bearer;
  // The Vault-compatible surface: X-Vault-Token carries an API key or an access token.
  if (ctx.path.starts_with("/v1/") && api_key.empty() && bearer.empty()) {
    const std::string_view vault_token = ctx.req["X-Vault-Token"];
    if (vault_token.starts_with(kApiKeyPrefix)) {
      api_key = vault_token;
    } else {
      bearer = vault_token;
    }
  }
  const bool accepts_keys = decision == AuthDecision::kApiKey || decision == AuthDecision::kEither;
  const bool accepts_sessions =
      decision == AuthDecision::kSession || decision == AuthDecision::kEither;
  const std::int64_t now = core::NowUnixSeconds();
  if (!api_key.empty()) {
    if (!accepts_keys) {
      return Status::Unauthenticated("session_required",
                                     "this route needs a signed-in user, not an API key");
    }
    std::string key_id;
    auto p = api_keys_.Authenticate(api_key, ctx.client, now, &key_id);
    if (!p.ok()) {
      if (!key_id.empty())
        ctx.principal = {
            .kind = core::Principal::Kind::kApiKey, .id = key_id, .auth_method = "api_key"};
      return p.status();
    }
    ctx.principal = std::move(*p);
    return Status::Ok();
  }
  if (!accepts_sessions) return Missing();
  if (bearer.empty()) {
    // Browser mode: the access token in its HttpOnly cookie, and for anything that changes state
    // the CSRF token echoed from its cookie into the header.
    const std::string_view cookie = http::CookieValue(ctx.req, http::kAccessCookie);
    if (cookie.empty()) return Missing();
    if (!http::IsSafeMethod(ctx.req.method())) {
      if (!http::CsrfTokenMatches(ctx.req)) {
        return Status::PermissionDenied("csrf_failed",
                                        "a state-changing request with the session cookie needs "
                                        "the X-CSRF-Token header");
      }
    }
    BULWARK_ASSIGN_OR_RETURN(ctx.principal, sessions_.Authenticate(cookie, now));
    ctx.principal.auth_method = "session_cookie";
    return Status::Ok();
  }
  BULWARK_ASSIGN_OR_RETURN(ctx.principal, sessions_.Authenticate(bearer, now));
  return Status::Ok();
}

}  // namespace bulwark::identity
