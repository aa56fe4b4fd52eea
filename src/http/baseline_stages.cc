#include "http/baseline_stages.h"

#include "crypto/compare.h"

namespace bulwark::http {

BaselineAuthenticator::BaselineAuthenticator(std::vector<core::Cidr> operator_cidrs,
                                             const std::optional<crypto::SecretBytes>& operator_token)
    : operator_cidrs_(std::move(operator_cidrs)) {
  SetOperatorToken(operator_token);
}

bool BaselineAuthenticator::SetOperatorToken(
    const std::optional<crypto::SecretBytes>& operator_token) {
  std::optional<crypto::Digest256> next;
  if (operator_token && !operator_token->empty())
    next = crypto::Sha256(operator_token->reveal_span());
  std::lock_guard<std::mutex> lock(token_mu_);
  const bool same = next.has_value() == token_digest_.has_value() &&
                    (!next || crypto::ConstantTimeEquals(*next, *token_digest_));
  token_digest_ = next;
  return !same;
}

std::optional<crypto::Digest256> BaselineAuthenticator::TokenDigest() const {
  std::lock_guard<std::mutex> lock(token_mu_);
  return token_digest_;
}

Status BaselineAuthenticator::Authenticate(RequestContext& ctx) {
  switch (ctx.route->auth) {
    case AuthDecision::kPublic:
      ctx.principal = {.kind = core::Principal::Kind::kAnonymous, .auth_method = "none"};
      return Status::Ok();
    case AuthDecision::kInternal: {
      // The real client decides. Behind a trusted proxy the peer is the proxy, whose own address
      // must never make every forwarded caller an operator: only a forwarded client address
      // counts there, and a request the proxy did not attribute is not an operator's.
      const bool attributed = !ctx.via_trusted_proxy || ctx.client.bytes() != ctx.peer.bytes();
      if (attributed && core::AnyContains(operator_cidrs_, ctx.client)) {
        ctx.principal = {.kind = core::Principal::Kind::kOperator, .auth_method = "operator_cidr"};
        return Status::Ok();
      }
      const std::string_view auth = ctx.req[bhttp::field::authorization];
      constexpr std::string_view kBearer = "Bearer ";
      const std::optional<crypto::Digest256> token_digest = TokenDigest();
      if (token_digest && auth.size() > kBearer.size() && auth.starts_with(kBearer)) {
        // Compare digests so neither the length nor the content of the token leaks by timing.
        const crypto::Digest256 presented = crypto::Sha256(auth.substr(kBearer.size()));
        if (crypto::ConstantTimeEquals(presented, *token_digest)) {
          ctx.principal = {.kind = core::Principal::Kind::kOperator, .auth_method = "operator_token"};
          return Status::Ok();
        }
      }
      return Status::NotFound("not_found", "no such route");
    }
    case AuthDecision::kSession:
    case AuthDecision::kApiKey:
    case AuthDecision::kEither:
    case AuthDecision::kScim:
      return Status::Unauthenticated("authentication_required", "a valid credential is required");
    case AuthDecision::kUndeclared:
      break;
  }
  return Status::Internal("route without an authentication decision");
}

Status DenyByDefaultAuthorizer::Authorize(RequestContext& ctx) {
  if (ctx.route->permission.empty()) return Status::Ok();
  return Status::PermissionDenied("permission_denied", "missing permission " + ctx.route->permission);
}

}  // namespace bulwark::http
