#include "app/sso_services.h"

#include <algorithm>

namespace bulwark::app {

StatusOr<std::unique_ptr<SsoServices>> BuildSsoServices(const config::Config& config,
                                                        const keyring::Keyring& keys,
                                                        const receipts::ReceiptService& receipts) {
  auto out = std::make_unique<SsoServices>();
  BULWARK_ASSIGN_OR_RETURN(out->resolver, sso::DnsTxtResolver::Create(config.sso_dns_resolver));
  const sso::ConnectionLimits limits{
      .max_session_without_backchannel_s = std::min(config.sso_max_session_without_backchannel_s,
                                                    config.session_absolute_timeout_s),
      .max_session_s = config.session_absolute_timeout_s};
  out->connections = std::make_unique<sso::ConnectionService>(keys, receipts, limits);
  out->domains = std::make_unique<sso::DomainService>(*out->resolver);
  return out;
}

}  // namespace bulwark::app
