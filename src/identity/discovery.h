#pragma once
// What a resource server needs to check Bulwark's access tokens, from the issuer URL alone.
//
// The issuer ("iss") is server.public_url normalised: scheme and host lower-cased, trailing
// slashes dropped, so "HTTPS://Bulwark.Example/" and "https://bulwark.example" name the same
// issuer. In dev mode without a public URL it is "http://" + the address the server is bound to
// ("http://127.0.0.1:8420", the real port when the listen port is 0). The audiences ("aud") are
// auth.access_token_audiences, or the issuer alone when that list is empty.
//
// Two public documents, served at the server's root, describe it (OpenID Connect Discovery 1.0
// section 3 and RFC 8414 section 2): both name the issuer, the JWKS and the algorithm, and only
// what is true of Bulwark (it has no authorization or token endpoint for third-party clients,
// so none is listed):
//   {"issuer":"https://bulwark.example",
//    "jwks_uri":"https://bulwark.example/.well-known/jwks.json",
//    "id_token_signing_alg_values_supported":["EdDSA"],
//    "access_token_signing_alg_values_supported":["EdDSA"],
//    "subject_types_supported":["public"],
//    "claims_supported":["iss","sub","aud","client_id","iat","nbf","exp","jti","tid","sid","sv"]}
//
//   BULWARK_ASSIGN_OR_RETURN(std::string iss, identity::NormalizeIssuer(config.public_url));
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::identity {

// The issuer named by `public_url` (an http:// or https:// URL). kInvalidArgument
// ("invalid_public_url") for another scheme, an empty host, or a URL with user info, a query or
// a fragment (an issuer has none: OpenID Connect Discovery 1.0 section 3, RFC 8414 section 2).
StatusOr<std::string> NormalizeIssuer(std::string_view public_url);

// The dev issuer for a server bound to `bound_address` ("127.0.0.1:8420", "[::1]:8420").
std::string DevIssuer(std::string_view bound_address);

// The documents served at /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server (the same members: each is valid as either).
std::string DiscoveryDocumentJson(std::string_view issuer);

}  // namespace bulwark::identity
