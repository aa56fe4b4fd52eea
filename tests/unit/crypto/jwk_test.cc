#include "crypto/jwk.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/jws.h"
#include "jose_test_signer.h"

namespace bulwark::crypto {
namespace {

namespace json = boost::json;
using testing::GenerateTestKey;
using testing::PublicJwk;

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

// The RFC 7515 examples sign this payload (A.2.1, A.3.1).
constexpr std::string_view kRfcPayloadB64 =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

// RFC 7515 Appendix A.2.1: the RSA key (public members only) of the RS256 example.
constexpr std::string_view kRfc7515RsaN =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
constexpr std::string_view kRfc7515RsaSig =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
    "p0igcN_IoypGlUPQGe77Rw";
// RFC 7515 Appendix A.3.1: the P-256 key of the ES256 example, and A.3's signature (r || s).
constexpr std::string_view kRfc7515EcX = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view kRfc7515EcY = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr std::string_view kRfc7515EcSig =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

json::object RfcRsaJwk() {
  json::object j;
  j["kty"] = "RSA";
  j["n"] = kRfc7515RsaN;
  j["e"] = "AQAB";
  return j;
}
json::object RfcEcJwk() {
  json::object j;
  j["kty"] = "EC";
  j["crv"] = "P-256";
  j["x"] = kRfc7515EcX;
  j["y"] = kRfc7515EcY;
  return j;
}

std::vector<std::uint8_t> Dec(std::string_view b64) {
  StatusOr<std::vector<std::uint8_t>> r = Base64UrlDecode(b64);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<std::uint8_t>{};
}

std::string Reason(const StatusOr<JwkPublicKey>& k) { return k.ok() ? "ok" : k.status().reason(); }

TEST(JwsAlgorithm, OnlyTheThreeNamesExactly) {
  EXPECT_EQ(JwsAlgorithmFromName("RS256"), JwsAlgorithm::kRs256);
  EXPECT_EQ(JwsAlgorithmFromName("ES256"), JwsAlgorithm::kEs256);
  EXPECT_EQ(JwsAlgorithmFromName("EdDSA"), JwsAlgorithm::kEdDsa);
  for (std::string_view bad :
       {"none", "None", "HS256", "HS384", "HS512", "PS256", "RS384", "RS512", "ES384", "ES512",
        "ES256K", "rs256", "eddsa", "Ed25519", "RS256 ", ""}) {
    EXPECT_FALSE(JwsAlgorithmFromName(bad).has_value()) << bad;
  }
  EXPECT_EQ(JwsAlgorithmName(JwsAlgorithm::kEdDsa), "EdDSA");
}

TEST(Jwk, Rfc7515AppendixA2Rs256Verifies) {
  StatusOr<JwkPublicKey> key = JwkPublicKey::FromJson(RfcRsaJwk());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const std::string input = std::string("eyJhbGciOiJSUzI1NiJ9.") + std::string(kRfcPayloadB64);
  std::vector<std::uint8_t> sig = Dec(kRfc7515RsaSig);
  EXPECT_TRUE(key->Verify(JwsAlgorithm::kRs256, AsBytes(input), sig));
  // The same signature under any other algorithm, or over another input, is not valid.
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kEs256, AsBytes(input), sig));
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kRs256, AsBytes(input + "x"), sig));
  sig[10] ^= 1;
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kRs256, AsBytes(input), sig));
  sig[10] ^= 1;
  sig.push_back(0);  // wrong size
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kRs256, AsBytes(input), sig));
}

