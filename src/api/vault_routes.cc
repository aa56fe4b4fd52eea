// The Vault KV v2-compatible surface, so existing Vault clients work unchanged:
//   GET|POST|PUT|DELETE /v1/secret/data/{path}      read (?version=N), write, soft-delete latest
//   POST|PUT /v1/secret/{delete|undelete|destroy}/{path}   {"versions": [...]}
//   GET /v1/secret/metadata/{path}                  metadata; LIST (or ?list=true): keys
//   POST|PUT|DELETE /v1/secret/metadata/{path}      settings; delete everything
//   GET /v1/sys/health, GET /v1/auth/token/lookup-self
// The token is X-Vault-Token (an API key or an access token, stages/authenticate_stage.cc), the
// tenant is the credential's (X-Vault-Namespace, when sent, must name it), errors take Vault's
// shape (http/errors.h). Replies carry Vault's envelope. The one mount is "secret"; any other is
// 404 unknown_mount. Same checks and records as the native API: both call secret_ops.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <algorithm>
#include <boost/algorithm/string/predicate.hpp>
#include <chrono>

#include "api/secret_routes.h"
#include "api/recorded_commit.h"
#include "api/secret_ops.h"
#include "api/vault_envelope.h"
#include "core/json_merge_patch.h"
#include "core/build_info.h"
#include "core/clock.h"
#include "core/go_duration.h"
#include "stages/ledger_audit_stage.h"
#include "http/query.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

std::string VaultTime(std::int64_t unix_seconds) {
  return core::FormatIso8601Micros(
      std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)));
}

std::string Envelope(const RequestContext& ctx, std::string_view data) {
  return VaultEnvelope(ctx, data);
}

json::value CustomMetadata(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object() || v.as_object().empty()) return nullptr;
  return v;
}

json::object VersionMetadata(const secrets::VersionInfo& v, const json::value& custom) {
  return json::object{{"created_time", VaultTime(v.created_at)},
                      {"custom_metadata", custom},
                      {"deletion_time", v.deleted_at ? VaultTime(*v.deleted_at) : ""},
                      {"destroyed", v.destroyed},
                      {"version", v.version}};
}

// Vault answers a read of a deleted or destroyed version with 404 and that version's metadata,
// no value (hvac's raise_on_deleted_version=False returns it); anything else not found is
// `not_found` as it was.
StatusOr<Reply> DeletedVersion(const SecretRouteDeps& d, RequestContext& ctx,
                               std::optional<std::int64_t> version, const Status& not_found) {
  auto m = secret_ops::Metadata(d, ctx, ctx.param("path"));
  if (!m.ok()) return not_found;
  const std::int64_t wanted = version.value_or(m->current_version);
  for (const secrets::VersionInfo& v : m->versions) {
    if (v.version != wanted || (!v.deleted_at && !v.destroyed)) continue;
    std::string data = "{\"data\":null,\"metadata\":";
    data += json::serialize(VersionMetadata(v, nullptr));
    data += '}';
    ctx.audit_resource = secret_ops::SecretResource(ctx.param("path"));
    ctx.audit_reason = v.destroyed ? "version_destroyed" : "version_deleted";
    ctx.audit_details.emplace_back("version", v.version);
    return Reply{.status = 404, .body = Envelope(ctx, data)};
  }
  return not_found;
}

// ?version=N: one positive integer; absent or 0 is the current version (as Vault reads it).
StatusOr<std::optional<std::int64_t>> VersionParam(const http::QueryParams& q) {
  const auto v = http::QueryValue(q, "version");
  if (v.empty() || v == "0") return std::optional<std::int64_t>();
  BULWARK_ASSIGN_OR_RETURN(auto parsed, secret_ops::ParseVersions(v));
  if (parsed.size() != 1)
    return Status::InvalidArgument("invalid_versions", "version is one positive integer");
  return std::optional<std::int64_t>(parsed[0]);
}

StatusOr<Reply> ReadData(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"version"}));
  BULWARK_ASSIGN_OR_RETURN(const std::optional<std::int64_t> version, VersionParam(q));
  auto value = secret_ops::Read(d, ctx, ctx.param("path"), version);
  if (!value.ok()) {
    if (value.status().code() != ErrorCode::kNotFound) return value.status();
    return DeletedVersion(d, ctx, version, value.status());
  }
  std::string data = "{\"data\":";
  const auto bytes = value->data.reveal_span();
  data.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  data += ",\"metadata\":";
  data += json::serialize(VersionMetadata(value->version, nullptr));
  data += '}';
  return Reply{.body = Envelope(ctx, data)};
}

