#pragma once
// Stage 4 with identity: the credential a route accepts, proven against the store's current
// state. Public and internal routes are the baseline's (anonymous; operator or 404).
//
// Session routes take `Authorization: Bearer <access token>`; API-key routes take
// `X-API-Key: bwk_...` or `Authorization: Bearer bwk_...`; "either" routes take both. A
// credential that cannot be checked because the store is unreachable is 503, never a pass. A
// refused API key is recorded against its key id (the principal names it, with no tenant).
#include <memory>

#include "http/stages.h"
#include "identity/api_keys.h"
#include "identity/sessions.h"

namespace bulwark::identity {

class IdentityAuthenticator : public http::Authenticator {
 public:
  IdentityAuthenticator(std::shared_ptr<http::Authenticator> baseline, SessionService& sessions,
                        ApiKeyService& api_keys);
  Status Authenticate(http::RequestContext& ctx) override;

 private:
  std::shared_ptr<http::Authenticator> baseline_;
  SessionService& sessions_;
  ApiKeyService& api_keys_;
};

}  // namespace bulwark::identity
