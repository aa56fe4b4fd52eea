#pragma once
// The SSO sign-in flow over HTTP (sso/flow.h), all public routes:
//   GET  /api/v1/sso/login?tenant=<id or name>&connection=<id>   302 to the identity provider,
//        with the attempt's __Host-bulwark_sso cookie (HttpOnly, Secure, SameSite=Lax).
//   GET  /api/v1/sso/callback/{connection}   the connection's redirect URI: 302 to the page
//        after sign-in with the browser-mode session cookies (http/cookies.h), or the error body
//        with its stable reason (400 connection_mismatch when the attempt was begun for another
//        connection: RFC 9700 section 4.4.2).
//   POST /api/v1/sso/backchannel-logout/{connection}   OpenID Back-Channel Logout 1.0: a form
//        body `logout_token=...`; 200 when its sessions ended, 400 with the reason otherwise.
//        The token is validated (the provider's discovery and keys fetched) before the recorded
//        change, never inside the audit writer's transaction.
// Each sign-in (success and each failure with its reason) and each logout token is a ledger
// record naming the tenant; refusals count toward the 401/403 spike alert like any other.
// 503 identity_unavailable while the deps are not wired.
#include "api/route_binding.h"
#include "audit/writer.h"
#include "http/router.h"
#include "identity/sessions.h"
#include "sso/flow.h"
#include "store/store.h"

namespace bulwark::api {

// What the SSO flow routes use; each pointer must outlive the router.
struct SsoFlowRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  identity::SessionService* sessions = nullptr;
  sso::FlowService* flow = nullptr;

  Status Ready() const {
    if (store == nullptr || writer == nullptr || sessions == nullptr || flow == nullptr) {
      return IdentityUnavailable();
    }
    return Status::Ok();
  }
};

Status AddSsoFlowRoutes(http::Router& router, SsoFlowRouteDeps deps);

}  // namespace bulwark::api
