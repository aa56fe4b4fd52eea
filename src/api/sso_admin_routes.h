#pragma once
// SSO administration over HTTP (sso_admin_routes.cc): a tenant's OIDC connections, its claimed
// and verified domains, and whether it requires SSO. Owner-only (settings.read / settings.update
// and the owner role, checked by the handler: 403 owner_required for anyone else); every change
// needs an MFA step-up and a session (an API key cannot step up), is committed with its ledger
// record, and a connection change also issues its idp.config_change receipt in the same
// transaction. The client secret is write-only: no answer holds it.
//   POST   /api/v1/sso/connections            GET /api/v1/sso/connections
//   GET    /api/v1/sso/connections/{id}       PUT, DELETE the same
//   POST   /api/v1/sso/domains {"domain"}      GET /api/v1/sso/domains
//   POST   /api/v1/sso/domains/{domain}/verify DELETE /api/v1/sso/domains/{domain}
//   GET    /api/v1/sso/policy                  PUT /api/v1/sso/policy {"require_sso": bool}
// 503 identity_unavailable while the deps are not wired.
#include "api/route_binding.h"
#include "audit/writer.h"
#include "http/router.h"
#include "sso/connections.h"
#include "sso/domains.h"
#include "store/store.h"

namespace bulwark::api {

// What the SSO administration routes use; each pointer must outlive the router.
struct SsoAdminRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  const sso::ConnectionService* connections = nullptr;
  const sso::DomainService* domains = nullptr;

  Status Ready() const {
    if (store == nullptr || writer == nullptr || connections == nullptr || domains == nullptr) {
      return IdentityUnavailable();
    }
    return Status::Ok();
  }
};

Status AddSsoAdminRoutes(http::Router& router, SsoAdminRouteDeps deps);

}  // namespace bulwark::api
