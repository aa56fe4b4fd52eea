#include "app/routes.h"

#include "api/audit_routes.h"
#include "api/login_page.h"
#include "policy/roles.h"

namespace bulwark::app {

Status RegisterRoutes(http::Router& router, const RouteDeps& deps, bool local_overlay) {
  BULWARK_RETURN_IF_ERROR(api::AddOpsRoutes(router, deps.ops));
  BULWARK_RETURN_IF_ERROR(api::AddAuditRoutes(router, deps.ops.store));
  BULWARK_RETURN_IF_ERROR(api::AddReceiptRoutes(router, deps.receipts, local_overlay));
  BULWARK_RETURN_IF_ERROR(api::AddIdentityRoutes(router, deps.identity, local_overlay));
  BULWARK_RETURN_IF_ERROR(api::AddDiscoveryRoutes(router, deps.discovery));
  BULWARK_RETURN_IF_ERROR(api::AddApiKeyRoutes(router, deps.api_keys));
  BULWARK_RETURN_IF_ERROR(api::AddSettingsRoutes(router, deps.settings));
  BULWARK_RETURN_IF_ERROR(api::AddBreakglassRoutes(router, deps.breakglass));
  BULWARK_RETURN_IF_ERROR(api::AddPolicyRoutes(router, deps.policies));
  BULWARK_RETURN_IF_ERROR(api::AddSecretRoutes(router, deps.secrets));
  BULWARK_RETURN_IF_ERROR(api::AddVaultRoutes(router, deps.secrets));
  BULWARK_RETURN_IF_ERROR(api::AddSsoAdminRoutes(router, deps.sso_admin));
  BULWARK_RETURN_IF_ERROR(api::AddScimRoutes(router, deps.scim));
  BULWARK_RETURN_IF_ERROR(api::AddSsoFlowRoutes(router, deps.sso_flow));
  if (local_overlay) BULWARK_RETURN_IF_ERROR(api::AddLoginPageRoutes(router));
  // No route may name a verb no role grants: a typo would otherwise deny everyone silently, or
  // tempt someone to add a wildcard.
  for (const http::Route& r : router.routes()) {
    if (!r.permission.empty() && !policy::IsKnownVerb(r.permission)) {
      return Status::InvalidArgument("unknown_permission",
                                     r.label + " names the unknown permission " + r.permission);
    }
  }
  return Status::Ok();
}

}  // namespace bulwark::app
