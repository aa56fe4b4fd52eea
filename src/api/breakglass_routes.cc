// Break-glass over HTTP (policy/breakglass.h): an owner designates members; a designated member
// with a fresh step-up activates a scoped, time-boxed grant for their session, which raises an
// alert and issues a start receipt; ending it (or its expiry, see app/breakglass_sweeper.h)
// issues the end receipt.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/body.h"
#include "api/breakglass_routes.h"
#include "api/recorded_commit.h"
#include "core/clock.h"
#include "stages/ledger_audit_stage.h"
#include "policy/breakglass.h"
#include "policy/roles.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;
namespace bg = policy::breakglass;

json::object GrantJson(const bg::Grant& g) {
  json::array verbs;
  for (const auto& v : g.verbs) verbs.emplace_back(v);
  json::object o{{"grant_id", g.id},
                 {"verbs", std::move(verbs)},
                 {"path_prefix", g.path_prefix},
                 {"started_at", g.started_at},
                 {"expires_at", g.expires_at}};
  if (g.ended_at) o["ended_at"] = *g.ended_at;
  return o;
}

StatusOr<Reply> Activate(const BreakglassRouteDeps& d, RequestContext& ctx) {
  using K = FieldSpec::Kind;
  BULWARK_ASSIGN_OR_RETURN(
      JsonFields body, JsonBody(ctx, {{.name = "reason"},
                                      {.name = "ttl_s", .kind = K::kInt},
                                      {.name = "verbs", .kind = K::kStringArray, .required = false},
                                      {.name = "path_prefix", .required = false}}));
  const std::int64_t now = core::NowUnixSeconds();
  const bg::Request req{.tenant_id = ctx.principal.tenant_id,
                        .user_id = ctx.principal.id,
                        .session_id = ctx.principal.session_id,
                        .reason = std::string(body.String("reason")),
                        .verbs = body.Strings("verbs"),
                        .path_prefix = std::string(body.String("path_prefix")),
                        .ttl_s = *body.Int("ttl_s")};
  bg::Grant grant;
  std::string receipt_id;
  audit::Event recorded;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(grant, bg::Activate(tx, req, d.breakglass_enabled, now));
        BULWARK_ASSIGN_OR_RETURN(receipts::Receipt r,
                                 bg::IssueReceipt(*d.receipts, tx, grant, false));
        receipt_id = r.id;
        ev.break_glass = true;
        ev.resource = "breakglass:" + grant.id;
        ev.details.emplace_back("receipt_id", r.id);
        ev.details.emplace_back("expires_at", grant.expires_at);
        recorded = ev;
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 201, Status::Ok())));
  d.sessions->InvalidateSession(ctx.principal.session_id);
  RaiseAlert(*d.writer, "breakglass_activated", recorded);
  json::object out = GrantJson(grant);
  out["receipt_id"] = receipt_id;
  return Reply{.status = 201, .body = json::serialize(out)};
}

StatusOr<Reply> End(const BreakglassRouteDeps& d, RequestContext& ctx) {
  const std::int64_t now = core::NowUnixSeconds();
  bg::Grant grant;
  std::string receipt_id;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(
            auto ended,
            bg::EndWithReceipts(*d.receipts, tx, bg::Ending::Session(ctx.principal.session_id),
                                now));
        if (ended.empty()) {
          return Status::NotFound("breakglass_not_active",
                                  "no open break-glass grant for this session");
        }
        grant = std::move(ended[0].grant);
        receipt_id = ended[0].receipt.id;
        ev.break_glass = true;
        ev.resource = "breakglass:" + grant.id;
        ev.details.emplace_back("receipt_id", receipt_id);
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok())));
  d.sessions->InvalidateSession(ctx.principal.session_id);
  json::object out = GrantJson(grant);
  out["receipt_id"] = receipt_id;
  return Reply{.body = json::serialize(out)};
}

StatusOr<Reply> ShowGrant(const BreakglassRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto open,
                           bg::OpenGrant(*tx, ctx.principal.session_id, core::NowUnixSeconds()));
  if (!open) return Reply{.body = R"({"active":false})"};
  json::object out = GrantJson(*open);
  out["active"] = true;
  return Reply{.body = json::serialize(out)};
}

StatusOr<Reply> Designate(const BreakglassRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body,
                           JsonBody(ctx, {{.name = "designated", .kind = FieldSpec::Kind::kBool}}));
  if (ctx.principal.role != policy::RoleName(policy::Role::kOwner)) {
    return Status::PermissionDenied("owner_required",
                                    "only an owner may designate break-glass accounts");
  }
  const bool designated = *body.Bool("designated");
  const std::string target(ctx.param("user_id"));
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok());
  e.resource = "member:" + target;
  e.details.emplace_back("designated", designated);
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx) {
        return bg::Designate(tx, ctx.principal.tenant_id, target, designated);
      },
      std::move(e)));
  d.sessions->InvalidateMember(ctx.principal.tenant_id, target);  // an open grant stops applying
  return Reply{.body = json::serialize(
                   json::object{{"user_id", target}, {"breakglass_designated", designated}})};
}

}  // namespace

Status AddBreakglassRoutes(http::Router& router, BreakglassRouteDeps deps) {
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::put,
      .pattern = "/api/v1/members/{user_id}/breakglass",
      .auth = AuthDecision::kSession,
      .permission = "settings.update",
      .tenant_scoped = true,
      .mfa_step_up = true,
      .body = BodyKind::kJson,
      .max_body_bytes = 1024,
      .audit_action = "member.breakglass_designation",
      .summary = "Designate (or not) a member as a break-glass account (owner only, MFA step-up).",
      .handler = Bind(deps, Designate),
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::post,
      .pattern = "/api/v1/breakglass",
      .auth = AuthDecision::kSession,
      .permission = "breakglass.activate",
      .tenant_scoped = true,
      .mfa_step_up = true,
      .body = BodyKind::kJson,
      .max_body_bytes = 4096,
      .audit_action = "breakglass.start",
      .summary = "Activate break-glass for this session: reason (>= 20 chars), scope (verbs and/or "
                 "secret path "
                 "prefix), ttl_s <= 3600; raises an alert and issues a receipt (MFA step-up).",
      .handler = Bind(deps, Activate),
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/breakglass",
      .auth = AuthDecision::kSession,
      .tenant_scoped = true,
      .summary = "This session's open break-glass grant, if any.",
      .handler = Bind(deps, ShowGrant),
  }));
  return router.Add({
      .method = Verb::post,
      .pattern = "/api/v1/breakglass/end",
      .auth = AuthDecision::kSession,
      .tenant_scoped = true,
      .audit_action = "breakglass.end",
      .summary = "End this session's break-glass grant now; issues the end receipt.",
      .handler = Bind(deps, End),
  });
}

}  // namespace bulwark::api
