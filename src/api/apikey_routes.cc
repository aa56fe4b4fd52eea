// API keys over HTTP. Same adapters as identity_routes.cc: parse, call the service inside one
// audited transaction, shape the reply.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/body.h"
#include "api/apikey_routes.h"
#include "api/recorded_commit.h"
#include "core/clock.h"
#include "core/text_list.h"
#include "stages/ledger_audit_stage.h"
#include "stages/token_buckets.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

constexpr std::int64_t kMaxKeyLifetimeSeconds = 2LL * 365 * 86400;

json::array ToArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object KeyJson(const identity::ApiKeyInfo& k) {
  json::object o{{"id", k.id},
                 {"name", k.name},
                 {"scopes", ToArray(k.scopes)},
                 {"created_by", k.created_by},
                 {"created_at", k.created_at},
                 {"cidrs", ToArray(k.cidrs)}};
  o["rate_limit"] = k.rate_limit.empty() ? json::value(nullptr) : json::value(k.rate_limit);
  o["expires_at"] = k.expires_at ? json::value(*k.expires_at) : json::value(nullptr);
  o["last_used_at"] = k.last_used_at ? json::value(*k.last_used_at) : json::value(nullptr);
  o["revoked_at"] = k.revoked_at ? json::value(*k.revoked_at) : json::value(nullptr);
  return o;
}

StatusOr<Reply> CreateKey(const ApiKeyRouteDeps& d, RequestContext& ctx) {
  using K = FieldSpec::Kind;
  BULWARK_ASSIGN_OR_RETURN(
      JsonFields body,
      JsonBody(ctx, {{.name = "name"},
                     {.name = "scopes", .kind = K::kStringArray},
                     {.name = "expires_in_s", .kind = K::kInt, .required = false},
                     {.name = "cidrs", .kind = K::kStringArray, .required = false},
                     {.name = "rate_limit", .required = false}}));
  const auto role = policy::ParseRole(ctx.principal.role);
  if (!role) return Status::PermissionDenied("permission_denied", "no role in this tenant");
  const std::int64_t now = core::NowUnixSeconds();
  identity::ApiKeyRequest req{.tenant_id = ctx.principal.tenant_id,
                              .name = std::string(body.String("name")),
                              .scopes = body.Strings("scopes"),
                              .creator_role = *role,
                              .created_by = ctx.principal.id,
                              .cidrs = body.Strings("cidrs")};
  if (auto ttl = body.Int("expires_in_s")) {
    if (*ttl < 60 || *ttl > kMaxKeyLifetimeSeconds) {
      return Status::InvalidArgument("invalid_expiry",
                                     "expires_in_s is between 60 seconds and 2 years");
    }
    req.expires_at = now + *ttl;
  }
  if (body.Has("rate_limit")) {
    // The key's own limit, on top of the operator's `* api_key` rule: the stricter decides.
    auto rate = stages::ParseRateRule(body.String("rate_limit"));
    if (!rate.ok()) {
      return Status::InvalidArgument("invalid_rate_limit",
                                     "rate_limit is <count>/<number><unit> with unit s, m or h, a "
                                     "count of 1..1000000 and a period of 1s..24h, e.g. \"100/1m\"");
    }
    req.rate_limit = stages::FormatRateRule(*rate);
  }
  identity::CreatedApiKey created;
  std::string receipt_id;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(created, d.api_keys->Create(tx, req, now));
        json::object fields{{"api_key_id", created.info.id},
                            {"name", created.info.name},
                            {"scopes", ToArray(created.info.scopes)},
                            {"created_by", created.info.created_by}};
        fields["expires_at"] =
            created.info.expires_at ? json::value(*created.info.expires_at) : json::value(nullptr);
        BULWARK_ASSIGN_OR_RETURN(receipts::Receipt r,
                                 d.receipts->Issue(tx, req.tenant_id, receipts::kind::kApiKeyCreate,
                                                   fields, {"api_key_id", "created_by"}));
        receipt_id = r.id;
        ev.resource = "apikey:" + created.info.id;
        ev.details.emplace_back("scopes", core::JoinList(created.info.scopes, ' '));
        if (!created.info.rate_limit.empty())
          ev.details.emplace_back("rate_limit", created.info.rate_limit);
        ev.details.emplace_back("receipt_id", r.id);
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 201, Status::Ok())));
  json::object out = KeyJson(created.info);
  out["receipt_id"] = receipt_id;
  out["key"] = created.key;  // shown once
  return Reply{.status = 201, .body = json::serialize(out)};
}

