#pragma once
// SCIM 2.0 over HTTP (RFC 7644): /scim/v2/Users[/{id}], /scim/v2/Groups[/{id}],
// /scim/v2/ServiceProviderConfig, /scim/v2/Schemas, /scim/v2/ResourceTypes, on the SCIM surface
// (http::Surface::kScim: errors in SCIM's shape, application/scim+json), authenticated by the
// tenant's SCIM token (AuthDecision::kScim: the tenant is the token's); and the token's
// administration, POST and DELETE /api/v1/scim/token (owner only, MFA step-up; the token is
// shown once). Each change is committed with its ledger record (api/recorded_commit.h), whose
// actor is the SCIM token's id (never the token), and after the commit the caches of members
// whose access changed are dropped. 503 scim_unavailable while the deps are not wired.
#include "api/route_binding.h"
#include "audit/writer.h"
#include "http/router.h"
#include "scim/service.h"
#include "scim/tokens.h"
#include "store/store.h"

namespace bulwark::api {

// What the SCIM routes use; each pointer must outlive the router.
struct ScimRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  scim::ScimService* scim = nullptr;
  scim::ScimTokens* tokens = nullptr;

  Status Ready() const {
    if (store == nullptr || writer == nullptr || scim == nullptr || tokens == nullptr) {
      return Status::Unavailable("scim_unavailable", "the SCIM service is not available");
    }
    return Status::Ok();
  }
};

// Largest SCIM request body; a larger one is 413 with a SCIM error body.
inline constexpr std::size_t kScimMaxBodyBytes = 256 * 1024;

Status AddScimRoutes(http::Router& router, ScimRouteDeps deps);

// The discovery documents (RFC 7644 section 4), built from scim/schema.h (scim_docs.cc).
std::string ScimServiceProviderConfig(std::string_view base_url);
std::string ScimSchemas();
std::string ScimResourceTypes(std::string_view base_url);

}  // namespace bulwark::api
