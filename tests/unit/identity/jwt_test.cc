#include "identity/jwt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"
#include "crypto/sign.h"

namespace bulwark::identity {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'900'000'000;
constexpr std::string_view kIssuer = "https://bulwark.example";
constexpr std::string_view kAudience = "bulwark-api";
constexpr std::string_view kStdHeader = R"({"alg":"EdDSA","kid":"k1","typ":"at+jwt"})";

crypto::SecretBytes SecretFromB64Url(std::string_view b64) {
  StatusOr<std::vector<std::uint8_t>> raw = crypto::Base64UrlDecode(b64);
  EXPECT_TRUE(raw.ok());
  return crypto::SecretBytes::CopyFrom(*raw);
}

AccessClaims SampleClaims() {
  AccessClaims c;
  c.issuer = std::string(kIssuer);
  c.subject = "usr_0123456789abcdef";
  c.tenant = "ten_acme";
  c.session = "ses_42";
  c.session_version = 7;
  c.issued_at = kNow - 10;
  c.expires_at = kNow + 300;
  c.token_id = "jti_abc";
  c.audience = {std::string(kAudience)};
  c.not_before = kNow - 10;
  return c;
}

// The payload SignAccessToken would write for SampleClaims(), as a mutable object.
json::object SamplePayload() {
  const AccessClaims c = SampleClaims();
  json::object p;
  p["iss"] = c.issuer;
  p["sub"] = c.subject;
  p["aud"] = c.audience.front();
  p["client_id"] = c.client_id;
  p["tid"] = c.tenant;
  p["sid"] = c.session;
  p["sv"] = c.session_version;
  p["iat"] = c.issued_at;
  p["nbf"] = c.not_before;
  p["exp"] = c.expires_at;
  p["jti"] = c.token_id;
  return p;
}

// A verifier that answers to one audience.
StatusOr<AccessClaims> VerifyOne(std::string_view token, std::span<const JwtVerifyKey> keys,
                                 std::string_view issuer, std::string_view audience,
                                 std::int64_t now, std::int64_t leeway_s = 30) {
  const std::string audiences[] = {std::string(audience)};
  return VerifyAccessToken(token, keys, issuer, audiences, now, leeway_s);
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<crypto::Ed25519KeyPair> a = crypto::GenerateEd25519KeyPair();
    StatusOr<crypto::Ed25519KeyPair> b = crypto::GenerateEd25519KeyPair();
    ASSERT_TRUE(a.ok() && b.ok());
    key1_ = JwtSigningKey{"k1", std::move(a->private_key), a->public_key};
    key2_ = JwtSigningKey{"k2", std::move(b->private_key), b->public_key};
    verify_keys_ = {{"k1", key1_.public_key}, {"k2", key2_.public_key}};
  }

  StatusOr<AccessClaims> Verify(std::string_view token, std::int64_t now = kNow) const {
    return VerifyOne(token, verify_keys_, kIssuer, kAudience, now);
  }

  // A token with exactly these header and payload texts, validly signed by key1.
  std::string Forge(std::string_view header, std::string_view payload) const {
    StatusOr<std::string> t = SignCompactJws(header, payload, key1_.private_key);
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : std::string();
  }
  std::string ForgePayload(const json::object& payload) const {
    return Forge(kStdHeader, json::serialize(payload));
  }
  std::string ForgeHeader(std::string_view header) const {
    return Forge(header, json::serialize(SamplePayload()));
  }

  std::string Good() const {
    StatusOr<std::string> t = SignAccessToken(SampleClaims(), key1_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : std::string();
  }

  JwtSigningKey key1_;
  JwtSigningKey key2_;
  std::vector<JwtVerifyKey> verify_keys_;
};

void ExpectInvalid(const StatusOr<AccessClaims>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.status().reason(), "invalid_token");
  EXPECT_EQ(r.status().message(), "the access token is not valid");  // generic, never the input
}

