#pragma once
// The SSO administration services `serve` builds (app/boot.cc): the DNS TXT resolver domain
// verification reads through (sso.dns_resolver), the connections service (its session-life limit
// from sso.max_session_without_backchannel_s and auth.session_absolute_timeout_s) and the
// domains service. Built once at start-up; the services are then read-only and thread-safe.
// Errors: kInvalidArgument "invalid_dns_resolver" for a resolver setting that does not parse.
#include <memory>

#include "config/config.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "receipts/service.h"
#include "sso/connections.h"
#include "sso/domains.h"

namespace bulwark::app {

struct SsoServices {
  std::unique_ptr<sso::DnsTxtResolver> resolver;
  std::unique_ptr<sso::ConnectionService> connections;
  std::unique_ptr<sso::DomainService> domains;  // over resolver
};

// `keys` and `receipts` must outlive the result.
StatusOr<std::unique_ptr<SsoServices>> BuildSsoServices(const config::Config& config,
                                                        const keyring::Keyring& keys,
                                                        const receipts::ReceiptService& receipts);

}  // namespace bulwark::app
