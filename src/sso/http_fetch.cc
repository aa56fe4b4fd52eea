#include "sso/http_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "core/log.h"
#include "identity/curl_global.h"

namespace bulwark::sso {
namespace {

struct CurlUrlFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStrFree {
  void operator()(char* p) const { curl_free(p); }
};
using CurlStr = std::unique_ptr<char, CurlStrFree>;

Status Insecure(std::string message) {
  return Status::InvalidArgument("insecure_idp_url", std::move(message));
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
    in6_addr a6{};
    return inet_pton(AF_INET6, h.c_str(), &a6) == 1 &&
           std::memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
  }
  in_addr a4{};
  return inet_pton(AF_INET, h.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

// The URL's scheme and host, after the checks of CheckIdpUrl.
StatusOr<std::pair<std::string, std::string>> SchemeAndHost(std::string_view url) {
  if (url.empty() || url.size() > 4096 || std::any_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
      })) {
    return Insecure("the provider URL is empty, too long or holds spaces or control characters");
  }
  std::unique_ptr<CURLU, CurlUrlFree> u(curl_url());
  if (!u) return Status::Internal("libcurl could not allocate");
  const std::string text(url);
  if (curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return Insecure("the provider URL is not a valid absolute URL");
  }
  char* raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_USER, &raw, 0) == CURLUE_OK) {
    curl_free(raw);
    return Insecure("the provider URL must not hold credentials");
  }
  raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK)
    return Insecure("the provider URL has no scheme");
  CurlStr scheme(raw);
  raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK)
    return Insecure("the provider URL has no host");
  CurlStr host(raw);
  return std::make_pair(std::string(scheme.get()), std::string(host.get()));
}

struct Sink {
  std::string body;
  std::size_t limit = 0;
  bool overflow = false;
};

std::size_t Write(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  if (sink->body.size() + len > sink->limit) {
    sink->overflow = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  sink->body.append(data, len);
  return len;
}

}  // namespace

Status CheckIdpUrl(std::string_view url, bool allow_insecure_loopback) {
  BULWARK_ASSIGN_OR_RETURN(auto parts, SchemeAndHost(url));
  const auto& [scheme, host] = parts;
  if (scheme == "https") return Status::Ok();
  if (scheme == "http" && allow_insecure_loopback && IsLoopbackHost(host)) return Status::Ok();
  return Insecure(scheme == "http" ? "plain http is allowed only to a loopback provider in dev mode"
                                   : "the provider URL must be https");
}

StatusOr<HttpResponse> CurlHttpFetcher::Fetch(const HttpRequest& request) {
  BULWARK_RETURN_IF_ERROR(CheckIdpUrl(request.url, request.allow_insecure_loopback));
  BULWARK_ASSIGN_OR_RETURN(auto parts, SchemeAndHost(request.url));
  const std::string& host = parts.second;
  BULWARK_RETURN_IF_ERROR(identity::InitLibcurl());

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status::Internal("libcurl could not create a handle");
  // "Authorization: <value>" as a NUL-terminated copy that is wiped on return (libcurl's own copy
  // in the list is freed, not wiped, by curl_slist_free_all).
  crypto::SecretBytes auth_line;
  curl_slist* list = curl_slist_append(nullptr, "Accept: application/json");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(list, &curl_slist_free_all);
  if (!headers) return Status::Internal("libcurl could not allocate");
  if (!request.authorization.empty()) {
    static constexpr std::string_view kPrefix = "Authorization: ";
    auth_line = crypto::SecretBytes(kPrefix.size() + request.authorization.size() + 1);
    auto out = auth_line.reveal_mutable_span();
    std::copy(kPrefix.begin(), kPrefix.end(), out.begin());
    std::copy(request.authorization.reveal_span().begin(),
              request.authorization.reveal_span().end(),
              out.begin() + static_cast<std::ptrdiff_t>(kPrefix.size()));
    if (curl_slist_append(headers.get(), reinterpret_cast<const char*>(out.data())) == nullptr) {
      return Status::Internal("libcurl could not allocate");
    }
  }

  Sink sink;
  sink.limit = options_.max_response_bytes;
  CURL* h = curl.get();
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption opt, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, value);
  };
  set(CURLOPT_URL, request.url.c_str());
  set(CURLOPT_PROTOCOLS_STR, request.allow_insecure_loopback ? "http,https" : "https");
  set(CURLOPT_FOLLOWLOCATION, 0L);  // never: a redirect is the caller's error to see
  set(CURLOPT_SSL_VERIFYPEER, 1L);  // never turned off
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) set(CURLOPT_CAINFO, options_.ca_file.c_str());
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_VERBOSE, 0L);  // the trace would hold the secret body
  set(CURLOPT_USERAGENT, "bulwark-oidc");
  set(CURLOPT_HTTPHEADER, headers.get());
  set(CURLOPT_WRITEFUNCTION, &Write);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&sink));
  if (request.post) {
    // Not copied by libcurl: the wiped buffer stays the only copy.
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.form_body.size()));
    set(CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(request.form_body.reveal_span().data()));
  }
  if (rc != CURLE_OK) {
    log::Error("sso.idp_fetch_config_failed",
               {{"host", host}, {"curl_error", curl_easy_strerror(rc)}});
    return Status::Internal("the provider request could not be configured");
  }

  rc = curl_easy_perform(h);
  if (sink.overflow) {
    log::Warn("sso.idp_response_too_large", {{"host", host}});
    return Status::Unavailable(
        "idp_error", "the identity provider " + host + " sent a response larger than allowed");
  }
  if (rc != CURLE_OK) {
    log::Warn("sso.idp_unreachable", {{"host", host}, {"curl_error", curl_easy_strerror(rc)}});
    return Status::Unavailable("idp_unreachable",
                               "the identity provider " + host + " could not be reached");
  }
  HttpResponse out;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  out.body = std::move(sink.body);
  return out;
}

}  // namespace bulwark::sso