// RFC 8037 Appendix A.1 (key) and A.4 (Ed25519 signing of "Example of Ed25519 signing").
TEST(JwtRfc8037, AppendixA4) {
  const crypto::SecretBytes d = SecretFromB64Url("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  StatusOr<crypto::Ed25519PublicKey> x = crypto::Ed25519PublicKeyFromPrivate(d);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(crypto::Base64UrlEncode(*x), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");

  StatusOr<std::string> jws = SignCompactJws(R"({"alg":"EdDSA"})", "Example of Ed25519 signing", d);
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(
      *jws,
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");

  // A.5: the signature verifies under the A.1 public key.
  const std::string_view signing_input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  StatusOr<std::vector<std::uint8_t>> sig = crypto::Base64UrlDecode(
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(crypto::Ed25519Verify(*x, crypto::AsBytes(signing_input), *sig));
}

TEST_F(JwtTest, RoundTrip) {
  const std::string token = Good();
  StatusOr<AccessClaims> c = Verify(token);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const AccessClaims want = SampleClaims();
  EXPECT_EQ(c->issuer, want.issuer);
  EXPECT_EQ(c->subject, want.subject);
  EXPECT_EQ(c->tenant, want.tenant);
  EXPECT_EQ(c->session, want.session);
  EXPECT_EQ(c->session_version, want.session_version);
  EXPECT_EQ(c->issued_at, want.issued_at);
  EXPECT_EQ(c->expires_at, want.expires_at);
  EXPECT_EQ(c->token_id, want.token_id);
  EXPECT_EQ(c->audience, want.audience);
}

TEST_F(JwtTest, HeaderAndPayloadAreExactlyAsDocumented) {
  const std::string token = Good();
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.find('.', dot1 + 1);
  StatusOr<std::vector<std::uint8_t>> h = crypto::Base64UrlDecode(token.substr(0, dot1));
  StatusOr<std::vector<std::uint8_t>> p =
      crypto::Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  ASSERT_TRUE(h.ok() && p.ok());
  EXPECT_EQ(std::string(h->begin(), h->end()), kStdHeader);
  EXPECT_EQ(std::string(p->begin(), p->end()),
            R"({"iss":"https://bulwark.example","sub":"usr_0123456789abcdef","aud":"bulwark-api",)"
            R"("client_id":"bulwark","tid":"ten_acme","sid":"ses_42","sv":7,"iat":1899999990,)"
            R"("nbf":1899999990,"exp":1900000300,"jti":"jti_abc"})");
}

TEST_F(JwtTest, SigningIsDeterministicAndKeyRotationWorks) {
  EXPECT_EQ(Good(), Good());
  StatusOr<std::string> t2 = SignAccessToken(SampleClaims(), key2_);
  ASSERT_TRUE(t2.ok());
  EXPECT_TRUE(Verify(*t2).ok());
}

TEST_F(JwtTest, TamperedPartsAreRejected) {
  const std::string token = Good();
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.find('.', dot1 + 1);

  // Payload swapped for another user's, signature kept.
  json::object p = SamplePayload();
  p["sub"] = "usr_admin";
  const std::string other_payload = crypto::Base64UrlEncode(crypto::AsBytes(json::serialize(p)));
  ExpectInvalid(Verify(token.substr(0, dot1 + 1) + other_payload + token.substr(dot2)));

  // Header swapped (same meaning, different bytes: members reordered), signature kept.
  const std::string other_header =
      crypto::Base64UrlEncode(crypto::AsBytes(R"({"kid":"k1","alg":"EdDSA","typ":"at+jwt"})"));
  ExpectInvalid(Verify(other_header + token.substr(dot1)));

  // Each character of the token changed in turn (a sample of positions in every part).
  for (std::size_t i = 0; i < token.size(); i += 7) {
    if (token[i] == '.') continue;
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    ExpectInvalid(Verify(t));
  }
  // Signature bit flip in the middle (decodes fine, does not verify).
  std::string t = token;
  const std::size_t mid = dot2 + 1 + (token.size() - dot2) / 2;
  t[mid] = t[mid] == 'Q' ? 'R' : 'Q';
  ExpectInvalid(Verify(t));
  // Truncated or extended signature.
  ExpectInvalid(Verify(token.substr(0, token.size() - 2)));
  ExpectInvalid(Verify(token + "AA"));
  // Signature of another key under the right kid.
  StatusOr<std::string> by2 =
      SignCompactJws(kStdHeader, json::serialize(SamplePayload()), key2_.private_key);
  ASSERT_TRUE(by2.ok());
  ExpectInvalid(Verify(*by2));
}

TEST_F(JwtTest, AlgorithmConfusionIsRejected) {
  const std::string payload_b64 =
      crypto::Base64UrlEncode(crypto::AsBytes(json::serialize(SamplePayload())));

  // alg "none" with an empty signature, and with a valid Ed25519 signature.
  const std::string none_b64 =
      crypto::Base64UrlEncode(crypto::AsBytes(R"({"alg":"none","kid":"k1","typ":"at+jwt"})"));
  ExpectInvalid(Verify(none_b64 + "." + payload_b64 + "."));
  ExpectInvalid(Verify(none_b64 + "." + payload_b64));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"none","kid":"k1","typ":"at+jwt"})")));

  // HS256 keyed with the public key (the classic confusion), and with a valid Ed25519 signature.
  const std::string hs_b64 =
      crypto::Base64UrlEncode(crypto::AsBytes(R"({"alg":"HS256","kid":"k1","typ":"at+jwt"})"));
  const std::string hs_input = hs_b64 + "." + payload_b64;
  const crypto::Digest256 mac = crypto::HmacSha256(key1_.public_key, crypto::AsBytes(hs_input));
  ExpectInvalid(Verify(hs_input + "." + crypto::Base64UrlEncode(mac)));
  const std::string jwks_mac_key = JwksJson(verify_keys_);
  const crypto::Digest256 mac2 =
      crypto::HmacSha256(crypto::AsBytes(jwks_mac_key), crypto::AsBytes(hs_input));
  ExpectInvalid(Verify(hs_input + "." + crypto::Base64UrlEncode(mac2)));

  for (std::string_view alg :
       {"HS256", "RS256", "ES256", "PS256", "Ed25519", "eddsa", "EDDSA", "EdDSA ", ""}) {
    json::object h;
    h["alg"] = alg;
    h["kid"] = "k1";
    h["typ"] = "at+jwt";
    ExpectInvalid(Verify(ForgeHeader(json::serialize(h))));
  }
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":null,"kid":"k1","typ":"at+jwt"})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":["EdDSA"],"kid":"k1","typ":"at+jwt"})")));
}