TEST(Jwk, Rfc7515AppendixA3Es256VerifiesOnlyInJoseForm) {
  StatusOr<JwkPublicKey> key = JwkPublicKey::FromJson(RfcEcJwk());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const std::string input = std::string("eyJhbGciOiJFUzI1NiJ9.") + std::string(kRfcPayloadB64);
  std::vector<std::uint8_t> sig = Dec(kRfc7515EcSig);
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(key->Verify(JwsAlgorithm::kEs256, AsBytes(input), sig));
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kRs256, AsBytes(input), sig));
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kEdDsa, AsBytes(input), sig));
  // 63 or 65 bytes, or DER (which OpenSSL itself would take) are not JOSE signatures.
  std::vector<std::uint8_t> shorter(sig.begin(), sig.end() - 1);
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kEs256, AsBytes(input), shorter));
  std::vector<std::uint8_t> longer = sig;
  longer.insert(longer.begin(), 0);
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kEs256, AsBytes(input), longer));
  std::vector<std::uint8_t> der = {0x30, 0x44, 0x02, 0x20};
  der.insert(der.end(), sig.begin(), sig.begin() + 32);
  der.insert(der.end(), {0x02, 0x20});
  der.insert(der.end(), sig.begin() + 32, sig.end());
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kEs256, AsBytes(input), der));
  std::vector<std::uint8_t> zero(64, 0);
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kEs256, AsBytes(input), zero));
}

TEST(Jwk, Rfc8037AppendixA4EdDsaVerifies) {
  json::object j =
      Obj(R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})");
  StatusOr<JwkPublicKey> key = JwkPublicKey::FromJson(j);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const std::string_view input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  const std::vector<std::uint8_t> sig =
      Dec("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  EXPECT_TRUE(key->Verify(JwsAlgorithm::kEdDsa, AsBytes(input), sig));
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kEs256, AsBytes(input), sig));
  EXPECT_FALSE(key->Verify(JwsAlgorithm::kEdDsa, AsBytes(std::string(input) + "."), sig));
}

TEST(Jwk, GeneratedKeysOfEachTypeVerifyTheirOwnAlgorithmOnly) {
  const std::pair<std::string_view, JwsAlgorithm> cases[] = {{"RS256", JwsAlgorithm::kRs256},
                                                             {"ES256", JwsAlgorithm::kEs256},
                                                             {"EdDSA", JwsAlgorithm::kEdDsa}};
  for (const auto& [name, alg] : cases) {
    testing::TestPkey pk = GenerateTestKey(name);
    StatusOr<JwkPublicKey> key = JwkPublicKey::FromJson(PublicJwk(pk, "k1", name));
    ASSERT_TRUE(key.ok()) << name << key.status().ToString();
    EXPECT_EQ(key->kid(), "k1");
    EXPECT_EQ(key->alg(), alg);
    const std::string token = testing::SignJws(pk, R"({"alg":"x"})", R"({"a":1})");
    StatusOr<CompactJws> jws = ParseCompactJws(token, 16384);
    ASSERT_TRUE(jws.ok());
    EXPECT_TRUE(key->Verify(alg, AsBytes(jws->signing_input), jws->signature)) << name;
    for (JwsAlgorithm other : {JwsAlgorithm::kRs256, JwsAlgorithm::kEs256, JwsAlgorithm::kEdDsa}) {
      EXPECT_EQ(key->Allows(other), other == alg);
      if (other != alg) {
        EXPECT_FALSE(key->Verify(other, AsBytes(jws->signing_input), jws->signature));
      }
    }
    // Another key of the same type does not verify it.
    StatusOr<JwkPublicKey> stranger =
        JwkPublicKey::FromJson(PublicJwk(GenerateTestKey(name), "k2"));
    ASSERT_TRUE(stranger.ok());
    EXPECT_FALSE(stranger->alg().has_value());
    EXPECT_FALSE(stranger->Verify(alg, AsBytes(jws->signing_input), jws->signature));
  }
}

TEST(Jwk, PrivateMembersAreRefused) {
  for (std::string_view member : {"d", "p", "q", "dp", "dq", "qi", "oth"}) {
    json::object j = RfcRsaJwk();
    j[member] = "AQAB";
    EXPECT_EQ(Reason(JwkPublicKey::FromJson(j)), "private_jwk") << member;
  }
  json::object ec = RfcEcJwk();
  ec["d"] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";  // RFC 7515 A.3.1's private key
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(ec)), "private_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(Obj(R"({"kty":"oct","k":"c2VjcmV0"})"))), "private_jwk");
}

