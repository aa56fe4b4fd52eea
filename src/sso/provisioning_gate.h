#pragma once
// Whether a tenant's provisioning (SCIM) has deprovisioned a member, asked by the SSO sign-in
// (sso/accounts.h ResolveSignIn) before it lets the member in or re-adds the membership by JIT.
//
// sso/ declares the question and scim/ answers it (scim/access.h ScimProvisioningGate): the SSO
// layer does not know SCIM. app/ wires the implementation into the flow (app/sso_flow_services.h).
//
//   StatusOr<bool> gone = gate.Deprovisioned(tx, tenant_id, user_id);
//   if (gone.ok() && *gone) -> refuse "deprovisioned"
//
// Errors: the store's (kUnavailable when it cannot be read). A user provisioning never knew is
// not deprovisioned (false), not an error.
// Thread safety: implementations are stateless and safe to share; each call uses the caller's
// transaction.
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::sso {

class ProvisioningGate {
 public:
  virtual ~ProvisioningGate() = default;
  // True when the tenant's provisioning says `user_id` must not have access in `tenant_id`.
  virtual StatusOr<bool> Deprovisioned(store::Transaction& tx, std::string_view tenant_id,
                                       std::string_view user_id) const = 0;
};

}  // namespace bulwark::sso
