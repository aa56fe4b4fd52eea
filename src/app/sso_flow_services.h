#pragma once
// The SSO sign-in flow's services `serve` builds (app/boot.cc): the OpenID Provider client
// (discovery, the providers' JWKS cache, the code exchange; libcurl trusting sso.ca_file, or the
// system's store) and the flow service over it (sso/flow.h), which asks `provisioning` (SCIM's
// scim::ScimProvisioningGate) whether a member was deprovisioned. Built once at start-up, after the
// sessions and the SSO connections; thread-safe from then on. Each reference must outlive them.
#include <memory>

#include "config/config.h"
#include "core/status.h"
#include "identity/api_keys.h"
#include "identity/sessions.h"
#include "sso/connections.h"
#include "sso/flow.h"
#include "sso/provider_client.h"
#include "store/store.h"

namespace bulwark::app {

struct SsoFlowServices {
  std::unique_ptr<sso::ProviderClient> provider;
  std::unique_ptr<sso::FlowService> flow;  // over provider
};

StatusOr<std::unique_ptr<SsoFlowServices>> BuildSsoFlowServices(
    const config::Config& config, store::Store& store, const sso::ConnectionService& connections,
    identity::SessionService& sessions, identity::ApiKeyService& api_keys,
    const sso::ProvisioningGate& provisioning);

}  // namespace bulwark::app
