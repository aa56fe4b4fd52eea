#include "app/sso_flow_services.h"

#include "sso/http_fetch.h"

namespace bulwark::app {

StatusOr<std::unique_ptr<SsoFlowServices>> BuildSsoFlowServices(
    const config::Config& config, store::Store& store, const sso::ConnectionService& connections,
    identity::SessionService& sessions, identity::ApiKeyService& api_keys,
    const sso::ProvisioningGate& provisioning) {
  auto out = std::make_unique<SsoFlowServices>();
  out->provider = std::make_unique<sso::ProviderClient>(
      std::make_shared<sso::CurlHttpFetcher>(sso::HttpFetchOptions{.ca_file = config.sso_ca_file}),
      sso::ProviderClientOptions{
          .refetch_interval = std::chrono::seconds(config.sso_jwks_refetch_interval_s)});
  // Dev mode serves plain http on loopback, and so may a dev identity provider.
  out->flow = std::make_unique<sso::FlowService>(
      store, connections, sessions, api_keys, *out->provider,
      sso::FlowOptions{.allow_insecure_loopback = config.dev, .provisioning = &provisioning});
  return out;
}

}  // namespace bulwark::app
