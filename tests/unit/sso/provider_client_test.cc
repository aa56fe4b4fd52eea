#include "sso/provider_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../crypto/jose_test_signer.h"
#include "crypto/encoding.h"

namespace bulwark::sso {
namespace {

namespace json = boost::json;

constexpr std::string_view kIssuer = "https://idp.example";
constexpr std::string_view kJwksUri = "https://idp.example/jwks";
constexpr std::string_view kTokenUri = "https://idp.example/token";
constexpr std::int64_t kNow = 1'900'000'000;

struct Captured {
  std::string url;
  bool post = false;
  std::string body;
  std::string authorization;
};

// The provider, as the client sees it: canned answers per URL, and a record of every request.
class FakeFetcher final : public HttpFetcher {
 public:
  StatusOr<HttpResponse> Fetch(const HttpRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++hits_[r.url];
    requests_.push_back({r.url, r.post, std::string(r.form_body.reveal_string_view()),
                         std::string(r.authorization.reveal_string_view())});
    auto it = routes_.find(r.url);
    if (it == routes_.end()) return Status::Unavailable("idp_unreachable", "no route");
    return it->second;
  }
  void Set(std::string_view url, long status, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[std::string(url)] = HttpResponse{status, std::move(body)};
  }
  int Hits(std::string_view url) {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_[std::string(url)];
  }
  Captured Last() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.back();
  }

 private:
  std::mutex mu_;
  std::map<std::string, HttpResponse> routes_;
  std::map<std::string, int> hits_;
  std::vector<Captured> requests_;
};

std::string Discovery(std::string_view issuer = kIssuer) {
  json::object d;
  d["issuer"] = issuer;
  d["authorization_endpoint"] = "https://idp.example/auth";
  d["token_endpoint"] = kTokenUri;
  d["jwks_uri"] = kJwksUri;
  d["code_challenge_methods_supported"] = json::array{"S256"};
  d["authorization_response_iss_parameter_supported"] = true;
  d["backchannel_logout_supported"] = true;
  return json::serialize(d);
}

std::string JwksOf(std::initializer_list<std::pair<testing::TestPkey, std::string>> keys) {
  json::array list;
  for (const auto& [k, kid] : keys) list.push_back(testing::PublicJwk(k, kid));
  json::object doc;
  doc["keys"] = std::move(list);
  return json::serialize(doc);
}

struct Env {
  std::shared_ptr<FakeFetcher> fetcher = std::make_shared<FakeFetcher>();
  std::atomic<std::int64_t> clock{5000};
  ProviderClient client;
  ProviderEndpoint endpoint{std::string(kIssuer), "", false};
  ProviderMetadata meta;
  Env() : client(fetcher, Options()) {
    fetcher->Set(std::string(kIssuer) + "/.well-known/openid-configuration", 200, Discovery());
    meta.issuer = std::string(kIssuer);
    meta.jwks_uri = std::string(kJwksUri);
    meta.token_endpoint = std::string(kTokenUri);
  }
  ProviderClientOptions Options() {
    ProviderClientOptions o;
    o.now = [this] { return clock.load(); };
    return o;
  }
};

const testing::TestPkey& KeyA() {
  static const testing::TestPkey k = testing::GenerateTestKey("ES256");
  return k;
}
const testing::TestPkey& KeyB() {
  static const testing::TestPkey k = testing::GenerateTestKey("ES256");
  return k;
}

TokenExpectations Expect() {
  TokenExpectations e;
  e.issuer = std::string(kIssuer);
  e.client_id = "client";
  e.nonce = "nonce";
  e.now_unix = kNow;
  return e;
}

std::string Token(const testing::TestPkey& key, std::string_view kid) {
  json::object h{{"alg", "ES256"}, {"kid", kid}};
  json::object p{{"iss", kIssuer},   {"sub", "u1"}, {"aud", "client"},
                 {"exp", kNow + 60}, {"iat", kNow}, {"nonce", "nonce"}};
  return testing::SignJws(key, h, p);
}

TEST(ProviderDiscovery, ReadsCachesAndChecksTheIssuer) {
  Env env;
  StatusOr<ProviderMetadata> m = env.client.Discover(env.endpoint);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->token_endpoint, kTokenUri);
  EXPECT_EQ(m->jwks_uri, kJwksUri);
  EXPECT_TRUE(m->authorization_response_iss_parameter_supported);
  EXPECT_TRUE(m->backchannel_logout_supported);
  EXPECT_EQ(m->code_challenge_methods, std::vector<std::string>{"S256"});
  const std::string url = std::string(kIssuer) + "/.well-known/openid-configuration";
  ASSERT_TRUE(env.client.Discover(env.endpoint).ok());
  EXPECT_EQ(env.fetcher->Hits(url), 1);  // cached
  env.clock += 3601;
  ASSERT_TRUE(env.client.Discover(env.endpoint).ok());
  EXPECT_EQ(env.fetcher->Hits(url), 2);  // expired

