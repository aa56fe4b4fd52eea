#include "crypto/jwk.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <utility>

#include "core/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/internal.h"

namespace bulwark::crypto {

struct JwkPublicKey::Impl {
  internal::PkeyPtr pkey;
  std::size_t rsa_bytes = 0;  // RS256: the modulus size, which is the signature size
};

namespace {

namespace json = boost::json;
using internal::PkeyPtr;

constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kEd25519KeyBytes = 32;
constexpr std::size_t kEs256SignatureBytes = 64;

struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

Status Invalid(std::string message) {
  return Status::InvalidArgument("invalid_jwk", std::move(message));
}
Status Unsupported(std::string message) {
  return Status::InvalidArgument("unsupported_jwk", std::move(message));
}

// A member that must be a base64url string, decoded; "invalid_jwk" when absent or malformed.
StatusOr<std::vector<std::uint8_t>> Bytes(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string())
    return Invalid("the JWK lacks the string member " + std::string(name));
  StatusOr<std::vector<std::uint8_t>> raw = Base64UrlDecode(v->get_string());
  if (!raw.ok() || raw->empty())
    return Invalid("the JWK member " + std::string(name) + " is not base64url");
  return raw;
}

// Builds a public key of `type` ("RSA", "EC") from OSSL parameters.
StatusOr<PkeyPtr> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return Status::Internal("key import could not start");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 ||
      raw == nullptr) {
    return Invalid("the JWK is not a valid public key");
  }
  return PkeyPtr(raw);
}

StatusOr<JwkPublicKey::Impl> RsaKey(const json::object& o) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> n, Bytes(o, "n"));
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> e, Bytes(o, "e"));
  // RFC 7518 section 6.3.1: the minimum number of octets, so no leading zero.
  if (n.front() == 0 || e.front() == 0)
    return Invalid("RSA n and e must not have leading zero octets");
  int top_bits = 0;
  for (std::uint8_t b = n.front(); b != 0; b = static_cast<std::uint8_t>(b >> 1)) ++top_bits;
  const std::size_t bits = (n.size() - 1) * 8 + static_cast<std::size_t>(top_bits);
  if (bits < 2048 || bits > 16384) return Invalid("an RSA key must be 2048 to 16384 bits");
  if ((n.back() & 1) == 0) return Invalid("an RSA modulus is odd");
  if (e.size() > 4 || (e.back() & 1) == 0 || (e.size() == 1 && e.front() < 3)) {
    return Invalid("the RSA exponent must be odd, at least 3 and below 2^32");
  }
  BnPtr bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  BnPtr bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Status::Internal("RSA key import could not start");
  }
  BULWARK_ASSIGN_OR_RETURN(PkeyPtr pkey, FromParams("RSA", bld.get()));
  return JwkPublicKey::Impl{std::move(pkey), n.size()};
}

StatusOr<JwkPublicKey::Impl> EcKey(const json::object& o) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> x, Bytes(o, "x"));
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> y, Bytes(o, "y"));
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return Invalid("P-256 x and y must be 32 bytes each");
  }
  std::array<std::uint8_t, 1 + 2 * kP256CoordinateBytes> point{};
  point[0] = 0x04;  // uncompressed (SEC 1 section 2.3.3)
  std::copy(x.begin(), x.end(), point.begin() + 1);
  std::copy(y.begin(), y.end(), point.begin() + 1 + kP256CoordinateBytes);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Status::Internal("EC key import could not start");
  }
  BULWARK_ASSIGN_OR_RETURN(PkeyPtr pkey, FromParams("EC", bld.get()));
  // On the curve, not the identity, in the right subgroup (import alone may not check them all).
  internal::PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return Invalid("the EC point is not on P-256");
  }
  return JwkPublicKey::Impl{std::move(pkey), 0};
}

