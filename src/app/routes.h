#pragma once
// The route table of the binary: every route `serve` answers, registered in one place, and
// checked (no route names a permission no role grants). Used by `serve` and `bulwark routes`.
// Registration only stores the handlers; `deps` is used when a request arrives, so the table can
// be built without a store or services. Not thread-safe while registering; the router is then
// read-only.
#include "api/apikey_routes.h"
#include "api/breakglass_routes.h"
#include "api/discovery_routes.h"
#include "api/identity_routes.h"
#include "api/ops.h"
#include "api/policy_routes.h"
#include "api/receipt_routes.h"
#include "api/scim_routes.h"
#include "api/secret_routes.h"
#include "api/settings_routes.h"
#include "api/sso_admin_routes.h"
#include "api/sso_flow_routes.h"
#include "core/status.h"
#include "http/router.h"

namespace bulwark::app {

// What the route adapters of each surface use when a request arrives, one member per surface
// (filled in one place, app/boot.cc); each pointer must outlive the router.
struct RouteDeps {
  api::OpsDeps ops;
  api::ReceiptRouteDeps receipts;
  api::IdentityRouteDeps identity;
  api::DiscoveryRouteDeps discovery;
  api::ApiKeyRouteDeps api_keys;
  api::SettingsRouteDeps settings;
  api::BreakglassRouteDeps breakglass;
  api::PolicyRouteDeps policies;
  api::SecretRouteDeps secrets;  // the native and the Vault surfaces
  api::SsoAdminRouteDeps sso_admin;
  api::ScimRouteDeps scim;       // /scim/v2/ and the SCIM token's administration
  api::SsoFlowRouteDeps sso_flow;
};

// Registers every route the binary serves. The local overlay is registered only when
// `local_overlay` is true (dev mode with the overlay on). kInvalidArgument "unknown_permission"
// when a route names a permission no role grants; a registration error as the router returns it.
Status RegisterRoutes(http::Router& router, const RouteDeps& deps, bool local_overlay);

}  // namespace bulwark::app
