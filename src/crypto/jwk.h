#pragma once
// Public keys published as JWKs (RFC 7517) by an identity provider, and verification of the JWS
// signatures (RFC 7515, RFC 7518, RFC 8037) they make: the three algorithms an OpenID Provider
// signs ID tokens with in practice, and nothing else.
//
//   alg    key                                  signature
//   RS256  kty "RSA", n and e; 2048..16384 bits  RSASSA-PKCS1-v1_5 with SHA-256
//   ES256  kty "EC", crv "P-256", x and y        ECDSA P-256 SHA-256, JOSE form r || s (64 bytes)
//   EdDSA  kty "OKP", crv "Ed25519", x           Ed25519 (RFC 8032)
//
// Refused, whatever key would fit them: "none", every HS* (an HMAC keyed with a public key is the
// classic forgery), PS*, RS384/512, ES384/512, ES256K, and any other name. An algorithm must fit
// the key's type (RS256 only with an RSA key, ...), and a JWK that names an "alg" verifies with
// that one algorithm only.
//
// A JWK is read strictly:
//   - a JWK holding private members ("d", "p", "q", "dp", "dq", "qi", "oth", or an "oct" key's
//     "k") is refused with reason "private_jwk": a provider publishing its private key is broken,
//     and the key must not be used (nor copied anywhere);
//   - "use", when present, must be "sig"; "key_ops", when present, must list "verify"; "alg",
//     when present, must be one of the three above and fit the type; otherwise
//     "unsupported_jwk" (also for another kty or crv);
//   - members are base64url exactly as RFC 7518 says: n and e without leading zero octets, n odd
//     and 2048..16384 bits, e odd, 3 <= e < 2^32; EC x and y 32 bytes each and the point on the
//     curve (and not the identity); OKP x 32 bytes; "kid", when present, a non-empty string;
//     otherwise "invalid_jwk". Other members (x5c, x5t, ...) are ignored: the key is n/e, x/y or x
//     alone.
//
// A JWKS ({"keys":[...]}) is read with the same rules per key, except that keys the verifier
// cannot use ("unsupported_jwk": another kty or curve, use "enc", another alg) are skipped, so a
// provider that also publishes encryption keys still works. The whole set is refused
// ("invalid_jwks") when it is not such an object, a key is not an object, a usable-looking key is
// malformed ("invalid_jwk"), any key is private ("private_jwk"), or two usable keys share a kid
// ("duplicate_kid": a verifier choosing by kid could be steered to either).
//
// All errors are kInvalidArgument; messages never quote key material.
// Thread-safety: JwkPublicKey and Jwks are immutable values after parsing (copies share the
// OpenSSL key, which OpenSSL allows to be used for verification by many threads at once).
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(crypto::Jwks jwks, crypto::Jwks::Parse(body));
//   const crypto::JwkPublicKey* key = jwks.FindByKid(kid);
//   if (key == nullptr || !key->Verify(crypto::JwsAlgorithm::kRs256, input, sig)) return ...;
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark::crypto {

enum class JwsAlgorithm { kRs256, kEs256, kEdDsa };

// "RS256", "ES256", "EdDSA" (exact case); nullopt for anything else, "none" and "HS256" included.
std::optional<JwsAlgorithm> JwsAlgorithmFromName(std::string_view name);
std::string_view JwsAlgorithmName(JwsAlgorithm alg);

enum class JwkKeyType { kRsa, kEc, kOkp };

class JwkPublicKey {
 public:
  // One JWK object; the rules at the top of this file.
  static StatusOr<JwkPublicKey> FromJson(const boost::json::object& jwk);

  const std::string& kid() const { return kid_; }  // empty when the JWK has none
  JwkKeyType type() const { return type_; }
  // The "alg" the JWK fixes, if it names one.
  std::optional<JwsAlgorithm> alg() const { return alg_; }
  // True when `alg` fits this key's type and, if the JWK names an alg, is that one.
  bool Allows(JwsAlgorithm alg) const;

  // True only if `signature` is a valid `alg` signature of `message` (for a JWS: the ASCII of
  // base64url(header) "." base64url(payload)) under this key. False, never an error, for an alg
  // the key does not allow, a wrong-size signature (RS256: the modulus size; ES256: exactly 64
  // bytes r || s; EdDSA: 64 bytes), or any other failure.
  bool Verify(JwsAlgorithm alg, std::span<const std::uint8_t> message,
              std::span<const std::uint8_t> signature) const;

  struct Impl;  // OpenSSL's key; private to jwk.cc

 private:
  JwkPublicKey() = default;
  std::string kid_;
  JwkKeyType type_ = JwkKeyType::kRsa;
  std::optional<JwsAlgorithm> alg_;
  std::shared_ptr<const Impl> impl_;
};

class Jwks {
 public:
  Jwks() = default;  // empty: no key verifies anything
  // A JWKS document's text, strictly parsed (core::ParseStrictJson), or its parsed object.
  static StatusOr<Jwks> Parse(std::string_view json_text);
  static StatusOr<Jwks> FromJson(const boost::json::object& doc);

  // The usable key with this kid, or null. An empty kid finds nothing.
  const JwkPublicKey* FindByKid(std::string_view kid) const;
  std::span<const JwkPublicKey> keys() const { return keys_; }
  // How many keys of the document were skipped as unusable.
  std::size_t skipped() const { return skipped_; }

 private:
  std::vector<JwkPublicKey> keys_;
  std::size_t skipped_ = 0;
};

}  // namespace bulwark::crypto
