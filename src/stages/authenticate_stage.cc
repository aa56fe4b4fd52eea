#include "stages/authenticate_stage.h"

#include "core/clock.h"
#include "http/cookies.h"

namespace bulwark::stages {

Status AuthenticateStage::Authenticate(http::RequestContext& ctx) {
  using identity::CredentialKind;
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
  if (decision == AuthDecision::kScim) {
    if (bearer.empty()) {
      return Status::Unauthenticated("scim_token_required",
                                     "a SCIM bearer token (Authorization: Bearer) is required");
    }
    if (scim_tokens_ == nullptr) {
      return Status::Unauthenticated("invalid_scim_token", "the SCIM bearer token is not valid");
    }
    BULWARK_ASSIGN_OR_RETURN(ctx.principal, scim_tokens_->Authenticate(bearer));
    return Status::Ok();
  }
  std::string_view api_key = ctx.req["X-API-Key"];
  if (api_key.empty() && bearer.starts_with(identity::kApiKeyPrefix)) api_key = bearer;
  // The Vault-compatible surface: X-Vault-Token carries an API key or an access token.
  if (ctx.route->surface == http::Surface::kVault && api_key.empty() && bearer.empty()) {
    const std::string_view vault_token = ctx.req["X-Vault-Token"];
    if (vault_token.starts_with(identity::kApiKeyPrefix)) {
      api_key = vault_token;
    } else {
      bearer = vault_token;
    }
  }
  const identity::AcceptedCredentials accepted = {
      .api_keys = decision == AuthDecision::kApiKey || decision == AuthDecision::kEither,
      .sessions = decision == AuthDecision::kSession || decision == AuthDecision::kEither};
  const std::int64_t now = core::NowUnixSeconds();
  if (!api_key.empty()) {
    auto p = credentials_.Resolve({CredentialKind::kApiKey, api_key}, accepted, ctx.client, now,
                                  &ctx.principal);
    if (!p.ok()) return p.status();
    ctx.principal = std::move(*p);
    return Status::Ok();
  }
  if (!accepted.sessions) return identity::CredentialRequired();
  if (bearer.empty()) {
    // Browser mode: the access token in its HttpOnly cookie, and for anything that changes state
    // the CSRF token echoed from its cookie into the header.
    const std::string_view cookie = http::CookieValue(ctx.req, http::kAccessCookie);
    if (cookie.empty()) return identity::CredentialRequired();
    if (!http::IsSafeMethod(ctx.req.method())) {
      if (!http::CsrfTokenMatches(ctx.req)) {
        return Status::PermissionDenied("csrf_failed",
                                        "a state-changing request with the session cookie needs "
                                        "the X-CSRF-Token header");
      }
    }
    BULWARK_ASSIGN_OR_RETURN(ctx.principal,
                             credentials_.Resolve({CredentialKind::kSessionCookie, cookie},
                                                  accepted, ctx.client, now));
    return Status::Ok();
  }
  BULWARK_ASSIGN_OR_RETURN(
      ctx.principal,
      credentials_.Resolve({CredentialKind::kAccessToken, bearer}, accepted, ctx.client, now));
  return Status::Ok();
}

}  // namespace bulwark::stages