// The "options" of a KV v2 write or patch body: only "cas" (an integer).
StatusOr<std::optional<std::int64_t>> WriteOptions(const json::object& body) {
  std::optional<std::int64_t> cas;
  for (const auto& kv : body) {
    if (kv.key() == "data") continue;
    if (kv.key() != "options") {
      return Status::InvalidArgument("invalid_body",
                                     "unknown member \"" + std::string(kv.key()) + "\"");
    }
    const json::object* opts = kv.value().if_object();
    if (opts == nullptr) return Status::InvalidArgument("invalid_body", "options is an object");
    for (const auto& opt : *opts) {
      if (opt.key() != "cas") {
        return Status::InvalidArgument("invalid_body",
                                       "unknown option \"" + std::string(opt.key()) + "\"");
      }
      if (!opt.value().is_int64())
        return Status::InvalidArgument("invalid_cas", "cas is an integer");
      cas = opt.value().as_int64();
    }
  }
  return cas;
}

StatusOr<Reply> WriteData(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(const json::object* o, secret_ops::BodyObject(ctx));
  BULWARK_ASSIGN_OR_RETURN(const std::optional<std::int64_t> cas, WriteOptions(*o));
  const json::value* data = o->if_contains("data");
  if (data == nullptr || !data->is_object()) {
    return Status::InvalidArgument("invalid_value", "no data provided: \"data\" is a JSON object");
  }
  BULWARK_ASSIGN_OR_RETURN(const std::string value, secret_ops::ValueText(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto v, secret_ops::Write(d, ctx, ctx.param("path"), value, cas));
  return Reply{.body = Envelope(ctx, json::serialize(VersionMetadata(v, nullptr)))};
}

// PATCH .../data/{path} (vault kv patch, node-vault's update): the body's "data" applied to the
// current version as a JSON Merge Patch (RFC 7396), written as a new version. As in Vault the
// request is application/merge-patch+json (else 415), the secret must exist (404), and options.cas
// is honoured (required when the secret's cas_required is set). Without cas the write is still
// made against the version read, so a concurrent write fails it (cas_mismatch) instead of being
// lost. Needs read and update on the path.
StatusOr<Reply> PatchData(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  {
    std::string_view ct = ctx.req[http::bhttp::field::content_type];
    ct = ct.substr(0, ct.find(';'));
    while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
    if (!boost::iequals(ct, "application/merge-patch+json")) {
      return Status(ErrorCode::kUnsupportedMedia, "unsupported_media_type",
                    "PATCH takes application/merge-patch+json");
    }
  }
  BULWARK_ASSIGN_OR_RETURN(const json::object* o, secret_ops::BodyObject(ctx));
  BULWARK_ASSIGN_OR_RETURN(const std::optional<std::int64_t> cas, WriteOptions(*o));
  const json::value* patch = o->if_contains("data");
  if (patch == nullptr || !patch->is_object()) {
    return Status::InvalidArgument("invalid_value", "no data provided: \"data\" is a JSON object");
  }
  BULWARK_ASSIGN_OR_RETURN(auto meta, secret_ops::Metadata(d, ctx, ctx.param("path")));
  if (meta.cas_required && !cas) {
    return Status::InvalidArgument("cas_required",
                                   "check-and-set parameter required for this call");
  }
  BULWARK_ASSIGN_OR_RETURN(auto current, secret_ops::Read(d, ctx, ctx.param("path"), std::nullopt));
  if (cas && *cas != current.version.version) {
    return Status(ErrorCode::kConflict, "cas_mismatch",
                  "check-and-set parameter did not match the current version");
  }
  // Merged as text, so every number stays exactly as it was written (as a write keeps them).
  BULWARK_ASSIGN_OR_RETURN(const std::string patch_text, secret_ops::ValueText(ctx));
  const auto bytes = current.data.reveal_span();
  const std::optional<std::string> merged = core::MergePatchText(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), patch_text);
  if (!merged) return Status::Internal("a stored secret value is not JSON");
  ctx.audit_details.clear();  // the write's record names the version written
  BULWARK_ASSIGN_OR_RETURN(auto v, secret_ops::Write(d, ctx, ctx.param("path"), *merged,
                                                     current.version.version));
  return Reply{.body = Envelope(ctx, json::serialize(VersionMetadata(v, nullptr)))};
}

