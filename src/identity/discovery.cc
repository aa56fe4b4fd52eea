#include "identity/discovery.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/ascii.h"
#include "identity/jwt.h"

namespace bulwark::identity {
namespace {

Status InvalidPublicUrl(std::string message) {
  return Status::InvalidArgument("invalid_public_url", std::move(message));
}

}  // namespace

StatusOr<std::string> NormalizeIssuer(std::string_view public_url) {
  const std::size_t sep = public_url.find("://");
  if (sep == std::string_view::npos) return InvalidPublicUrl("must be an http(s):// URL");
  const std::string scheme = core::AsciiLower(public_url.substr(0, sep));
  if (scheme != "https" && scheme != "http") return InvalidPublicUrl("must be an http(s):// URL");
  std::string_view rest = public_url.substr(sep + 3);
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return InvalidPublicUrl("must have no user info, query or fragment");
  }
  for (char c : rest) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return InvalidPublicUrl("must be printable ASCII without spaces");
  }
  const std::size_t slash = rest.find('/');
  const std::string_view host = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (host.empty() || host.front() == ':') return InvalidPublicUrl("must name a host");
  return scheme + "://" + core::AsciiLower(host) + std::string(path);
}

std::string DevIssuer(std::string_view bound_address) {
  return "http://" + std::string(bound_address);
}

std::string DiscoveryDocumentJson(std::string_view issuer) {
  namespace json = boost::json;
  const json::array algorithms{json::string(kJwtAlgorithm)};
  json::object doc;
  doc["issuer"] = issuer;
  doc["jwks_uri"] = std::string(issuer) + "/.well-known/jwks.json";
  // OpenID Connect Discovery requires this member; every JWT Bulwark signs uses this algorithm.
  doc["id_token_signing_alg_values_supported"] = algorithms;
  // Not a registered name: the same statement for the access tokens (RFC 9068), for verifiers
  // that look for it.
  doc["access_token_signing_alg_values_supported"] = algorithms;
  // "sub" is the user id, the same for every audience.
  doc["subject_types_supported"] = json::array{"public"};
  doc["claims_supported"] =
      json::array{"iss", "sub", "aud", "client_id", "iat", "nbf", "exp", "jti", "tid", "sid", "sv"};
  return json::serialize(doc);
}

}  // namespace bulwark::identity
