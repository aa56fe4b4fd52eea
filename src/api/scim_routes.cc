// SCIM 2.0 over HTTP: parse, call the SCIM service inside one recorded transaction, shape the
// reply as SCIM does (application/scim+json, Location and ETag headers).
#include "api/scim_routes.h"

#include <boost/json/serialize.hpp>
#include <charconv>

#include "api/recorded_commit.h"
#include "core/clock.h"
#include "http/errors.h"
#include "http/query.h"
#include "stages/ledger_audit_stage.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
using scim::ResourceKind;
namespace json = boost::json;

Reply ScimReply(unsigned status, const json::object& body) {
  Reply r{.status = status, .body = json::serialize(body), .content_type = http::kScimContentType};
  if (const json::value* meta = body.if_contains("meta"); meta != nullptr && meta->is_object()) {
    if (const json::value* v = meta->as_object().if_contains("version"); v && v->is_string()) {
      r.headers.emplace_back("ETag", std::string(v->as_string()));
    }
    if (status == 201) {
      if (const json::value* l = meta->as_object().if_contains("location"); l && l->is_string()) {
        r.headers.emplace_back("Location", std::string(l->as_string()));
      }
    }
  }
  return r;
}

StatusOr<std::int64_t> QueryInt(const http::QueryParams& q, std::string_view name,
                                std::int64_t fallback) {
  if (!http::QueryHas(q, name)) return fallback;
  const std::string_view text = http::QueryValue(q, name);
  std::int64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return Status::InvalidArgument("invalid_value", std::string(name) + " is an integer");
  }
  return v;
}

ResourceKind KindOf(const RequestContext& ctx) {
  return ctx.path.starts_with("/scim/v2/Groups") ? ResourceKind::kGroup : ResourceKind::kUser;
}

StatusOr<Reply> List(const ScimRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(
      auto q, http::ParseQuery(ctx.query, {"filter", "startIndex", "count", "attributes",
                                           "excludedAttributes", "sortBy", "sortOrder"}));
  scim::ListQuery query{.filter = std::string(http::QueryValue(q, "filter")),
                        .attributes = std::string(http::QueryValue(q, "attributes")),
                        .excluded_attributes = std::string(http::QueryValue(q, "excludedAttributes"))};
  BULWARK_ASSIGN_OR_RETURN(query.start_index, QueryInt(q, "startIndex", 1));
  BULWARK_ASSIGN_OR_RETURN(query.count, QueryInt(q, "count", -1));
  if (http::QueryHas(q, "count") && query.count < 0) query.count = 0;
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(json::object out,
                           d.scim->List(*tx, ctx.principal.tenant_id, KindOf(ctx), query));
  return ScimReply(200, out);
}

StatusOr<Reply> Get(const ScimRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto q,
                           http::ParseQuery(ctx.query, {"attributes", "excludedAttributes"}));
  const ResourceKind kind = KindOf(ctx);
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  const std::string id(ctx.param("id"));
  BULWARK_ASSIGN_OR_RETURN(json::object out, kind == ResourceKind::kUser
                                                 ? d.scim->GetUser(*tx, ctx.principal.tenant_id, id)
                                                 : d.scim->GetGroup(*tx, ctx.principal.tenant_id, id));
  BULWARK_ASSIGN_OR_RETURN(out, scim::ScimService::Project(
                                    kind, std::move(out), http::QueryValue(q, "attributes"),
                                    http::QueryValue(q, "excludedAttributes")));
  return ScimReply(200, out);
}

// One change: the service's call inside the recorded commit, the caches dropped after it.
using ChangeFn = std::function<StatusOr<json::object>(store::Transaction&, scim::ScimChange&)>;

StatusOr<Reply> Change(const ScimRouteDeps& d, RequestContext& ctx, unsigned status,
                       const ChangeFn& fn) {
  json::object out;
  scim::ScimChange change;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(out, fn(tx, change));
        ev.resource = change.resource;
        ev.details.insert(ev.details.end(), change.details.begin(), change.details.end());
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, status, Status::Ok())));
  d.scim->AfterCommit(ctx.principal.tenant_id, change);
  if (status == 204) return Reply{.status = 204, .content_type = http::kScimContentType};
  return ScimReply(status, out);
}