// The value's structure with every leaf replaced by null, `depth` levels deep (0: all).
json::value Subkeys(const json::value& v, std::int64_t depth, std::int64_t level) {
  const json::object* o = v.if_object();
  if (o == nullptr || (depth != 0 && level >= depth)) return nullptr;
  json::object out;
  for (const auto& kv : *o) out[kv.key()] = Subkeys(kv.value(), depth, level + 1);
  return out;
}

// GET .../subkeys/{path}?depth=N&version=N: the secret's keys without its values (Vault 1.10+).
// The value is read (and recorded as read) to compute them, so it needs read on the path.
StatusOr<Reply> ReadSubkeys(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"version", "depth"}));
  BULWARK_ASSIGN_OR_RETURN(const std::optional<std::int64_t> version, VersionParam(q));
  std::int64_t depth = 0;
  if (const auto v = http::QueryValue(q, "depth"); !v.empty()) {
    if (v.size() > 4 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return Status::InvalidArgument("invalid_query", "depth is a non-negative integer");
    depth = std::stoll(std::string(v));
  }
  auto value = secret_ops::Read(d, ctx, ctx.param("path"), version);
  if (!value.ok()) {
    if (value.status().code() != ErrorCode::kNotFound) return value.status();
    return DeletedVersion(d, ctx, version, value.status());
  }
  const auto bytes = value->data.reveal_span();
  boost::system::error_code ec;
  const json::value parsed =
      json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), ec);
  if (ec) return Status::Internal("a stored secret value is not JSON");
  json::object data{{"subkeys", Subkeys(parsed, depth, 0)},
                    {"metadata", VersionMetadata(value->version, nullptr)}};
  return Reply{.body = Envelope(ctx, json::serialize(data))};
}

// Vault answers a delete of a secret that does not exist as it answers one that does, 204, so
// that a delete never tells whether a path held a secret (and a client may repeat one). The
// caller already holds delete there; the record says nothing was found.
StatusOr<Reply> DeletedEitherWay(RequestContext& ctx, const Status& deleted) {
  if (deleted.code() == ErrorCode::kNotFound && deleted.reason() == "secret_not_found") {
    ctx.audit_resource = secret_ops::SecretResource(ctx.param("path"));
    ctx.audit_details.emplace_back("found", false);
  } else {
    BULWARK_RETURN_IF_ERROR(deleted);
  }
  return Reply{.status = 204};
}

StatusOr<Reply> DeleteLatest(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  return DeletedEitherWay(ctx, secret_ops::SoftDeleteCurrent(d, ctx, ctx.param("path")));
}

StatusOr<Reply> ChangeVersions(const SecretRouteDeps& d, RequestContext& ctx,
                               secret_ops::VersionAction action) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto versions, secret_ops::VersionsBody(ctx.json));
  if (versions.empty()) {  // before ChangeVersions' own check: Vault's words for it
    return Status::InvalidArgument("invalid_versions", "no version number provided");
  }
  BULWARK_RETURN_IF_ERROR(secret_ops::ChangeVersions(d, ctx, ctx.param("path"), action, versions));
  return Reply{.status = 204};
}

StatusOr<Reply> ListKeys(const SecretRouteDeps& d, RequestContext& ctx, std::string_view path) {
  const std::string prefix = path.empty() ? std::string() : std::string(path) + "/";
  BULWARK_ASSIGN_OR_RETURN(auto keys, secret_ops::List(d, ctx, prefix, false));
  // Vault answers an empty listing with 404; recorded as what it is.
  const Status outcome =
      keys.empty() ? Status::NotFound("secret_not_found", "nothing to list here") : Status::Ok();
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, keys.empty() ? 404 : 200, outcome);
  e.action = "secret.list";
  e.resource = secret_ops::SecretResource(prefix);
  BULWARK_RETURN_IF_ERROR(RecordNow(*d.writer, ctx, std::move(e)));
  if (!outcome.ok()) return outcome;
  json::array a;
  for (auto& k : keys) a.emplace_back(k);
  return Reply{.body = Envelope(ctx, json::serialize(json::object{{"keys", std::move(a)}}))};
}

