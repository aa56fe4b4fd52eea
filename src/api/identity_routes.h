#pragma once
// Identity over HTTP: magic-link sign-in, sessions (refresh, logout), JWKS, TOTP enrollment and
// step-up, members and invitations. Thin adapters: each parses its body, calls the identity
// services inside one audited transaction (AuditWriter::Commit) and shapes the reply.
#include <cstdint>
#include <string>

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
#include "secrets/vault.h"
#include "store/store.h"

namespace bulwark::api {

struct IdentityRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  identity::SessionService* sessions = nullptr;
  identity::MfaService* mfa = nullptr;
  identity::ApiKeyService* api_keys = nullptr;
  policy::TenantPolicies* policies = nullptr;
  receipts::ReceiptService* receipts = nullptr;  // break-glass start and end receipts
  bool breakglass_enabled = false;               // the server's half of the switch
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
  // The vault (secret_routes.cc, vault_routes.cc, policy_routes.cc); null: those routes answer 503.
  secrets::Vault* vault = nullptr;
  policy::PathAccess* path_access = nullptr;
  std::size_t secret_max_value_bytes = 512 * 1024;
};

// An identity route's handler: a plain function of the services and the request.
using IdentityHandlerFn = StatusOr<http::Reply> (*)(const IdentityRouteDeps&,
                                                    http::RequestContext&);

// Binds `fn` to `deps` as a route handler that answers 503 identity_unavailable while the
// services are not wired (the route table is also built without them, for `bulwark routes`).
http::Handler BindIdentity(const IdentityRouteDeps& deps, IdentityHandlerFn fn);

// Registers the identity routes (and GET /api/v1/local/outbox when `local_overlay`).
Status AddIdentityRoutes(http::Router& router, IdentityRouteDeps deps, bool local_overlay);

// GET /.well-known/openid-configuration and /.well-known/oauth-authorization-server
// (discovery_routes.cc, identity/discovery.h).
Status AddDiscoveryRoutes(http::Router& router, IdentityRouteDeps deps);

// API keys: create (MFA step-up, shown once), list, revoke; and GET /api/v1/whoami for any
// credential (apikey_routes.cc).
Status AddApiKeyRoutes(http::Router& router, IdentityRouteDeps deps);

// Tenant settings: the IP allowlist and the break-glass switch (settings_routes.cc).
Status AddSettingsRoutes(http::Router& router, IdentityRouteDeps deps);

// Break-glass: designation (owner), activation, status, end (breakglass_routes.cc).
Status AddBreakglassRoutes(http::Router& router, IdentityRouteDeps deps);

// Path policies and groups: create, replace, list, delete, attach, detach (policy_routes.cc).
Status AddPolicyRoutes(http::Router& router, IdentityRouteDeps deps);

// Secrets, native surface under /api/v1/secrets... (secret_routes.cc).
Status AddSecretRoutes(http::Router& router, IdentityRouteDeps deps);

// Secrets, Vault KV v2-compatible surface under /v1/... (vault_routes.cc).
Status AddVaultRoutes(http::Router& router, IdentityRouteDeps deps);

// Records alert.<name> caused by `cause` (tenant, resource, request id) and logs a warning. A
// lost alert does not undo its cause, which is durable already.
void RaiseAlert(audit::AuditWriter& writer, std::string_view name, const audit::Event& cause);

}  // namespace bulwark::api
