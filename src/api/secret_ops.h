#pragma once
// The secret operations both API surfaces share (secret_routes.cc: native; vault_routes.cc: Vault
// KV v2). Each one, in this order:
//   1. validates the path (secrets/path.h) before anything else sees it;
//   2. asks the principal's path policies (policy::PathAccess) for the capability it needs —
//      the role verb was already checked by the authorizer; both must allow — else 403
//      `path_denied` (the same answer whether or not the path exists);
//   3. runs the vault inside one transaction and records it in the ledger: a change together
//      with its record (AuditWriter::CommitAmending); a read is recorded durably before the
//      value is returned, so no value leaves unrecorded. A version that fails its integrity
//      check is recorded as an error and raises alert.secret_integrity; the caller gets 500
//      integrity_error and never any plaintext.
// Every event recorded here has the resource "secret:<path>" and the route's audit action (a
// refusal before that, such as path_denied, is recorded by the pipeline with the request path).
//
// Capabilities: read data — read; write — create (new path) or update (existing); soft delete,
// destroy, delete everything — delete; undelete and metadata changes — update (lowering
// max_versions, which removes old versions, also delete); metadata read — read. LIST shows a
// path's name when the caller holds read or list on it (a folder when it holds that on some path
// below).
#include <boost/json/object.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/identity_routes.h"
#include "secrets/vault.h"

namespace bulwark::api::secret_ops {

// The largest version number accepted anywhere (JSON clients count in doubles).
inline constexpr std::int64_t kMaxVersionNumber = std::int64_t{1} << 53;

// 503 secrets_unavailable when the vault is not wired.
Status Ready(const IdentityRouteDeps& d);

// The audit resource naming a secret path, or a listed prefix: "secret:prod/db". Records of both
// surfaces name secrets alike, so a SIEM query for one path finds every record of it.
std::string SecretResource(std::string_view path);

StatusOr<secrets::SecretValue> Read(const IdentityRouteDeps& d, http::RequestContext& ctx,
                                    std::string_view path, std::optional<std::int64_t> version);
StatusOr<secrets::VersionInfo> Write(const IdentityRouteDeps& d, http::RequestContext& ctx,
                                     std::string_view path, std::string_view json_object,
                                     std::optional<std::int64_t> cas);

enum class VersionAction { kSoftDelete, kUndelete, kDestroy };
// Applies `action` to the versions named: at least one, else 400 invalid_versions (an empty
// list never means "the current version").
Status ChangeVersions(const IdentityRouteDeps& d, http::RequestContext& ctx, std::string_view path,
                      VersionAction action, const std::vector<std::int64_t>& versions);
// Soft-deletes the current version: Vault's DELETE .../data/{path}, the native DELETE without
// ?versions=.
Status SoftDeleteCurrent(const IdentityRouteDeps& d, http::RequestContext& ctx,
                         std::string_view path);
Status DeleteAll(const IdentityRouteDeps& d, http::RequestContext& ctx, std::string_view path);

StatusOr<secrets::SecretMetadata> Metadata(const IdentityRouteDeps& d, http::RequestContext& ctx,
                                           std::string_view path);
Status UpdateMetadata(const IdentityRouteDeps& d, http::RequestContext& ctx, std::string_view path,
                      const secrets::MetadataUpdate& update);

// Names under `prefix` ("" or a folder, "dev" or "dev/"), relative to it: the next level ("db/" for
// a folder) or, when `recursive`, every path below. Only what the caller may see; sorted.
StatusOr<std::vector<std::string>> List(const IdentityRouteDeps& d, http::RequestContext& ctx,
                                        std::string_view prefix, bool recursive);

// A metadata update from a body's members (max_versions, cas_required, custom_metadata); other
// members are refused (400 invalid_body) unless listed in `ignored`.
StatusOr<secrets::MetadataUpdate> ParseMetadataUpdate(
    const boost::json::object& o, std::initializer_list<std::string_view> ignored);

// The request's JSON body as an object, else 400 invalid_body.
StatusOr<const boost::json::object*> BodyObject(const http::RequestContext& ctx);

// The request body's "data" member, the secret value, as the text to store: compact, every
// number exactly as the client wrote it (12345678901234567890123 is not read back as
// 1.2345678901234568E22, nor 1e400 as infinity), as Vault keeps them. Call after checking that
// the parsed body's "data" is an object.
StatusOr<std::string> ValueText(const http::RequestContext& ctx);

// {"versions": [1, 2]} (the member optional; nothing else allowed): each version 1..2^63, at most
// 1000. kInvalidArgument "invalid_body" / "invalid_versions".
StatusOr<std::vector<std::int64_t>> VersionsBody(const boost::json::value& body);

// What a route's request body is, which sets its size limit (AddRouteTable).
enum class Body {
  kNone,      // no body
  kSmall,     // a small JSON body: versions, options (16 KiB)
  kValue,     // a JSON body carrying a secret value: the value limit plus 16 KiB
  kMetadata,  // a JSON body that may carry custom metadata at every limit the vault sets
};

// One route of either secrets surface; both register theirs through AddRouteTable.
struct RouteDef {
  http::Verb method;
  const char* pattern;
  const char* permission;
  Body body;
  const char* action;
  const char* summary;
  IdentityHandlerFn handler;
  bool reads_only = false;    // http::RouteSpec::reads_only
  bool accepts_list = false;  // http::RouteSpec::accepts_list
  // http::RouteSpec::mfa_step_up: destroying versions for good is high-impact. A session must
  // have verified a second factor within 5 minutes; an API key never can (403 mfa_required).
  bool mfa_step_up = false;
};
// Every route: a session or API key, tenant-scoped, recorded under `action`.
// `surface`: the Vault routes' (http::Surface::kVault) or the API's.
Status AddRouteTable(http::Router& router, const IdentityRouteDeps& deps,
                     std::span<const RouteDef> defs, http::Surface surface = http::Surface::kApi);

// Parses a version list "1,2,3": each 1..2^53, at least one (an empty list is invalid_versions).
StatusOr<std::vector<std::int64_t>> ParseVersions(std::string_view comma_separated);

}  // namespace bulwark::api::secret_ops
