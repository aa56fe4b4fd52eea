#pragma once
// Access tokens: compact JWS (RFC 7515) signed with Ed25519, alg "EdDSA" (RFC 8037).
//
// Bulwark issues short-lived access tokens that any service holding the JWKS (JwksJson) can check
// offline. They are JWT access tokens in the profile of RFC 9068: the header is exactly
// {"alg":"EdDSA","kid":"<key id>","typ":"at+jwt"} and the payload
//   {"iss":...,"sub":...,"aud":...,"client_id":...,"tid":...,"sid":...,"sv":1,
//    "iat":...,"nbf":...,"exp":...,"jti":...}
// where "aud" is one string, or an array when a deployment names several audiences, and "nbf"
// equals "iat".
//
// Verification is strict and fail-closed, because a JWT verifier is attacked through what it
// tolerates:
//   - the token is at most kMaxAccessTokenBytes, has exactly three non-empty parts, and each part
//     is strict unpadded base64url (crypto::Base64UrlDecode: no '=', no whitespace, no '+' '/');
//   - header and payload are strict JSON objects: valid UTF-8, no duplicate member names (after
//     unescaping: "alg" and "\u0061lg" collide), integers exact in a double;
//   - the header has "alg" exactly "EdDSA" (so "none", "HS256", "RS256", "ES256", "Ed25519" and
//     "eddsa" are refused, whatever key would fit them), a string "kid", "typ" exactly "at+jwt"
//     (RFC 9068 section 4: so no other kind of JWT passes for an access token), and no other member
//     ("jwk", "jku", "x5u", "crit", "b64", ...: a token never chooses its own key or changes how it
//     is signed);
//   - the key is the one whose kid matches, from the caller's list only; an unknown kid fails
//     (no fallback to trying every key);
//   - the payload is parsed only after the signature has verified;
//   - claims have strict types: iss, sub, client_id, tid, sid and jti are non-empty strings, aud
//     a non-empty string or a non-empty array of them, sv, iat, nbf and exp are integers (1.0 and
//     "1" are refused), with 0 <= iat < exp and sv >= 0. Other claims are ignored (RFC 7519
//     section 4);
//   - iss must equal the expected issuer exactly, and one of the token's audiences must be one of
//     the expected ones; iat <= now + leeway; nbf <= now + leeway; exp > now - leeway.
//
// Every failure is kUnauthenticated with reason "invalid_token" and one generic message that
// never echoes the token, except a token that is valid in every respect but its expiry, which
// gets reason "token_expired" (so a client knows to refresh rather than re-authenticate).
//
// Example:
//   JwtSigningKey key{"k1", std::move(kp.private_key), kp.public_key};
//   BULWARK_ASSIGN_OR_RETURN(std::string token, identity::SignAccessToken(claims, key));
//
//   const JwtVerifyKey keys[] = {{"k1", kp.public_key}};
//   const std::string audiences[] = {"https://api.example"};
//   StatusOr<AccessClaims> c = identity::VerifyAccessToken(token, keys, "https://bulwark.example",
//                                                          audiences, clock.NowUnix());
//   if (!c.ok()) return c.status();  // 401 invalid_token / token_expired
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "crypto/sign.h"

namespace bulwark::identity {

// A longer token is refused before any decoding.
inline constexpr std::size_t kMaxAccessTokenBytes = 4096;
inline constexpr std::string_view kJwtAlgorithm = "EdDSA";
// The header's "typ" (RFC 9068 section 2.1).
inline constexpr std::string_view kAccessTokenType = "at+jwt";
// "client_id" of the tokens a sign-in issues (magic link, invitation): Bulwark's own first-party
// client. Bulwark registers no OAuth clients, so this is the only one there is.
inline constexpr std::string_view kFirstPartyClientId = "bulwark";

// What Bulwark puts in an access token.
struct AccessClaims {
  std::string issuer;                          // "iss"
  std::string subject;                         // "sub": user id
  std::string client_id{kFirstPartyClientId};  // "client_id"
  std::string tenant;                          // "tid"
  std::string session;                         // "sid": session id
  std::int64_t session_version = 0;            // "sv"
  std::int64_t issued_at = 0;                  // "iat" (unix seconds)
  std::int64_t expires_at = 0;                 // "exp"
  std::string token_id;                        // "jti"
  // "aud": at least one. Written as a string when there is one, as an array otherwise.
  std::vector<std::string> audience;
  // "nbf" (unix seconds). Issued equal to issued_at; 0 when signing means "issued_at".
  std::int64_t not_before = 0;
};

struct JwtSigningKey {
  std::string kid;
  crypto::SecretBytes private_key;  // 32-byte Ed25519 seed
  crypto::Ed25519PublicKey public_key;
};

struct JwtVerifyKey {
  std::string kid;
  crypto::Ed25519PublicKey public_key;
};

// The compact JWS base64url(header_json) "." base64url(payload) "." base64url(Ed25519 signature),
// with the two texts taken as given (not reformatted). `payload` is any bytes (RFC 8037 A.4 signs
// a plain sentence). For tests and for SignAccessToken; callers should not build headers by hand.
// kInvalidArgument ("invalid_key") for a key that is not 32 bytes.
StatusOr<std::string> SignCompactJws(std::string_view header_json, std::string_view payload,
                                     const crypto::SecretBytes& private_key);

// Signs `claims` under `key`. kInvalidArgument:
//   "invalid_claims"  a string claim (an audience included), the kid or the audience list is
//                     empty or not valid UTF-8, or not 0 <= iat < exp, or nbf > exp, or sv < 0
//                     (what the verifier would refuse is never issued);
//   "invalid_key"     the private key is not 32 bytes or does not match key.public_key.
StatusOr<std::string> SignAccessToken(const AccessClaims& claims, const JwtSigningKey& key);

// Verifies `token` as described at the top of this file and returns its claims. A negative
// leeway counts as 0.
// `audiences` are the ones this verifier answers to: the token must name at least one of them.
StatusOr<AccessClaims> VerifyAccessToken(std::string_view token, std::span<const JwtVerifyKey> keys,
                                         std::string_view issuer,
                                         std::span<const std::string> audiences,
                                         std::int64_t now_unix, std::int64_t leeway_s = 30);

// The JWKS document (RFC 7517) publishing `keys`, in the given order:
//   {"keys":[{"kty":"OKP","crv":"Ed25519","x":"<b64url>","kid":"...","alg":"EdDSA","use":"sig"}]}
std::string JwksJson(std::span<const JwtVerifyKey> keys);

}  // namespace bulwark::identity
