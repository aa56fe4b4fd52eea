#pragma once
// The relying party's side of talking to an OpenID Provider: discovery, the provider's keys, and
// the authorization-code exchange. Used by the SSO flow (sso/flow) for sign-in and back-channel
// logout; all requests go through an HttpFetcher (sso/http_fetch.h: HTTPS only, TLS verified, no
// redirects, timeouts, 1 MiB cap).
//
// Discovery (OpenID Connect Discovery 1.0 section 4): GET the discovery URL (by default the
// issuer, without a trailing '/', + "/.well-known/openid-configuration"; Entra's multi-tenant
// connections pass .../organizations/v2.0/... and keep the "{tenantid}" template as issuer).
// The document's "issuer" must equal the configured issuer exactly (the template included, which
// is what Entra's multi-tenant document says), and authorization_endpoint, token_endpoint and
// jwks_uri must be URLs CheckIdpUrl accepts. Cached per discovery URL for discovery_ttl. A failed
// discovery (unreachable, timed out, refused document) is cached too, per discovery URL and
// issuer, for discovery_failure_ttl: while it holds, Discover returns the same error at once, so
// a provider that is down or a tarpit costs one timeout per window, not one per request.
//
// Keys: the JWKS at jwks_uri, cached per jwks_uri for jwks_ttl. When a token names a kid the
// cached set lacks, ValidateIdToken/ValidateLogoutToken refetch the set ONCE and validate again;
// such refetches are rate-limited to one per jwks_uri per refetch_interval, so a provider's key
// rotation just works while a burst of tokens with forged kids costs at most one request. When a
// refetch fails the cached set stays in use; when the first fetch fails there is no set and the
// token cannot be validated ("idp_unreachable"/"idp_error"). One fetch at a time per jwks_uri:
// concurrent callers wait for it rather than fetching again.
//
// Code exchange (OpenID Connect Core 3.1.3.1-3.1.3.3): POST grant_type=authorization_code, code,
// redirect_uri, code_verifier (PKCE, RFC 7636) to the token endpoint, authenticating the client
// with client_secret_basic (default; RFC 6749 2.3.1, both parts form-urlencoded) or
// client_secret_post. The response must be 200 with a JSON object holding a string "id_token";
// the access token is kept as a secret; a refresh token, if any, is dropped.
//
// Errors (never the client secret, code, verifier, a token or a response body in any message or
// log line; the provider's "error" code only when it is a plain RFC 6749 code):
//   kInvalidArgument    "insecure_idp_url"      a URL breaks the scheme/host rules;
//   kUnavailable        "idp_unreachable"       the provider cannot be reached;
//   kUnavailable        "idp_error"             a non-200 discovery or JWKS answer, a 5xx from the
//                                               token endpoint, a document that does not parse,
//                                               an invalid JWKS, a body over the cap, a token
//                                               response without id_token;
//   kFailedPrecondition "idp_issuer_mismatch"   discovery names another issuer;
//   kUnauthenticated    "token_exchange_failed" the token endpoint refused the code (4xx:
//                                               invalid_grant for a replayed code, invalid_client);
//   and ValidateIdToken's and ValidateLogoutToken's reasons (sso/id_token.h).
//
// Thread-safety: every method may be called from many threads at once.
//
// Example:
//   ProviderClient client(std::make_shared<CurlHttpFetcher>(HttpFetchOptions{}), {});
//   ProviderEndpoint idp{.issuer = "https://accounts.google.com"};
//   BULWARK_ASSIGN_OR_RETURN(ProviderMetadata meta, client.Discover(idp));
//   BULWARK_ASSIGN_OR_RETURN(TokenResponse tokens, client.ExchangeCode(idp, meta, exchange));
//   BULWARK_ASSIGN_OR_RETURN(IdTokenClaims claims, client.ValidateIdToken(idp, meta,
//   tokens.id_token, expect));
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/jwk.h"
#include "crypto/secret_bytes.h"
#include "sso/http_fetch.h"
#include "sso/id_token.h"