StatusOr<Reply> Create(const ScimRouteDeps& d, RequestContext& ctx) {
  const std::int64_t now = core::NowUnixSeconds();
  const bool user = KindOf(ctx) == ResourceKind::kUser;
  return Change(d, ctx, 201, [&](store::Transaction& tx, scim::ScimChange& c) {
    return user ? d.scim->CreateUser(tx, ctx.principal.tenant_id, ctx.json, now, c)
                : d.scim->CreateGroup(tx, ctx.principal.tenant_id, ctx.json, now, c);
  });
}

StatusOr<Reply> Replace(const ScimRouteDeps& d, RequestContext& ctx) {
  const std::int64_t now = core::NowUnixSeconds();
  const bool user = KindOf(ctx) == ResourceKind::kUser;
  const std::string id(ctx.param("id"));
  return Change(d, ctx, 200, [&](store::Transaction& tx, scim::ScimChange& c) {
    return user ? d.scim->ReplaceUser(tx, ctx.principal.tenant_id, id, ctx.json, now, c)
                : d.scim->ReplaceGroup(tx, ctx.principal.tenant_id, id, ctx.json, now, c);
  });
}

StatusOr<Reply> Patch(const ScimRouteDeps& d, RequestContext& ctx) {
  const std::int64_t now = core::NowUnixSeconds();
  const bool user = KindOf(ctx) == ResourceKind::kUser;
  const std::string id(ctx.param("id"));
  return Change(d, ctx, 200, [&](store::Transaction& tx, scim::ScimChange& c) {
    return user ? d.scim->PatchUser(tx, ctx.principal.tenant_id, id, ctx.json, now, c)
                : d.scim->PatchGroup(tx, ctx.principal.tenant_id, id, ctx.json, now, c);
  });
}

StatusOr<Reply> Delete(const ScimRouteDeps& d, RequestContext& ctx) {
  const std::int64_t now = core::NowUnixSeconds();
  const bool user = KindOf(ctx) == ResourceKind::kUser;
  const std::string id(ctx.param("id"));
  return Change(d, ctx, 204,
                [&](store::Transaction& tx, scim::ScimChange& c) -> StatusOr<json::object> {
                  BULWARK_RETURN_IF_ERROR(
                      user ? d.scim->DeleteUser(tx, ctx.principal.tenant_id, id, now, c)
                           : d.scim->DeleteGroup(tx, ctx.principal.tenant_id, id, now, c));
                  return json::object{};
                });
}

Status RequireOwner(const RequestContext& ctx) {
  if (ctx.principal.role != "owner") {
    return Status::PermissionDenied("owner_required", "only an owner manages the SCIM token");
  }
  return Status::Ok();
}

StatusOr<Reply> RotateToken(const ScimRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(RequireOwner(ctx));
  scim::CreatedScimToken made;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(made, d.tokens->Rotate(tx, ctx.principal.tenant_id,
                                                        ctx.principal.id, core::NowUnixSeconds()));
        ev.resource = "scim_token:" + made.id;
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 201, Status::Ok())));
  return Reply{.status = 201,
               .body = json::serialize(json::object{{"id", made.id},
                                                    {"token", made.token},  // shown once
                                                    {"scim_base_path", "/scim/v2"}})};
}

StatusOr<Reply> RevokeToken(const ScimRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(RequireOwner(ctx));
  bool had = false;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(had, d.tokens->Revoke(tx, ctx.principal.tenant_id));
        ev.details.emplace_back("revoked", had);
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 204, Status::Ok())));
  return Reply{.status = 204};
}

