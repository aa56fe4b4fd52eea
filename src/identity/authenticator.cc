#include "identity/authenticator.h"

#include "core/clock.h"

namespace bulwark::identity {
namespace {

Status Missing() {
  return Status::Unauthenticated("authentication_required", "a valid credential is required");
}

}  // namespace

IdentityAuthenticator::IdentityAuthenticator(std::shared_ptr<http::Authenticator> baseline,
                                             SessionService& sessions)
    : baseline_(std::move(baseline)), sessions_(sessions) {}

Status IdentityAuthenticator::Authenticate(http::RequestContext& ctx) {
  using http::AuthDecision;
  const AuthDecision decision = ctx.route->auth;
  if (decision == AuthDecision::kPublic || decision == AuthDecision::kInternal ||
      decision == AuthDecision::kUndeclared) {
    return baseline_->Authenticate(ctx);
  }
  const std::string_view auth = ctx.req[http::bhttp::field::authorization];
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || !auth.starts_with(kBearer)) return Missing();
  const std::string_view token = auth.substr(kBearer.size());
  if (decision == AuthDecision::kApiKey) return Missing();
  BULWARK_ASSIGN_OR_RETURN(ctx.principal, sessions_.Authenticate(token, core::NowUnixSeconds()));
  return Status::Ok();
}

}  // namespace bulwark::identity
