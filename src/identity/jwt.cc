#include "identity/jwt.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <iterator>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "core/json_text.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/jws.h"

namespace bulwark::identity {
namespace {

namespace json = boost::json;

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

// One message for every way a token can be wrong: which check failed is not the client's business
// (and telling it would help an attacker probe), and nothing from the token is ever echoed.
Status InvalidToken() {
  return Status::Unauthenticated("invalid_token", "the access token is not valid");
}
Status ExpiredToken() {
  return Status::Unauthenticated("token_expired", "the access token has expired");
}

Status InvalidClaims(std::string message) {
  return Status::InvalidArgument("invalid_claims", std::move(message));
}

// The member `name` when it is a non-empty string.
std::optional<std::string> NonEmptyString(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string() || v->get_string().empty()) return std::nullopt;
  return std::string(v->get_string());
}

// The member `name` when it is an integer literal that fits int64. A double (1.0, 1e3) is refused
// even when its value is integral: the issuer never writes one.
std::optional<std::int64_t> Integer(const json::value* v) {
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}

std::int64_t SaturatingAdd(std::int64_t a, std::int64_t b) {  // b >= 0
  return a > kInt64Max - b ? kInt64Max : a + b;
}
std::int64_t SaturatingSub(std::int64_t a, std::int64_t b) {  // b >= 0
  return a < kInt64Min + b ? kInt64Min : a - b;
}

// The header must be exactly what SignAccessToken writes, modulo member order.
// Returns the kid.
std::optional<std::string> CheckHeader(const json::object& h) {
  for (const auto& member : h) {
    const std::string_view k = member.key();
    if (k != "alg" && k != "kid" && k != "typ") return std::nullopt;
  }
  const json::value* alg = h.if_contains("alg");
  if (alg == nullptr || !alg->is_string() || alg->get_string() != kJwtAlgorithm)
    return std::nullopt;
  const json::value* typ = h.if_contains("typ");
  if (typ == nullptr || !typ->is_string() || typ->get_string() != kAccessTokenType) {
    return std::nullopt;
  }
  return NonEmptyString(h, "kid");
}

// "aud": a non-empty string, or a non-empty array of them (RFC 7519 section 4.1.3).
std::optional<std::vector<std::string>> Audiences(const json::object& p) {
  const json::value* v = p.if_contains("aud");
  if (v == nullptr) return std::nullopt;
  std::vector<std::string> out;
  if (v->is_string()) {
    if (v->get_string().empty()) return std::nullopt;
    out.emplace_back(v->get_string());
    return out;
  }
  if (!v->is_array() || v->get_array().empty()) return std::nullopt;
  for (const json::value& item : v->get_array()) {
    if (!item.is_string() || item.get_string().empty()) return std::nullopt;
    out.emplace_back(item.get_string());
  }
  return out;
}

std::optional<AccessClaims> ReadClaims(const json::object& p) {
  AccessClaims c;
  std::optional<std::string> iss = NonEmptyString(p, "iss");
  std::optional<std::string> sub = NonEmptyString(p, "sub");
  std::optional<std::string> client = NonEmptyString(p, "client_id");
  std::optional<std::vector<std::string>> aud = Audiences(p);
  std::optional<std::string> tid = NonEmptyString(p, "tid");
  std::optional<std::string> sid = NonEmptyString(p, "sid");
  std::optional<std::string> jti = NonEmptyString(p, "jti");
  std::optional<std::int64_t> sv = Integer(p.if_contains("sv"));
  std::optional<std::int64_t> iat = Integer(p.if_contains("iat"));
  std::optional<std::int64_t> nbf = Integer(p.if_contains("nbf"));
  std::optional<std::int64_t> exp = Integer(p.if_contains("exp"));
  if (!iss || !sub || !client || !aud || !tid || !sid || !jti || !sv || !iat || !nbf || !exp) {
    return std::nullopt;
  }
  if (*sv < 0 || *iat < 0 || *exp <= *iat) return std::nullopt;
  c.issuer = std::move(*iss);
  c.subject = std::move(*sub);
  c.client_id = std::move(*client);
  c.audience = std::move(*aud);
  c.not_before = *nbf;
  c.tenant = std::move(*tid);
  c.session = std::move(*sid);
  c.token_id = std::move(*jti);
  c.session_version = *sv;
  c.issued_at = *iat;
  c.expires_at = *exp;
  return c;
}

Status CheckClaimsToSign(const AccessClaims& c) {
  const std::string_view strings[] = {c.issuer, c.subject, c.client_id,
                                      c.tenant, c.session, c.token_id};
  const auto bad = [](std::string_view s) { return s.empty() || !core::IsValidUtf8(s); };
  if (std::any_of(std::begin(strings), std::end(strings), bad) || c.audience.empty() ||
      std::any_of(c.audience.begin(), c.audience.end(),
                  [&](const std::string& a) { return bad(a); })) {
    return InvalidClaims(
        "iss, sub, client_id, tid, sid, jti and every aud must be non-empty UTF-8 strings");
  }
  if (c.session_version < 0) return InvalidClaims("sv must not be negative");
  if (c.issued_at < 0 || c.expires_at <= c.issued_at) return InvalidClaims("need 0 <= iat < exp");
  if (c.not_before < 0 || c.not_before >= c.expires_at) return InvalidClaims("need 0 <= nbf < exp");
  // Integers above 2^53 are not exact in a double, so the strict parser would refuse them.
  constexpr std::int64_t kMaxExact = std::int64_t{1} << 53;
  if (c.session_version > kMaxExact || c.expires_at > kMaxExact) {
    return InvalidClaims("sv, iat and exp must be at most 2^53");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> SignCompactJws(std::string_view header_json, std::string_view payload,
                                     const crypto::SecretBytes& private_key) {
  std::string out = crypto::Base64UrlEncode(crypto::AsBytes(header_json));
  out += '.';
  out += crypto::Base64UrlEncode(crypto::AsBytes(payload));
  BULWARK_ASSIGN_OR_RETURN(crypto::Ed25519Signature sig,
                           crypto::Ed25519Sign(private_key, crypto::AsBytes(out)));
  out += '.';
  out += crypto::Base64UrlEncode(sig);
  return out;
}

StatusOr<std::string> SignAccessToken(const AccessClaims& claims, const JwtSigningKey& key) {
  if (key.kid.empty() || !core::IsValidUtf8(key.kid)) {
    return InvalidClaims("the key id must be a non-empty UTF-8 string");
  }
  BULWARK_RETURN_IF_ERROR(CheckClaimsToSign(claims));
  BULWARK_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey derived,
                           crypto::Ed25519PublicKeyFromPrivate(key.private_key));
  if (derived != key.public_key) {
    return Status::InvalidArgument("invalid_key", "the private key does not match the public key");
  }

  json::object header;
  header["alg"] = kJwtAlgorithm;
  header["kid"] = key.kid;
  header["typ"] = kAccessTokenType;

  json::object payload;
  payload["iss"] = claims.issuer;
  payload["sub"] = claims.subject;
  if (claims.audience.size() == 1) {
    payload["aud"] = claims.audience.front();
  } else {
    json::array aud;
    for (const std::string& a : claims.audience) aud.emplace_back(a);
    payload["aud"] = std::move(aud);
  }
  payload["client_id"] = claims.client_id;
  payload["tid"] = claims.tenant;
  payload["sid"] = claims.session;
  payload["sv"] = claims.session_version;
  payload["iat"] = claims.issued_at;
  payload["nbf"] = claims.not_before == 0 ? claims.issued_at : claims.not_before;
  payload["exp"] = claims.expires_at;
  payload["jti"] = claims.token_id;

  const std::string header_json = json::serialize(header);
  const std::string payload_json = json::serialize(payload);
  return SignCompactJws(header_json, payload_json, key.private_key);
}

StatusOr<AccessClaims> VerifyAccessToken(std::string_view token, std::span<const JwtVerifyKey> keys,
                                         std::string_view issuer,
                                         std::span<const std::string> audiences,
                                         std::int64_t now_unix, std::int64_t leeway_s) {
  // Header: decides the key, so it is read (strictly) before the signature is checked.
  StatusOr<crypto::CompactJws> jws = crypto::ParseCompactJws(token, kMaxAccessTokenBytes);
  if (!jws.ok()) return InvalidToken();
  std::optional<std::string> kid = CheckHeader(jws->header);
  if (!kid) return InvalidToken();
  const auto key =
      std::find_if(keys.begin(), keys.end(), [&](const JwtVerifyKey& k) { return k.kid == *kid; });
  if (key == keys.end()) return InvalidToken();

  // Signature over the exact ASCII of "header.payload".
  if (jws->signature.size() != crypto::kEd25519SignatureSize) return InvalidToken();
  if (!crypto::Ed25519Verify(key->public_key, crypto::AsBytes(jws->signing_input), jws->signature)) {
    return InvalidToken();
  }

  // Payload: only now, from a signer we trust, and still strictly.
  StatusOr<json::object> payload = crypto::JwsPayloadObject(*jws);
  if (!payload.ok()) return InvalidToken();
  std::optional<AccessClaims> claims = ReadClaims(*payload);
  if (!claims) return InvalidToken();
  if (claims->issuer != issuer) return InvalidToken();
  const bool addressed_here =
      std::any_of(claims->audience.begin(), claims->audience.end(), [&](const std::string& a) {
        return std::find(audiences.begin(), audiences.end(), a) != audiences.end();
      });
  if (!addressed_here) return InvalidToken();

  const std::int64_t leeway = std::max<std::int64_t>(leeway_s, 0);
  const std::int64_t latest = SaturatingAdd(now_unix, leeway);
  if (claims->issued_at > latest || claims->not_before > latest) return InvalidToken();
  // Last, so that "token_expired" is only ever said of a token that is otherwise valid.
  if (claims->expires_at <= SaturatingSub(now_unix, leeway)) return ExpiredToken();
  return std::move(*claims);
}

std::string JwksJson(std::span<const JwtVerifyKey> keys) {
  json::array list;
  list.reserve(keys.size());
  for (const JwtVerifyKey& k : keys) {
    json::object jwk;
    jwk["kty"] = "OKP";
    jwk["crv"] = "Ed25519";
    jwk["x"] = crypto::Base64UrlEncode(k.public_key);
    jwk["kid"] = k.kid;
    jwk["alg"] = kJwtAlgorithm;
    jwk["use"] = "sig";
    list.emplace_back(std::move(jwk));
  }
  json::object doc;
  doc["keys"] = std::move(list);
  return json::serialize(doc);
}

}  // namespace bulwark::identity
