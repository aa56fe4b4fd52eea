#include "sso/id_token.h"

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <string_view>

#include "../crypto/jose_test_signer.h"
#include "crypto/encoding.h"
#include "sso/flow.h"

namespace bulwark::sso {
namespace {

namespace json = boost::json;
using testing::TestPkey;

constexpr std::int64_t kNow = 1'900'000'000;
constexpr std::string_view kIssuer = "https://idp.example";
constexpr std::string_view kClient = "bulwark-client";
constexpr std::string_view kNonce = "n-0S6_WzA2Mj";

struct Keys {
  TestPkey rsa = testing::GenerateTestKey("RS256");
  TestPkey ec = testing::GenerateTestKey("ES256");
  TestPkey ed = testing::GenerateTestKey("EdDSA");
  TestPkey stranger = testing::GenerateTestKey("RS256");
  crypto::Jwks jwks;
  Keys() {
    json::object doc;
    doc["keys"] =
        json::array{testing::PublicJwk(rsa, "rk1", "RS256"), testing::PublicJwk(ec, "ek1"),
                    testing::PublicJwk(ed, "dk1", "EdDSA")};
    jwks = *crypto::Jwks::FromJson(doc);
  }
};

const Keys& K() {
  static const Keys* keys = new Keys();  // RSA key generation is slow: once per process
  return *keys;
}

json::object Header(std::string_view alg = "RS256", std::string_view kid = "rk1") {
  json::object h;
  h["alg"] = alg;
  if (!kid.empty()) h["kid"] = kid;
  return h;
}

json::object Claims() {
  json::object p;
  p["iss"] = kIssuer;
  p["sub"] = "248289761001";
  p["aud"] = kClient;
  p["exp"] = kNow + 300;
  p["iat"] = kNow - 5;
  p["auth_time"] = kNow - 30;
  p["nonce"] = kNonce;
  p["email"] = "jane@example.com";
  p["email_verified"] = true;
  p["name"] = "Jane Doe";
  p["hd"] = "example.com";
  p["sid"] = "sid-1";
  p["groups"] = json::array{"eng", "ops"};
  return p;
}

TokenExpectations Expect() {
  TokenExpectations e;
  e.issuer = std::string(kIssuer);
  e.client_id = std::string(kClient);
  e.nonce = std::string(kNonce);
  e.now_unix = kNow;
  return e;
}

std::string Rsa(const json::object& payload, const json::object& header = Header()) {
  return testing::SignJws(K().rsa, header, payload);
}

std::string IdReason(std::string_view token, const TokenExpectations& e = Expect()) {
  StatusOr<IdTokenClaims> c = ValidateIdToken(token, K().jwks, e);
  if (c.ok()) return "ok";
  EXPECT_EQ(c.status().code(), ErrorCode::kUnauthenticated);
  // The message never quotes the token or a claim value.
  EXPECT_EQ(c.status().message().find("248289761001"), std::string::npos);
  EXPECT_EQ(c.status().message().find(kNonce), std::string::npos);
  return c.status().reason();
}

template <typename F>
json::object With(F change) {
  json::object p = Claims();
  change(p);
  return p;
}

TEST(IdToken, ValidTokensOfEachAlgorithmGiveTheirClaims) {
  for (const auto& [pk, alg, kid] :
       {std::tuple{K().rsa, "RS256", "rk1"}, std::tuple{K().ec, "ES256", "ek1"},
        std::tuple{K().ed, "EdDSA", "dk1"}}) {
    StatusOr<IdTokenClaims> c =
        ValidateIdToken(testing::SignJws(pk, Header(alg, kid), Claims()), K().jwks, Expect());
    ASSERT_TRUE(c.ok()) << alg << " " << c.status().ToString();
    EXPECT_EQ(c->issuer, kIssuer);
    EXPECT_EQ(c->subject, "248289761001");
    EXPECT_EQ(c->audience, std::vector<std::string>{std::string(kClient)});
    EXPECT_EQ(c->email, "jane@example.com");
    EXPECT_TRUE(c->email_verified);
    EXPECT_EQ(c->name, "Jane Doe");
    EXPECT_EQ(c->hd, "example.com");
    EXPECT_EQ(c->sid, "sid-1");
    EXPECT_EQ(c->groups, (std::vector<std::string>{"eng", "ops"}));
    EXPECT_FALSE(c->groups_overage);
    EXPECT_EQ(c->iat, kNow - 5);
    EXPECT_EQ(c->exp, kNow + 300);
    EXPECT_EQ(c->auth_time, kNow - 30);
  }
}

TEST(IdToken, EmailVerifiedIsOnlyTheJsonTrue) {
  for (json::value v :
       {json::value("true"), json::value(1), json::value(false), json::value(nullptr)}) {
    StatusOr<IdTokenClaims> c = ValidateIdToken(
        Rsa(With([&](json::object& p) { p["email_verified"] = v; })), K().jwks, Expect());
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->email_verified) << json::serialize(v);
  }
  StatusOr<IdTokenClaims> c = ValidateIdToken(
      Rsa(With([](json::object& p) { p.erase("email_verified"); })), K().jwks, Expect());
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->email_verified);
}

