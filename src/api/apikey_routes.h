#pragma once
// API keys over HTTP: create (MFA step-up, the secret shown once, with a receipt), list, revoke;
// and GET /api/v1/whoami for any credential (apikey_routes.cc). Each change is committed with its
// record (api/recorded_commit.h). 503 identity_unavailable while the deps are not wired.
#include "api/route_binding.h"
#include "audit/writer.h"
#include "http/router.h"
#include "identity/api_keys.h"
#include "receipts/service.h"
#include "store/store.h"

namespace bulwark::api {

// What the API key routes use; each pointer must outlive the router.
struct ApiKeyRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  identity::ApiKeyService* api_keys = nullptr;
  receipts::ReceiptService* receipts = nullptr;  // the receipt of a key's creation

  Status Ready() const {
    if (store == nullptr || writer == nullptr || api_keys == nullptr || receipts == nullptr) {
      return IdentityUnavailable();
    }
    return Status::Ok();
  }
};

Status AddApiKeyRoutes(http::Router& router, ApiKeyRouteDeps deps);

}  // namespace bulwark::api