TEST_F(JwtTest, HeaderIsStrict) {
  EXPECT_TRUE(
      Verify(ForgeHeader(R"({"typ":"at+jwt","kid":"k1","alg":"EdDSA"})")).ok());  // any order
  EXPECT_TRUE(Verify(ForgeHeader(R"( { "alg" : "EdDSA", "kid":"k1", "typ":"at+jwt" } )")).ok());
  // typ is required and exactly RFC 9068's: no other kind of JWT passes for an access token.
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1"})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","typ":"JWT"})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","typ":"AT+JWT"})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","typ":"application/at+jwt"})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"kid":"k1","typ":"at+jwt"})")));              // no alg
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","typ":"at+jwt"})")));           // no kid
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"","typ":"at+jwt"})")));  // empty kid
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":1,"typ":"at+jwt"})")));   // kid type
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","typ":null})")));
  // Duplicates: Boost.JSON alone would keep the last one.
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"none","alg":"EdDSA","kid":"k1","typ":"at+jwt"})")));
  ExpectInvalid(
      Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","\u0061lg":"EdDSA","typ":"at+jwt"})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k2","kid":"k1","typ":"at+jwt"})")));
  // Members that would let a token pick its key or change the signing rules.
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","jwk":{"kty":"OKP"}})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","jku":"https://evil"})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","crit":["exp"]})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1","b64":false})")));
  // Not an object, not JSON, not UTF-8, trailing garbage.
  ExpectInvalid(Verify(ForgeHeader(R"(["EdDSA"])")));
  ExpectInvalid(Verify(ForgeHeader(R"("EdDSA")")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1",})")));
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k1"}x)")));
  ExpectInvalid(Verify(ForgeHeader("{\"alg\":\"EdDSA\",\"kid\":\"k1\xff\"}")));
  ExpectInvalid(Verify(ForgeHeader("")));
}

