#pragma once
// Discovery for resource servers (identity/discovery.h): GET /.well-known/openid-configuration
// and /.well-known/oauth-authorization-server, public and cacheable. The JWKS they point at is
// served by identity_routes.cc. 503 identity_unavailable while the sessions are not wired.
#include "http/router.h"
#include "identity/sessions.h"

namespace bulwark::api {

struct DiscoveryRouteDeps {
  const identity::SessionService* sessions = nullptr;  // its issuer; must outlive the router
};

Status AddDiscoveryRoutes(http::Router& router, DiscoveryRouteDeps deps);

}  // namespace bulwark::api