  // A trailing slash on the issuer is not doubled, but the issuer must still match exactly.
  ProviderEndpoint slash{std::string(kIssuer) + "/", "", false};
  EXPECT_EQ(env.client.Discover(slash).status().reason(), "idp_issuer_mismatch");
}

TEST(ProviderDiscovery, RefusesBadDocuments) {
  Env env;
  const std::string url = std::string(kIssuer) + "/.well-known/openid-configuration";
  env.fetcher->Set(url, 200, Discovery("https://evil.example"));
  EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "idp_issuer_mismatch");
  env.clock += 31;  // past the failure cache of the previous answer
  env.fetcher->Set(url, 500, "");
  EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "idp_error");
  env.clock += 31;  // past the failure cache of the previous answer
  env.fetcher->Set(url, 200, "<html>");
  EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "idp_error");
  json::object d = json::parse(Discovery()).as_object();
  d["token_endpoint"] = "http://idp.example/token";  // downgraded endpoint
  env.clock += 31;  // past the failure cache of the previous answer
  env.fetcher->Set(url, 200, json::serialize(d));
  EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "insecure_idp_url");
  d.erase("token_endpoint");
  env.clock += 31;  // past the failure cache of the previous answer
  env.fetcher->Set(url, 200, json::serialize(d));
  EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "idp_error");
  env.clock += 31;  // past the failure cache of the previous answer
  env.fetcher->Set(url, 301, "");
  EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "idp_error");
}

TEST(ProviderDiscovery, AFailureIsAnsweredFromMemoryForAWhile) {
  // A provider that is down (or a tarpit, each attempt paying the whole timeout) is asked once per
  // discovery_failure_ttl, not once per request.
  Env env;
  const std::string url = std::string(kIssuer) + "/.well-known/openid-configuration";
  env.fetcher->Set(url, 503, "");
  EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "idp_error");
  env.fetcher->Set(url, 200, Discovery());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "idp_error");
  }
  EXPECT_EQ(env.fetcher->Hits(url), 1);
  env.clock += 29;
  EXPECT_EQ(env.client.Discover(env.endpoint).status().reason(), "idp_error");
  EXPECT_EQ(env.fetcher->Hits(url), 1);
  env.clock += 2;  // 31 s after the failure: asked again, and the answer is good now
  ASSERT_TRUE(env.client.Discover(env.endpoint).ok());
  EXPECT_EQ(env.fetcher->Hits(url), 2);
  ASSERT_TRUE(env.client.Discover(env.endpoint).ok());
  EXPECT_EQ(env.fetcher->Hits(url), 2);  // and cached as usual

  // An unreachable provider likewise.
  ProviderEndpoint down{"https://down.example", "", false};
  const std::string down_url = "https://down.example/.well-known/openid-configuration";
  EXPECT_EQ(env.client.Discover(down).status().reason(), "idp_unreachable");
  EXPECT_EQ(env.client.Discover(down).status().reason(), "idp_unreachable");
  EXPECT_EQ(env.fetcher->Hits(down_url), 1);
}

TEST(ProviderDiscovery, EntraTemplateIssuerFromItsOwnDiscoveryUrl) {
  Env env;
  const std::string tmpl = "https://login.microsoftonline.com/{tenantid}/v2.0";
  const std::string url =
      "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration";
  env.fetcher->Set(url, 200, Discovery(tmpl));
  ProviderEndpoint entra{tmpl, url, false};
  StatusOr<ProviderMetadata> m = env.client.Discover(entra);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->issuer, tmpl);
}

