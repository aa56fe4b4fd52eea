#pragma once
// Identity over HTTP: magic-link sign-in, sessions (refresh, logout), JWKS, TOTP enrollment and
// step-up, members and invitations. Thin adapters: each parses its body, calls the identity
// services inside one audited transaction (AuditWriter::Commit) and shapes the reply.
#include <cstdint>
#include <string>

#include "api/route_binding.h"
#include "audit/writer.h"
#include "crypto/secret_bytes.h"
#include "stages/rate_limit_stage.h"
#include "http/router.h"
#include "identity/api_keys.h"
#include "identity/mail_queue.h"
#include "identity/mailer.h"
#include "identity/mfa.h"
#include "identity/sessions.h"
#include "policy/path_policy_store.h"
#include "policy/tenant_policy.h"
#include "receipts/service.h"
#include "store/store.h"

namespace bulwark::api {

struct IdentityRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  identity::SessionService* sessions = nullptr;
  identity::MfaService* mfa = nullptr;
  identity::ApiKeyService* api_keys = nullptr;
  policy::TenantPolicies* policies = nullptr;
  receipts::ReceiptService* receipts = nullptr;  // break-glass end receipts (logout)
  policy::PathAccess* path_access = nullptr;     // its cache, dropped when a member leaves
  identity::MailQueue* mail = nullptr;           // null: sign-in mail cannot be sent (503)
  identity::OutboxMailer* outbox = nullptr;      // dev overlay only
  stages::RouteRateLimiter* limiter = nullptr;
  std::int64_t magic_link_ttl_s = 900;
  std::string public_url;  // base of the links mailed
  // Dev mode without a public URL: the server's own address, set once it listens (before any
  // request), so a mailed link opens this server's /login. Null or empty: http://localhost:8420.
  const std::string* dev_link_base = nullptr;
  // The HMAC-SHA-256 key that names an address with no account in a sign-in request's record
  // (a keyring data key): the same address always gives the same name, which cannot be read
  // back. Null: those requests answer 503 identity_unavailable.
  const crypto::SecretBytes* email_pseudonym_key = nullptr;

  Status Ready() const {
    if (store == nullptr || writer == nullptr || sessions == nullptr || mfa == nullptr ||
        api_keys == nullptr || policies == nullptr || receipts == nullptr) {
      return IdentityUnavailable();
    }
    return Status::Ok();
  }
};

// Registers the identity routes (and GET /api/v1/local/outbox when `local_overlay`).
Status AddIdentityRoutes(http::Router& router, IdentityRouteDeps deps, bool local_overlay);

}  // namespace bulwark::api
