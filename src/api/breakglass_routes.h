#pragma once
// Break-glass over HTTP: designation (owner), activation, status, end (breakglass_routes.cc).
// Activation and end each issue a receipt, committed with the change and its record.
// 503 identity_unavailable while the deps are not wired.
#include "api/route_binding.h"
#include "audit/writer.h"
#include "http/router.h"
#include "identity/sessions.h"
#include "receipts/service.h"
#include "store/store.h"

namespace bulwark::api {

// What the break-glass routes use; each pointer must outlive the router.
struct BreakglassRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  identity::SessionService* sessions = nullptr;
  receipts::ReceiptService* receipts = nullptr;  // break-glass start and end receipts
  bool breakglass_enabled = false;               // the server's half of the switch

  Status Ready() const {
    if (store == nullptr || writer == nullptr || sessions == nullptr || receipts == nullptr) {
      return IdentityUnavailable();
    }
    return Status::Ok();
  }
};

Status AddBreakglassRoutes(http::Router& router, BreakglassRouteDeps deps);

}  // namespace bulwark::api
