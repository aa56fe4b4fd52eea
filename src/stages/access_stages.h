#pragma once
// Stages 5 and 6 of the pipeline: the tenant guard and the authorizer, adapters between the
// request and policy/ (roles, tenant policies). docs/design.md "The request pipeline".
//
// Tenant guard: the tenant of a request is the credential's, nowhere else. X-Tenant-ID, when
// sent, must name that same tenant (403 tenant_mismatch otherwise); a principal without a tenant
// is refused (unknown ownership is denied).
//
// Authorizer: every credential of a tenant must come from the tenant's IP allowlist when it has
// one (403 ip_not_allowed; 503 if it cannot be read). Then the route's permission verb must be
// granted by the member's current role (read from the store through the session check, never
// from the token) or, for an API key, be in its scopes. A high-impact route also needs an MFA
// verification within the last five minutes (403 mfa_required); an API key can never satisfy that.
#include <cstdint>

#include "http/stages.h"
#include "policy/tenant_policy.h"

namespace bulwark::stages {

inline constexpr std::int64_t kStepUpWindowSeconds = 5 * 60;

// X-Vault-Namespace (the Vault-compatible surface) is a claim too: it must name the credential's
// tenant, by id or by name (one trailing '/' ignored), else 403 tenant_mismatch.
class CredentialTenantGuard : public http::TenantGuard {
 public:
  // `policies` may be null (then a namespace must be the tenant id).
  explicit CredentialTenantGuard(policy::TenantPolicies* policies = nullptr) : policies_(policies) {}
  Status Check(http::RequestContext& ctx) override;

 private:
  policy::TenantPolicies* policies_;
};

class RoleAuthorizer : public http::Authorizer {
 public:
  // `policies` may be null (no allowlists: unit tests of the verb logic).
  explicit RoleAuthorizer(policy::TenantPolicies* policies = nullptr) : policies_(policies) {}
  Status Authorize(http::RequestContext& ctx) override;

 private:
  policy::TenantPolicies* policies_;
};

}  // namespace bulwark::stages
