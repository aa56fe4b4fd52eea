#pragma once
// Stage 4 with identity: the credential a route accepts, proven against the store's current
// state. Public and internal routes are the baseline's (anonymous; operator or 404).
//
// Session routes take `Authorization: Bearer <access token>`. A credential that cannot be
// checked because the store is unreachable is 503, never a pass. A route that accepts API keys
// refuses one until the API-key service is plugged in (401).
#include <memory>

#include "http/stages.h"
#include "identity/sessions.h"

namespace bulwark::identity {

class IdentityAuthenticator : public http::Authenticator {
 public:
  IdentityAuthenticator(std::shared_ptr<http::Authenticator> baseline, SessionService& sessions);
  Status Authenticate(http::RequestContext& ctx) override;

 private:
  std::shared_ptr<http::Authenticator> baseline_;
  SessionService& sessions_;
};

}  // namespace bulwark::identity
