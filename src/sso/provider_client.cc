#include "sso/provider_client.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <utility>

#include "core/canonical_json.h"
#include "core/log.h"
#include "core/percent_encoding.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace bulwark::sso {

struct ProviderClient::JwksEntry {
  std::mutex fetch_mu;  // one fetch at a time for this jwks_uri
  // Guarded by ProviderClient::mu_:
  std::shared_ptr<const crypto::Jwks> keys;
  std::int64_t fetched_at = 0;
  std::optional<std::int64_t> last_attempt;  // any fetch, successful or not
  std::uint64_t generation = 0;              // successful fetches so far
};

namespace {

namespace json = boost::json;

Status IdpError(std::string message) {
  return Status::Unavailable("idp_error", std::move(message));
}

StatusOr<json::object> ParseObject(std::string_view body, std::string_view what) {
  StatusOr<json::value> v = core::ParseStrictJson(body);
  if (!v.ok() || !v->is_object())
    return IdpError("the identity provider's " + std::string(what) + " is not a JSON object");
  return std::move(v->as_object());
}

std::string String(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::vector<std::string> Strings(const json::object& o, std::string_view name) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_array()) return out;
  for (const json::value& s : v->get_array()) {
    if (s.is_string()) out.emplace_back(s.get_string());
  }
  return out;
}

