// SSO administration over HTTP: thin adapters over sso::ConnectionService and sso::DomainService
// (see the header for the routes and their decisions).
#include "api/sso_admin_routes.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/body.h"
#include "api/recorded_commit.h"
#include "core/clock.h"
#include "sso/accounts.h"
#include "stages/ledger_audit_stage.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

constexpr std::size_t kConnectionBody = 64 * 1024;

Status OwnerOnly(const RequestContext& ctx) {
  if (ctx.principal.role != policy::RoleName(policy::Role::kOwner)) {
    return Status::PermissionDenied("owner_required", "only an owner may administer SSO");
  }
  return Status::Ok();
}

Reply JsonReply(unsigned status, const json::object& o) {
  return Reply{.status = status, .body = json::serialize(o)};
}

json::object DomainJson(const sso::Domain& d) {
  json::object o{{"domain", d.domain},
                 {"verified", d.verified_at.has_value()},
                 {"record_name", d.RecordName()},
                 {"record_type", "TXT"},
                 {"record_value", d.TxtRecord()},
                 {"token", d.token},
                 {"created_at", d.created_at}};
  o["verified_at"] = d.verified_at ? json::value(*d.verified_at) : json::value(nullptr);
  return o;
}

// The ledger record of a connection change: what changed, never the secret.
void Describe(audit::Event& ev, const sso::ConfigChange& c) {
  ev.resource = "sso_connection:" + c.connection.id;
  ev.details.emplace_back("connection_id", c.connection.id);
  ev.details.emplace_back("preset", std::string(sso::PresetName(c.connection.preset)));
  ev.details.emplace_back("issuer", c.connection.issuer);
  ev.details.emplace_back("client_id", c.connection.client_id);
  ev.details.emplace_back("enabled", c.connection.enabled);
  ev.details.emplace_back("client_secret_changed", c.client_secret_changed);
  ev.details.emplace_back("receipt_id", c.receipt_id);
}

json::object ChangeJson(const sso::ConfigChange& c) {
  json::object o = sso::ConnectionJson(c.connection);
  o["receipt_id"] = c.receipt_id;
  return o;
}

StatusOr<Reply> ListConnections(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto list, d.connections->List(*tx, ctx.principal.tenant_id));
  json::array out;
  for (const auto& c : list) out.push_back(sso::ConnectionJson(c));
  return JsonReply(200, {{"connections", std::move(out)}});
}

StatusOr<Reply> GetConnection(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto c,
                           d.connections->Get(*tx, ctx.principal.tenant_id, ctx.param("id")));
  if (!c) return Status::NotFound("connection_not_found", "no such SSO connection");
  return JsonReply(200, sso::ConnectionJson(*c));
}

StatusOr<Reply> CreateConnection(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(sso::ConnectionInput in, d.connections->ParseInput(ctx.json, true));
  sso::ConfigChange done;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(done, d.connections->Create(tx, ctx.principal.tenant_id,
                                                             ctx.principal.id, std::move(in),
                                                             core::NowUnixSeconds()));
        Describe(ev, done);
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 201, Status::Ok())));
  return JsonReply(201, ChangeJson(done));
}

StatusOr<Reply> UpdateConnection(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(sso::ConnectionInput in, d.connections->ParseInput(ctx.json, false));
  sso::ConfigChange done;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(done, d.connections->Update(tx, ctx.principal.tenant_id,
                                                             ctx.param("id"), ctx.principal.id,
                                                             std::move(in), core::NowUnixSeconds()));
        Describe(ev, done);
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok())));
  return JsonReply(200, ChangeJson(done));
}

StatusOr<Reply> DeleteConnection(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  sso::ConfigChange done;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(done, d.connections->Delete(tx, ctx.principal.tenant_id,
                                                             ctx.param("id"), ctx.principal.id,
                                                             core::NowUnixSeconds()));
        Describe(ev, done);
        return Status::Ok();
      },
      stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok())));
  return JsonReply(200, {{"id", done.connection.id},
                         {"deleted", true},
                         {"receipt_id", done.receipt_id}});
}

StatusOr<Reply> ListDomains(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto list, d.domains->List(*tx, ctx.principal.tenant_id));
  json::array out;
  for (const auto& x : list) out.push_back(DomainJson(x));
  return JsonReply(200, {{"domains", std::move(out)}});
}

StatusOr<Reply> ClaimDomain(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {"domain"}, {}));
  BULWARK_ASSIGN_OR_RETURN(std::string name, sso::NormalizeDomain(body.String("domain")));
  sso::Domain claimed;
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 201, Status::Ok());
  e.resource = "sso_domain:" + name;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx) -> Status {
        BULWARK_ASSIGN_OR_RETURN(claimed, d.domains->Claim(tx, ctx.principal.tenant_id, name,
                                                           core::NowUnixSeconds()));
        return Status::Ok();
      },
      std::move(e)));
  return JsonReply(201, DomainJson(claimed));
}

StatusOr<Reply> VerifyDomain(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(std::string name, sso::NormalizeDomain(ctx.param("domain")));
  ctx.audit_details.emplace_back("domain", name);
  BULWARK_ASSIGN_OR_RETURN(sso::Domain proven,
                           d.domains->ProveRecord(*d.store, ctx.principal.tenant_id, name));
  sso::Domain verified;
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok());
  e.resource = "sso_domain:" + name;
  std::string receipt_id;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(verified, d.domains->MarkVerified(tx, ctx.principal.tenant_id,
                                                                   proven, core::NowUnixSeconds()));
        BULWARK_ASSIGN_OR_RETURN(receipt_id, d.connections->IssueChangeReceipt(
                                                 tx, ctx.principal.tenant_id,
                                                 {{"change", "domain_verify"}, {"domain", name}},
                                                 ctx.principal.id));
        ev.details.emplace_back("receipt_id", receipt_id);
        return Status::Ok();
      },
      std::move(e)));
  json::object out = DomainJson(verified);
  out["receipt_id"] = receipt_id;
  return JsonReply(200, out);
}

