#pragma once
// The types every request stage and handler share.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cidr.h"
#include "core/detail_value.h"
#include "core/principal.h"
#include "core/status.h"

namespace bulwark::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Verb = bhttp::verb;

// A response ready to be written. The pipeline fills it; SerializeTo writes the HTTP/1.1 bytes
// in one pass into a buffer the connection reuses, so a response costs no per-header allocation.
struct Response {
  unsigned status = 200;
  unsigned version = 11;               // 10 or 11, as the request
  bool keep_alive = true;
  bool head = false;                   // HEAD: Content-Length of the body, no body bytes
  std::string_view fixed_headers;      // static "Name: value\r\n" lines (security headers)
  std::string_view content_type = "application/json; charset=utf-8";  // always a static string
  std::string request_id;
  std::vector<std::pair<std::string, std::string>> headers;  // further headers
  std::string body;

  // Appends the status line, headers and body to `out`. CR and LF are dropped from header
  // names and values, so no value can split the response.
  void SerializeTo(std::string& out) const;
};

// What a route requires of its caller. Every route must declare one; kUndeclared exists only so
// that forgetting it is detected (the router refuses the route and the server does not start).
enum class AuthDecision {
  kUndeclared,
  kPublic,    // anyone
  kSession,   // a user session (access token or browser cookie)
  kApiKey,    // an API key
  kEither,    // a session or an API key
  kInternal,  // operators only: an allowlisted network or the operator token; 404 to others
  // A tenant's SCIM provisioning token (`Authorization: Bearer bwscim_...`): the tenant is the
  // token's, never the request's. Only routes of Surface::kScim declare it.
  kScim,
};
std::string_view AuthDecisionName(AuthDecision d);

// The surface a route belongs to, set by the route's registration (docs/design.md "The request
// pipeline"). kVault, the Vault-compatible surface, changes how the pipeline treats it: errors
// as Vault answers them (errors.h VaultErrorBody), a body read as JSON whatever its
// Content-Type (an empty one as {}), X-Vault-Token taken as a credential, X-Vault-Wrap-TTL
// refused. kScim, the SCIM 2.0 surface (/scim/v2/), answers errors in SCIM's shape (errors.h
// ScimErrorBody, application/scim+json) and reads bodies sent as application/scim+json or
// application/json. Before a route is known (LIST and a trailing '/', a 404 or 405), the path
// prefix the surface is mounted at decides (Router::MountSurface).
enum class Surface { kApi, kVault, kScim };

enum class BodyKind {
  kNone,  // a body is refused
  kJson,  // application/json, UTF-8, parsed before the handler runs
  // application/x-www-form-urlencoded (what OpenID back-channel logout posts), parsed strictly
  // (http/query.h ParseQuery) into RequestContext::form before the handler runs.
  kForm,
};

using PathParams = std::vector<std::pair<std::string, std::string>>;

struct RequestContext;

// What a handler produces on success. Errors are a Status (mapped to HTTP in errors.cc).
struct Reply {
  unsigned status = 200;
  std::string body;  // JSON unless content_type says otherwise
  // A string literal (static storage): content types are fixed per route, never built per request.
  std::string_view content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = std::function<StatusOr<Reply>(RequestContext&)>;

struct RouteSpec {
  Verb method = Verb::unknown;
  std::string pattern;  // "/api/v1/tenants/{id}"; a final "{name*}" takes the rest of the path
  AuthDecision auth = AuthDecision::kUndeclared;
  std::string permission;         // permission verb the authorize stage checks; empty: none
  bool tenant_scoped = false;     // the tenant guard applies
  bool mfa_step_up = false;       // high-impact: recent MFA required
  BodyKind body = BodyKind::kNone;
  std::size_t max_body_bytes = 0;  // 0: the server default
  bool public_cache = false;       // true: Cache-Control may allow caching (else no-store)
  // Every request to this route is recorded under this action ("secret.read"). Empty: only
  // refusals (401, 403, 429, an operator route's 404) and failures are recorded.
  std::string audit_action;
  // Runs on the io thread instead of the worker pool: only for public routes that record
  // nothing and touch no store (the router refuses anything else), e.g. /livez.
  bool inline_io = false;
  // The handler only reads: it neither changes the store nor waits on the audit writer (its
  // record, if any, is written by stage 8, which waits without holding a thread). Where reads
  // are local (SQLite), such routes run on the io thread, e.g. reading a secret.
  bool reads_only = false;
  Surface surface = Surface::kApi;
  // A Vault-surface GET route that Vault clients also reach with the LIST method (routed here as
  // GET, RequestContext::vault_list). LIST on any other route is 405, as in Vault.
  bool accepts_list = false;
  // An HTML page with its own same-origin script (the dev sign-in page): its successful
  // responses carry kPageCsp, which allows 'self' scripts and requests, instead of the API's
  // default-src 'none'. Every other header is the same.
  bool page = false;
  std::string summary;             // one line for docs/openapi.yaml
  Handler handler;
};

struct Route : RouteSpec {
  std::size_t index = 0;  // dense id for metrics
  std::string label;      // "GET /livez"
};

// Everything the stages learn about one request, in order.
struct RequestContext {
  const Request& req;
  std::chrono::steady_clock::time_point start;
  std::string request_id;
  core::IpAddress peer;
  core::IpAddress client;  // the peer, or the forwarded client when the peer is a trusted proxy
  bool via_trusted_proxy = false;  // the peer is one of server.trusted_proxies
  bool tls = false;
  std::string_view path;
  std::string_view query;
  const Route* route = nullptr;
  PathParams params;
  core::Principal principal;
  // The authenticate stage established who is asking (a key, a session, an operator): not an
  // anonymous request to a public route, nor one whose credential was refused.
  bool authenticated = false;
  boost::json::value json;  // the parsed body when route->body == kJson
  std::vector<std::pair<std::string, std::string>> form;  // the fields when route->body == kForm
  // The Vault-compatible surface's LIST (the LIST method, routed as GET without the path's
  // trailing '/'); a handler also accepts GET with ?list=true.
  bool vault_list = false;
  // Set by a handler that recorded the request itself (with its change, in one transaction).
  bool audited = false;
  // What a handler adds to the record stage 8 writes for it: the resource it acted on (e.g.
  // "secret:prod/db", in place of the method and path), details (the version read), and the
  // name of an alert raised with the record ("secret_integrity"). Plain values: the audit stage
  // (stages/ledger_audit_stage.h) turns them into its record.
  std::string audit_resource;
  // The reason recorded for an answer a handler gives without an error Status (a Vault-surface
  // 404 for a deleted version, which carries that version's metadata): a stable code, a string
  // literal.
  std::string_view audit_reason;
  std::vector<std::pair<std::string, core::DetailValue>> audit_details;
  std::string_view audit_alert;
  // Headers a stage adds to the response whatever the outcome (e.g. Retry-After).
  std::vector<std::pair<std::string, std::string>> extra_headers;

  // The value of path parameter `name`, or empty.
  std::string_view param(std::string_view name) const;
};

}  // namespace bulwark::http