bool Bool(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::string DiscoveryUrl(const ProviderEndpoint& e) {
  if (!e.discovery_url.empty()) return e.discovery_url;
  std::string base = e.issuer;
  if (base.ends_with('/')) base.pop_back();
  return base + "/.well-known/openid-configuration";
}

// An RFC 6749 error code ("invalid_grant") is safe to repeat; anything else from the body is not.
std::string OAuthErrorCode(std::string_view body) {
  StatusOr<json::value> v = core::ParseStrictJson(body);
  if (!v.ok() || !v->is_object()) return "";
  const std::string code = String(v->as_object(), "error");
  const bool plain = !code.empty() && code.size() <= 64 &&
                     std::all_of(code.begin(), code.end(),
                                 [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
  return plain ? code : "";
}

// The form body and, for client_secret_basic, the Authorization value; built in buffers reserved
// up front (so no reallocation leaves a copy behind) and moved into wiped SecretBytes.
void BuildTokenRequest(const CodeExchange& x, HttpRequest& req) {
  const std::string_view secret = x.client_secret->reveal_string_view();
  std::string body;
  body.reserve(3 * (x.code.size() + x.redirect_uri.size() + x.code_verifier.size() +
                    x.client_id.size() + secret.size()) +
               128);
  body += "grant_type=authorization_code&code=";
  core::AppendPercentEncoded(body, x.code);
  body += "&redirect_uri=";
  core::AppendPercentEncoded(body, x.redirect_uri);
  body += "&code_verifier=";
  core::AppendPercentEncoded(body, x.code_verifier);
  if (x.auth == ClientAuthMethod::kClientSecretPost) {
    body += "&client_id=";
    core::AppendPercentEncoded(body, x.client_id);
    body += "&client_secret=";
    core::AppendPercentEncoded(body, secret);
  } else {
    std::string pair;
    pair.reserve(3 * (x.client_id.size() + secret.size()) + 1);
    core::AppendPercentEncoded(pair, x.client_id);
    pair += ':';
    core::AppendPercentEncoded(pair, secret);
    std::string b64 = crypto::Base64Encode(crypto::AsBytes(pair));
    const crypto::SecretBytes wipe_pair = crypto::SecretBytes::FromString(std::move(pair));
    std::string value;
    value.reserve(6 + b64.size());
    value += "Basic ";
    value += b64;
    const crypto::SecretBytes wipe_b64 = crypto::SecretBytes::FromString(std::move(b64));
    req.authorization = crypto::SecretBytes::FromString(std::move(value));
  }
  req.form_body = crypto::SecretBytes::FromString(std::move(body));
}

}  // namespace

ProviderClient::ProviderClient(std::shared_ptr<HttpFetcher> fetcher, ProviderClientOptions options)
    : fetcher_(std::move(fetcher)), options_(std::move(options)) {}

std::int64_t ProviderClient::Now() const {
  if (options_.now) return options_.now();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

StatusOr<ProviderMetadata> ProviderClient::Discover(const ProviderEndpoint& endpoint) {
  const std::string url = DiscoveryUrl(endpoint);
  const std::string failure_key = url + '\n' + endpoint.issuer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::int64_t now = Now();
    auto it = discovery_.find(url);
    if (it != discovery_.end() && it->second.metadata.issuer == endpoint.issuer &&
        now - it->second.fetched_at < options_.discovery_ttl.count()) {
      return it->second.metadata;
    }
    auto failed = discovery_failures_.find(failure_key);
    if (failed != discovery_failures_.end() &&
        now - failed->second.failed_at < options_.discovery_failure_ttl.count()) {
      return failed->second.status;
    }
  }
  StatusOr<ProviderMetadata> m = FetchDiscovery(endpoint, url);
  std::lock_guard<std::mutex> lock(mu_);
  if (!m.ok()) {
    discovery_failures_[failure_key] = DiscoveryFailure{m.status(), Now()};
    return m.status();
  }
  discovery_failures_.erase(failure_key);
  discovery_[url] = DiscoveryEntry{*m, Now()};
  return m;
}

StatusOr<ProviderMetadata> ProviderClient::FetchDiscovery(const ProviderEndpoint& endpoint,
                                                          const std::string& url) {
  HttpRequest req;
  req.url = url;
  req.allow_insecure_loopback = endpoint.allow_insecure_loopback;
  BULWARK_ASSIGN_OR_RETURN(HttpResponse resp, fetcher_->Fetch(req));
  if (resp.status != 200)
    return IdpError("the identity provider's discovery document could not be fetched");
  BULWARK_ASSIGN_OR_RETURN(json::object doc, ParseObject(resp.body, "discovery document"));

  ProviderMetadata m;
  m.issuer = String(doc, "issuer");
  if (endpoint.issuer.empty() || m.issuer != endpoint.issuer) {
    log::Warn("sso.discovery_issuer_mismatch",
              {{"configured", endpoint.issuer}, {"discovered", m.issuer}});
    return Status::FailedPrecondition(
        "idp_issuer_mismatch", "the identity provider's discovery document names another issuer");
  }
  m.authorization_endpoint = String(doc, "authorization_endpoint");
  m.token_endpoint = String(doc, "token_endpoint");
  m.jwks_uri = String(doc, "jwks_uri");
  for (const std::string* u : {&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri}) {
    if (u->empty()) return IdpError("the identity provider's discovery document lacks an endpoint");
    BULWARK_RETURN_IF_ERROR(CheckIdpUrl(*u, endpoint.allow_insecure_loopback));
  }
  m.end_session_endpoint = String(doc, "end_session_endpoint");
  m.code_challenge_methods = Strings(doc, "code_challenge_methods_supported");
  m.id_token_signing_algs = Strings(doc, "id_token_signing_alg_values_supported");
  m.authorization_response_iss_parameter_supported =
      Bool(doc, "authorization_response_iss_parameter_supported");
  m.backchannel_logout_supported = Bool(doc, "backchannel_logout_supported");
  m.backchannel_logout_session_supported = Bool(doc, "backchannel_logout_session_supported");
  return m;
}

std::shared_ptr<ProviderClient::JwksEntry> ProviderClient::Entry(const std::string& jwks_uri) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<JwksEntry>& e = jwks_[jwks_uri];
  if (!e) e = std::make_shared<JwksEntry>();
  return e;
}

StatusOr<std::shared_ptr<const crypto::Jwks>> ProviderClient::Keys(const ProviderEndpoint& endpoint,
                                                                   const ProviderMetadata& metadata,
                                                                   bool refresh_for_unknown_kid) {
  const std::shared_ptr<JwksEntry> entry = Entry(metadata.jwks_uri);
  std::uint64_t seen_generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::int64_t now = Now();
    const bool fresh =
        entry->keys != nullptr && now - entry->fetched_at < options_.jwks_ttl.count();
    if (refresh_for_unknown_kid) {
      const bool limited =
          entry->last_attempt && now - *entry->last_attempt < options_.refetch_interval.count();
      if (limited && entry->keys != nullptr) return entry->keys;
    } else if (fresh) {
      return entry->keys;
    }
    seen_generation = entry->generation;
  }
  std::lock_guard<std::mutex> fetching(entry->fetch_mu);
  {
    // Another caller fetched while this one waited: take its result.
    std::lock_guard<std::mutex> lock(mu_);
    if (entry->generation != seen_generation && entry->keys != nullptr) return entry->keys;
    entry->last_attempt = Now();
  }
  return FetchKeys(endpoint, metadata.jwks_uri, *entry);
}