// A boolean as Vault reads one (Go's strconv.ParseBool): hvac's Client.list() sends "True",
// node-vault "1", the Go client "true"; anything else is 400, as in Vault.
StatusOr<bool> VaultBool(std::string_view name, std::string_view v) {
  for (std::string_view t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (v == f) return false;
  }
  return Status::InvalidArgument("invalid_query",
                                 std::string(name) + " is a boolean (true, false, 1, 0)");
}

// Whether the request lists: the LIST method, or GET with ?list= true (or True, 1, ...).
StatusOr<bool> IsList(const RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"list"}));
  bool list = ctx.vault_list;
  if (http::QueryHas(q, "list")) {
    BULWARK_ASSIGN_OR_RETURN(const bool asked, VaultBool("list", http::QueryValue(q, "list")));
    list = list || asked;
  }
  return list;
}

StatusOr<Reply> ReadMetadata(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(const bool list, IsList(ctx));
  if (list) return ListKeys(d, ctx, ctx.param("path"));
  BULWARK_ASSIGN_OR_RETURN(auto m, secret_ops::Metadata(d, ctx, ctx.param("path")));
  const json::value custom = CustomMetadata(m.custom_metadata);
  json::object versions;
  for (const auto& v : m.versions) {
    json::object one = VersionMetadata(v, nullptr);
    one.erase("custom_metadata");
    one.erase("version");
    versions[std::to_string(v.version)] = std::move(one);
  }
  json::object data{
      {"cas_required", m.cas_required},       {"created_time", VaultTime(m.created_at)},
      {"current_version", m.current_version}, {"custom_metadata", custom},
      {"delete_version_after", core::FormatGoDuration(m.delete_version_after)},
      {"max_versions", m.max_versions},
      {"oldest_version", m.oldest_version},   {"updated_time", VaultTime(m.updated_at)},
      {"versions", std::move(versions)}};
  return Reply{.body = Envelope(ctx, json::serialize(data))};
}

StatusOr<Reply> ListRoot(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(const bool list, IsList(ctx));
  if (!list) return Status::NotFound("secret_not_found", "name a secret path");
  return ListKeys(d, ctx, "");
}

