// The Vault KV v2-compatible surface, so existing Vault clients work unchanged:
//   GET|POST|PUT|DELETE /v1/secret/data/{path}      read (?version=N), write, soft-delete latest
//   POST|PUT /v1/secret/{delete|undelete|destroy}/{path}   {"versions": [...]}
//   GET /v1/secret/metadata/{path}                  metadata; LIST (or ?list=true): keys
//   POST|PUT|DELETE /v1/secret/metadata/{path}      settings; delete everything
//   GET /v1/sys/health, GET /v1/auth/token/lookup-self
// The token is X-Vault-Token (an API key or an access token, identity/authenticator.cc), the
// tenant is the credential's (X-Vault-Namespace, when sent, must name it), errors take Vault's
// shape (http/errors.h). Replies carry Vault's envelope. The one mount is "secret"; any other is
// 404 unknown_mount. Same checks and records as the native API: both call secret_ops.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "api/identity_routes.h"
#include "api/secret_ops.h"
#include "core/build_info.h"
#include "core/clock.h"
#include "http/ledger_audit_stage.h"
#include "http/query.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

constexpr std::string_view kMount = "secret";

std::string VaultTime(std::int64_t unix_seconds) {
  return core::FormatIso8601Micros(
      std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)));
}

// Vault's response envelope around `data` (a serialized JSON object).
std::string Envelope(const RequestContext& ctx, std::string_view data) {
  json::object head{{"request_id", ctx.request_id},
                    {"lease_id", ""},
                    {"renewable", false},
                    {"lease_duration", 0}};
  std::string body = json::serialize(head);
  body.pop_back();
  body += ",\"data\":";
  body += data;
  body += ",\"wrap_info\":null,\"warnings\":null,\"auth\":null}";
  return body;
}

Status CheckMount(const RequestContext& ctx) {
  if (ctx.param("mount") != kMount) {
    return Status::NotFound("unknown_mount",
                            "no secrets engine is mounted there; the KV v2 mount is \"secret\"");
  }
  return Status::Ok();
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
StatusOr<Reply> DeletedVersion(const IdentityRouteDeps& d, RequestContext& ctx,
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

StatusOr<Reply> ReadData(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"version"}));
  std::optional<std::int64_t> version;
  if (const auto v = http::QueryValue(q, "version"); !v.empty() && v != "0") {
    BULWARK_ASSIGN_OR_RETURN(auto parsed, secret_ops::ParseVersions(v));
    if (parsed.size() != 1)
      return Status::InvalidArgument("invalid_versions", "version is one positive integer");
    version = parsed[0];
  }
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

StatusOr<Reply> WriteData(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(const json::object* o, secret_ops::BodyObject(ctx));
  std::optional<std::int64_t> cas;
  for (const auto& kv : *o) {
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
  const json::value* data = o->if_contains("data");
  if (data == nullptr || !data->is_object()) {
    return Status::InvalidArgument("invalid_value", "no data provided: \"data\" is a JSON object");
  }
  BULWARK_ASSIGN_OR_RETURN(const std::string value, secret_ops::ValueText(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto v, secret_ops::Write(d, ctx, ctx.param("path"), value, cas));
  return Reply{.body = Envelope(ctx, json::serialize(VersionMetadata(v, nullptr)))};
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

StatusOr<Reply> DeleteLatest(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  return DeletedEitherWay(ctx, secret_ops::SoftDeleteCurrent(d, ctx, ctx.param("path")));
}

StatusOr<Reply> ChangeVersions(const IdentityRouteDeps& d, RequestContext& ctx,
                               secret_ops::VersionAction action) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto versions, secret_ops::VersionsBody(ctx.json));
  if (versions.empty()) {  // before ChangeVersions' own check: Vault's words for it
    return Status::InvalidArgument("invalid_versions", "no version number provided");
  }
  BULWARK_RETURN_IF_ERROR(secret_ops::ChangeVersions(d, ctx, ctx.param("path"), action, versions));
  return Reply{.status = 204};
}

StatusOr<Reply> ListKeys(const IdentityRouteDeps& d, RequestContext& ctx, std::string_view path) {
  const std::string prefix = path.empty() ? std::string() : std::string(path) + "/";
  BULWARK_ASSIGN_OR_RETURN(auto keys, secret_ops::List(d, ctx, prefix, false));
  // Vault answers an empty listing with 404; recorded as what it is.
  const Status outcome =
      keys.empty() ? Status::NotFound("secret_not_found", "nothing to list here") : Status::Ok();
  audit::Event e = http::LedgerAuditStage::EventFor(ctx, keys.empty() ? 404 : 200, outcome);
  e.action = "secret.list";
  e.resource = secret_ops::SecretResource(prefix);
  BULWARK_RETURN_IF_ERROR(d.writer->Record(std::move(e)));
  ctx.audited = true;
  if (!outcome.ok()) return outcome;
  json::array a;
  for (auto& k : keys) a.emplace_back(k);
  return Reply{.body = Envelope(ctx, json::serialize(json::object{{"keys", std::move(a)}}))};
}

bool IsList(const RequestContext& ctx) {
  if (ctx.vault_list) return true;
  auto q = http::ParseQuery(ctx.query, {});
  return q.ok() && http::QueryValue(*q, "list") == "true";
}

StatusOr<Reply> ReadMetadata(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_RETURN_IF_ERROR(http::ParseQuery(ctx.query, {"list"}).status());
  if (IsList(ctx)) return ListKeys(d, ctx, ctx.param("path"));
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
      {"delete_version_after", "0s"},         {"max_versions", m.max_versions},
      {"oldest_version", m.oldest_version},   {"updated_time", VaultTime(m.updated_at)},
      {"versions", std::move(versions)}};
  return Reply{.body = Envelope(ctx, json::serialize(data))};
}

