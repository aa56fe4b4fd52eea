#pragma once
// Validation of the two JWTs an OpenID Provider sends a relying party: the ID token returned by
// the token endpoint (OpenID Connect Core 1.0 section 3.1.3.7) and the logout token posted to the
// back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0 section 2.6).
//
// Both are compact JWS, taken apart by crypto::ParseCompactJws (at most kMaxIdpTokenBytes, strict
// base64url, strict JSON: duplicate members refused), and checked in this order, so that nothing
// the token claims is believed before its signature is:
//   1. the header: "alg" must be in the caller's allowed set (default RS256, ES256, EdDSA;
//      "none", HS*, PS* can never be allowed: crypto::JwsAlgorithm cannot name them); "crit" is
//      refused (no extension is understood); "jku", "jwk", "x5u", "x5c" are never used to find a
//      key (the key comes only from the caller's JWKS); "typ", when present, must fit the token
//      ("JWT" for an ID token, "JWT" or "logout+jwt" for a logout token), so neither kind passes
//      for the other;
//   2. the key: the JWKS key whose kid is the header's "kid", which must allow the alg. A header
//      without "kid" is accepted only when exactly one key of the JWKS allows the alg (a provider
//      with a single key may omit it; with several, guessing would let the token choose);
//   3. the signature over the exact signing input;
//   4. then the payload, strictly parsed, and its claims (below).
//
// Issuer: exact string equality with `expectations.issuer`, unless it contains "{tenantid}"
// (Microsoft Entra ID's multi-tenant issuer, https://login.microsoftonline.com/{tenantid}/v2.0):
// then the token's "tid" must be one of `allowed_tenants` and "iss" must equal the template with
// that tid substituted. A non-empty `allowed_tenants` is enforced for a plain issuer too.
//
// ID token claims: "aud" (string or array) contains client_id; when "aud" holds several values
// "azp" is required, and when "azp" is present it must equal client_id; "exp" > now - skew;
// "iat" <= now + skew and >= now - max_age - skew; "nbf", if present, <= now + skew; "nonce"
// present and equal to the expected one (compared in constant time; an empty expected nonce
// refuses every token); "sub" a non-empty string of at most 255 bytes.
// email_verified is true only for the JSON value true: the string "true" (some providers' old
// tokens) counts as not verified, so nothing is provisioned on an ambiguous claim.
// email_domain_owner_verified is Entra's optional claim "xms_edov" ("email domain owner
// verified": the email's domain is one the user's Entra tenant verified), read as strictly:
// only the JSON value true. Entra v2 ID tokens carry no email_verified; the caller decides, per
// preset, whether this claim stands in for it (only for Entra: sso/flow.cc).
// The groups claim (name configurable, default "groups") must be an array of strings when present
// (at most kMaxGroups). groups_overage is set when "_claim_names" names the groups claim (or
// "groups"), or "hasgroups" is true: Entra's sign that the groups were too many to send; the
// caller must then map no role from groups rather than guess.
//
// Logout token claims: iss and aud as above; "iat" within [now - max_age - skew, now + skew];
// "exp", when present, > now - skew; "jti" a non-empty string; "events" an object whose member
// "http://schemas.openid.net/event/backchannel-logout" is an object; "sid" or "sub" (or both);
// no "nonce". That a jti is used only once is the CALLER's job (it needs a store: sso/flow keeps
// the jti until the token would have expired anyway).
//
// Errors: every failure is kUnauthenticated with one of these stable reasons, and a message that
// never quotes the token or any claim value:
//   token_too_large, malformed_token, unsupported_crit, wrong_token_type, alg_not_allowed,
//   unknown_kid, bad_signature, invalid_claims, wrong_issuer, tenant_not_allowed, wrong_audience,
//   wrong_azp, token_expired, token_not_yet_valid, iat_in_future, token_too_old, nonce_missing,
//   nonce_mismatch; and for logout tokens also missing_jti, not_a_logout_token,
//   missing_sid_and_sub, nonce_present.
// An "unknown_kid" is the one failure a caller should retry after refreshing the JWKS (see
// sso/provider_client.h, which does that at most once and rate-limited).
//
// Thread-safety: pure functions over their arguments.
//
// Example:
//   TokenExpectations e;
//   e.issuer = "https://accounts.google.com"; e.client_id = connection.client_id;
//   e.nonce = login_state.nonce; e.now_unix = clock.NowUnix();
//   BULWARK_ASSIGN_OR_RETURN(IdTokenClaims c, sso::ValidateIdToken(response.id_token, jwks, e));
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/jwk.h"

namespace bulwark::sso {

inline constexpr std::size_t kMaxIdpTokenBytes = 16 * 1024;
inline constexpr std::size_t kMaxSubjectBytes = 255;
inline constexpr std::size_t kMaxClaimStringBytes =
    1024;  // email, name, hd, tid, oid, sid, each group
inline constexpr std::size_t kMaxGroups = 1000;
inline constexpr std::string_view kTenantIdPlaceholder = "{tenantid}";
inline constexpr std::string_view kBackChannelLogoutEvent =
    "http://schemas.openid.net/event/backchannel-logout";

// What the caller expects of a token; both validators read all but `nonce` and `groups_claim`
// (ID token only).
struct TokenExpectations {
  std::string issuer;                        // exact, or a template holding "{tenantid}"
  std::vector<std::string> allowed_tenants;  // Entra tids; required for a template issuer
  std::string client_id;
  std::vector<crypto::JwsAlgorithm> allowed_algs{
      crypto::JwsAlgorithm::kRs256, crypto::JwsAlgorithm::kEs256, crypto::JwsAlgorithm::kEdDsa};
  std::int64_t now_unix = 0;
  std::int64_t skew_s = 60;      // clock leeway, both ways; negative counts as 0
  std::int64_t max_age_s = 600;  // how old "iat" may be (plus skew); negative counts as 0
  std::string nonce;             // ID token: the nonce sent in the authorization request
  std::string groups_claim = "groups";
};

struct IdTokenClaims {
  std::string issuer;                 // "iss" as the token says it (template substituted)
  std::string subject;                // "sub"
  std::vector<std::string> audience;  // "aud"
  std::string email;                  // "" when absent
  bool email_verified = false;        // true only for the JSON value true
  bool email_domain_owner_verified = false;  // Entra's "xms_edov"; only the JSON value true
  std::string name;
  std::string hd;   // Google Workspace hosted domain
  std::string tid;  // Entra tenant id
  std::string oid;  // Entra object id
  std::string sid;  // the provider's session id (for back-channel logout)
  std::vector<std::string> groups;
  bool groups_overage = false;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  std::optional<std::int64_t> auth_time;
};

struct LogoutTokenClaims {
  std::string issuer;
  std::string subject;  // "" when absent (then sid is not)
  std::string sid;      // "" when absent (then sub is not)
  std::string jti;
  std::int64_t iat = 0;
  std::optional<std::int64_t> exp;
};

StatusOr<IdTokenClaims> ValidateIdToken(std::string_view token, const crypto::Jwks& jwks,
                                        const TokenExpectations& expectations);

StatusOr<LogoutTokenClaims> ValidateLogoutToken(std::string_view token, const crypto::Jwks& jwks,
                                                const TokenExpectations& expectations);

}  // namespace bulwark::sso
