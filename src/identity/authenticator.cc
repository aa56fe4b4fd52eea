#include "identity/authenticator.h"

#include <string>
#include <utility>

namespace bulwark::identity {

Status CredentialRequired() {
  return Status::Unauthenticated("authentication_required", "a valid credential is required");
}

StatusOr<core::Principal> CredentialAuthenticator::Resolve(const Credential& credential,
                                                           AcceptedCredentials accepted,
                                                           const core::IpAddress& client,
                                                           std::int64_t now,
                                                           core::Principal* refused) {
  if (credential.kind == CredentialKind::kApiKey) {
    if (!accepted.api_keys) {
      return Status::Unauthenticated("session_required",
                                     "this route needs a signed-in user, not an API key");
    }
    std::string key_id;
    auto p = api_keys_.Authenticate(credential.secret, client, now, &key_id);
    if (!p.ok() && !key_id.empty() && refused != nullptr) {
      *refused = {.kind = core::Principal::Kind::kApiKey, .id = key_id, .auth_method = "api_key"};
    }
    return p;
  }
  if (!accepted.sessions || credential.secret.empty()) return CredentialRequired();
  BULWARK_ASSIGN_OR_RETURN(core::Principal p, sessions_.Authenticate(credential.secret, now));
  if (credential.kind == CredentialKind::kSessionCookie) p.auth_method = "session_cookie";
  return p;
}

}  // namespace bulwark::identity