StatusOr<Reply> ListKeys(const ApiKeyRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto keys, d.api_keys->List(*tx, ctx.principal.tenant_id));
  json::array out;
  for (const auto& k : keys) out.push_back(KeyJson(k));
  return Reply{.body = json::serialize(json::object{{"api_keys", std::move(out)}})};
}

StatusOr<Reply> RevokeKey(const ApiKeyRouteDeps& d, RequestContext& ctx) {
  const std::string id(ctx.param("id"));
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 204, Status::Ok());
  e.resource = "apikey:" + id;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(bool revoked, d.api_keys->Revoke(tx, ctx.principal.tenant_id, id,
                                                                  core::NowUnixSeconds()));
        if (!revoked) return Status::Ok();  // already revoked: one receipt per revocation
        BULWARK_ASSIGN_OR_RETURN(
            receipts::Receipt r,
            d.receipts->Issue(tx, ctx.principal.tenant_id, receipts::kind::kApiKeyRevoke,
                              json::object{{"api_key_id", id}, {"revoked_by", ctx.principal.id}},
                              {"api_key_id", "revoked_by"}));
        ev.details.emplace_back("receipt_id", r.id);
        return Status::Ok();
      },
      std::move(e)));
  d.api_keys->Invalidate(id);
  return Reply{.status = 204};
}

StatusOr<Reply> WhoAmI(RequestContext& ctx) {
  const core::Principal& p = ctx.principal;
  json::object o{{"kind", p.kind == core::Principal::Kind::kApiKey ? "api_key" : "user"},
                 {"id", p.id},
                 {"tenant_id", p.tenant_id},
                 {"auth_method", p.auth_method}};
  if (p.kind == core::Principal::Kind::kApiKey) {
    o["scopes"] = ToArray(p.scopes);
  } else {
    o["role"] = p.role;
  }
  return Reply{.body = json::serialize(o)};
}

}  // namespace

Status AddApiKeyRoutes(http::Router& router, ApiKeyRouteDeps deps) {
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::post,
      .pattern = "/api/v1/apikeys",
      .auth = AuthDecision::kSession,
      .permission = "apikeys.create",
      .tenant_scoped = true,
      .mfa_step_up = true,
      .body = BodyKind::kJson,
      .max_body_bytes = 4096,
      .audit_action = "apikey.create",
      .summary = "Create an API key (scopes within the creator's verbs, optional expiry, CIDR "
                 "binding and rate limit); the key is shown once (MFA step-up).",
      .handler = Bind(deps, CreateKey),
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/apikeys",
      .auth = AuthDecision::kEither,
      .permission = "apikeys.read",
      .tenant_scoped = true,
      .summary =
          "The tenant's API keys: id, name, scopes, expiry, binding, last use; never the key.",
      .handler = Bind(deps, ListKeys),
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::delete_,
      .pattern = "/api/v1/apikeys/{id}",
      .auth = AuthDecision::kEither,
      .permission = "apikeys.revoke",
      .tenant_scoped = true,
      .mfa_step_up = true,
      .audit_action = "apikey.revoke",
      .summary = "Revoke an API key: refused from the next request on (MFA step-up).",
      .handler = Bind(deps, RevokeKey),
  }));
  return router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/whoami",
      .auth = AuthDecision::kEither,
      .tenant_scoped = true,
      .summary =
          "The authenticated principal: kind, id, tenant, and role (users) or scopes (API keys).",
      .handler = [](RequestContext& ctx) -> StatusOr<Reply> { return WhoAmI(ctx); },
  });
}

}  // namespace bulwark::api