TEST_F(JwtTest, KeyIsChosenByKidOnly) {
  ExpectInvalid(
      Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k3","typ":"at+jwt"})")));  // unknown kid
  // Signed by key1 but naming key2: no fallback to trying other keys.
  ExpectInvalid(Verify(ForgeHeader(R"({"alg":"EdDSA","kid":"k2","typ":"at+jwt"})")));
  // A verifier that only knows key2 refuses key1's tokens.
  const JwtVerifyKey only2[] = {{"k2", key2_.public_key}};
  ExpectInvalid(VerifyOne(Good(), only2, kIssuer, kAudience, kNow));
  // No keys at all.
  ExpectInvalid(VerifyOne(Good(), {}, kIssuer, kAudience, kNow));
  // Same kid, wrong key material.
  const JwtVerifyKey wrong[] = {{"k1", key2_.public_key}};
  ExpectInvalid(VerifyOne(Good(), wrong, kIssuer, kAudience, kNow));
}

TEST_F(JwtTest, ExpiryAndIssuedAtWithLeeway) {
  const std::string token = Good();  // iat = now - 10, exp = now + 300
  const std::int64_t exp = SampleClaims().expires_at;
  const std::int64_t iat = SampleClaims().issued_at;

  EXPECT_TRUE(Verify(token, exp + 29).ok());  // within the 30 s leeway
  StatusOr<AccessClaims> expired = Verify(token, exp + 30);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(expired.status().reason(), "token_expired");
  EXPECT_EQ(VerifyOne(token, verify_keys_, kIssuer, kAudience, exp, 0).status().reason(),
            "token_expired");
  EXPECT_TRUE(VerifyOne(token, verify_keys_, kIssuer, kAudience, exp - 1, 0).ok());
  // A negative leeway counts as none, not as a stricter clock.
  EXPECT_TRUE(VerifyOne(token, verify_keys_, kIssuer, kAudience, exp - 1, -100).ok());

  // Issued in the future (clock skew beyond the leeway).
  EXPECT_TRUE(Verify(token, iat - 30).ok());
  ExpectInvalid(Verify(token, iat - 31));
  ExpectInvalid(VerifyOne(token, verify_keys_, kIssuer, kAudience, iat - 1, 0));

  // Extreme clocks do not overflow.
  ExpectInvalid(VerifyOne(token, verify_keys_, kIssuer, kAudience, INT64_MIN, INT64_MAX));
  EXPECT_TRUE(VerifyOne(token, verify_keys_, kIssuer, kAudience, INT64_MAX, INT64_MAX).ok());
  EXPECT_EQ(VerifyOne(token, verify_keys_, kIssuer, kAudience, INT64_MAX, 0).status().reason(),
            "token_expired");

  // "token_expired" is only said of an otherwise valid token.
  ExpectInvalid(VerifyOne(token, verify_keys_, "https://other", kAudience, exp + 100));
  std::string bad_sig = token;
  bad_sig[bad_sig.size() / 2 + 40] ^= 1;
  ExpectInvalid(Verify(bad_sig, exp + 100));

  // nbf is required and honoured, with the same leeway.
  json::object p = SamplePayload();
  p["nbf"] = kNow + 100;
  ExpectInvalid(Verify(ForgePayload(p)));
  ExpectInvalid(Verify(ForgePayload(p), kNow + 69));
  EXPECT_TRUE(Verify(ForgePayload(p), kNow + 70).ok());
  p["nbf"] = "soon";
  ExpectInvalid(Verify(ForgePayload(p), kNow + 70));
  p.erase("nbf");
  ExpectInvalid(Verify(ForgePayload(p), kNow + 70));
}

TEST_F(JwtTest, IssuerAndAudienceMustMatch) {
  const std::string token = Good();
  ExpectInvalid(VerifyOne(token, verify_keys_, "https://evil.example", kAudience, kNow));
  ExpectInvalid(VerifyOne(token, verify_keys_, "https://bulwark.example/", kAudience, kNow));
  ExpectInvalid(VerifyOne(token, verify_keys_, kIssuer, "other-api", kNow));
  ExpectInvalid(VerifyOne(token, verify_keys_, kIssuer, "", kNow));
  ExpectInvalid(VerifyOne(token, verify_keys_, kAudience, kIssuer, kNow));
}

