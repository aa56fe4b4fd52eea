#include "sso/id_token.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <limits>
#include <utility>

#include "core/ascii.h"
#include "crypto/compare.h"
#include "crypto/hash.h"
#include "crypto/jws.h"

namespace bulwark::sso {
namespace {

namespace json = boost::json;

enum class Kind { kIdToken, kLogoutToken };

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

Status Fail(std::string reason, std::string message) {
  return Status::Unauthenticated(std::move(reason), std::move(message));
}
Status InvalidClaims(std::string_view which) {
  return Fail("invalid_claims",
              "the token's " + std::string(which) + " claim is missing or has the wrong type");
}

std::int64_t SaturatingAdd(std::int64_t a, std::int64_t b) {
  return a > kInt64Max - b ? kInt64Max : a + b;
}
std::int64_t SaturatingSub(std::int64_t a, std::int64_t b) {
  return a < kInt64Min + b ? kInt64Min : a - b;
}

// Steps 1 to 4 of the header comment: the payload of a token whose signature verified.
StatusOr<json::object> VerifiedPayload(std::string_view token, const crypto::Jwks& jwks,
                                       const TokenExpectations& e, Kind kind) {
  if (token.size() > kMaxIdpTokenBytes)
    return Fail("token_too_large", "the token is larger than allowed");
  StatusOr<crypto::CompactJws> jws = crypto::ParseCompactJws(token, kMaxIdpTokenBytes);
  if (!jws.ok()) return Fail("malformed_token", "the token is not a well-formed JWS");
  const json::object& h = jws->header;
  if (h.contains("crit"))
    return Fail("unsupported_crit", "the token requires a JWS extension (crit)");
  if (const json::value* typ = h.if_contains("typ")) {
    if (!typ->is_string()) return Fail("malformed_token", "the token's typ is not a string");
    std::string t = core::AsciiLower(typ->get_string());
    if (t.starts_with("application/")) t.erase(0, 12);
    const bool fits = t == "jwt" || (kind == Kind::kLogoutToken && t == "logout+jwt");
    if (!fits) return Fail("wrong_token_type", "the token's typ is not this kind of token");
  }
  const json::value* alg_name = h.if_contains("alg");
  if (alg_name == nullptr || !alg_name->is_string())
    return Fail("malformed_token", "the token has no alg");
  const std::optional<crypto::JwsAlgorithm> alg =
      crypto::JwsAlgorithmFromName(alg_name->get_string());
  if (!alg ||
      std::find(e.allowed_algs.begin(), e.allowed_algs.end(), *alg) == e.allowed_algs.end()) {
    return Fail("alg_not_allowed", "the token's signature algorithm is not allowed");
  }

  const crypto::JwkPublicKey* key = nullptr;
  if (const json::value* kid = h.if_contains("kid")) {
    if (!kid->is_string() || kid->get_string().empty())
      return Fail("malformed_token", "the token's kid is not a string");
    key = jwks.FindByKid(kid->get_string());
    if (key == nullptr)
      return Fail("unknown_kid", "the token is signed with a key the provider does not publish");
    if (!key->Allows(*alg))
      return Fail("alg_not_allowed", "the token's key does not take its algorithm");
  } else {
    // No kid: only a set with exactly one key for this alg leaves nothing to choose.
    std::size_t candidates = 0;
    for (const crypto::JwkPublicKey& k : jwks.keys()) {
      if (k.Allows(*alg)) {
        key = &k;
        ++candidates;
      }
    }
    if (candidates != 1)
      return Fail("unknown_kid", "the token names no key and the provider has several");
  }
  if (!key->Verify(*alg, crypto::AsBytes(jws->signing_input), jws->signature)) {
    return Fail("bad_signature", "the token's signature is not valid");
  }
  StatusOr<json::object> payload = crypto::JwsPayloadObject(*jws);
  if (!payload.ok())
    return Fail("malformed_token", "the token's payload is not a strict JSON object");
  return payload;
}

// `name` into `out` when present: a string of at most `max` bytes. Absent leaves `out` empty.
Status OptionalString(const json::object& p, std::string_view name, std::string& out,
                      std::size_t max = kMaxClaimStringBytes) {
  const json::value* v = p.if_contains(name);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string() || v->get_string().size() > max) return InvalidClaims(name);
  out = std::string(v->get_string());
  return Status::Ok();
}

// An integer claim (1.0 and "1" are refused); nullopt when absent.
StatusOr<std::optional<std::int64_t>> OptionalInt(const json::object& p, std::string_view name) {
  const json::value* v = p.if_contains(name);
  if (v == nullptr) return std::optional<std::int64_t>{};
  if (!v->is_int64()) return InvalidClaims(name);
  return std::optional<std::int64_t>(v->get_int64());
}

StatusOr<std::int64_t> RequiredInt(const json::object& p, std::string_view name) {
  BULWARK_ASSIGN_OR_RETURN(std::optional<std::int64_t> v, OptionalInt(p, name));
  if (!v) return InvalidClaims(name);
  return *v;
}

// "iss" (and for a template or a tenant allowlist, "tid"). Returns the issuer.
StatusOr<std::string> CheckIssuer(const json::object& p, const TokenExpectations& e,
                                  std::string& tid) {
  std::string iss;
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "iss", iss));
  if (iss.empty()) return InvalidClaims("iss");
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "tid", tid));
  const std::size_t at = e.issuer.find(kTenantIdPlaceholder);
  if (at != std::string::npos || !e.allowed_tenants.empty()) {
    if (tid.empty() || std::find(e.allowed_tenants.begin(), e.allowed_tenants.end(), tid) ==
                           e.allowed_tenants.end()) {
      return Fail("tenant_not_allowed", "the token's tenant is not one this connection allows");
    }
  }
  std::string expected = e.issuer;
  if (at != std::string::npos) expected.replace(at, kTenantIdPlaceholder.size(), tid);
  if (e.issuer.empty() || iss != expected)
    return Fail("wrong_issuer", "the token's issuer is not the connection's");
  return iss;
}