StatusOr<Reply> Discovery(const ScimRouteDeps&, RequestContext& ctx) {
  Reply r{.content_type = http::kScimContentType};
  if (ctx.path.ends_with("ServiceProviderConfig")) {
    r.body = ScimServiceProviderConfig("");
  } else if (ctx.path.ends_with("Schemas")) {
    r.body = ScimSchemas();
  } else {
    r.body = ScimResourceTypes("");
  }
  return r;
}

}  // namespace

Status AddScimRoutes(http::Router& router, ScimRouteDeps deps) {
  BULWARK_RETURN_IF_ERROR(router.MountSurface("/scim/v2/", http::Surface::kScim));
  const auto scim = [&](Verb method, std::string pattern, RouteFn<ScimRouteDeps> fn,
                        std::string action, std::string summary) -> Status {
    const bool body = method == Verb::post || method == Verb::put || method == Verb::patch;
    return router.Add({.method = method,
                       .pattern = std::move(pattern),
                       .auth = AuthDecision::kScim,
                       .body = body ? BodyKind::kJson : BodyKind::kNone,
                       .max_body_bytes = body ? kScimMaxBodyBytes : 0,
                       .audit_action = std::move(action),
                       .reads_only = method == Verb::get,
                       .surface = http::Surface::kScim,
                       .summary = std::move(summary),
                       .handler = Bind(deps, fn)});
  };
  for (const auto& [kind, noun] : {std::pair{"Users", "user"}, std::pair{"Groups", "group"}}) {
    const std::string base = std::string("/scim/v2/") + kind;
    const std::string action = std::string("scim.") + noun;
    BULWARK_RETURN_IF_ERROR(scim(Verb::get, base, List, "",
                                 std::string("SCIM: list ") + kind +
                                     " (filter, startIndex/count, attributes)."));
    BULWARK_RETURN_IF_ERROR(scim(Verb::post, base, Create, action + ".create",
                                 std::string("SCIM: create a ") + noun + "."));
    BULWARK_RETURN_IF_ERROR(scim(Verb::get, base + "/{id}", Get, "",
                                 std::string("SCIM: one ") + noun + " by its SCIM id."));
    BULWARK_RETURN_IF_ERROR(scim(Verb::put, base + "/{id}", Replace, action + ".replace",
                                 std::string("SCIM: replace a ") + noun + "."));
    BULWARK_RETURN_IF_ERROR(scim(Verb::patch, base + "/{id}", Patch, action + ".patch",
                                 std::string("SCIM: patch a ") + noun +
                                     " (add/replace/remove, with or without a path)."));
    BULWARK_RETURN_IF_ERROR(
        scim(Verb::delete_, base + "/{id}", Delete, action + ".delete",
             std::string("SCIM: delete a ") + noun +
                 (kind == std::string_view("Users")
                      ? " (ends the member's sessions and API keys at once)."
                      : " (its members' roles are re-mapped).")));
  }
  for (const char* doc : {"ServiceProviderConfig", "Schemas", "ResourceTypes"}) {
    BULWARK_RETURN_IF_ERROR(scim(Verb::get, std::string("/scim/v2/") + doc, Discovery, "",
                                 std::string("SCIM: the ") + doc + " document."));
  }
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::post,
      .pattern = "/api/v1/scim/token",
      .auth = AuthDecision::kSession,
      .tenant_scoped = true,
      .mfa_step_up = true,
      .audit_action = "scim.token.rotate",
      .summary = "Make the tenant's SCIM bearer token, replacing any previous one at once; the "
                 "token is shown once (owner, MFA step-up).",
      .handler = Bind(deps, RotateToken),
  }));
  return router.Add({
      .method = Verb::delete_,
      .pattern = "/api/v1/scim/token",
      .auth = AuthDecision::kSession,
      .tenant_scoped = true,
      .mfa_step_up = true,
      .audit_action = "scim.token.revoke",
      .summary = "Revoke the tenant's SCIM bearer token (owner, MFA step-up).",
      .handler = Bind(deps, RevokeToken),
  });
}

}  // namespace bulwark::api
