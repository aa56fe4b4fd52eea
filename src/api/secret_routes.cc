// Secrets over the native API: thin adapters over secret_ops (which checks path policies and
// records every read and change). Shapes:
//   PUT    /api/v1/secrets/{path}            {"data": {...}, "cas": 3}     -> version
//   GET    /api/v1/secrets/{path}?version=N                                 -> data + version
//   DELETE /api/v1/secrets/{path}?versions=1,2                              -> soft delete
//   POST   /api/v1/secret-versions/{undelete|destroy|delete}/{path}  {"versions": [1, 2]}
//   GET|PUT|DELETE /api/v1/secret-metadata/{path}
//   GET    /api/v1/secrets?prefix=dev/&recursive=true                       -> {"keys": [...]}
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/secret_routes.h"
#include "api/secret_ops.h"
#include "core/json_text.h"
#include "http/query.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

json::value OptInt(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object VersionJson(const secrets::VersionInfo& v) {
  return json::object{{"version", v.version},
                      {"created_at", v.created_at},
                      {"created_by", v.created_by},
                      {"deleted_at", OptInt(v.deleted_at)},
                      {"destroyed", v.destroyed}};
}

StatusOr<std::optional<std::int64_t>> VersionParam(const RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"version"}));
  if (!http::QueryHas(q, "version")) return std::optional<std::int64_t>();  // the current one
  BULWARK_ASSIGN_OR_RETURN(auto versions,
                           secret_ops::ParseVersions(http::QueryValue(q, "version")));
  if (versions.size() != 1)
    return Status::InvalidArgument("invalid_versions", "version is one positive integer");
  return std::optional<std::int64_t>(versions[0]);
}

Status OnlyMembers(const json::object& o, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : o) {
    if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end()) {
      return Status::InvalidArgument("invalid_body",
                                     "unknown member \"" + std::string(kv.key()) + "\"");
    }
  }
  return Status::Ok();
}

StatusOr<Reply> PutSecret(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(const json::object* o, secret_ops::BodyObject(ctx));
  BULWARK_RETURN_IF_ERROR(OnlyMembers(*o, {"data", "cas"}));
  const json::value* data = o->if_contains("data");
  if (data == nullptr || !data->is_object()) {
    return Status::InvalidArgument("invalid_value", "\"data\" is the secret value, a JSON object");
  }
  std::optional<std::int64_t> cas;
  if (const json::value* c = o->if_contains("cas")) {
    if (!c->is_int64()) return Status::InvalidArgument("invalid_cas", "cas is 0 or a version");
    cas = c->as_int64();
  }
  BULWARK_ASSIGN_OR_RETURN(const std::string value, secret_ops::ValueText(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto v, secret_ops::Write(d, ctx, ctx.param("path"), value, cas));
  json::object out = VersionJson(v);
  out["path"] = ctx.param("path");
  return Reply{.body = json::serialize(out)};
}

StatusOr<Reply> GetSecret(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto version, VersionParam(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto value, secret_ops::Read(d, ctx, ctx.param("path"), version));
  json::object meta = VersionJson(value.version);
  meta["path"] = ctx.param("path");
  std::string body = json::serialize(meta);
  // The stored value is a JSON object exactly as written; spliced in, never re-parsed.
  body.pop_back();
  body += ",\"data\":";
  const auto bytes = value.data.reveal_span();
  body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  body += '}';
  return Reply{.body = std::move(body)};
}

StatusOr<Reply> DeleteSecret(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"versions"}));
  // Without ?versions= the current version; with it, the versions it names (at least one).
  if (!http::QueryHas(q, "versions")) {
    BULWARK_RETURN_IF_ERROR(secret_ops::SoftDeleteCurrent(d, ctx, ctx.param("path")));
    return Reply{.status = 204};
  }
  BULWARK_ASSIGN_OR_RETURN(auto versions,
                           secret_ops::ParseVersions(http::QueryValue(q, "versions")));
  BULWARK_RETURN_IF_ERROR(secret_ops::ChangeVersions(
      d, ctx, ctx.param("path"), secret_ops::VersionAction::kSoftDelete, versions));
  return Reply{.status = 204};
}

StatusOr<Reply> ChangeVersions(const SecretRouteDeps& d, RequestContext& ctx,
                               secret_ops::VersionAction action) {
  BULWARK_ASSIGN_OR_RETURN(auto versions, secret_ops::VersionsBody(ctx.json));
  BULWARK_RETURN_IF_ERROR(secret_ops::ChangeVersions(d, ctx, ctx.param("path"), action, versions));
  return Reply{.status = 204};
}

