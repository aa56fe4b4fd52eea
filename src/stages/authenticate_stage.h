#pragma once
// Stage 4 with identity: reads the credential a route accepts from the request, has
// identity::CredentialAuthenticator resolve it to a principal, and writes ctx.principal. Public
// and internal routes are the baseline's (anonymous; operator or 404: http/baseline_stages.h).
// docs/design.md "The request pipeline".
//
// Session routes take `Authorization: Bearer <access token>` or, from a browser, the access
// token's HttpOnly cookie (a state-changing request then needs the CSRF token echoed in
// X-CSRF-Token: 403 csrf_failed); API-key routes take `X-API-Key: bwk_...` or
// `Authorization: Bearer bwk_...`; "either" routes take both. On the Vault-compatible surface,
// X-Vault-Token carries either when neither header is sent. A credential that cannot be checked
// because the store is unreachable is 503, never a pass. A refused API key is recorded against
// its key id (the principal names it, with no tenant).
//
// SCIM routes (AuthDecision::kScim) take only `Authorization: Bearer bwscim_...`, resolved by
// scim::ScimTokens: the tenant is the token's. Without the SCIM tokens wired, they are refused
// (401), never passed.
//
// Thread-safe: holds references only; the baseline and the services must outlive it.
#include <memory>

#include "http/stages.h"
#include "identity/authenticator.h"
#include "scim/tokens.h"

namespace bulwark::stages {

class AuthenticateStage : public http::Authenticator {
 public:
  AuthenticateStage(std::shared_ptr<http::Authenticator> baseline,
                    identity::CredentialAuthenticator credentials,
                    const scim::ScimTokens* scim_tokens = nullptr)
      : baseline_(std::move(baseline)), credentials_(credentials), scim_tokens_(scim_tokens) {}
  // Errors: kUnauthenticated (no accepted credential, or a refused one), kPermissionDenied
  // "csrf_failed" and the services' 403s, kUnavailable.
  Status Authenticate(http::RequestContext& ctx) override;

 private:
  std::shared_ptr<http::Authenticator> baseline_;
  identity::CredentialAuthenticator credentials_;
  const scim::ScimTokens* scim_tokens_;
};

}  // namespace bulwark::stages
