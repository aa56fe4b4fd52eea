#pragma once
// The OpenID Connect sign-in flow of an SSO connection (authorization code with PKCE S256) and
// the provider's back-channel logout.
//
//   Begin      tenant + connection -> the provider's authorization URL (state, nonce and the PKCE
//              challenge of a fresh sso/login_state attempt) and the browser binding for the
//              attempt's __Host- cookie.
//   Redeem     the callback's parameters + that cookie -> the attempt spent (its own committed
//              transaction, so a failure later still spends it), the callback's connection (the
//              redirect URI's path) checked against the attempt's, RFC 9207 `iss` checked, the
//              code exchanged at the token endpoint, the ID token validated (sso/id_token.h) and
//              its claims mapped to an ExternalIdentity. Nothing else is stored. Every network
//              call happens here, with no transaction open.
//              Each connection has its own redirect URI (<issuer>/api/v1/sso/callback/<id>): a
//              code its provider sends can only land at that connection's callback, and an
//              attempt begun for another connection is refused there (RFC 9700 section 4.4.2,
//              mix-up), whether or not the provider sends `iss`.
//   Finish     inside the caller's transaction (committed with its audit record): the account
//              resolved (sso/accounts.h ResolveSignIn: JIT membership, roles replaced, a
//              member provisioning deprovisioned refused "deprovisioned"), an
//              ordinary Bulwark session started (shorter absolute life for a connection whose
//              provider sends no back-channel logout) and linked to (connection, sid, sub).
//   ValidateLogout  a back-channel logout token for a connection -> validated (discovery, the
//              provider's keys, signature and claims: sso/id_token.h ValidateLogoutToken) with
//              no transaction open. Call it before the recorded change: a slow or unreachable
//              provider then holds only its own request, never the audit writer's transaction.
//   Logout     the validated token -> its jti spent once, the matching sessions revoked in the
//              caller's transaction (store only, no network); call FinishLogout after the commit
//              so they fail on the next request on this node (other PostgreSQL nodes follow the
//              sessions table's triggers, app/cluster_sync.h).
//
// Every failure is a typed Status with a stable reason: kInvalidArgument for the attempt
// ("sso_state_invalid", "sso_browser_mismatch", "connection_mismatch", "sso_iss_mismatch",
// "sso_provider_error", "invalid_logout_token", "logout_token_replayed", "connection_disabled"), kUnauthenticated for what the provider sent
// (the ID token's reasons from sso/id_token.h, "token_exchange_failed"), kPermissionDenied
// for who may not get in (sso/accounts.h's reasons), kNotFound "connection_not_found",
// kUnavailable when the provider or the store cannot be reached. Outcomes carry the tenant and
// connection even on failure, for the audit record. No secret (code, tokens, verifier, client
// secret, cookie) is ever in a Status, an outcome's record fields or a log line.
//
// Thread-safety: all methods may be called from any number of threads at once; the service holds
// no per-request state. It does not own the store, sessions, keyring or provider client.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "identity/api_keys.h"
#include "identity/sessions.h"
#include "sso/accounts.h"
#include "sso/connections.h"
#include "sso/id_token.h"
#include "sso/provisioning_gate.h"
#include "sso/provider_client.h"
#include "store/store.h"

