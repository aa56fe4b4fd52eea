#pragma once
// The HTTP requests the OpenID Provider client makes (discovery, JWKS, token endpoint), behind an
// interface so the client's caching logic is tested with a fake, and one libcurl implementation.
//
// CurlHttpFetcher's rules, none of which a caller can turn off:
//   - https:// only; http:// only when the request says allow_insecure_loopback (dev mode) AND
//     the host is a loopback address (127.0.0.0/8, ::1) or "localhost"; every other scheme, a URL
//     with user:password@, or one libcurl cannot parse is refused before any connection;
//   - TLS 1.2 or later, peer certificate and host name always verified, against the system store
//     or `ca_file` (a PEM bundle: a private CA, or the tests' CA);
//   - redirects are never followed (a 3xx is returned as it is; the client treats it as an error);
//   - connect timeout and total timeout; a body larger than max_response_bytes is cut off and the
//     request fails ("idp_error");
//   - the request body and Authorization value (they hold the client secret, the code and the
//     PKCE verifier) are never logged, never put in a Status, and wiped when the request ends;
//     libcurl's verbose trace is off.
//
// Errors (both kinds name the host, never the path, query or body):
//   kInvalidArgument "insecure_idp_url"  the URL breaks the scheme/host rules above;
//   kUnavailable     "idp_unreachable"   DNS, connect, TLS or timeout failure;
//   kUnavailable     "idp_error"         the response was larger than allowed.
// An HTTP error status is not an error here: the caller reads `status`.
//
// Thread-safety: Fetch may be called from many threads at once (one libcurl handle per request).
//
// Example:
//   auto fetcher = std::make_shared<CurlHttpFetcher>(HttpFetchOptions{.ca_file =
//   "/etc/bulwark/idp-ca.pem"}); HttpRequest req; req.url =
//   "https://accounts.google.com/.well-known/openid-configuration";
//   BULWARK_ASSIGN_OR_RETURN(HttpResponse resp, fetcher->Fetch(req));
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::sso {

struct HttpRequest {
  std::string url;
  bool post = false;                     // false: GET
  crypto::SecretBytes form_body;         // POST: application/x-www-form-urlencoded; a secret
  crypto::SecretBytes authorization;     // the Authorization header's value, if not empty; a secret
  bool allow_insecure_loopback = false;  // dev mode: http:// to a loopback host
};

struct HttpResponse {
  long status = 0;
  std::string body;
};

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  virtual StatusOr<HttpResponse> Fetch(const HttpRequest& request) = 0;
};

struct HttpFetchOptions {
  std::string ca_file;  // empty: the system's trust store
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{10000};
  std::size_t max_response_bytes = 1024 * 1024;
};

// Checks `url` against the scheme and host rules above without fetching it: for a configured
// issuer or a discovered endpoint. kInvalidArgument "insecure_idp_url" when it breaks them.
Status CheckIdpUrl(std::string_view url, bool allow_insecure_loopback);

class CurlHttpFetcher final : public HttpFetcher {
 public:
  explicit CurlHttpFetcher(HttpFetchOptions options) : options_(std::move(options)) {}
  StatusOr<HttpResponse> Fetch(const HttpRequest& request) override;

 private:
  const HttpFetchOptions options_;
};

}  // namespace bulwark::sso
