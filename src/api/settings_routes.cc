// Tenant settings over HTTP: the IP allowlist every credential of the tenant must come from, and
// the tenant's break-glass switch (owner-only). Both need settings.update and an MFA step-up.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/body.h"
#include "api/settings_routes.h"
#include "api/recorded_commit.h"
#include "core/clock.h"
#include "core/text_list.h"
#include "stages/ledger_audit_stage.h"
#include "identity/directory.h"
#include "policy/breakglass.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

json::array CidrArray(const std::vector<core::Cidr>& cidrs) {
  json::array a;
  for (const auto& c : cidrs) a.emplace_back(c.ToString());
  return a;
}

StatusOr<Reply> GetSettings(const SettingsRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(policy::TenantPolicy p,
                           policy::LoadTenantPolicy(*tx, ctx.principal.tenant_id));
  return Reply{.body = json::serialize(json::object{{"ip_allowlist", CidrArray(p.allowlist)},
                                                    {"breakglass_enabled", p.breakglass_enabled},
                                                    {"your_address", ctx.client.ToString()}})};
}

StatusOr<Reply> PutAllowlist(const SettingsRouteDeps& d, RequestContext& ctx) {
  using K = FieldSpec::Kind;
  BULWARK_ASSIGN_OR_RETURN(
      JsonFields body,
      JsonBody(ctx, {{.name = "cidrs", .kind = K::kStringArray},
                     {.name = "confirm_self_exclusion", .kind = K::kBool, .required = false}}));
  BULWARK_ASSIGN_OR_RETURN(std::vector<core::Cidr> list,
                           policy::ParseAllowlist(body.Strings("cidrs")));
  // Saving a list that shuts out the caller is allowed, but never by accident.
  if (!list.empty() && !core::AnyContains(list, ctx.client) &&
      !body.Bool("confirm_self_exclusion").value_or(false)) {
    return Status::Conflict("allowlist_excludes_caller",
                            "the list does not include your address " + ctx.client.ToString() +
                                "; send confirm_self_exclusion: true to save it anyway");
  }
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok());
  e.resource = "tenant:" + ctx.principal.tenant_id;
  std::vector<std::string> texts;
  for (const auto& c : list) texts.push_back(c.ToString());
  e.details.emplace_back("ip_allowlist", core::JoinList(texts, ','));
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx) {
        return policy::SetIpAllowlist(tx, ctx.principal.tenant_id, list);
      },
      std::move(e)));
  d.policies->Invalidate(ctx.principal.tenant_id);
  return Reply{.body = json::serialize(json::object{{"ip_allowlist", CidrArray(list)}})};
}

// Ends the tenant's open break-glass grants, each with its end receipt, inside `tx`.
StatusOr<std::int64_t> EndGrants(const SettingsRouteDeps& d, store::Transaction& tx,
                                 const std::string& tenant, std::string_view reason) {
  namespace bg = policy::breakglass;
  BULWARK_ASSIGN_OR_RETURN(auto ended, bg::EndWithReceipts(*d.receipts, tx,
                                                           bg::Ending::Tenant(tenant, reason),
                                                           core::NowUnixSeconds()));
  return static_cast<std::int64_t>(ended.size());
}

StatusOr<Reply> PutBreakglass(const SettingsRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body,
                           JsonBody(ctx, {{.name = "enabled", .kind = FieldSpec::Kind::kBool}}));
  if (ctx.principal.role != policy::RoleName(policy::Role::kOwner)) {
    return Status::PermissionDenied("owner_required", "only an owner may set up break-glass");
  }
  const bool enabled = *body.Bool("enabled");
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok());
  e.resource = "tenant:" + ctx.principal.tenant_id;
  e.details.emplace_back("enabled", enabled);
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_RETURN_IF_ERROR(policy::SetBreakglassEnabled(tx, ctx.principal.tenant_id, enabled));
        if (enabled) return Status::Ok();
        // Switching off ends what is open now, each grant with its end receipt.
        BULWARK_ASSIGN_OR_RETURN(std::int64_t ended,
                                 EndGrants(d, tx, ctx.principal.tenant_id, "switched_off"));
        ev.details.emplace_back("breakglass_ended", ended);
        return Status::Ok();
      },
      std::move(e)));
  d.sessions->InvalidateTenant(ctx.principal.tenant_id);  // open grants stop applying
  d.policies->Invalidate(ctx.principal.tenant_id);
  return Reply{.body = json::serialize(json::object{{"breakglass_enabled", enabled}})};
}