TEST(IdToken, EntraEmailDomainOwnerVerifiedIsOnlyTheJsonTrue) {
  for (json::value v : {json::value("true"), json::value(1), json::value(false),
                        json::value(nullptr), json::value("1")}) {
    StatusOr<IdTokenClaims> c = ValidateIdToken(
        Rsa(With([&](json::object& p) { p["xms_edov"] = v; })), K().jwks, Expect());
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->email_domain_owner_verified) << json::serialize(v);
  }
  StatusOr<IdTokenClaims> c = ValidateIdToken(
      Rsa(With([](json::object& p) { p["xms_edov"] = true; })), K().jwks, Expect());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->email_domain_owner_verified);
}

TEST(IdToken, XmsEdovVouchesForTheEmailOnlyForEntra) {
  // An Entra v2 ID token: no email_verified, xms_edov true.
  IdTokenClaims c{.subject = "s", .email = "eve@contoso.test", .tid = "tid-1", .oid = "oid-1"};
  c.email_domain_owner_verified = true;
  Connection entra{.preset = Preset::kEntra, .issuer = "https://login.microsoftonline.com/x/v2.0"};
  ExternalIdentity id = IdentityOf(entra, c);
  EXPECT_TRUE(id.email_verified);
  EXPECT_EQ(id.subject, EntraSubject("tid-1", "oid-1"));
  Connection generic{.preset = Preset::kGeneric, .issuer = "https://idp.example.test"};
  EXPECT_FALSE(IdentityOf(generic, c).email_verified);  // another preset: xms_edov means nothing
  c.email_domain_owner_verified = false;
  EXPECT_FALSE(IdentityOf(entra, c).email_verified);  // neither claim: not verified
  c.email_verified = true;
  EXPECT_TRUE(IdentityOf(entra, c).email_verified);
}