StatusOr<Reply> ListRoot(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_RETURN_IF_ERROR(http::ParseQuery(ctx.query, {"list"}).status());
  if (!IsList(ctx)) return Status::NotFound("secret_not_found", "name a secret path");
  return ListKeys(d, ctx, "");
}

StatusOr<Reply> WriteMetadata(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  BULWARK_ASSIGN_OR_RETURN(const json::object* o, secret_ops::BodyObject(ctx));
  if (const json::value* after = o->if_contains("delete_version_after")) {
    // Automatic version expiry is not offered; "0s" (off, what clients send by default) is.
    if (!after->is_string() ||
        (after->as_string() != "0s" && after->as_string() != "0" && !after->as_string().empty())) {
      return Status::InvalidArgument("unsupported_setting",
                                     "delete_version_after is not supported; send \"0s\"");
    }
  }
  BULWARK_ASSIGN_OR_RETURN(auto update,
                           secret_ops::ParseMetadataUpdate(*o, {"delete_version_after"}));
  BULWARK_RETURN_IF_ERROR(secret_ops::UpdateMetadata(d, ctx, ctx.param("path"), update));
  return Reply{.status = 204};
}

StatusOr<Reply> DeleteMetadata(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(CheckMount(ctx));
  return DeletedEitherWay(ctx, secret_ops::DeleteAll(d, ctx, ctx.param("path")));
}

StatusOr<Reply> LookupSelf(const IdentityRouteDeps& d, RequestContext& ctx) {
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
  // Never the token itself: "id" stays empty.
  json::object data{
      {"accessor", ""},
      {"creation_ttl", 0},
      {"display_name", (key ? "api_key-" : "user-") + p.id},
      {"entity_id", p.id},
      {"expire_time", nullptr},
      {"explicit_max_ttl", 0},
      {"id", ""},
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

StatusOr<Reply> Health(RequestContext&) {
  json::object o{{"initialized", true},
                 {"sealed", false},
                 {"standby", false},
                 {"performance_standby", false},
                 {"replication_performance_mode", "disabled"},
                 {"replication_dr_mode", "disabled"},
                 {"server_time_utc", core::NowUnixSeconds()},
                 {"version", std::string("bulwark-") + build::kVersion},
                 {"cluster_name", "bulwark"}};
  return Reply{.body = json::serialize(o)};
}

}  // namespace

Status AddVaultRoutes(http::Router& router, IdentityRouteDeps deps) {
  using H = IdentityHandlerFn;
  using A = secret_ops::VersionAction;
  using secret_ops::Body;
  const H del = [](const IdentityRouteDeps& d, RequestContext& ctx) {
    return ChangeVersions(d, ctx, A::kSoftDelete);
  };
  const H undel = [](const IdentityRouteDeps& d, RequestContext& ctx) {
    return ChangeVersions(d, ctx, A::kUndelete);
  };
  const H destroy = [](const IdentityRouteDeps& d, RequestContext& ctx) {
    return ChangeVersions(d, ctx, A::kDestroy);
  };
  const secret_ops::RouteDef defs[] = {
      {Verb::get, "/v1/{mount}/data/{path*}", "secrets.read", Body::kNone, "secret.read",
       "Vault KV v2: read a secret (?version=N); recorded before the value leaves.", ReadData,
       /*reads_only=*/true},
      {Verb::post, "/v1/{mount}/data/{path*}", "secrets.write", Body::kValue, "secret.write",
       "Vault KV v2: write a version ({\"data\": {...}, \"options\": {\"cas\": N}}).", WriteData},
      {Verb::put, "/v1/{mount}/data/{path*}", "secrets.write", Body::kValue, "secret.write",
       "Vault KV v2: write a version (as POST).", WriteData},
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
  };
  BULWARK_RETURN_IF_ERROR(secret_ops::AddRouteTable(router, deps, defs));
  return router.Add({
      .method = Verb::get,
      .pattern = "/v1/sys/health",
      .auth = AuthDecision::kPublic,
      .summary = "Vault: health (initialized, unsealed, active) for Vault clients and probes.",
      .handler = Health,
  });
}

}  // namespace bulwark::api