TEST(Jwk, MalformedKeysAreInvalid) {
  auto with = [](json::object j, std::string_view name, auto v) {
    j[name] = v;
    return j;
  };
  // RSA below 2048 bits.
  testing::TestPkey small = GenerateTestKey("RS256", 1024);
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(PublicJwk(small, "s"))), "invalid_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "e", "AQAC"))), "invalid_jwk");  // even
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "e", "AQ"))), "invalid_jwk");    // 1
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "e", "AQEBAQE"))),
            "invalid_jwk");  // > 2^32
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "e", "AAEAAQ"))),
            "invalid_jwk");  // leading 0
  std::vector<std::uint8_t> n = Dec(kRfc7515RsaN);
  n.insert(n.begin(), 0);
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "n", Base64UrlEncode(n)))),
            "invalid_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "n", std::string(kRfc7515RsaN) + "="))),
            "invalid_jwk");  // padded base64url
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "e", 65537))), "invalid_jwk");
  json::object no_n = RfcRsaJwk();
  no_n.erase("n");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(no_n)), "invalid_jwk");

  // EC: a point off the curve, short coordinates, a missing crv.
  std::vector<std::uint8_t> y = Dec(kRfc7515EcY);
  y[31] ^= 1;
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcEcJwk(), "y", Base64UrlEncode(y)))),
            "invalid_jwk");
  std::vector<std::uint8_t> x = Dec(kRfc7515EcX);
  x.pop_back();
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcEcJwk(), "x", Base64UrlEncode(x)))),
            "invalid_jwk");
  json::object no_crv = RfcEcJwk();
  no_crv.erase("crv");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(no_crv)), "invalid_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(Obj(R"({"kty":"OKP","crv":"Ed25519","x":"AAAA"})"))),
            "invalid_jwk");

  // An alg that contradicts the type, a kid that is not a non-empty string, no kty.
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "alg", "ES256"))), "invalid_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "kid", ""))), "invalid_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "kid", 7))), "invalid_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(Obj(R"({"n":"AQAB"})"))), "invalid_jwk");
}

TEST(Jwk, KeysForOtherUsesOrAlgorithmsAreUnsupported) {
  auto with = [](json::object j, std::string_view name, auto v) {
    j[name] = v;
    return j;
  };
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "use", "enc"))), "unsupported_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "alg", "RS384"))), "unsupported_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "alg", "PS256"))), "unsupported_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "alg", "HS256"))), "unsupported_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "key_ops", json::array{"encrypt"}))),
            "unsupported_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcRsaJwk(), "key_ops", json::array{"verify"}))),
            "ok");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(with(RfcEcJwk(), "crv", "P-384"))), "unsupported_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(Obj(R"({"kty":"OKP","crv":"X25519","x":"AAAA"})"))),
            "unsupported_jwk");
  EXPECT_EQ(Reason(JwkPublicKey::FromJson(Obj(R"({"kty":"oct"})"))), "unsupported_jwk");
  // A key fixed to RS256 allows nothing else (and RS256 is all an RSA key allows anyway).
  StatusOr<JwkPublicKey> fixed = JwkPublicKey::FromJson(with(RfcEcJwk(), "alg", "ES256"));
  ASSERT_TRUE(fixed.ok());
  EXPECT_TRUE(fixed->Allows(JwsAlgorithm::kEs256));
  EXPECT_FALSE(fixed->Allows(JwsAlgorithm::kRs256));
}