TEST(ProviderKeys, CachedForTheTtl) {
  Env env;
  env.fetcher->Set(kJwksUri, 200, JwksOf({{KeyA(), "a"}}));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(
        env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyA(), "a"), Expect()).ok());
  EXPECT_EQ(env.fetcher->Hits(kJwksUri), 1);
  env.clock += 3601;
  ASSERT_TRUE(
      env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyA(), "a"), Expect()).ok());
  EXPECT_EQ(env.fetcher->Hits(kJwksUri), 2);
}

TEST(ProviderKeys, RotationIsPickedUpByOneRefetch) {
  Env env;
  env.fetcher->Set(kJwksUri, 200, JwksOf({{KeyA(), "a"}}));
  ASSERT_TRUE(
      env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyA(), "a"), Expect()).ok());
  env.clock += 120;  // later than the refetch interval, well within the TTL
  env.fetcher->Set(kJwksUri, 200, JwksOf({{KeyA(), "a"}, {KeyB(), "b"}}));
  StatusOr<IdTokenClaims> c =
      env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyB(), "b"), Expect());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(env.fetcher->Hits(kJwksUri), 2);
}

TEST(ProviderKeys, ABurstOfForgedKidsCostsOneFetch) {
  Env env;
  env.fetcher->Set(kJwksUri, 200, JwksOf({{KeyA(), "a"}}));
  ASSERT_TRUE(
      env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyA(), "a"), Expect()).ok());
  env.clock += 120;
  std::vector<std::thread> threads;
  std::atomic<int> unknown{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        StatusOr<IdTokenClaims> c = env.client.ValidateIdToken(
            env.endpoint, env.meta, Token(KeyB(), "forged-" + std::to_string(t * 100 + i)),
            Expect());
        if (!c.ok() && c.status().reason() == "unknown_kid") ++unknown;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(unknown.load(), 160);
  EXPECT_EQ(env.fetcher->Hits(kJwksUri), 2);  // the first fetch and ONE refetch
  // The limit is per interval: after it, one more.
  env.clock += 61;
  EXPECT_EQ(env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyB(), "x"), Expect())
                .status()
                .reason(),
            "unknown_kid");
  EXPECT_EQ(env.fetcher->Hits(kJwksUri), 3);
}

TEST(ProviderKeys, AFailedRefetchKeepsTheKeysHeldAndNoKeysIsAnError) {
  Env env;
  EXPECT_EQ(env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyA(), "a"), Expect())
                .status()
                .reason(),
            "idp_unreachable");
  env.fetcher->Set(kJwksUri, 200, JwksOf({{KeyA(), "a"}}));
  ASSERT_TRUE(
      env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyA(), "a"), Expect()).ok());
  env.fetcher->Set(kJwksUri, 503, "");
  env.clock += 3601;  // expired: refetched, fails, the held keys stay in use
  EXPECT_TRUE(
      env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyA(), "a"), Expect()).ok());
  // A key set that is refused (a private key in it) is not taken either.
  json::object bad = testing::PublicJwk(KeyB(), "b");
  bad["d"] = "AAAA";
  env.fetcher->Set(kJwksUri, 200, json::serialize(json::object{{"keys", json::array{bad}}}));
  env.clock += 3601;
  EXPECT_TRUE(
      env.client.ValidateIdToken(env.endpoint, env.meta, Token(KeyA(), "a"), Expect()).ok());
}

TEST(ProviderTokenExchange, ClientSecretBasicAndPost) {
  Env env;
  const crypto::SecretBytes secret = crypto::SecretBytes::CopyFrom(crypto::AsBytes("s3cr:et/+ x"));
  CodeExchange x;
  x.client_id = "my client";
  x.client_secret = &secret;
  x.code = "c0de&x=1";
  x.redirect_uri = "https://bulwark.example/api/v1/sso/callback/ssoc_1";
  x.code_verifier = "verifier-123";
  env.fetcher->Set(
      kTokenUri, 200,
      R"({"id_token":"a.b.c","access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt"})");
  StatusOr<TokenResponse> r = env.client.ExchangeCode(env.endpoint, env.meta, x);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id_token, "a.b.c");
  EXPECT_EQ(r->access_token.reveal_string_view(), "at");
  EXPECT_EQ(r->token_type, "Bearer");
  EXPECT_EQ(r->expires_in, 3600);
  Captured c = env.fetcher->Last();
  EXPECT_TRUE(c.post);
  EXPECT_EQ(c.url, kTokenUri);
  EXPECT_EQ(c.body,
            "grant_type=authorization_code&code=c0de%26x%3D1&redirect_uri=https%3A%2F%2Fbulwark."
            "example%2Fapi%2Fv1%2F"
            "sso%2Fcallback%2Fssoc_1&code_verifier=verifier-123");
  // RFC 6749 2.3.1: Basic base64(urlencode(id) ":" urlencode(secret)).
  EXPECT_EQ(c.authorization,
            "Basic " + crypto::Base64Encode(crypto::AsBytes("my%20client:s3cr%3Aet%2F%2B%20x")));

  x.auth = ClientAuthMethod::kClientSecretPost;
  ASSERT_TRUE(env.client.ExchangeCode(env.endpoint, env.meta, x).ok());
  c = env.fetcher->Last();
  EXPECT_TRUE(c.authorization.empty());
  EXPECT_TRUE(c.body.ends_with("&client_id=my%20client&client_secret=s3cr%3Aet%2F%2B%20x"));
}