StatusOr<Reply> DeleteTenant(const SettingsRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {"confirm"}, {}));
  const auto role = policy::ParseRole(ctx.principal.role);
  if (!role) return Status::PermissionDenied("permission_denied", "no role in this tenant");
  const std::string tenant = ctx.principal.tenant_id;
  identity::directory::TenantDeletion done;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(std::int64_t grants_ended,
                                 EndGrants(d, tx, tenant, "tenant_deleted"));
        BULWARK_ASSIGN_OR_RETURN(
            done, identity::directory::DeleteTenant(tx, tenant, *role, body.String("confirm"),
                                                    core::NowUnixSeconds()));
        ev.resource = "tenant:" + tenant;
        ev.details.emplace_back("sessions_revoked", done.sessions_revoked);
        ev.details.emplace_back("api_keys_revoked", done.api_keys_revoked);
        ev.details.emplace_back("invites_cancelled", done.invites_cancelled);
        ev.details.emplace_back("breakglass_ended", grants_ended);
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok())));
  d.sessions->InvalidateTenant(tenant);
  d.api_keys->InvalidateTenant(tenant);
  d.policies->Invalidate(tenant);
  return Reply{.body =
                   json::serialize(json::object{{"tenant_id", tenant},
                                                {"deleted", true},
                                                {"sessions_revoked", done.sessions_revoked},
                                                {"api_keys_revoked", done.api_keys_revoked},
                                                {"invites_cancelled", done.invites_cancelled}})};
}

}  // namespace

Status AddSettingsRoutes(http::Router& router, SettingsRouteDeps deps) {
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/settings",
      .auth = AuthDecision::kEither,
      .permission = "settings.read",
      .tenant_scoped = true,
      .summary = "The tenant's access settings: IP allowlist and break-glass switch, and the "
                 "caller's address.",
      .handler = Bind(deps, GetSettings),
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::put,
      .pattern = "/api/v1/settings/ip-allowlist",
      .auth = AuthDecision::kSession,
      .permission = "settings.update",
      .tenant_scoped = true,
      .mfa_step_up = true,
      .body = BodyKind::kJson,
      .max_body_bytes = 8192,
      .audit_action = "settings.allowlist_change",
      .summary =
          "Replace the tenant's IP allowlist (CIDRs, v4 and v6; empty: any address); excluding "
          "your own address needs confirm_self_exclusion (MFA step-up).",
      .handler = Bind(deps, PutAllowlist),
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::delete_,
      .pattern = "/api/v1/tenant",
      .auth = AuthDecision::kSession,
      .permission = "settings.update",
      .tenant_scoped = true,
      .mfa_step_up = true,
      .body = BodyKind::kJson,
      .max_body_bytes = 1024,
      .audit_action = "tenant.delete",
      .summary = "Delete the caller's tenant (owner only, MFA step-up, confirmed by its name): "
                 "every session and "
                 "API key of it stops working; its audit history and receipts stay.",
      .handler = Bind(deps, DeleteTenant),
  }));
  return router.Add({
      .method = Verb::put,
      .pattern = "/api/v1/settings/breakglass",
      .auth = AuthDecision::kSession,
      .permission = "settings.update",
      .tenant_scoped = true,
      .mfa_step_up = true,
      .body = BodyKind::kJson,
      .max_body_bytes = 1024,
      .audit_action = "settings.breakglass_change",
      .summary = "Turn break-glass on or off for the tenant (owner only, MFA step-up; the server "
                 "must allow it too).",
      .handler = Bind(deps, PutBreakglass),
  });
}

}  // namespace bulwark::api