TEST(Jwks, SkipsUnusableKeysAndFindsByKid) {
  json::object rsa = RfcRsaJwk();
  rsa["kid"] = "r1";
  json::object ec = RfcEcJwk();
  ec["kid"] = "e1";
  json::object enc = RfcRsaJwk();
  enc["kid"] = "enc1";
  enc["use"] = "enc";
  json::object p384 = Obj(R"({"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"})");
  json::object doc;
  doc["keys"] = json::array{rsa, enc, ec, p384};
  StatusOr<Jwks> set = Jwks::Parse(json::serialize(doc));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->keys().size(), 2u);
  EXPECT_EQ(set->skipped(), 2u);
  ASSERT_NE(set->FindByKid("r1"), nullptr);
  EXPECT_EQ(set->FindByKid("r1")->type(), JwkKeyType::kRsa);
  EXPECT_EQ(set->FindByKid("e1")->type(), JwkKeyType::kEc);
  EXPECT_EQ(set->FindByKid("enc1"), nullptr);
  EXPECT_EQ(set->FindByKid(""), nullptr);
  EXPECT_EQ(set->FindByKid("R1"), nullptr);
}

TEST(Jwks, RefusesTheWholeSetForDuplicatesPrivateOrMalformedKeys) {
  json::object a = RfcRsaJwk();
  a["kid"] = "same";
  json::object b = RfcEcJwk();
  b["kid"] = "same";
  json::object doc;
  doc["keys"] = json::array{a, b};
  EXPECT_EQ(Jwks::FromJson(doc).status().reason(), "duplicate_kid");

  json::object priv = RfcEcJwk();
  priv["d"] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
  doc["keys"] = json::array{a, priv};
  EXPECT_EQ(Jwks::FromJson(doc).status().reason(), "private_jwk");

  json::object bad = RfcRsaJwk();
  bad["e"] = "AQAC";
  doc["keys"] = json::array{a, bad};
  EXPECT_EQ(Jwks::FromJson(doc).status().reason(), "invalid_jwk");

  doc["keys"] = json::array{a, "not a key"};
  EXPECT_EQ(Jwks::FromJson(doc).status().reason(), "invalid_jwks");
  EXPECT_EQ(Jwks::Parse(R"({"keys":{}})").status().reason(), "invalid_jwks");
  EXPECT_EQ(Jwks::Parse(R"([])").status().reason(), "invalid_jwks");
  EXPECT_EQ(Jwks::Parse(R"({"keys":[],"keys":[]})").status().reason(),
            "invalid_jwks");  // duplicate member
  StatusOr<Jwks> empty = Jwks::Parse(R"({"keys":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->keys().empty());
}

TEST(CompactJws, SplitsStrictly) {
  testing::TestPkey pk = GenerateTestKey("EdDSA");
  const std::string good = testing::SignJws(pk, R"({"alg":"EdDSA"})", R"({"a":1})");
  ASSERT_TRUE(ParseCompactJws(good, 4096).ok());
  EXPECT_FALSE(ParseCompactJws(good, good.size() - 1).ok());  // over the limit
  const std::size_t dot = good.find('.');
  for (const std::string& bad :
       {good + ".", "." + good, good.substr(0, good.rfind('.') + 1), good.substr(dot), good + "=",
        std::string("e30.") + good.substr(dot + 1),  // header "{}" is fine; see below
        testing::SignJws(pk, R"({"alg":"EdDSA","alg":"none"})", "{}"),
        testing::SignJws(pk, R"(["alg"])", "{}"), std::string("a b.c.d")}) {
    StatusOr<CompactJws> r = ParseCompactJws(bad, 4096);
    if (bad.starts_with("e30.")) {
      EXPECT_TRUE(r.ok());
      continue;
    }
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().reason(), "malformed_jws");
  }
  // The payload is only parsed on request, and strictly.
  // The token outlives the parse: CompactJws holds views into it (jws.h).
  const std::string dup_token = testing::SignJws(pk, "{}", R"({"a":1,"\u0061":2})");
  StatusOr<CompactJws> dup = ParseCompactJws(dup_token, 4096);
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(JwsPayloadObject(*dup).status().reason(), "malformed_jws");
}

}  // namespace
}  // namespace bulwark::crypto