TEST(ProviderTokenExchange, ErrorsAreTypedAndNeverQuoteSecrets) {
  Env env;
  const crypto::SecretBytes secret = crypto::SecretBytes::CopyFrom(crypto::AsBytes("TOPSECRET"));
  CodeExchange x;
  x.client_id = "client";
  x.client_secret = &secret;
  x.code = "THECODE";
  x.redirect_uri = "https://bulwark.example/cb";
  x.code_verifier = "THEVERIFIER";
  Status last;
  auto check = [&](long status, std::string body, std::string_view reason) {
    env.fetcher->Set(kTokenUri, status, std::move(body));
    StatusOr<TokenResponse> r = env.client.ExchangeCode(env.endpoint, env.meta, x);
    if (r.ok()) {
      ADD_FAILURE() << "accepted: " << reason;
      return;
    }
    EXPECT_EQ(r.status().reason(), reason);
    for (std::string_view s : {"TOPSECRET", "THECODE", "THEVERIFIER"}) {
      EXPECT_EQ(r.status().message().find(s), std::string::npos) << s;
    }
    last = r.status();
  };
  check(400, R"({"error":"invalid_grant","error_description":"code THECODE used"})",
        "token_exchange_failed");
  EXPECT_EQ(last.code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(last.message().find("invalid_grant"), std::string::npos);
  check(401, R"({"error":"THECODE TOPSECRET"})", "token_exchange_failed");
  check(500, "TOPSECRET", "idp_error");
  check(200, R"({"access_token":"at"})", "idp_error");
  check(200, "not json THECODE", "idp_error");
  env.meta.token_endpoint = "https://nowhere.example/token";
  check(0, "", "idp_unreachable");
}

TEST(IdpUrl, SchemeAndHostRules) {
  EXPECT_TRUE(CheckIdpUrl("https://accounts.google.com", false).ok());
  EXPECT_TRUE(
      CheckIdpUrl(
          "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
          false)
          .ok());
  for (std::string_view dev :
       {"http://127.0.0.1:3000/", "http://localhost:8080/x", "http://[::1]:9/jwks"}) {
    EXPECT_TRUE(CheckIdpUrl(dev, true).ok()) << dev;
    EXPECT_EQ(CheckIdpUrl(dev, false).reason(), "insecure_idp_url") << dev;
  }
  for (std::string_view bad :
       {"http://10.0.0.1/", "http://idp.example/", "http://127.0.0.1.evil.example/",
        "ftp://idp.example/", "https://user:pw@idp.example/", "https://idp.example/a b",
        "idp.example", "", "file:///etc/passwd", "https://idp.example/\n"}) {
    EXPECT_EQ(CheckIdpUrl(bad, true).reason(), "insecure_idp_url") << bad;
  }
}

TEST(CurlHttpFetcher, RefusesInsecureUrlsBeforeConnectingAndReportsUnreachable) {
  CurlHttpFetcher fetcher(HttpFetchOptions{});
  HttpRequest req;
  req.url = "http://127.0.0.1:1/x";
  EXPECT_EQ(fetcher.Fetch(req).status().reason(), "insecure_idp_url");
  req.allow_insecure_loopback = true;  // allowed now; nothing listens on port 1
  EXPECT_EQ(fetcher.Fetch(req).status().reason(), "idp_unreachable");
  req.url = "https://127.0.0.1:1/x";
  EXPECT_EQ(fetcher.Fetch(req).status().reason(), "idp_unreachable");
}

}  // namespace
}  // namespace bulwark::sso