namespace bulwark::sso {

// The redirect URI registered at a connection's provider is <issuer>/api/v1/sso/callback/<id>,
// the issuer being the sessions' (identity/sessions.h: the normalised public URL, or in dev the
// address the server is bound to) and <id> the connection's id.
inline constexpr std::string_view kCallbackPath = "/api/v1/sso/callback/";

struct FlowOptions {
  // Dev mode: a loopback issuer may be plain http (sso/provider_client.h).
  bool allow_insecure_loopback = false;
  // Where a browser lands after signing in when the attempt named nowhere else.
  std::string post_login_path = "/";
  // Asked whether provisioning (SCIM) deprovisioned the member (sso/provisioning_gate.h); not
  // owned, must outlive the service; null: none consulted.
  const ProvisioningGate* provisioning = nullptr;
};

struct BeginResult {
  std::string authorization_url;
  std::string browser_binding;  // the __Host- cookie's value: secret
  std::string tenant_id;
  std::string connection_id;
};

// The callback's query parameters, as the provider sent them.
struct CallbackParams {
  std::string connection_id;  // from the redirect URI's path
  std::string code;   // secret
  std::string state;
  std::string iss;    // RFC 9207
  std::string error;  // the provider's refusal ("access_denied"), if any
};

// A validated sign-in waiting for Finish. `subject`, `sid` and the claims never include a token.
struct Redeemed {
  std::string tenant_id;
  std::string connection_id;
  std::string redirect_after;
  ExternalIdentity identity;
  std::string sid;  // the provider's session id ("sid" claim), empty if none
  std::string token_subject;  // the token's own "sub" (what a logout token names)
  std::int64_t session_life_s = 0;  // 0: the default absolute life
};

struct RedeemResult {
  Status status;                    // OK or why not
  std::string tenant_id;            // when known (for the record)
  std::string connection_id;        // when known
  std::optional<Redeemed> redeemed;  // set when status is OK
};

struct SignedIn {
  identity::SessionTokens tokens;
  std::string user_id;
  std::string tenant_id;
  std::string redirect_after;
  bool created = false;  // JIT made the account or membership
  std::string role;
  bool role_changed = false;  // the member's sessions must reload their role
  bool breakglass = false;
  bool groups_overage = false;
  // OK, or the refusal to answer after committing the transaction (with a refusal record): the
  // member's groups mapped to no role and its access was removed (sso/accounts.h). No session
  // was started then (tokens empty).
  Status refused;
  std::int64_t sessions_revoked = 0;
  std::int64_t api_keys_revoked = 0;
};

// A logout token that passed validation, waiting for Logout's transaction.
struct ValidatedLogout {
  std::string tenant_id;
  std::string connection_id;
  LogoutTokenClaims claims;
};

struct LogoutResult {
  std::string tenant_id;
  std::vector<std::string> session_ids;  // revoked in the transaction
};

// The ExternalIdentity of validated claims for `conn`: for entra the subject is
// EntraSubject(tid, oid) and the email counts as verified when email_verified or Entra's
// xms_edov (IdTokenClaims::email_domain_owner_verified) is true; for other presets only
// email_verified counts.
ExternalIdentity IdentityOf(const Connection& conn, const IdTokenClaims& claims);

class FlowService {
 public:
  FlowService(store::Store& store, const ConnectionService& connections,
              identity::SessionService& sessions, identity::ApiKeyService& api_keys,
              ProviderClient& provider, FlowOptions options);

  // `tenant` is a tenant's id or name. kNotFound "connection_not_found" for an unknown or disabled
  // connection (also of another tenant).
  StatusOr<BeginResult> Begin(std::string_view tenant, std::string_view connection_id,
                              std::int64_t now);

  // Never an error Status: the outcome, with what the record needs, is in RedeemResult.
  RedeemResult Redeem(const CallbackParams& params, std::string_view browser_binding,
                      std::int64_t now);

  // When the result's `refused` is not OK the caller still commits `tx` (with the refusal's
  // record) and then answers `refused`.
  StatusOr<SignedIn> Finish(store::Transaction& tx, const Redeemed& redeemed, std::int64_t now);
  // After Finish's transaction committed: drops this node's cached sessions of the member (its
  // role may have changed) and, when its access was removed, the tenant's cached API keys.
  void FinishSignIn(const SignedIn& signed_in);

  // The tenant of connection `connection_id` (for a logout's record), or nullopt.
  StatusOr<std::optional<std::string>> ConnectionTenant(std::string_view connection_id);

  // Validates `logout_token` for `connection_id`; opens no transaction while it fetches.
  // kInvalidArgument "invalid_logout_token" for an unknown connection, "connection_disabled"
  // for a disabled one, and the validator's reasons; kUnavailable when the provider cannot be
  // reached.
  StatusOr<ValidatedLogout> ValidateLogout(std::string_view connection_id,
                                           std::string_view logout_token, std::int64_t now);
  // Spends the validated token's jti and revokes its sessions inside `tx`; no network.
  StatusOr<LogoutResult> Logout(store::Transaction& tx, const ValidatedLogout& validated,
                                std::int64_t now);
  // After the logout's transaction committed.
  void FinishLogout(const LogoutResult& result);

 private:
  std::string RedirectUri(std::string_view connection_id) const;

  ProviderEndpoint EndpointOf(const Connection& conn) const;

  store::Store& store_;
  const ConnectionService& connections_;
  identity::SessionService& sessions_;
  identity::ApiKeyService& api_keys_;
  ProviderClient& provider_;
  const FlowOptions options_;
};

}  // namespace bulwark::sso
