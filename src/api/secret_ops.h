#pragma once
// The secret operations both API surfaces share (secret_routes.cc: native; vault_routes.cc: Vault
// KV v2), as route adapters over secrets::SecretService (secrets/secret_service.h, which checks
// path policies and says what is recorded): each one answers 503 secrets_unavailable when the
// vault is not wired, calls the service for the request's principal and copies what is to be
// recorded onto the request. A change is committed with its record in one transaction
// (CommitRecorded); a read's record is written by the audit stage before the value leaves.
#include <boost/json/object.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/secret_routes.h"
#include "secrets/secret_service.h"
#include "secrets/vault.h"

namespace bulwark::api::secret_ops {

using secrets::kMaxVersionNumber;

// 503 secrets_unavailable when the secret service is not wired.
Status Ready(const SecretRouteDeps& d);

// "secret:prod/db" (secrets/secret_service.h).
using secrets::SecretResource;

StatusOr<secrets::SecretValue> Read(const SecretRouteDeps& d, http::RequestContext& ctx,
                                    std::string_view path, std::optional<std::int64_t> version);
StatusOr<secrets::VersionInfo> Write(const SecretRouteDeps& d, http::RequestContext& ctx,
                                     std::string_view path, std::string_view json_object,
                                     std::optional<std::int64_t> cas);

using secrets::VersionAction;
// Applies `action` to the versions named: at least one, else 400 invalid_versions (an empty
// list never means "the current version").
Status ChangeVersions(const SecretRouteDeps& d, http::RequestContext& ctx, std::string_view path,
                      VersionAction action, const std::vector<std::int64_t>& versions);
// Soft-deletes the current version: Vault's DELETE .../data/{path}, the native DELETE without
// ?versions=.
Status SoftDeleteCurrent(const SecretRouteDeps& d, http::RequestContext& ctx,
                         std::string_view path);
Status DeleteAll(const SecretRouteDeps& d, http::RequestContext& ctx, std::string_view path);

StatusOr<secrets::SecretMetadata> Metadata(const SecretRouteDeps& d, http::RequestContext& ctx,
                                           std::string_view path);
Status UpdateMetadata(const SecretRouteDeps& d, http::RequestContext& ctx, std::string_view path,
                      const secrets::MetadataUpdate& update);

// Names under `prefix` ("" or a folder, "dev" or "dev/"), relative to it: the next level ("db/" for
// a folder) or, when `recursive`, every path below. Only what the caller may see; sorted.
StatusOr<std::vector<std::string>> List(const SecretRouteDeps& d, http::RequestContext& ctx,
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
  RouteFn<SecretRouteDeps> handler;
  bool reads_only = false;    // http::RouteSpec::reads_only
  bool accepts_list = false;  // http::RouteSpec::accepts_list
  // http::RouteSpec::mfa_step_up: destroying versions for good is high-impact. A session must
  // have verified a second factor within 5 minutes; an API key never can (403 mfa_required).
  bool mfa_step_up = false;
};
// Every route: a session or API key, tenant-scoped, recorded under `action`.
// `surface`: the Vault routes' (http::Surface::kVault) or the API's.
Status AddRouteTable(http::Router& router, const SecretRouteDeps& deps,
                     std::span<const RouteDef> defs, http::Surface surface = http::Surface::kApi);

// Parses a version list "1,2,3": each 1..2^53, at least one (an empty list is invalid_versions).
StatusOr<std::vector<std::int64_t>> ParseVersions(std::string_view comma_separated);

}  // namespace bulwark::api::secret_ops