// RFC 7519 4.1.3: "aud" is one string or an array of them; the token is for this verifier when
// one of its audiences is one this verifier answers to.
TEST_F(JwtTest, SeveralAudiences) {
  AccessClaims c = SampleClaims();
  c.audience = {"https://api.a.example", "https://api.b.example"};
  StatusOr<std::string> t = SignAccessToken(c, key1_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const std::size_t dot1 = t->find('.');
  StatusOr<std::vector<std::uint8_t>> payload =
      crypto::Base64UrlDecode(t->substr(dot1 + 1, t->find('.', dot1 + 1) - dot1 - 1));
  ASSERT_TRUE(payload.ok());
  EXPECT_NE(std::string(payload->begin(), payload->end())
                .find(R"("aud":["https://api.a.example","https://api.b.example"])"),
            std::string::npos);

  StatusOr<AccessClaims> back = VerifyOne(*t, verify_keys_, kIssuer, "https://api.b.example", kNow);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->audience, c.audience);
  EXPECT_TRUE(VerifyOne(*t, verify_keys_, kIssuer, "https://api.a.example", kNow).ok());
  ExpectInvalid(VerifyOne(*t, verify_keys_, kIssuer, "https://api.c.example", kNow));
  ExpectInvalid(VerifyOne(*t, verify_keys_, kIssuer, "https://api.a.example/", kNow));
  // A verifier answering to several audiences accepts a token naming any one of them.
  const std::string mine[] = {"https://api.c.example", "https://api.a.example"};
  EXPECT_TRUE(VerifyAccessToken(*t, verify_keys_, kIssuer, mine, kNow).ok());
  const std::string none[] = {"https://api.c.example", "https://api.d.example"};
  ExpectInvalid(VerifyAccessToken(*t, verify_keys_, kIssuer, none, kNow));
  ExpectInvalid(VerifyAccessToken(*t, verify_keys_, kIssuer, {}, kNow));

  // Arrays that are not lists of non-empty strings are refused.
  for (const json::value& aud :
       {json::value(json::array{}), json::value(json::array{""}),
        json::value(json::array{kAudience, 1}), json::value(json::array{json::array{kAudience}})}) {
    json::object p = SamplePayload();
    p["aud"] = aud;
    ExpectInvalid(Verify(ForgePayload(p)));
  }
  json::object p = SamplePayload();
  p["aud"] = json::array{"other", kAudience};
  EXPECT_TRUE(Verify(ForgePayload(p)).ok());
}

TEST_F(JwtTest, MalformedTokens) {
  const std::string token = Good();
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.find('.', dot1 + 1);
  const std::string h = token.substr(0, dot1);
  const std::string p = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string s = token.substr(dot2 + 1);

  ExpectInvalid(Verify(""));
  ExpectInvalid(Verify("."));
  ExpectInvalid(Verify(".."));
  ExpectInvalid(Verify("..."));
  ExpectInvalid(Verify(h));
  ExpectInvalid(Verify(h + "." + p));
  ExpectInvalid(Verify(h + "." + p + "." + s + "."));
  ExpectInvalid(Verify(h + "." + p + "." + s + "." + s));
  ExpectInvalid(Verify(h + ".." + p + "." + s));
  ExpectInvalid(Verify("." + h + "." + p + "." + s));
  ExpectInvalid(Verify("." + p + "." + s));
  ExpectInvalid(Verify(h + ".." + s));
  ExpectInvalid(Verify(h + "." + p + "."));
  // Base64url strictness: padding, standard alphabet, whitespace, non-ASCII, bad lengths.
  ExpectInvalid(Verify(h + "=." + p + "." + s));
  ExpectInvalid(Verify(h + "." + p + "." + s + "=="));
  ExpectInvalid(Verify(h + "." + p + "==." + s));
  ExpectInvalid(Verify(h + " ." + p + "." + s));
  ExpectInvalid(Verify(" " + token));
  ExpectInvalid(Verify(token + "\n"));
  ExpectInvalid(Verify(h + "." + p + "\xc3\xa9." + s));
  ExpectInvalid(Verify(h + "A." + p + "." + s));
  std::string std_alphabet = token;
  for (char& c : std_alphabet) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (std_alphabet != token) ExpectInvalid(Verify(std_alphabet));
  std::string with_nul = token;
  with_nul.insert(dot1, 1, '\0');
  ExpectInvalid(Verify(with_nul));
}

TEST_F(JwtTest, MaximumLengthIsEnforcedBeforeAnythingElse) {
  ExpectInvalid(Verify(std::string(kMaxAccessTokenBytes + 1, 'A')));
  ExpectInvalid(Verify(std::string(1 << 20, '.')));

  // The largest valid token that fits verifies; one byte of claims more and it does not.
  std::string fits;
  std::string too_long;
  for (std::size_t n = 2600; n < 3200 && too_long.empty(); ++n) {
    AccessClaims c = SampleClaims();
    c.token_id = std::string(n, 'j');
    StatusOr<std::string> t = SignAccessToken(c, key1_);
    ASSERT_TRUE(t.ok());
    (t->size() <= kMaxAccessTokenBytes ? fits : too_long) = *t;
  }
  ASSERT_FALSE(fits.empty());
  ASSERT_FALSE(too_long.empty());
  EXPECT_TRUE(Verify(fits).ok());
  ExpectInvalid(Verify(too_long));
}

TEST_F(JwtTest, ClaimsTypesAreStrict) {
  EXPECT_TRUE(Verify(ForgePayload(SamplePayload())).ok());
  {  // Unknown claims are ignored (RFC 7519 section 4).
    json::object p = SamplePayload();
    p["scope"] = "read write";
    p["extra"] = json::array{1, 2, 3};
    EXPECT_TRUE(Verify(ForgePayload(p)).ok());
  }
  const json::value kNotString[] = {nullptr, true, 1, 1.5, json::array{"x"}, json::object{{"a", 1}},
                                    ""};
  const json::value kNotAudience[] = {nullptr, true, 1, 1.5, json::array{}, json::object{{"a", 1}},
                                      ""};
  const json::value kNotInteger[] = {
      nullptr, true, 1.0, 1.5, "1", json::array{1}, json::object{{"a", 1}}, ""};
  for (std::string_view name : {"iss", "sub", "aud", "client_id", "tid", "sid", "jti"}) {
    json::object missing = SamplePayload();
    missing.erase(name);
    ExpectInvalid(Verify(ForgePayload(missing)));
    for (const json::value& v : name == "aud" ? std::span(kNotAudience) : std::span(kNotString)) {
      json::object p = SamplePayload();
      p[name] = v;
      ExpectInvalid(Verify(ForgePayload(p)));
    }
  }
  for (std::string_view name : {"sv", "iat", "nbf", "exp"}) {
    json::object missing = SamplePayload();
    missing.erase(name);
    ExpectInvalid(Verify(ForgePayload(missing)));
    for (const json::value& v : kNotInteger) {
      json::object p = SamplePayload();
      p[name] = v;
      ExpectInvalid(Verify(ForgePayload(p)));
    }
  }
  {  // "aud" as an array of one (RFC 7519) is the same as the string.
    json::object p = SamplePayload();
    p["aud"] = json::array{kAudience};
    EXPECT_TRUE(Verify(ForgePayload(p)).ok());
  }
  // Integral doubles are still doubles; exponents and huge integers too.
  const std::string base = json::serialize(SamplePayload());
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = base;
    const std::size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  ExpectInvalid(Verify(Forge(kStdHeader, replace("\"sv\":7", "\"sv\":7.0"))));
  ExpectInvalid(Verify(Forge(kStdHeader, replace("\"exp\":1900000300", "\"exp\":1.9000003e9"))));
  ExpectInvalid(
      Verify(Forge(kStdHeader, replace("\"exp\":1900000300", "\"exp\":19000003000000000000"))));
  ExpectInvalid(Verify(Forge(kStdHeader, replace("\"sv\":7", "\"sv\":-1"))));
  ExpectInvalid(Verify(Forge(kStdHeader, replace("\"iat\":1899999990", "\"iat\":-5"))));
  ExpectInvalid(Verify(Forge(kStdHeader, replace("\"exp\":1900000300", "\"exp\":1899999990"))));
  // Duplicate claims, including through an escape.
  ExpectInvalid(Verify(Forge(kStdHeader, replace("\"sub\":", "\"sub\":\"usr_admin\",\"sub\":"))));
  ExpectInvalid(
      Verify(Forge(kStdHeader, replace("\"sub\":", "\"s\\u0075b\":\"usr_admin\",\"sub\":"))));
  // Not an object, invalid UTF-8, trailing data.
  ExpectInvalid(Verify(Forge(kStdHeader, "[" + base + "]")));
  ExpectInvalid(Verify(Forge(kStdHeader, base + " {}")));
  ExpectInvalid(Verify(Forge(kStdHeader, replace("usr_0123456789abcdef", "usr_\xc0\xaf"))));
  ExpectInvalid(Verify(Forge(kStdHeader, "null")));
}

TEST_F(JwtTest, SigningRefusesWhatVerificationWouldRefuse) {
  auto sign_with = [&](auto mutate) {
    AccessClaims c = SampleClaims();
    mutate(c);
    return SignAccessToken(c, key1_).status();
  };
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.subject.clear(); }).reason(), "invalid_claims");
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.audience.clear(); }).reason(), "invalid_claims");
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.audience.push_back(""); }).reason(),
            "invalid_claims");
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.client_id.clear(); }).reason(), "invalid_claims");
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.not_before = c.expires_at; }).reason(),
            "invalid_claims");
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.tenant = "\xff"; }).reason(), "invalid_claims");
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.session_version = -1; }).reason(), "invalid_claims");
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.expires_at = c.issued_at; }).reason(),
            "invalid_claims");
  EXPECT_EQ(sign_with([](AccessClaims& c) { c.expires_at = INT64_MAX; }).reason(),
            "invalid_claims");

  JwtSigningKey mismatched{"k1", key1_.private_key.Clone(), key2_.public_key};
  EXPECT_EQ(SignAccessToken(SampleClaims(), mismatched).status().reason(), "invalid_key");
  JwtSigningKey short_key{"k1", crypto::SecretBytes(16), key1_.public_key};
  EXPECT_EQ(SignAccessToken(SampleClaims(), short_key).status().reason(), "invalid_key");
  JwtSigningKey no_kid{"", key1_.private_key.Clone(), key1_.public_key};
  EXPECT_FALSE(SignAccessToken(SampleClaims(), no_kid).ok());

  // Characters that need escaping survive the round trip.
  AccessClaims c = SampleClaims();
  c.subject = "usr \"quoted\" \\ \n \xe2\x82\xac";
  StatusOr<std::string> t = SignAccessToken(c, key1_);
  ASSERT_TRUE(t.ok());
  StatusOr<AccessClaims> back = Verify(*t);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->subject, c.subject);
}