StatusOr<Reply> WriteMetadata(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(const json::object* o, secret_ops::BodyObject(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto update, secret_ops::ParseMetadataUpdate(*o, {}));
  BULWARK_RETURN_IF_ERROR(secret_ops::UpdateMetadata(d, ctx, ctx.param("path"), update));
  return Reply{.status = 204};
}

StatusOr<Reply> DeleteMetadata(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  return DeletedEitherWay(ctx, secret_ops::DeleteAll(d, ctx, ctx.param("path")));
}

// A KV v1 call (secret/foo, no data/ or metadata/) on the KV v2 mount: Vault answers such a path
// with 404 and says the engine is versioned; said here as the error, with the path to use.
// These routes are added last, so they also see a KV v2 path with a method it lacks (GET on
// delete/, PATCH on metadata/): that is the 405 it would be without them, with its Allow.
StatusOr<Reply> KvV1Call(const SecretRouteDeps&, RequestContext& ctx) {
  static constexpr std::pair<std::string_view, std::string_view> kV2Paths[] = {
      {"data", "DELETE, GET, HEAD, PATCH, POST, PUT"},
      {"metadata", "DELETE, GET, HEAD, POST, PUT"},
      {"delete", "POST, PUT"},
      {"undelete", "POST, PUT"},
      {"destroy", "POST, PUT"},
      {"subkeys", "GET, HEAD"},
      {"config", "GET, HEAD, POST"}};
  const std::string_view path = ctx.param("path");
  const std::string_view first = path.substr(0, path.find('/'));
  for (const auto& [word, allow] : kV2Paths) {
    if (first != word) continue;
    ctx.extra_headers.emplace_back("Allow", std::string(allow));
    return Status(ErrorCode::kMethodNotAllowed, "method_not_allowed",
                  ctx.vault_list ? "LIST is allowed only on metadata paths"
                                 : "method not allowed on this route");
  }
  std::string_view sub = ctx.req.method() == Verb::get ? (ctx.vault_list ? "list" : "get")
                         : ctx.req.method() == Verb::delete_ ? "delete"
                         : ctx.req.method() == Verb::patch   ? "patch"
                                                             : "put";
  return Status::NotFound(
      "kv_v2_mount",
      "Invalid path for a versioned K/V secrets engine: \"secret\" is a KV v2 mount, so a secret "
      "is at secret/data/<path> (its metadata and listing at secret/metadata/<path>). If using "
      "the Vault CLI, use 'vault kv " + std::string(sub) + "' for this operation.");
}

StatusOr<Reply> LookupSelf(const SecretRouteDeps& d, RequestContext& ctx) {
  const core::Principal& p = ctx.principal;
  const bool key = p.kind == core::Principal::Kind::kApiKey;
  std::vector<std::string> names;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(
        names, policy::path_policies::PolicyNamesFor(
                   *tx, p.tenant_id,
                   key ? policy::SubjectKind::kApiKey : policy::SubjectKind::kUser, p.id));
  }
  json::array policies;
  for (auto& n : names) policies.emplace_back(n);
  // Never the token itself: "id" and "accessor" are the credential's public id (an API key's id,
  // a session's id), which names it in the ledger and in revocation, and cannot be used as a
  // token (docs/vault-compatibility.md says why Vault's echo of the token is not copied).
  const std::string& public_id = key ? p.id : p.session_id;
  json::object data{
      {"accessor", public_id},
      {"creation_ttl", 0},
      {"display_name", (key ? "api_key-" : "user-") + p.id},
      {"entity_id", p.id},
      {"expire_time", nullptr},
      {"explicit_max_ttl", 0},
      {"id", public_id},
      {"issue_time", nullptr},
      {"meta", json::object{{"tenant_id", p.tenant_id}, {"auth_method", p.auth_method}}},
      {"num_uses", 0},
      {"orphan", true},
      {"path", key ? "auth/bulwark/api-key" : "auth/bulwark/session"},
      {"policies", std::move(policies)},
      {"renewable", false},
      {"ttl", 0},
      {"type", "service"}};
  return Reply{.body = Envelope(ctx, json::serialize(data))};
}

// auth/token/renew-self: no Bulwark credential is a renewable Vault token (an API key lives until
// it is revoked or expires as created, a session's access token is renewed by refreshing the
// session), so this answers as Vault does for a non-renewable token: 400 "lease is not renewable".
// lookup-self says renewable: false, which is what Vault Agent and the Go client's lifetime
// watcher read before they try.
StatusOr<Reply> RenewSelf(const SecretRouteDeps&, RequestContext& ctx) {
  if (const json::object* o = ctx.json.if_object()) {
    for (const auto& kv : *o) {
      if (kv.key() != "increment") {
        return Status::InvalidArgument("invalid_body",
                                       "unknown member \"" + std::string(kv.key()) + "\"");
      }
    }
  }
  return Status::InvalidArgument("lease_not_renewable",
                                 "lease is not renewable: Bulwark credentials are not renewable "
                                 "Vault tokens (an API key keeps the lifetime it was created with)");
}

// The status code a ?*code= parameter asks for, or `fallback`.
StatusOr<unsigned> HealthCode(const http::QueryParams& q, std::string_view name,
                              unsigned fallback) {
  if (!http::QueryHas(q, name)) return fallback;
  const std::string_view v = http::QueryValue(q, name);
  unsigned code = 0;
  if (v.size() != 3 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (code = static_cast<unsigned>(std::stoi(std::string(v)))) < 200 || code > 599 ||
      code == 304 || code == 401 || code == 407) {
    // 304 never carries a body (a proxy would read this one as the next response), and 401/407
    // ask a client or proxy for credentials: none of them is a health answer.
    return Status::InvalidArgument(
        "invalid_query", std::string(name) + " is an HTTP status code (200-599; not 304, 401 or 407)");
  }
  return code;
}