// "aud" contains client_id; returns the audiences.
StatusOr<std::vector<std::string>> CheckAudience(const json::object& p,
                                                 const TokenExpectations& e) {
  std::vector<std::string> aud;
  const json::value* v = p.if_contains("aud");
  if (v != nullptr && v->is_string()) {
    aud.emplace_back(v->get_string());
  } else if (v != nullptr && v->is_array() && !v->get_array().empty()) {
    for (const json::value& a : v->get_array()) {
      if (!a.is_string()) return InvalidClaims("aud");
      aud.emplace_back(a.get_string());
    }
  } else {
    return InvalidClaims("aud");
  }
  if (e.client_id.empty() || std::find(aud.begin(), aud.end(), e.client_id) == aud.end()) {
    return Fail("wrong_audience", "the token is not addressed to this client");
  }
  return aud;
}

Status CheckSubject(const json::object& p, std::string& sub, bool required) {
  const json::value* v = p.if_contains("sub");
  if (v == nullptr && !required) return Status::Ok();
  if (v == nullptr || !v->is_string() || v->get_string().empty() ||
      v->get_string().size() > kMaxSubjectBytes) {
    return InvalidClaims("sub");
  }
  sub = std::string(v->get_string());
  return Status::Ok();
}

// iat no later than now + skew and no earlier than now - max_age - skew.
Status CheckIssuedAt(std::int64_t iat, const TokenExpectations& e) {
  const std::int64_t skew = std::max<std::int64_t>(e.skew_s, 0);
  const std::int64_t max_age = std::max<std::int64_t>(e.max_age_s, 0);
  if (iat > SaturatingAdd(e.now_unix, skew))
    return Fail("iat_in_future", "the token is issued in the future");
  if (iat < SaturatingSub(SaturatingSub(e.now_unix, max_age), skew)) {
    return Fail("token_too_old", "the token was issued too long ago");
  }
  return Status::Ok();
}

Status CheckExpiry(std::int64_t exp, const TokenExpectations& e) {
  if (exp <= SaturatingSub(e.now_unix, std::max<std::int64_t>(e.skew_s, 0))) {
    return Fail("token_expired", "the token has expired");
  }
  return Status::Ok();
}

Status CheckNonce(const json::object& p, const TokenExpectations& e) {
  const json::value* v = p.if_contains("nonce");
  if (v == nullptr) return Fail("nonce_missing", "the token carries no nonce");
  if (!v->is_string()) return InvalidClaims("nonce");
  // Digests, so the comparison depends on neither length nor content.
  const bool same = !e.nonce.empty() &&
                    crypto::ConstantTimeEquals(crypto::Sha256(std::string_view(v->get_string())),
                                               crypto::Sha256(std::string_view(e.nonce)));
  if (!same) return Fail("nonce_mismatch", "the token's nonce is not the one this sign-in sent");
  return Status::Ok();
}

Status ReadGroups(const json::object& p, const TokenExpectations& e, IdTokenClaims& c) {
  const std::string_view claim =
      e.groups_claim.empty() ? std::string_view("groups") : e.groups_claim;
  if (const json::value* names = p.if_contains("_claim_names");
      names != nullptr && names->is_object()) {
    c.groups_overage =
        names->get_object().contains(claim) || names->get_object().contains("groups");
  }
  if (const json::value* has = p.if_contains("hasgroups");
      has != nullptr && has->is_bool() && has->get_bool()) {
    c.groups_overage = true;
  }
  const json::value* v = p.if_contains(claim);
  if (v == nullptr) return Status::Ok();
  if (!v->is_array() || v->get_array().size() > kMaxGroups) return InvalidClaims("groups");
  for (const json::value& g : v->get_array()) {
    if (!g.is_string() || g.get_string().size() > kMaxClaimStringBytes)
      return InvalidClaims("groups");
    c.groups.emplace_back(g.get_string());
  }
  return Status::Ok();
}

}  // namespace

