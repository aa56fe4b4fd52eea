#pragma once
// Sessions: a short-lived signed access token plus a rotating opaque refresh token, with
// revocation that takes effect on the very next request.
//
// An access token is a JWT (EdDSA, Ed25519) naming the session and its version. Other services
// verify it offline with the keys at /.well-known/jwks.json. Bulwark itself also checks every
// token against the session's current state: a per-process cache of (session -> version,
// revoked, member's role, MFA time) loaded from the store on a miss and invalidated by every
// change. So logging out, removing a member or disabling a user fails their unexpired tokens on
// the next request, not at expiry.
//
// A refresh token rotates on every use. The tokens of one session form a family: presenting one
// that was already rotated means two parties hold it (one of them a thief), so the whole session
// is revoked and the caller learns it through RefreshResult::reused.
//
//   auto tokens = sessions.Start(tx, user_id, tenant_id, now);       // after a magic link
//   auto principal = sessions.Authenticate(bearer, now);             // every request
//   auto next = sessions.Refresh(tx, refresh_text, now);              // rotation
//
// Thread-safety: all methods may be called from any number of threads at once.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/invalidated_cache.h"
#include "core/principal.h"
#include "core/status.h"
#include "identity/jwt.h"
#include "keyring/keyring.h"
#include "keyring/signing_keys.h"
#include "store/store.h"

namespace bulwark::identity {

struct SessionOptions {
  // "iss" (identity/discovery.h: the normalised public URL; in dev without one, set by SetIssuer
  // once the server is bound).
  std::string issuer = "bulwark";
  // "aud" of the tokens issued; a token is accepted if it names one of them. Empty: the issuer.
  std::vector<std::string> audiences;
  std::int64_t access_ttl_s = 900;         // at most 900 (15 minutes)
  std::int64_t idle_timeout_s = 8 * 3600;  // no refresh for this long ends the session
  std::int64_t absolute_timeout_s =
      7 * 24 * 3600;  // and it ends this long after login whatever happens
};

struct SessionTokens {
  std::string session_id;
  std::string access_token;   // secret: never logged or recorded
  std::string refresh_token;  // secret: never logged or recorded
  std::int64_t expires_in = 0;
};

// What a refresh did. `tokens` is set only when ok; otherwise `reused` tells a replay of a
// rotated token (the session is now revoked) from an unknown or expired one.
struct RefreshResult {
  std::optional<SessionTokens> tokens;
  bool reused = false;
  std::string session_id;  // when known (for the audit record)
  std::string user_id;
  std::string tenant_id;
  Status status;  // OK, or why not (kUnauthenticated "invalid_refresh_token" / "refresh_reused" /
                  // "session_expired")
};

class SessionService {
 public:
  // Loads (or creates on first start) the signing keys (keyring/signing_keys.h, kind jwt),
  // sealed by the keyring.
  static StatusOr<std::unique_ptr<SessionService>> Open(store::Store& store,
                                                        const keyring::Keyring& keys,
                                                        SessionOptions options);

  // A new session for a member (the caller has checked membership), inside `tx`. A positive
  // `absolute_life_s` shorter than SessionOptions::absolute_timeout_s ends this session that soon
  // after sign-in instead (SSO connections whose provider sends no back-channel logout).
  StatusOr<SessionTokens> Start(store::Transaction& tx, std::string_view user_id,
                                std::string_view tenant_id, std::int64_t now,
                                std::int64_t absolute_life_s = 0);

  // Rotates a refresh token inside `tx`. Never returns an error Status for a bad token: the
  // outcome is in RefreshResult so that a reuse's revocation commits with its audit record.
  // A non-OK StatusOr means the store failed.
  StatusOr<RefreshResult> Refresh(store::Transaction& tx, std::string_view refresh_token,
                                  std::int64_t now);

