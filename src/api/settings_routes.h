#pragma once
// Tenant settings over HTTP: the IP allowlist, the break-glass switch (turning it off ends the
// open grants, each with its receipt) and deleting the tenant (settings_routes.cc). Each change
// is committed with its record. 503 identity_unavailable while the deps are not wired.
#include "api/route_binding.h"
#include "audit/writer.h"
#include "http/router.h"
#include "identity/api_keys.h"
#include "identity/sessions.h"
#include "policy/tenant_policy.h"
#include "receipts/service.h"
#include "store/store.h"

namespace bulwark::api {

// What the settings routes use; each pointer must outlive the router.
struct SettingsRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  identity::SessionService* sessions = nullptr;
  identity::ApiKeyService* api_keys = nullptr;
  policy::TenantPolicies* policies = nullptr;
  receipts::ReceiptService* receipts = nullptr;  // break-glass end receipts

  Status Ready() const {
    if (store == nullptr || writer == nullptr || sessions == nullptr || api_keys == nullptr ||
        policies == nullptr || receipts == nullptr) {
      return IdentityUnavailable();
    }
    return Status::Ok();
  }
};

Status AddSettingsRoutes(http::Router& router, SettingsRouteDeps deps);

}  // namespace bulwark::api
