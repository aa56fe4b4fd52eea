#include "stages/access_stages.h"

#include <algorithm>

#include "core/clock.h"
#include "policy/roles.h"

namespace bulwark::stages {

Status CredentialTenantGuard::Check(http::RequestContext& ctx) {
  if (ctx.principal.tenant_id.empty()) {
    return Status::PermissionDenied("tenant_unknown", "the credential belongs to no tenant");
  }
  // Present but empty, or sent twice, is a claim too: it must match like any other.
  const auto [first, last] = ctx.req.equal_range("X-Tenant-ID");
  for (auto it = first; it != last; ++it) {
    if (it->value() == ctx.principal.tenant_id) continue;
    return Status::PermissionDenied("tenant_mismatch",
                                    "the credential does not belong to the tenant in X-Tenant-ID");
  }
  const auto [ns_first, ns_last] = ctx.req.equal_range("X-Vault-Namespace");
  for (auto it = ns_first; it != ns_last; ++it) {
    std::string_view ns = it->value();
    if (ns.ends_with('/')) ns.remove_suffix(1);
    if (ns == ctx.principal.tenant_id) continue;
    if (policies_ != nullptr && !ns.empty()) {
      BULWARK_ASSIGN_OR_RETURN(auto policy, policies_->Get(ctx.principal.tenant_id));
      if (ns == policy->name) continue;
    }
    return Status::PermissionDenied(
        "tenant_mismatch", "the credential does not belong to the tenant in X-Vault-Namespace");
  }
  return Status::Ok();
}

Status RoleAuthorizer::Authorize(http::RequestContext& ctx) {
  const http::Route& route = *ctx.route;
  const bool tenant_credential = ctx.principal.kind == core::Principal::Kind::kUser ||
                                 ctx.principal.kind == core::Principal::Kind::kApiKey;
  if (policies_ != nullptr && tenant_credential && !ctx.principal.tenant_id.empty()) {
    BULWARK_ASSIGN_OR_RETURN(auto policy, policies_->Get(ctx.principal.tenant_id));
    if (!policy->allowlist.empty() && !core::AnyContains(policy->allowlist, ctx.client)) {
      return Status::PermissionDenied("ip_not_allowed",
                                      "this tenant does not accept requests from this address");
    }
  }
  if (route.permission.empty() && !route.mfa_step_up) return Status::Ok();
  const core::Principal& p = ctx.principal;
  bool granted = route.permission.empty();
  if (!granted && p.kind == core::Principal::Kind::kUser) {
    const auto role = policy::ParseRole(p.role);
    granted = role.has_value() && policy::RoleGrants(*role, route.permission);
  } else if (!granted && p.kind == core::Principal::Kind::kApiKey) {
    granted = std::find(p.scopes.begin(), p.scopes.end(), route.permission) != p.scopes.end();
  }
  if (!granted && p.break_glass) {
    // An open break-glass grant widens the session by exactly its verbs.
    granted = std::find(p.breakglass_verbs.begin(), p.breakglass_verbs.end(), route.permission) !=
              p.breakglass_verbs.end();
  }
  if (!granted) {
    return Status::PermissionDenied("permission_denied",
                                    "this credential lacks the permission " + route.permission);
  }
  if (route.mfa_step_up) {
    const std::int64_t now = core::NowUnixSeconds();
    if (p.kind != core::Principal::Kind::kUser) {
      return Status::PermissionDenied(
          "mfa_required",
          "this action needs a second factor, which only a signed-in member has: use a session's "
          "access token (Authorization: Bearer) after an MFA step-up, not an API key");
    }
    if (p.mfa_verified_at <= 0 || now - p.mfa_verified_at > kStepUpWindowSeconds) {
      // The TOTP steps: enrolment (once, within 10 minutes of signing in), then the step-up.
      return Status::PermissionDenied(
          "mfa_required",
          "this action needs a TOTP step-up within the last 5 minutes: POST "
          "/api/v1/auth/mfa/verify {\"code\":\"<TOTP code>\"}; not enrolled yet: POST "
          "/api/v1/auth/mfa/totp (within 10 minutes of signing in), add its otpauth:// URI to an "
          "authenticator, POST /api/v1/auth/mfa/totp/confirm {\"code\":\"<code>\"}, then step "
          "up with the next code");
    }
  }
  return Status::Ok();
}

}  // namespace bulwark::stages
