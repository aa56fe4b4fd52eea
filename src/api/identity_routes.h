#pragma once
// Identity over HTTP: magic-link sign-in, sessions (refresh, logout), JWKS, TOTP enrollment and
// step-up, members and invitations. Thin adapters: each parses its body, calls the identity
// services inside one audited transaction (AuditWriter::Commit) and shapes the reply.
#include <cstdint>
#include <string>

#include "audit/writer.h"
#include "http/rate_limit_stage.h"
#include "http/router.h"
#include "identity/api_keys.h"
#include "identity/mail_queue.h"
#include "identity/mailer.h"
#include "identity/mfa.h"
#include "identity/sessions.h"
#include "store/store.h"

namespace bulwark::api {

struct IdentityRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  identity::SessionService* sessions = nullptr;
  identity::MfaService* mfa = nullptr;
  identity::ApiKeyService* api_keys = nullptr;
  identity::MailQueue* mail = nullptr;       // null: sign-in mail cannot be sent (503)
  identity::OutboxMailer* outbox = nullptr;  // dev overlay only
  http::RouteRateLimiter* limiter = nullptr;
  std::int64_t magic_link_ttl_s = 900;
  std::string public_url;  // base of the links mailed
};

// Registers the identity routes (and GET /api/v1/local/outbox when `local_overlay`).
Status AddIdentityRoutes(http::Router& router, IdentityRouteDeps deps, bool local_overlay);

// API keys: create (MFA step-up, shown once), list, revoke; and GET /api/v1/whoami for any
// credential (apikey_routes.cc).
Status AddApiKeyRoutes(http::Router& router, IdentityRouteDeps deps);

}  // namespace bulwark::api