namespace bulwark::sso {

// Where a connection's provider is, and how it may be reached.
struct ProviderEndpoint {
  std::string issuer;                    // exact, or Entra's "{tenantid}" template
  std::string discovery_url;             // empty: issuer + "/.well-known/openid-configuration"
  bool allow_insecure_loopback = false;  // dev mode only: http:// to a loopback issuer
};

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::string end_session_endpoint;                 // "" when not offered
  std::vector<std::string> code_challenge_methods;  // code_challenge_methods_supported
  std::vector<std::string> id_token_signing_algs;   // id_token_signing_alg_values_supported
  bool authorization_response_iss_parameter_supported = false;  // RFC 9207
  bool backchannel_logout_supported = false;
  bool backchannel_logout_session_supported = false;
};

enum class ClientAuthMethod { kClientSecretBasic, kClientSecretPost };

struct CodeExchange {
  std::string client_id;
  const crypto::SecretBytes* client_secret = nullptr;  // not owned; must outlive the call
  ClientAuthMethod auth = ClientAuthMethod::kClientSecretBasic;
  std::string code;  // single-use, never logged
  std::string redirect_uri;
  std::string code_verifier;  // PKCE verifier, never logged
};

struct TokenResponse {
  std::string id_token;
  crypto::SecretBytes access_token;
  std::string token_type;
  std::optional<std::int64_t> expires_in;
};

struct ProviderClientOptions {
  std::chrono::seconds discovery_ttl{3600};
  std::chrono::seconds discovery_failure_ttl{30};  // a failed discovery is answered from memory
  std::chrono::seconds jwks_ttl{3600};
  std::chrono::seconds refetch_interval{
      60};  // at most one unknown-kid refetch per jwks_uri per this
  // Monotonic seconds; tests inject their own. Empty: std::chrono::steady_clock.
  std::function<std::int64_t()> now;
};

class ProviderClient {
 public:
  ProviderClient(std::shared_ptr<HttpFetcher> fetcher, ProviderClientOptions options);

  StatusOr<ProviderMetadata> Discover(const ProviderEndpoint& endpoint);

  // The provider's keys (cached). With `refresh_for_unknown_kid`, refetches first unless a
  // refetch of this jwks_uri happened within refetch_interval (then the cached set is returned).
  StatusOr<std::shared_ptr<const crypto::Jwks>> Keys(const ProviderEndpoint& endpoint,
                                                     const ProviderMetadata& metadata,
                                                     bool refresh_for_unknown_kid = false);

  // sso::ValidateIdToken / ValidateLogoutToken against the provider's keys, with the one
  // rate-limited refetch on "unknown_kid" described above.
  StatusOr<IdTokenClaims> ValidateIdToken(const ProviderEndpoint& endpoint,
                                          const ProviderMetadata& metadata, std::string_view token,
                                          const TokenExpectations& expectations);
  StatusOr<LogoutTokenClaims> ValidateLogoutToken(const ProviderEndpoint& endpoint,
                                                  const ProviderMetadata& metadata,
                                                  std::string_view token,
                                                  const TokenExpectations& expectations);

  StatusOr<TokenResponse> ExchangeCode(const ProviderEndpoint& endpoint,
                                       const ProviderMetadata& metadata,
                                       const CodeExchange& exchange);

 private:
  struct JwksEntry;
  struct DiscoveryEntry {
    ProviderMetadata metadata;
    std::int64_t fetched_at = 0;
  };
  struct DiscoveryFailure {
    Status status;
    std::int64_t failed_at = 0;
  };
  StatusOr<ProviderMetadata> FetchDiscovery(const ProviderEndpoint& endpoint,
                                            const std::string& url);
  std::int64_t Now() const;
  std::shared_ptr<JwksEntry> Entry(const std::string& jwks_uri);
  StatusOr<std::shared_ptr<const crypto::Jwks>> FetchKeys(const ProviderEndpoint& endpoint,
                                                          const std::string& jwks_uri,
                                                          JwksEntry& entry);
  template <typename Claims, typename Validate>
  StatusOr<Claims> WithKeys(const ProviderEndpoint& endpoint, const ProviderMetadata& metadata,
                            Validate validate);

  const std::shared_ptr<HttpFetcher> fetcher_;
  const ProviderClientOptions options_;
  std::mutex mu_;
  std::map<std::string, DiscoveryEntry> discovery_;         // guarded by mu_; by discovery URL
  // Guarded by mu_; by discovery URL + '\n' + issuer.
  std::map<std::string, DiscoveryFailure> discovery_failures_;
  std::map<std::string, std::shared_ptr<JwksEntry>> jwks_;  // guarded by mu_; by jwks_uri
};

}  // namespace bulwark::sso
