#pragma once
// Test-only: an identity provider's side of JOSE, made with OpenSSL directly (Bulwark itself never
// signs RS256/ES256): key pairs, their public JWKs, and compact JWS signed with them. Used by the
// JWK, ID token and provider-client tests and by the SSO benchmark, so what they verify is made by
// an independent code path, not by the code under test.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace bulwark::testing {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using TestPkey = std::shared_ptr<EVP_PKEY>;

// "RS256" (RSA of `rsa_bits`), "ES256" (P-256) or "EdDSA" (Ed25519).
inline TestPkey GenerateTestKey(std::string_view alg, unsigned rsa_bits = 2048) {
  EVP_PKEY* k = nullptr;
  if (alg == "RS256") {
    k = EVP_RSA_gen(rsa_bits);
  } else if (alg == "ES256") {
    k = EVP_EC_gen("P-256");
  } else {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (k == nullptr) throw std::runtime_error("test key generation failed");
  return TestPkey(k, PkeyDeleter{});
}

inline std::string B64(const std::vector<std::uint8_t>& v) { return crypto::Base64UrlEncode(v); }

inline std::vector<std::uint8_t> BnParam(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error("bn param");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(BN_num_bytes(bn)));
  BN_bn2bin(bn, out.data());
  BN_free(bn);
  return out;
}

// The public JWK of `k`, with kid and (when not empty) alg and use "sig".
inline boost::json::object PublicJwk(const TestPkey& k, std::string_view kid,
                                     std::string_view alg = "") {
  boost::json::object j;
  if (EVP_PKEY_is_a(k.get(), "RSA") == 1) {
    j["kty"] = "RSA";
    j["n"] = B64(BnParam(k.get(), OSSL_PKEY_PARAM_RSA_N));
    j["e"] = B64(BnParam(k.get(), OSSL_PKEY_PARAM_RSA_E));
  } else if (EVP_PKEY_is_a(k.get(), "EC") == 1) {
    std::vector<std::uint8_t> pt(65);
    std::size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(k.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt.data(),
                                        pt.size(), &len) != 1 ||
        len != 65) {
      throw std::runtime_error("ec point");
    }
    j["kty"] = "EC";
    j["crv"] = "P-256";
    j["x"] = B64({pt.begin() + 1, pt.begin() + 33});
    j["y"] = B64({pt.begin() + 33, pt.end()});
  } else {
    std::vector<std::uint8_t> x(32);
    std::size_t len = x.size();
    EVP_PKEY_get_raw_public_key(k.get(), x.data(), &len);
    j["kty"] = "OKP";
    j["crv"] = "Ed25519";
    j["x"] = B64(x);
  }
  if (!kid.empty()) j["kid"] = kid;
  if (!alg.empty()) j["alg"] = alg;
  j["use"] = "sig";
  return j;
}

// The raw JWS signature of `input` under `k` (ES256 as r || s, 64 bytes).
inline std::vector<std::uint8_t> RawSign(const TestPkey& k, std::string_view input) {
  const bool ed = EVP_PKEY_is_a(k.get(), "ED25519") == 1;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::vector<std::uint8_t> sig;
  std::size_t len = 0;
  const auto* msg = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSignInit_ex(ctx, nullptr, ed ? nullptr : "SHA256", nullptr, nullptr, k.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx, nullptr, &len, msg, input.size()) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::runtime_error("sign init");
  }
  sig.resize(len);
  if (EVP_DigestSign(ctx, sig.data(), &len, msg, input.size()) != 1)
    throw std::runtime_error("sign");
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (EVP_PKEY_is_a(k.get(), "EC") == 1) {  // DER -> r || s
    const unsigned char* p = sig.data();
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::vector<std::uint8_t> raw(64);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw.data() + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

// base64url(header) "." base64url(payload) "." base64url(signature under k).
inline std::string SignJws(const TestPkey& k, std::string_view header_json,
                           std::string_view payload_json) {
  std::string input = crypto::Base64UrlEncode(crypto::AsBytes(header_json)) + "." +
                      crypto::Base64UrlEncode(crypto::AsBytes(payload_json));
  return input + "." + B64(RawSign(k, input));
}

inline std::string SignJws(const TestPkey& k, const boost::json::object& header,
                           const boost::json::object& payload) {
  return SignJws(k, boost::json::serialize(header), boost::json::serialize(payload));
}

// The token a forger makes: HS256 with `secret` (e.g. the provider's public key bytes) as key.
inline std::string SignHs256(std::string_view secret, std::string_view header_json,
                             std::string_view payload_json) {
  std::string input = crypto::Base64UrlEncode(crypto::AsBytes(header_json)) + "." +
                      crypto::Base64UrlEncode(crypto::AsBytes(payload_json));
  const auto mac = crypto::HmacSha256(crypto::AsBytes(secret), crypto::AsBytes(input));
  return input + "." + crypto::Base64UrlEncode(mac);
}

}  // namespace bulwark::testing