// Vault's health codes: this node is always initialized, unsealed and active, so activecode
// (default 200) answers; the others are checked (a bad one is 400, as in Vault) and accepted.
StatusOr<Reply> Health(RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(
      auto q, http::ParseQuery(ctx.query, {"standbyok", "perfstandbyok", "activecode",
                                           "standbycode", "drsecondarycode",
                                           "performancestandbycode", "sealedcode", "uninitcode",
                                           "haunhealthycode", "removedcode"}));
  for (std::string_view ok : {"standbyok", "perfstandbyok"}) {
    if (http::QueryHas(q, ok)) BULWARK_RETURN_IF_ERROR(VaultBool(ok, http::QueryValue(q, ok)).status());
  }
  for (std::string_view other : {"standbycode", "drsecondarycode", "performancestandbycode",
                                 "sealedcode", "uninitcode", "haunhealthycode", "removedcode"}) {
    BULWARK_RETURN_IF_ERROR(HealthCode(q, other, 200).status());
  }
  BULWARK_ASSIGN_OR_RETURN(const unsigned code, HealthCode(q, "activecode", 200));
  json::object o{{"initialized", true},
                 {"sealed", false},
                 {"standby", false},
                 {"performance_standby", false},
                 {"replication_performance_mode", "disabled"},
                 {"replication_dr_mode", "disabled"},
                 {"server_time_utc", core::NowUnixSeconds()},
                 {"version", std::string("bulwark-") + build::kVersion},
                 {"cluster_name", "bulwark"}};
  if (code == 204) return Reply{.status = 204};
  return Reply{.status = code, .body = json::serialize(o)};
}

}  // namespace

