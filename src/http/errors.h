#pragma once
// The one place where a Status becomes an HTTP status and a JSON error body.
//   {"error":{"code":"tenant_mismatch","message":"...","request_id":"..."}}
//
// Domain code names conditions (core::ErrorCode); the conditions only the transport meets
// (TransportError) are made here, by TransportStatus, and mapped here too. All functions are
// pure and thread-safe.
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::http {

// Conditions only the HTTP transport meets, with no meaning to domain code. Each is a 4xx of
// its own (421, 431) with a fixed reason; as a Status it is kInvalidArgument with that reason,
// which only TransportStatus produces.
enum class TransportError {
  kMisdirected,      // 421 "misdirected_request": the request named a host not served here
  kHeadersTooLarge,  // 431 "headers_too_large": the request header exceeds the limit
};
Status TransportStatus(TransportError error, std::string message);

// The HTTP status of a Status: its transport error's, else its code's.
unsigned HttpStatusFor(const Status& status);
unsigned HttpStatusFor(ErrorCode code);
std::string ErrorBody(const Status& status, std::string_view request_id);

// The Vault-compatible surface (routes of Surface::kVault, types.h) answers errors as Vault
// does, so Vault clients raise their usual exceptions: {"errors":["<code>: <message>"]}, a
// missing or bad token is 403, and a check-and-set conflict is 400.
unsigned VaultHttpStatusFor(const Status& status);
std::string VaultErrorBody(const Status& status);

// The SCIM surface (routes of Surface::kScim) answers errors as RFC 7644 section 3.12 says:
//   {"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400",
//    "scimType":"invalidFilter","detail":"invalid_filter: ..."}
// with the HTTP status of HttpStatusFor. scimType comes from the reason (invalid_filter,
// invalid_syntax, invalid_path, invalid_value, no_target, mutability, uniqueness, too_many,
// sensitive; any other 400 is invalidSyntax; other statuses carry none); the detail starts with
// the reason, the stable code clients and tests match on.
inline constexpr std::string_view kScimContentType = "application/scim+json; charset=utf-8";
std::string ScimErrorBody(const Status& status);

}  // namespace bulwark::http
