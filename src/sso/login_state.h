#pragma once
// One SSO sign-in attempt between the redirect to the identity provider and its callback: the
// OAuth `state`, the OIDC `nonce` and the PKCE code verifier, single-use, short-lived and bound
// to the browser that started the attempt.
//
// Begin draws a 256-bit state and a 256-bit browser binding from the CSPRNG. The binding goes to
// the browser in an HttpOnly `__Host-` cookie (kCookie) and never into a URL. The nonce and the
// code verifier are derived from both (HMAC-SHA-256 under the binding), so a party that sees the
// callback URL (state and code) but not the cookie can neither redeem the code (PKCE) nor pass
// the nonce check. Only SHA-256 of the state and of the binding are stored, with the tenant,
// connection, where to go after sign-in and an expiry; nonce and verifier are not stored at all.
//
// Consume, at the callback, needs the state and the cookie: a wrong or missing cookie is refused
// before the row is touched; otherwise one guarded UPDATE marks the row used, so of two callbacks
// with one state exactly one wins. Consume in its own committed transaction before redeeming the
// code: a failed sign-in still spends the state.
//
//   auto started = login_state::Begin(tx, tenant_id, connection_id, "/", now);
//   // 302 to the IdP with started->state, started->nonce, started->code_challenge
//   auto pending = login_state::Consume(tx, state_param, cookie_value, now);
//
// Errors: kInvalidArgument "sso_state_invalid" (unknown, malformed, expired or already used),
// kInvalidArgument "sso_browser_mismatch" (no binding cookie, or another browser's); the store's
// own errors. Stateless functions; thread-safety is the transaction's.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::sso::login_state {

inline constexpr std::string_view kCookie = "__Host-bulwark_sso";
inline constexpr std::int64_t kTtlSeconds = 600;

struct Started {
  std::string state;            // in the authorization URL (not secret once sent)
  std::string nonce;            // in the authorization URL, then in the ID token
  std::string code_challenge;   // S256 of the code verifier
  std::string browser_binding;  // the cookie's value: secret, never logged or recorded
};

struct Pending {
  std::string tenant_id;
  std::string connection_id;
  std::string redirect_after;
  std::string nonce;          // what the ID token must carry
  std::string code_verifier;  // secret: sent only to the token endpoint
};

StatusOr<Started> Begin(store::Transaction& tx, std::string_view tenant_id,
                        std::string_view connection_id, std::string_view redirect_after,
                        std::int64_t now);

StatusOr<Pending> Consume(store::Transaction& tx, std::string_view state,
                          std::string_view browser_binding, std::int64_t now);

// Deletes attempts that expired more than a day ago; returns how many.
StatusOr<std::int64_t> Purge(store::Transaction& tx, std::int64_t now);

}  // namespace bulwark::sso::login_state