Status AddVaultRoutes(http::Router& router, SecretRouteDeps deps) {
  using H = RouteFn<SecretRouteDeps>;
  using A = secret_ops::VersionAction;
  using secret_ops::Body;
  const H del = [](const SecretRouteDeps& d, RequestContext& ctx) {
    return ChangeVersions(d, ctx, A::kSoftDelete);
  };
  const H undel = [](const SecretRouteDeps& d, RequestContext& ctx) {
    return ChangeVersions(d, ctx, A::kUndelete);
  };
  const H destroy = [](const SecretRouteDeps& d, RequestContext& ctx) {
    return ChangeVersions(d, ctx, A::kDestroy);
  };
  // Everything under /v1/ is the Vault-compatible surface, found or not.
  BULWARK_RETURN_IF_ERROR(router.MountSurface("/v1/", http::Surface::kVault));
  const secret_ops::RouteDef defs[] = {
      {Verb::get, "/v1/{mount}/data/{path*}", "secrets.read", Body::kNone, "secret.read",
       "Vault KV v2: read a secret (?version=N); recorded before the value leaves.", ReadData,
       /*reads_only=*/true},
      {Verb::post, "/v1/{mount}/data/{path*}", "secrets.write", Body::kValue, "secret.write",
       "Vault KV v2: write a version ({\"data\": {...}, \"options\": {\"cas\": N}}).", WriteData},
      {Verb::put, "/v1/{mount}/data/{path*}", "secrets.write", Body::kValue, "secret.write",
       "Vault KV v2: write a version (as POST).", WriteData},
      {Verb::patch, "/v1/{mount}/data/{path*}", "secrets.write", Body::kValue, "secret.write",
       "Vault KV v2: patch the latest version (application/merge-patch+json, RFC 7396; "
       "options.cas).",
       PatchData},
      {Verb::get, "/v1/{mount}/subkeys/{path*}", "secrets.read", Body::kNone, "secret.read",
       "Vault KV v2: a version's keys with every value null (?depth=N, ?version=N).", ReadSubkeys,
       /*reads_only=*/true},
      {Verb::delete_, "/v1/{mount}/data/{path*}", "secrets.write", Body::kNone, "secret.delete",
       "Vault KV v2: soft-delete the latest version.", DeleteLatest},
      {Verb::post, "/v1/{mount}/delete/{path*}", "secrets.write", Body::kSmall, "secret.delete",
       "Vault KV v2: soft-delete versions.", del},
      {Verb::put, "/v1/{mount}/delete/{path*}", "secrets.write", Body::kSmall, "secret.delete",
       "Vault KV v2: soft-delete versions (as POST).", del},
      {Verb::post, "/v1/{mount}/undelete/{path*}", "secrets.write", Body::kSmall, "secret.undelete",
       "Vault KV v2: restore soft-deleted versions.", undel},
      {Verb::put, "/v1/{mount}/undelete/{path*}", "secrets.write", Body::kSmall, "secret.undelete",
       "Vault KV v2: restore soft-deleted versions (as POST).", undel},
      {Verb::post, "/v1/{mount}/destroy/{path*}", "secrets.write", Body::kSmall, "secret.destroy",
       "Vault KV v2: destroy versions for good (MFA step-up: a session's access token as "
       "X-Vault-Token).",
       destroy, /*reads_only=*/false, /*accepts_list=*/false, /*mfa_step_up=*/true},
      {Verb::put, "/v1/{mount}/destroy/{path*}", "secrets.write", Body::kSmall, "secret.destroy",
       "Vault KV v2: destroy versions for good (as POST).", destroy, /*reads_only=*/false,
       /*accepts_list=*/false, /*mfa_step_up=*/true},
      {Verb::get, "/v1/{mount}/metadata/{path*}", "secrets.list", Body::kNone,
       "secret.metadata.read",
       "Vault KV v2: a secret's metadata; with LIST or ?list=true, the keys below the path the "
       "caller may see.",
       ReadMetadata, /*reads_only=*/false, /*accepts_list=*/true},
      {Verb::get, "/v1/{mount}/metadata", "secrets.list", Body::kNone, "secret.list",
       "Vault KV v2: LIST (or ?list=true) the top level the caller may see.", ListRoot,
       /*reads_only=*/false, /*accepts_list=*/true},
      {Verb::post, "/v1/{mount}/metadata/{path*}", "secrets.write", Body::kMetadata,
       "secret.metadata.update", "Vault KV v2: max_versions, cas_required, custom_metadata.",
       WriteMetadata},
      {Verb::put, "/v1/{mount}/metadata/{path*}", "secrets.write", Body::kMetadata,
       "secret.metadata.update", "Vault KV v2: metadata settings (as POST).", WriteMetadata},
      {Verb::delete_, "/v1/{mount}/metadata/{path*}", "secrets.write", Body::kNone,
       "secret.metadata.delete", "Vault KV v2: delete the secret, every version and its metadata.",
       DeleteMetadata},
      {Verb::get, "/v1/auth/token/lookup-self", "", Body::kNone, "",
       "Vault: who the token is (never echoes the token), its tenant and its path policies.",
       LookupSelf},
      {Verb::post, "/v1/auth/token/renew-self", "", Body::kSmall, "token.renew",
       "Vault: renew the token; Bulwark credentials are not renewable (400, as Vault answers).",
       RenewSelf},
      {Verb::put, "/v1/auth/token/renew-self", "", Body::kSmall, "token.renew",
       "Vault: renew the token (as POST).", RenewSelf},
  };
  BULWARK_RETURN_IF_ERROR(
      secret_ops::AddRouteTable(router, deps, defs, http::Surface::kVault));
  BULWARK_RETURN_IF_ERROR(AddVaultMountRoutes(router, deps));
  // Last: a route matches in the order added, so these take only what the routes above leave.
  const char* kv1 = "Vault KV v1 path on the KV v2 mount: 404 kv_v2_mount, naming the path to use.";
  const secret_ops::RouteDef v1_defs[] = {
      {Verb::get, "/v1/secret/{path*}", "", Body::kNone, "secret.kv1_call", kv1, KvV1Call, false, true},
      {Verb::post, "/v1/secret/{path*}", "", Body::kValue, "secret.kv1_call", kv1, KvV1Call},
      {Verb::put, "/v1/secret/{path*}", "", Body::kValue, "secret.kv1_call", kv1, KvV1Call},
      {Verb::patch, "/v1/secret/{path*}", "", Body::kValue, "secret.kv1_call", kv1, KvV1Call},
      {Verb::delete_, "/v1/secret/{path*}", "", Body::kNone, "secret.kv1_call", kv1, KvV1Call},
  };
  BULWARK_RETURN_IF_ERROR(
      secret_ops::AddRouteTable(router, deps, v1_defs, http::Surface::kVault));
  return router.Add({
      .method = Verb::get,
      .pattern = "/v1/sys/health",
      .auth = AuthDecision::kPublic,
      .surface = http::Surface::kVault,
      .summary = "Vault: health (initialized, unsealed, active) for Vault clients and probes.",
      .handler = Health,
  });
}

}  // namespace bulwark::api