StatusOr<IdTokenClaims> ValidateIdToken(std::string_view token, const crypto::Jwks& jwks,
                                        const TokenExpectations& e) {
  BULWARK_ASSIGN_OR_RETURN(json::object p, VerifiedPayload(token, jwks, e, Kind::kIdToken));
  IdTokenClaims c;
  BULWARK_ASSIGN_OR_RETURN(c.issuer, CheckIssuer(p, e, c.tid));
  BULWARK_RETURN_IF_ERROR(CheckSubject(p, c.subject, /*required=*/true));
  BULWARK_ASSIGN_OR_RETURN(c.audience, CheckAudience(p, e));
  std::string azp;
  const bool has_azp = p.contains("azp");
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "azp", azp));
  if ((has_azp && azp != e.client_id) || (!has_azp && c.audience.size() > 1)) {
    return Fail("wrong_azp", "the token's authorized party is not this client");
  }
  BULWARK_ASSIGN_OR_RETURN(c.exp, RequiredInt(p, "exp"));
  BULWARK_ASSIGN_OR_RETURN(c.iat, RequiredInt(p, "iat"));
  BULWARK_ASSIGN_OR_RETURN(std::optional<std::int64_t> nbf, OptionalInt(p, "nbf"));
  BULWARK_ASSIGN_OR_RETURN(c.auth_time, OptionalInt(p, "auth_time"));
  BULWARK_RETURN_IF_ERROR(CheckExpiry(c.exp, e));
  BULWARK_RETURN_IF_ERROR(CheckIssuedAt(c.iat, e));
  if (nbf && *nbf > SaturatingAdd(e.now_unix, std::max<std::int64_t>(e.skew_s, 0))) {
    return Fail("token_not_yet_valid", "the token is not valid yet");
  }
  BULWARK_RETURN_IF_ERROR(CheckNonce(p, e));

  BULWARK_RETURN_IF_ERROR(OptionalString(p, "email", c.email));
  const json::value* verified = p.if_contains("email_verified");
  c.email_verified = verified != nullptr && verified->is_bool() && verified->get_bool();
  const json::value* edov = p.if_contains("xms_edov");
  c.email_domain_owner_verified = edov != nullptr && edov->is_bool() && edov->get_bool();
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "name", c.name));
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "hd", c.hd));
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "oid", c.oid));
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "sid", c.sid));
  BULWARK_RETURN_IF_ERROR(ReadGroups(p, e, c));
  return c;
}

StatusOr<LogoutTokenClaims> ValidateLogoutToken(std::string_view token, const crypto::Jwks& jwks,
                                                const TokenExpectations& e) {
  BULWARK_ASSIGN_OR_RETURN(json::object p, VerifiedPayload(token, jwks, e, Kind::kLogoutToken));
  LogoutTokenClaims c;
  std::string tid;
  BULWARK_ASSIGN_OR_RETURN(c.issuer, CheckIssuer(p, e, tid));
  BULWARK_RETURN_IF_ERROR(CheckAudience(p, e).status());
  BULWARK_ASSIGN_OR_RETURN(c.iat, RequiredInt(p, "iat"));
  BULWARK_ASSIGN_OR_RETURN(c.exp, OptionalInt(p, "exp"));
  BULWARK_RETURN_IF_ERROR(CheckIssuedAt(c.iat, e));
  if (c.exp) {
    BULWARK_RETURN_IF_ERROR(CheckExpiry(*c.exp, e));
  }

  const json::value* events = p.if_contains("events");
  const json::value* logout = events != nullptr && events->is_object()
                                  ? events->get_object().if_contains(kBackChannelLogoutEvent)
                                  : nullptr;
  if (logout == nullptr || !logout->is_object()) {
    return Fail("not_a_logout_token", "the token carries no back-channel logout event");
  }
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "jti", c.jti));
  if (c.jti.empty()) return Fail("missing_jti", "the logout token has no jti");
  BULWARK_RETURN_IF_ERROR(CheckSubject(p, c.subject, /*required=*/false));
  BULWARK_RETURN_IF_ERROR(OptionalString(p, "sid", c.sid));
  if (c.subject.empty() && c.sid.empty())
    return Fail("missing_sid_and_sub", "the logout token names no session or subject");
  if (p.contains("nonce")) return Fail("nonce_present", "a logout token must not carry a nonce");
  return c;
}

}  // namespace bulwark::sso