TEST_F(JwtTest, ErrorsNeverEchoTheToken) {
  json::object p = SamplePayload();
  p["sub"] = "SECRET-MARKER";
  const std::string t = ForgePayload(p);
  for (const StatusOr<AccessClaims>& r :
       {VerifyOne(t, verify_keys_, kIssuer, "x", kNow), Verify(t + "x"), Verify("SECRET-MARKER")}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().ToString().find("SECRET"), std::string::npos);
    EXPECT_EQ(r.status().ToString().find(t.substr(0, 20)), std::string::npos);
  }
}

TEST_F(JwtTest, Jwks) {
  const std::string doc = JwksJson(verify_keys_);
  boost::system::error_code ec;
  json::value v = json::parse(doc, ec);
  ASSERT_FALSE(ec);
  const json::array& keys = v.at("keys").as_array();
  ASSERT_EQ(keys.size(), 2u);
  const json::object& k = keys[0].as_object();
  EXPECT_EQ(k.size(), 6u);
  auto str = [](const json::value& jv) { return std::string(jv.as_string()); };
  EXPECT_EQ(str(k.at("kty")), "OKP");
  EXPECT_EQ(str(k.at("crv")), "Ed25519");
  EXPECT_EQ(str(k.at("kid")), "k1");
  EXPECT_EQ(str(k.at("alg")), "EdDSA");
  EXPECT_EQ(str(k.at("use")), "sig");
  EXPECT_EQ(str(k.at("x")), crypto::Base64UrlEncode(key1_.public_key));
  EXPECT_EQ(str(keys[1].at("kid")), "k2");
  EXPECT_EQ(JwksJson({}), R"({"keys":[]})");

  // RFC 8037 A.2's public key renders as A.2 says.
  StatusOr<std::vector<std::uint8_t>> x =
      crypto::Base64UrlDecode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  ASSERT_TRUE(x.ok());
  JwtVerifyKey rfc{"rfc", {}};
  std::copy(x->begin(), x->end(), rfc.public_key.begin());
  EXPECT_EQ(
      JwksJson({&rfc, 1}),
      R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",)"
      R"("kid":"rfc","alg":"EdDSA","use":"sig"}]})");
}

}  // namespace
}  // namespace bulwark::identity