StatusOr<JwkPublicKey::Impl> OkpKey(const json::object& o) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> x, Bytes(o, "x"));
  if (x.size() != kEd25519KeyBytes) return Invalid("an Ed25519 x must be 32 bytes");
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, x.data(), x.size()));
  if (pkey == nullptr) return Invalid("the JWK is not a valid Ed25519 key");
  return JwkPublicKey::Impl{std::move(pkey), 0};
}

bool Fits(JwkKeyType type, JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kRs256:
      return type == JwkKeyType::kRsa;
    case JwsAlgorithm::kEs256:
      return type == JwkKeyType::kEc;
    case JwsAlgorithm::kEdDsa:
      return type == JwkKeyType::kOkp;
  }
  return false;
}

// A string member's value, or "" when absent; nullopt when present but not a string.
std::optional<std::string_view> OptionalString(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return std::string_view{};
  if (!v->is_string()) return std::nullopt;
  return std::string_view(v->get_string());
}

// "use", "key_ops" and "alg": what the key may be used for.
Status CheckUsage(const json::object& o, JwkKeyType type, std::optional<JwsAlgorithm>& alg) {
  const std::optional<std::string_view> use = OptionalString(o, "use");
  if (!use) return Invalid("the JWK's use is not a string");
  if (!use->empty() && *use != "sig") return Unsupported("the JWK is not for signatures");
  if (const json::value* ops = o.if_contains("key_ops")) {
    if (!ops->is_array()) return Invalid("the JWK's key_ops is not an array");
    bool verify = false;
    for (const json::value& op : ops->get_array()) {
      if (!op.is_string()) return Invalid("the JWK's key_ops holds a non-string");
      verify = verify || op.get_string() == "verify";
    }
    if (!verify) return Unsupported("the JWK's key_ops does not allow verify");
  }
  const std::optional<std::string_view> name = OptionalString(o, "alg");
  if (!name) return Invalid("the JWK's alg is not a string");
  if (name->empty()) return Status::Ok();
  alg = JwsAlgorithmFromName(*name);
  if (!alg) return Unsupported("the JWK's alg is not RS256, ES256 or EdDSA");
  if (!Fits(type, *alg)) return Invalid("the JWK's alg does not fit its kty");
  return Status::Ok();
}

StatusOr<std::vector<std::uint8_t>> Es256Der(std::span<const std::uint8_t> raw) {
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return Status::Internal("ECDSA signature conversion failed");
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0 || der == nullptr) return Status::Internal("ECDSA signature conversion failed");
  std::vector<std::uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace

std::optional<JwsAlgorithm> JwsAlgorithmFromName(std::string_view name) {
  if (name == "RS256") return JwsAlgorithm::kRs256;
  if (name == "ES256") return JwsAlgorithm::kEs256;
  if (name == "EdDSA") return JwsAlgorithm::kEdDsa;
  return std::nullopt;
}

std::string_view JwsAlgorithmName(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kRs256:
      return "RS256";
    case JwsAlgorithm::kEs256:
      return "ES256";
    case JwsAlgorithm::kEdDsa:
      return "EdDSA";
  }
  return "";
}

StatusOr<JwkPublicKey> JwkPublicKey::FromJson(const json::object& o) {
  for (std::string_view priv : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (o.contains(priv)) {
      return Status::InvalidArgument("private_jwk",
                                     "the JWK holds private key material; it is not used");
    }
  }
  const std::optional<std::string_view> kty = OptionalString(o, "kty");
  const std::optional<std::string_view> crv = OptionalString(o, "crv");
  if (!kty || kty->empty()) return Invalid("the JWK has no string kty");
  if (!crv) return Invalid("the JWK's crv is not a string");
  JwkPublicKey key;
  if (*kty == "RSA") {
    key.type_ = JwkKeyType::kRsa;
  } else if (*kty == "EC") {
    if (*crv != "P-256")
      return crv->empty() ? Invalid("an EC JWK needs crv") : Unsupported("the curve is not P-256");
    key.type_ = JwkKeyType::kEc;
  } else if (*kty == "OKP") {
    if (*crv != "Ed25519")
      return crv->empty() ? Invalid("an OKP JWK needs crv")
                          : Unsupported("the curve is not Ed25519");
    key.type_ = JwkKeyType::kOkp;
  } else {
    return Unsupported("the JWK's kty is not RSA, EC or OKP");
  }
  BULWARK_RETURN_IF_ERROR(CheckUsage(o, key.type_, key.alg_));
  const std::optional<std::string_view> kid = OptionalString(o, "kid");
  if (!kid || (o.contains("kid") && kid->empty()))
    return Invalid("the JWK's kid must be a non-empty string");
  key.kid_ = std::string(*kid);

  StatusOr<Impl> impl = key.type_ == JwkKeyType::kRsa  ? RsaKey(o)
                        : key.type_ == JwkKeyType::kEc ? EcKey(o)
                                                       : OkpKey(o);
  if (!impl.ok()) return impl.status();
  key.impl_ = std::make_shared<const Impl>(std::move(*impl));
  return key;
}