  // Ends one session (logout) or every session of a member (removal) or of a user (disable).
  // Call Invalidate* after the transaction commits.
  Status Revoke(store::Transaction& tx, std::string_view session_id, std::string_view reason,
                std::int64_t now);
  // RevokeMember returns how many sessions it ended.
  StatusOr<std::int64_t> RevokeMember(store::Transaction& tx, std::string_view tenant_id,
                                      std::string_view user_id, std::string_view reason,
                                      std::int64_t now);
  // OK if the session signed in (magic link or invitation) at most `max_age_s` ago; else
  // kPermissionDenied "reauthentication_required". Refresh does not make a session recent.
  Status RequireRecentSignIn(store::Transaction& tx, std::string_view session_id, std::int64_t now,
                             std::int64_t max_age_s);
  // Records a successful MFA verification for the session (step-up).
  Status MarkMfaVerified(store::Transaction& tx, std::string_view session_id, std::int64_t now);

  // The principal of a bearer access token, checked against the session's current state.
  // kUnauthenticated ("invalid_token", "token_expired", "session_revoked") or kUnavailable
  // when the store cannot be read — never a principal on doubt.
  StatusOr<core::Principal> Authenticate(std::string_view access_token, std::int64_t now);

  // Drops cached state so the next request reloads it. Call after the change committed.
  void InvalidateSession(std::string_view session_id);
  void InvalidateMember(std::string_view tenant_id, std::string_view user_id);
  void InvalidateUser(std::string_view user_id);
  void InvalidateTenant(std::string_view tenant_id);

  // The JWKS document of the keys that verify access tokens: every JWT signing key not retired
  // (during a rotation's overlap, the new active key and the ones before it).
  std::string jwks() const;
  // The kid new access tokens are signed with.
  std::string active_kid() const;

  // Picks up a rotation or retirement of the JWT signing keys (SIGHUP, another node's change):
  // re-reads them and, if they changed, signs with the newest from then on, verifies with every
  // one not retired and publishes those in the JWKS. Returns whether anything changed; on an
  // error the keys stay as they were. Safe to call while requests run.
  StatusOr<bool> ReloadSigningKeys(const keyring::Keyring& keys);
  const SessionOptions& options() const { return options_; }

  // The issuer and audiences tokens are issued with and checked against.
  std::string issuer() const;
  std::vector<std::string> audiences() const;
  // Replaces the issuer (and the audiences, when SessionOptions::audiences is empty): for dev
  // mode, whose issuer is the address the server is bound to. Call before serving: a token
  // issued earlier names the previous issuer and is refused from then on.
  void SetIssuer(std::string issuer);

 private:
  struct State {
    std::string user_id;
    std::string tenant_id;
    std::int64_t version = 0;
    bool active = false;  // not revoked, not expired, user enabled, still a member
    std::string role;
    std::int64_t mfa_verified_at = 0;
    std::int64_t absolute_expires_at = 0;
    // The open break-glass grant, if any (id empty: none).
    std::string grant_id;
    std::vector<std::string> grant_verbs;
    std::string grant_path_prefix;
    std::int64_t grant_expires_at = 0;
  };
  // What the JWT signing keys give at one moment: built once per change, never changed after.
  struct Published {
    std::shared_ptr<const keyring::SigningKeySet> set;
    JwtSigningKey signer;
    std::vector<JwtVerifyKey> verify_keys;
    std::string jwks;
  };
  SessionService(store::Store& store, SessionOptions options,
                 std::unique_ptr<keyring::SigningKeys> signing);
  // "iss" and "aud": set once at start, then read by every request.
  struct Profile {
    std::string issuer;
    std::vector<std::string> audiences;
  };
  std::shared_ptr<const Published> Keys() const;
  std::shared_ptr<const Profile> CurrentProfile() const;
  void Publish();
  StatusOr<SessionTokens> Issue(store::Transaction& tx, std::string_view session_id,
                                std::string_view user_id, std::string_view tenant_id,
                                std::int64_t version, std::int64_t generation, std::int64_t now);
  StatusOr<State> LoadState(std::string_view session_id);

  store::Store& store_;
  const SessionOptions options_;
  const std::unique_ptr<keyring::SigningKeys> signing_;
  mutable std::mutex keys_mu_;  // guards keys_ (the pointer)
  std::shared_ptr<const Published> keys_;
  std::shared_ptr<const Profile> profile_;  // guarded by keys_mu_

  core::InvalidatedCache<State> cache_{100'000};
};

}  // namespace bulwark::identity