TEST(IdTokenForgery, SignatureAndAlgorithmAttacksAreRefused) {
  // A flipped signature bit; a token signed by another key under a published kid.
  std::string token = Rsa(Claims());
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(IdReason(token), "bad_signature");
  EXPECT_EQ(IdReason(testing::SignJws(K().stranger, Header(), Claims())), "bad_signature");
  // A payload swapped under a valid header and signature.
  const std::string good = Rsa(Claims());
  const std::string other = Rsa(With([](json::object& p) { p["sub"] = "admin"; }));
  const std::size_t d1 = good.find('.'), d2 = good.rfind('.');
  EXPECT_EQ(
      IdReason(good.substr(0, d1) +
               other.substr(other.find('.'), other.rfind('.') - other.find('.')) + good.substr(d2)),
      "bad_signature");

  // alg none, with an empty and with a made-up signature.
  const std::string none_input =
      crypto::Base64UrlEncode(crypto::AsBytes(R"({"alg":"none","kid":"rk1"})")) + "." +
      crypto::Base64UrlEncode(crypto::AsBytes(json::serialize(Claims())));
  EXPECT_EQ(IdReason(none_input + "."), "malformed_token");
  EXPECT_EQ(IdReason(none_input + ".AAAA"), "alg_not_allowed");

  // HS256 keyed with the provider's public key, in every form a confused verifier might use.
  const json::object jwk = testing::PublicJwk(K().rsa, "rk1", "RS256");
  const std::string payload = json::serialize(Claims());
  for (const std::string& secret : {std::string(jwk.at("n").as_string()), json::serialize(jwk)}) {
    for (std::string_view alg : {"HS256", "HS384", "HS512"}) {
      const std::string header =
          std::string(R"({"alg":")") + std::string(alg) + R"(","kid":"rk1"})";
      EXPECT_EQ(IdReason(testing::SignHs256(secret, header, payload)), "alg_not_allowed") << alg;
    }
  }
  // PS256 and RS512 names, even under an RSA key.
  EXPECT_EQ(IdReason(Rsa(Claims(), Header("PS256"))), "alg_not_allowed");
  EXPECT_EQ(IdReason(Rsa(Claims(), Header("RS512"))), "alg_not_allowed");
  // An algorithm the connection does not allow; one that does not fit the kid's key.
  TokenExpectations es_only = Expect();
  es_only.allowed_algs = {crypto::JwsAlgorithm::kEs256};
  EXPECT_EQ(IdReason(Rsa(Claims()), es_only), "alg_not_allowed");
  EXPECT_EQ(IdReason(testing::SignJws(K().ec, Header("ES256", "rk1"), Claims())),
            "alg_not_allowed");
}

TEST(IdTokenForgery, TheKeyComesOnlyFromTheJwksByKid) {
  EXPECT_EQ(IdReason(Rsa(Claims(), Header("RS256", "nope"))), "unknown_kid");
  // The attacker's own key offered in the header (jwk, jku, x5u) is never used.
  TestPkey attacker = testing::GenerateTestKey("RS256");
  json::object h = Header("RS256", "attacker");
  h["jwk"] = testing::PublicJwk(attacker, "attacker");
  h["jku"] = "https://attacker.example/jwks";
  h["x5u"] = "https://attacker.example/cert";
  EXPECT_EQ(IdReason(testing::SignJws(attacker, h, Claims())), "unknown_kid");
  h["kid"] = "rk1";
  EXPECT_EQ(IdReason(testing::SignJws(attacker, h, Claims())), "bad_signature");
  // crit is refused, whatever it names.
  json::object crit = Header();
  crit["crit"] = json::array{"exp"};
  EXPECT_EQ(IdReason(Rsa(Claims(), crit)), "unsupported_crit");
  // kid of the wrong type.
  json::object bad_kid = Header();
  bad_kid["kid"] = 1;
  EXPECT_EQ(IdReason(Rsa(Claims(), bad_kid)), "malformed_token");
}

TEST(IdToken, NoKidIsAcceptedOnlyWhenOneKeyFits) {
  // One RSA key in the set: a kid-less RS256 token has only one candidate.
  EXPECT_EQ(IdReason(Rsa(Claims(), Header("RS256", ""))), "ok");
  json::object doc;
  doc["keys"] =
      json::array{testing::PublicJwk(K().rsa, "rk1"), testing::PublicJwk(K().stranger, "rk2")};
  const crypto::Jwks two = *crypto::Jwks::FromJson(doc);
  EXPECT_EQ(ValidateIdToken(Rsa(Claims(), Header("RS256", "")), two, Expect()).status().reason(),
            "unknown_kid");
  EXPECT_TRUE(ValidateIdToken(Rsa(Claims()), two, Expect()).ok());
  EXPECT_EQ(ValidateIdToken(Rsa(Claims()), crypto::Jwks(), Expect()).status().reason(),
            "unknown_kid");
}

TEST(IdToken, MalformedTokensAreRefused) {
  EXPECT_EQ(IdReason(""), "malformed_token");
  EXPECT_EQ(IdReason("a.b"), "malformed_token");
  // Duplicate members, in the header and in the (signed) payload.
  EXPECT_EQ(IdReason(testing::SignJws(K().rsa, R"({"alg":"RS256","kid":"rk1","kid":"ek1"})",
                                      json::serialize(Claims()))),
            "malformed_token");
  std::string dup = json::serialize(Claims());
  dup.insert(dup.size() - 1, R"(,"sub":"admin")");
  EXPECT_EQ(IdReason(testing::SignJws(K().rsa, json::serialize(Header()), dup)), "malformed_token");
  // Larger than 16 KiB.
  const std::string big =
      Rsa(With([](json::object& p) { p["pad"] = std::string(kMaxIdpTokenBytes, 'x'); }));
  EXPECT_EQ(IdReason(big), "token_too_large");
  // A typ of another kind of token.
  json::object typed = Header();
  typed["typ"] = "JWT";
  EXPECT_EQ(IdReason(Rsa(Claims(), typed)), "ok");
  for (std::string_view typ : {"logout+jwt", "at+jwt", "application/logout+jwt"}) {
    typed["typ"] = typ;
    EXPECT_EQ(IdReason(Rsa(Claims(), typed)), "wrong_token_type") << typ;
  }
}

TEST(IdToken, IssuerAudienceAndAzp) {
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["iss"] = "https://idp.example/"; }))),
            "wrong_issuer");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["iss"] = "https://IDP.example"; }))),
            "wrong_issuer");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p.erase("iss"); }))), "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["aud"] = "someone-else"; }))),
            "wrong_audience");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["aud"] = json::array{}; }))),
            "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) {
              p["aud"] = json::array{"x", kClient};
            }))),
            "wrong_azp");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) {
              p["aud"] = json::array{"x", kClient};
              p["azp"] = kClient;
            }))),
            "ok");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["azp"] = "other"; }))), "wrong_azp");
  TokenExpectations no_client = Expect();
  no_client.client_id.clear();
  EXPECT_EQ(IdReason(Rsa(Claims()), no_client), "wrong_audience");
}