StatusOr<std::shared_ptr<const crypto::Jwks>> ProviderClient::FetchKeys(
    const ProviderEndpoint& endpoint, const std::string& jwks_uri, JwksEntry& entry) {
  HttpRequest req;
  req.url = jwks_uri;
  req.allow_insecure_loopback = endpoint.allow_insecure_loopback;
  StatusOr<HttpResponse> resp = fetcher_->Fetch(req);
  Status failure;
  if (!resp.ok()) {
    failure = resp.status();
  } else if (resp->status != 200) {
    failure = IdpError("the identity provider's keys could not be fetched");
  } else {
    StatusOr<crypto::Jwks> jwks = crypto::Jwks::Parse(resp->body);
    if (jwks.ok()) {
      auto keys = std::make_shared<const crypto::Jwks>(std::move(*jwks));
      if (keys->skipped() > 0) {
        log::Info("sso.jwks_keys_skipped", {{"jwks_uri", jwks_uri}, {"skipped", keys->skipped()}});
      }
      std::lock_guard<std::mutex> lock(mu_);
      entry.keys = keys;
      entry.fetched_at = Now();
      ++entry.generation;
      return std::shared_ptr<const crypto::Jwks>(keys);
    }
    log::Warn("sso.jwks_refused", {{"jwks_uri", jwks_uri}, {"reason", jwks.status().reason()}});
    failure = IdpError("the identity provider's key set is not acceptable (" +
                       jwks.status().reason() + ")");
  }
  // Keep using the keys already held; without any, nothing can be validated.
  std::lock_guard<std::mutex> lock(mu_);
  if (entry.keys != nullptr) return entry.keys;
  return failure;
}

template <typename Claims, typename Validate>
StatusOr<Claims> ProviderClient::WithKeys(const ProviderEndpoint& endpoint,
                                          const ProviderMetadata& metadata, Validate validate) {
  BULWARK_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Jwks> keys, Keys(endpoint, metadata));
  StatusOr<Claims> result = validate(*keys);
  if (result.ok() || result.status().reason() != "unknown_kid") return result;
  // The provider may have rotated its keys since they were cached: look once more.
  StatusOr<std::shared_ptr<const crypto::Jwks>> fresh =
      Keys(endpoint, metadata, /*refresh_for_unknown_kid=*/true);
  if (!fresh.ok() || *fresh == keys) return result;
  return validate(**fresh);
}

StatusOr<IdTokenClaims> ProviderClient::ValidateIdToken(const ProviderEndpoint& endpoint,
                                                        const ProviderMetadata& metadata,
                                                        std::string_view token,
                                                        const TokenExpectations& expectations) {
  return WithKeys<IdTokenClaims>(endpoint, metadata, [&](const crypto::Jwks& jwks) {
    return sso::ValidateIdToken(token, jwks, expectations);
  });
}

StatusOr<LogoutTokenClaims> ProviderClient::ValidateLogoutToken(
    const ProviderEndpoint& endpoint, const ProviderMetadata& metadata, std::string_view token,
    const TokenExpectations& expectations) {
  return WithKeys<LogoutTokenClaims>(endpoint, metadata, [&](const crypto::Jwks& jwks) {
    return sso::ValidateLogoutToken(token, jwks, expectations);
  });
}

StatusOr<TokenResponse> ProviderClient::ExchangeCode(const ProviderEndpoint& endpoint,
                                                     const ProviderMetadata& metadata,
                                                     const CodeExchange& exchange) {
  if (exchange.client_secret == nullptr || exchange.client_id.empty()) {
    return Status::Internal("a code exchange needs the client id and secret");
  }
  HttpRequest req;
  req.url = metadata.token_endpoint;
  req.post = true;
  req.allow_insecure_loopback = endpoint.allow_insecure_loopback;
  BuildTokenRequest(exchange, req);
  BULWARK_ASSIGN_OR_RETURN(HttpResponse resp, fetcher_->Fetch(req));

  if (resp.status >= 400 && resp.status < 500) {
    const std::string code = OAuthErrorCode(resp.body);
    log::Warn("sso.token_exchange_refused", {{"issuer", endpoint.issuer},
                                             {"status", static_cast<std::int64_t>(resp.status)},
                                             {"error", code}});
    return Status::Unauthenticated(
        "token_exchange_failed",
        code.empty() ? "the identity provider refused the authorization code"
                     : "the identity provider refused the authorization code: " + code);
  }
  if (resp.status != 200) {
    log::Warn("sso.token_endpoint_error",
              {{"issuer", endpoint.issuer}, {"status", static_cast<std::int64_t>(resp.status)}});
    return IdpError("the identity provider's token endpoint failed");
  }
  BULWARK_ASSIGN_OR_RETURN(json::object doc, ParseObject(resp.body, "token response"));
  TokenResponse out;
  out.id_token = String(doc, "id_token");
  if (out.id_token.empty())
    return IdpError("the identity provider's token response has no ID token");
  out.access_token = crypto::SecretBytes::FromString(String(doc, "access_token"));
  out.token_type = String(doc, "token_type");
  if (const json::value* e = doc.if_contains("expires_in"); e != nullptr && e->is_int64()) {
    out.expires_in = e->get_int64();
  }
  return out;
}

}  // namespace bulwark::sso