bool JwkPublicKey::Allows(JwsAlgorithm alg) const {
  return impl_ != nullptr && Fits(type_, alg) && (!alg_ || *alg_ == alg);
}

bool JwkPublicKey::Verify(JwsAlgorithm alg, std::span<const std::uint8_t> message,
                          std::span<const std::uint8_t> signature) const {
  if (!Allows(alg)) return false;
  std::span<const std::uint8_t> sig = signature;
  std::vector<std::uint8_t> der;
  const EVP_MD* digest = internal::Sha256Md();  // fetched once per process, not per call
  switch (alg) {
    case JwsAlgorithm::kRs256:
      if (signature.size() != impl_->rsa_bytes) return false;
      break;
    case JwsAlgorithm::kEs256: {
      if (signature.size() != kEs256SignatureBytes) return false;
      StatusOr<std::vector<std::uint8_t>> converted = Es256Der(signature);
      if (!converted.ok()) return false;
      der = std::move(*converted);
      sig = der;
      break;
    }
    case JwsAlgorithm::kEdDsa:
      if (signature.size() != 64) return false;
      digest = nullptr;  // Ed25519 hashes internally
      break;
  }
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, digest, nullptr, impl_->pkey.get()) != 1) {
    return false;
  }
  if (alg == JwsAlgorithm::kRs256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), internal::NonNull(message.data()),
                          message.size()) == 1;
}

StatusOr<Jwks> Jwks::Parse(std::string_view json_text) {
  StatusOr<json::value> v = core::ParseStrictJson(json_text);
  if (!v.ok() || !v->is_object())
    return Status::InvalidArgument("invalid_jwks", "the JWKS is not a JSON object");
  return FromJson(v->as_object());
}

StatusOr<Jwks> Jwks::FromJson(const json::object& doc) {
  const json::value* list = doc.if_contains("keys");
  if (list == nullptr || !list->is_array()) {
    return Status::InvalidArgument("invalid_jwks", "the JWKS has no keys array");
  }
  Jwks out;
  for (const json::value& item : list->get_array()) {
    if (!item.is_object())
      return Status::InvalidArgument("invalid_jwks", "a JWKS key is not an object");
    StatusOr<JwkPublicKey> key = JwkPublicKey::FromJson(item.get_object());
    if (!key.ok()) {
      if (key.status().reason() == "unsupported_jwk") {
        ++out.skipped_;
        continue;
      }
      return key.status();
    }
    if (!key->kid().empty() && out.FindByKid(key->kid()) != nullptr) {
      return Status::InvalidArgument("duplicate_kid", "two keys of the JWKS share a kid");
    }
    out.keys_.push_back(std::move(*key));
  }
  return out;
}

const JwkPublicKey* Jwks::FindByKid(std::string_view kid) const {
  if (kid.empty()) return nullptr;
  for (const JwkPublicKey& k : keys_) {
    if (k.kid() == kid) return &k;
  }
  return nullptr;
}

}  // namespace bulwark::crypto