TEST(IdToken, TimesWithSkewAndMaxAge) {
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["exp"] = kNow - 61; }))), "token_expired");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["exp"] = kNow - 59; }))),
            "ok");  // within skew
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["iat"] = kNow + 61; }))), "iat_in_future");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["iat"] = kNow + 59; }))), "ok");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["iat"] = kNow - 600 - 61; }))),
            "token_too_old");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["nbf"] = kNow + 120; }))),
            "token_not_yet_valid");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["exp"] = 1.9e9; }))), "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["iat"] = "1900000000"; }))),
            "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p.erase("exp"); }))), "invalid_claims");
}

TEST(IdToken, NonceMustBeTheOneSent) {
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p.erase("nonce"); }))), "nonce_missing");
  // A token minted for another sign-in (a replayed token) carries that sign-in's nonce.
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["nonce"] = "n-other"; }))), "nonce_mismatch");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["nonce"] = std::string(kNonce) + "x"; }))),
            "nonce_mismatch");
  TokenExpectations none = Expect();
  none.nonce.clear();
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["nonce"] = ""; })), none), "nonce_mismatch");
}

TEST(IdToken, SubjectAndClaimTypes) {
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p.erase("sub"); }))), "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["sub"] = ""; }))), "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["sub"] = std::string(256, 's'); }))),
            "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["sub"] = std::string(255, 's'); }))), "ok");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["email"] = 5; }))), "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) { p["groups"] = "eng"; }))), "invalid_claims");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) {
              p["groups"] = json::array{"eng", 1};
            }))),
            "invalid_claims");
}

TEST(IdToken, GroupsClaimNameAndEntraOverage) {
  TokenExpectations okta = Expect();
  okta.groups_claim = "okta_groups";
  StatusOr<IdTokenClaims> c =
      ValidateIdToken(Rsa(With([](json::object& p) {
                        p["okta_groups"] = json::array{"Everyone", "Admins"};
                      })),
                      K().jwks, okta);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->groups, (std::vector<std::string>{"Everyone", "Admins"}));

  c = ValidateIdToken(
      Rsa(With([](json::object& p) {
        p.erase("groups");
        p["_claim_names"] = json::object{{"groups", "src1"}};
        p["_claim_sources"] = json::object{{"src1", json::object{{"endpoint", "https://graph"}}}};
      })),
      K().jwks, Expect());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->groups_overage);
  EXPECT_TRUE(c->groups.empty());
  c = ValidateIdToken(Rsa(With([](json::object& p) { p["hasgroups"] = true; })), K().jwks,
                      Expect());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->groups_overage);
}