json::object MetadataJson(const secrets::SecretMetadata& m) {
  json::array versions;
  for (const auto& v : m.versions) versions.push_back(VersionJson(v));
  boost::system::error_code ec;
  json::value custom = json::parse(m.custom_metadata, ec);
  if (ec) custom = json::object();
  return json::object{{"path", m.path},
                      {"current_version", m.current_version},
                      {"oldest_version", m.oldest_version},
                      {"max_versions", m.max_versions},
                      {"cas_required", m.cas_required},
                      {"delete_version_after", m.delete_version_after},
                      {"custom_metadata", std::move(custom)},
                      {"created_at", m.created_at},
                      {"created_by", m.created_by},
                      {"updated_at", m.updated_at},
                      {"updated_by", m.updated_by},
                      {"versions", std::move(versions)}};
}

StatusOr<Reply> GetMetadata(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto m, secret_ops::Metadata(d, ctx, ctx.param("path")));
  return Reply{.body = json::serialize(MetadataJson(m))};
}

}  // namespace

namespace {

StatusOr<Reply> PutMetadata(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(const json::object* o, secret_ops::BodyObject(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto update, secret_ops::ParseMetadataUpdate(*o, {}));
  BULWARK_RETURN_IF_ERROR(secret_ops::UpdateMetadata(d, ctx, ctx.param("path"), update));
  return Reply{.status = 204};
}

StatusOr<Reply> DeleteMetadata(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(secret_ops::DeleteAll(d, ctx, ctx.param("path")));
  return Reply{.status = 204};
}

StatusOr<Reply> ListSecrets(const SecretRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"prefix", "recursive"}));
  const std::string_view recursive = http::QueryValue(q, "recursive");
  if (!recursive.empty() && recursive != "true" && recursive != "false") {
    return Status::InvalidArgument("invalid_query", "recursive is true or false");
  }
  BULWARK_ASSIGN_OR_RETURN(
      auto keys, secret_ops::List(d, ctx, http::QueryValue(q, "prefix"), recursive == "true"));
  json::array a;
  for (auto& k : keys) a.emplace_back(k);
  return Reply{.body = json::serialize(json::object{{"keys", std::move(a)}})};
}

}  // namespace

Status AddSecretRoutes(http::Router& router, SecretRouteDeps deps) {
  using A = secret_ops::VersionAction;
  using secret_ops::Body;
  const secret_ops::RouteDef defs[] = {
      {Verb::get, "/api/v1/secrets", "secrets.list", Body::kNone, "secret.list",
       "List secret paths under ?prefix= (next level, or all with ?recursive=true); only paths "
       "the caller may read or list.",
       ListSecrets},
      {Verb::get, "/api/v1/secrets/{path*}", "secrets.read", Body::kNone, "secret.read",
       "Read a secret's latest (or ?version=N) value; recorded before the value leaves.", GetSecret,
       /*reads_only=*/true},
      {Verb::put, "/api/v1/secrets/{path*}", "secrets.write", Body::kValue, "secret.write",
       "Write a new version ({\"data\": {...}, \"cas\": N}); check-and-set when cas is given.",
       PutSecret},
      {Verb::delete_, "/api/v1/secrets/{path*}", "secrets.write", Body::kNone, "secret.delete",
       "Soft-delete the current version (or ?versions=1,2); undelete restores.", DeleteSecret},
      {Verb::post, "/api/v1/secret-versions/delete/{path*}", "secrets.write", Body::kSmall,
       "secret.delete", "Soft-delete versions ({\"versions\": [...]}).",
       [](const SecretRouteDeps& d, RequestContext& ctx) {
         return ChangeVersions(d, ctx, A::kSoftDelete);
       }},
      {Verb::post, "/api/v1/secret-versions/undelete/{path*}", "secrets.write", Body::kSmall,
       "secret.undelete", "Restore soft-deleted versions ({\"versions\": [...]}).",
       [](const SecretRouteDeps& d, RequestContext& ctx) {
         return ChangeVersions(d, ctx, A::kUndelete);
       }},
      {Verb::post, "/api/v1/secret-versions/destroy/{path*}", "secrets.write", Body::kSmall,
       "secret.destroy",
       "Destroy versions for good: their ciphertext is erased ({\"versions\": [...]}; MFA "
       "step-up).",
       [](const SecretRouteDeps& d, RequestContext& ctx) {
         return ChangeVersions(d, ctx, A::kDestroy);
       },
       /*reads_only=*/false, /*accepts_list=*/false, /*mfa_step_up=*/true},
      {Verb::get, "/api/v1/secret-metadata/{path*}", "secrets.list", Body::kNone,
       "secret.metadata.read",
       "A secret's metadata: versions, times, authors, settings, custom metadata.", GetMetadata},
      {Verb::put, "/api/v1/secret-metadata/{path*}", "secrets.write", Body::kMetadata,
       "secret.metadata.update",
       "Change max_versions, cas_required, delete_version_after or custom_metadata (creates the "
       "metadata if new).",
       PutMetadata},
      {Verb::delete_, "/api/v1/secret-metadata/{path*}", "secrets.write", Body::kNone,
       "secret.metadata.delete", "Delete a secret with every version and its metadata, for good.",
       DeleteMetadata},
  };
  return secret_ops::AddRouteTable(router, deps, defs);
}

}  // namespace bulwark::api