StatusOr<Reply> DeleteDomain(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(std::string name, sso::NormalizeDomain(ctx.param("domain")));
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 204, Status::Ok());
  e.resource = "sso_domain:" + name;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_RETURN_IF_ERROR(d.domains->Remove(tx, ctx.principal.tenant_id, name));
        BULWARK_ASSIGN_OR_RETURN(std::string receipt_id,
                                 d.connections->IssueChangeReceipt(
                                     tx, ctx.principal.tenant_id,
                                     {{"change", "domain_remove"}, {"domain", name}},
                                     ctx.principal.id));
        ev.details.emplace_back("receipt_id", receipt_id);
        return Status::Ok();
      },
      std::move(e)));
  return Reply{.status = 204};
}

StatusOr<Reply> GetPolicy(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(bool on, sso::RequiresSso(*tx, ctx.principal.tenant_id));
  return JsonReply(200, {{"require_sso", on}});
}

StatusOr<Reply> PutPolicy(const SsoAdminRouteDeps& d, RequestContext& ctx) {
  BULWARK_RETURN_IF_ERROR(OwnerOnly(ctx));
  BULWARK_ASSIGN_OR_RETURN(JsonFields body,
                           JsonBody(ctx, {{.name = "require_sso", .kind = FieldSpec::Kind::kBool}}));
  const bool on = *body.Bool("require_sso");
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok());
  e.resource = "tenant:" + ctx.principal.tenant_id;
  e.details.emplace_back("require_sso", on);
  std::string receipt_id;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_RETURN_IF_ERROR(sso::SetRequiresSso(tx, ctx.principal.tenant_id, on));
        BULWARK_ASSIGN_OR_RETURN(receipt_id, d.connections->IssueChangeReceipt(
                                                 tx, ctx.principal.tenant_id,
                                                 {{"change", "require_sso"}, {"require_sso", on}},
                                                 ctx.principal.id));
        ev.details.emplace_back("receipt_id", receipt_id);
        return Status::Ok();
      },
      std::move(e)));
  return JsonReply(200, {{"require_sso", on}, {"receipt_id", receipt_id}});
}

}  // namespace

Status AddSsoAdminRoutes(http::Router& router, SsoAdminRouteDeps deps) {
  using H = RouteFn<SsoAdminRouteDeps>;
  struct Def {
    Verb method;
    const char* pattern;
    bool change;  // settings.update, MFA step-up, recorded with the change
    std::size_t body;
    const char* action;
    const char* summary;
    H handler;
  };
  const Def defs[] = {
      {Verb::get, "/api/v1/sso/connections", false, 0, "",
       "The tenant's SSO connections, without their client secrets (owner only).",
       ListConnections},
      {Verb::post, "/api/v1/sso/connections", true, kConnectionBody, "sso.connection_create",
       "Create an OIDC connection (google, entra, okta or generic); the client secret is sealed "
       "and never shown again; issues an idp.config_change receipt (owner only, MFA step-up).",
       CreateConnection},
      {Verb::get, "/api/v1/sso/connections/{id}", false, 0, "sso.connection_read",
       "One SSO connection, without its client secret (owner only).", GetConnection},
      {Verb::put, "/api/v1/sso/connections/{id}", true, kConnectionBody, "sso.connection_update",
       "Replace an SSO connection's settings (the client secret only when given); issues an "
       "idp.config_change receipt (owner only, MFA step-up).",
       UpdateConnection},
      {Verb::delete_, "/api/v1/sso/connections/{id}", true, 0, "sso.connection_delete",
       "Delete an SSO connection; issues an idp.config_change receipt (owner only, MFA step-up).",
       DeleteConnection},
      {Verb::get, "/api/v1/sso/domains", false, 0, "",
       "The domains the tenant claimed, each with its TXT record and whether it is verified "
       "(owner only).",
       ListDomains},
      {Verb::post, "/api/v1/sso/domains", true, 1024, "sso.domain_claim",
       "Claim a domain: answers the TXT record to publish at _bulwark-challenge.<domain> "
       "(owner only, MFA step-up).",
       ClaimDomain},
      {Verb::post, "/api/v1/sso/domains/{domain}/verify", true, 0, "sso.domain_verify",
       "Verify a claimed domain by its DNS TXT record (owner only, MFA step-up).", VerifyDomain},
      {Verb::delete_, "/api/v1/sso/domains/{domain}", true, 0, "sso.domain_delete",
       "Remove a claimed domain (owner only, MFA step-up).", DeleteDomain},
      {Verb::get, "/api/v1/sso/policy", false, 0, "",
       "Whether the tenant requires SSO (owner only).", GetPolicy},
      {Verb::put, "/api/v1/sso/policy", true, 1024, "sso.policy_change",
       "Require SSO or not: magic-link sign-in is then refused except to the designated "
       "break-glass owner account(s) (owner only, MFA step-up).",
       PutPolicy},
  };
  for (const Def& def : defs) {
    BULWARK_RETURN_IF_ERROR(router.Add({
        .method = def.method,
        .pattern = def.pattern,
        .auth = AuthDecision::kSession,
        .permission = def.change ? "settings.update" : "settings.read",
        .tenant_scoped = true,
        .mfa_step_up = def.change,
        .body = def.body > 0 ? BodyKind::kJson : BodyKind::kNone,
        .max_body_bytes = def.body,
        .audit_action = def.action,
        .summary = def.summary,
        .handler = Bind(deps, def.handler),
    }));
  }
  return Status::Ok();
}

}  // namespace bulwark::api