TEST(IdToken, EntraIssuerTemplateIsCheckedAgainstTidAndTheAllowlist) {
  constexpr std::string_view kTid = "9188040d-6c67-4c5b-b112-36a304b66dad";
  TokenExpectations e = Expect();
  e.issuer = "https://login.microsoftonline.com/{tenantid}/v2.0";
  e.allowed_tenants = {std::string(kTid)};
  auto entra = [&](std::string_view tid, std::string_view iss_tid) {
    return Rsa(With([&](json::object& p) {
      p["tid"] = tid;
      p["oid"] = "00000000-0000-0000-66f3-3332eca7ea81";
      p["iss"] = "https://login.microsoftonline.com/" + std::string(iss_tid) + "/v2.0";
    }));
  };
  StatusOr<IdTokenClaims> c = ValidateIdToken(entra(kTid, kTid), K().jwks, e);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tid, kTid);
  EXPECT_EQ(c->oid, "00000000-0000-0000-66f3-3332eca7ea81");
  EXPECT_EQ(c->issuer,
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0");

  const std::string other = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  EXPECT_EQ(IdReason(entra(other, other), e), "tenant_not_allowed");
  EXPECT_EQ(IdReason(entra(kTid, other), e), "wrong_issuer");
  EXPECT_EQ(IdReason(Rsa(With([](json::object& p) {
                       p["iss"] = "https://login.microsoftonline.com/{tenantid}/v2.0";
                     })),
                     e),
            "tenant_not_allowed");  // no tid at all
  TokenExpectations empty_list = e;
  empty_list.allowed_tenants.clear();
  EXPECT_EQ(IdReason(entra(kTid, kTid), empty_list), "tenant_not_allowed");
}

// The logout token of Back-Channel Logout 1.0 section 2.4.
json::object LogoutClaims() {
  json::object p;
  p["iss"] = kIssuer;
  p["aud"] = kClient;
  p["iat"] = kNow - 2;
  p["exp"] = kNow + 118;
  p["jti"] = "bWJq";
  p["sid"] = "08a5019c-17e1-4977-8f42-65a12843ea02";
  p["events"] = json::object{{std::string(kBackChannelLogoutEvent), json::object{}}};
  return p;
}

std::string LogoutReason(std::string_view token, const TokenExpectations& e = Expect()) {
  StatusOr<LogoutTokenClaims> c = ValidateLogoutToken(token, K().jwks, e);
  if (c.ok()) return "ok";
  EXPECT_EQ(c.status().code(), ErrorCode::kUnauthenticated);
  return c.status().reason();
}

template <typename F>
std::string LogoutWith(F change) {
  json::object p = LogoutClaims();
  change(p);
  json::object h = Header();
  h["typ"] = "logout+jwt";
  return Rsa(p, h);
}

TEST(LogoutToken, ValidTokenGivesItsClaims) {
  StatusOr<LogoutTokenClaims> c =
      ValidateLogoutToken(LogoutWith([](json::object&) {}), K().jwks, Expect());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->issuer, kIssuer);
  EXPECT_EQ(c->sid, "08a5019c-17e1-4977-8f42-65a12843ea02");
  EXPECT_EQ(c->subject, "");
  EXPECT_EQ(c->jti, "bWJq");
  EXPECT_EQ(c->iat, kNow - 2);
  EXPECT_EQ(c->exp, kNow + 118);
  // sub alone, no typ, no exp: also valid.
  EXPECT_EQ(LogoutReason(Rsa(With([](json::object& p) {
              p = LogoutClaims();
              p.erase("sid");
              p.erase("exp");
              p["sub"] = "248289761001";
            }))),
            "ok");
}

TEST(LogoutToken, EachRuleOfSection26) {
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p["nonce"] = "n"; })), "nonce_present");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p.erase("events"); })),
            "not_a_logout_token");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) {
              p["events"] = json::object{{std::string(kBackChannelLogoutEvent), "yes"}};
            })),
            "not_a_logout_token");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p.erase("jti"); })), "missing_jti");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p.erase("sid"); })),
            "missing_sid_and_sub");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p["iat"] = kNow - 661; })),
            "token_too_old");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p["iat"] = kNow + 61; })),
            "iat_in_future");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p["exp"] = kNow - 61; })),
            "token_expired");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p["aud"] = "other"; })),
            "wrong_audience");
  EXPECT_EQ(LogoutReason(LogoutWith([](json::object& p) { p["iss"] = "https://evil.example"; })),
            "wrong_issuer");
  // The other kind of token is refused by each validator.
  EXPECT_EQ(LogoutReason(Rsa(Claims())), "not_a_logout_token");
  EXPECT_EQ(IdReason(LogoutWith([](json::object&) {})), "wrong_token_type");
  EXPECT_EQ(IdReason(Rsa(LogoutClaims())), "invalid_claims");  // no sub: not an ID token
  // Signature rules are the ID token's.
  EXPECT_EQ(LogoutReason(testing::SignJws(K().stranger, Header(), LogoutClaims())),
            "bad_signature");
}

}  // namespace
}  // namespace bulwark::sso
