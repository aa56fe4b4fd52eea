// Discovery for resource servers (identity/discovery.h): the OpenID Connect and RFC 8414
// metadata documents, public and cacheable. The JWKS they point at is served by
// identity_routes.cc.
#include "api/discovery_routes.h"
#include "api/route_binding.h"
#include "identity/discovery.h"

namespace bulwark::api {

Status AddDiscoveryRoutes(http::Router& router, DiscoveryRouteDeps deps) {
  struct Def {
    std::string_view pattern;
    std::string_view summary;
  };
  const Def defs[] = {
      {"/.well-known/openid-configuration",
       "OpenID Connect discovery metadata for resource servers: the issuer, the JWKS URI and the "
       "signing algorithm of access tokens."},
      {"/.well-known/oauth-authorization-server",
       "OAuth 2.0 authorization server metadata (RFC 8414): the same document as "
       "/.well-known/openid-configuration."},
  };
  for (const Def& def : defs) {
    BULWARK_RETURN_IF_ERROR(router.Add({
        .method = http::Verb::get,
        .pattern = std::string(def.pattern),
        .auth = http::AuthDecision::kPublic,
        .public_cache = true,
        .summary = std::string(def.summary),
        .handler = [deps](http::RequestContext&) -> StatusOr<http::Reply> {
          if (deps.sessions == nullptr) return IdentityUnavailable();
          return http::Reply{.body = identity::DiscoveryDocumentJson(deps.sessions->issuer())};
        },
    }));
  }
  return Status::Ok();
}

}  // namespace bulwark::api
