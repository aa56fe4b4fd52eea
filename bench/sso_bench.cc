// Micro benchmarks for the SSO callback's token validation (src/sso/id_token.h) with the
// provider's JWKS already cached: what one sign-in costs Bulwark once the token endpoint has
// answered. bench/sso.sh sets RS256 and ES256 beside `openssl speed`'s verify/s for RSA-2048 and
// ECDSA P-256 on the same machine (the signature check is the floor: ratio <= 1).
#include <benchmark/benchmark.h>

#include <boost/json/object.hpp>
#include <cstdlib>
#include <string>

#include "../tests/unit/crypto/jose_test_signer.h"
#include "crypto/jwk.h"
#include "sso/id_token.h"

namespace {

namespace json = boost::json;
using bulwark::testing::TestPkey;

constexpr std::int64_t kNow = 1'900'000'000;

struct Fixture {
  TestPkey key;
  bulwark::crypto::Jwks jwks;
  std::string token;
  bulwark::sso::TokenExpectations expect;
};

// A provider publishing three keys of the token's type (as Google and Entra do around a rotation)
// and a realistic ID token: Entra-sized claims with a dozen groups.
Fixture Make(std::string_view alg) {
  Fixture f;
  f.key = bulwark::testing::GenerateTestKey(alg);
  json::array keys{bulwark::testing::PublicJwk(bulwark::testing::GenerateTestKey(alg), "old"),
                   bulwark::testing::PublicJwk(f.key, "current"),
                   bulwark::testing::PublicJwk(bulwark::testing::GenerateTestKey(alg), "next")};
  auto jwks = bulwark::crypto::Jwks::FromJson(json::object{{"keys", keys}});
  if (!jwks.ok()) std::abort();
  f.jwks = std::move(*jwks);
  json::array groups;
  for (int i = 0; i < 12; ++i) groups.push_back(json::value("group-" + std::to_string(i)));
  json::object p{{"iss", "https://idp.example"},
                 {"sub", "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"},
                 {"aud", "6cb04018-a3f5-46a7-b995-940c78f5aef3"},
                 {"exp", kNow + 3600},
                 {"iat", kNow},
                 {"nonce", "ZzNhNWYzYjMtOWQ5Zi00ZjJkLWE1YjQtMmQ0ZWFjOWYzZWJk"},
                 {"email", "jane@example.com"},
                 {"email_verified", true},
                 {"name", "Jane Doe"},
                 {"sid", "sid-0123456789"},
                 {"groups", groups}};
  f.token = bulwark::testing::SignJws(
      f.key, json::object{{"alg", alg}, {"kid", "current"}, {"typ", "JWT"}}, p);
  f.expect.issuer = "https://idp.example";
  f.expect.client_id = "6cb04018-a3f5-46a7-b995-940c78f5aef3";
  f.expect.nonce = "ZzNhNWYzYjMtOWQ5Zi00ZjJkLWE1YjQtMmQ0ZWFjOWYzZWJk";
  f.expect.now_unix = kNow;
  return f;
}

void Run(benchmark::State& state, std::string_view alg) {
  const Fixture f = Make(alg);
  for (auto _ : state) {
    auto claims = bulwark::sso::ValidateIdToken(f.token, f.jwks, f.expect);
    if (!claims.ok()) std::abort();
    benchmark::DoNotOptimize(claims->subject.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_ValidateIdTokenRs256(benchmark::State& state) { Run(state, "RS256"); }
void BM_ValidateIdTokenEs256(benchmark::State& state) { Run(state, "ES256"); }
void BM_ValidateIdTokenEdDsa(benchmark::State& state) { Run(state, "EdDSA"); }
BENCHMARK(BM_ValidateIdTokenRs256);
BENCHMARK(BM_ValidateIdTokenEs256);
BENCHMARK(BM_ValidateIdTokenEdDsa);

}  // namespace
