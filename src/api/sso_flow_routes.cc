#include "api/sso_flow_routes.h"

#include "api/recorded_commit.h"
#include "core/clock.h"
#include "crypto/random.h"
#include "http/cookies.h"
#include "http/query.h"
#include "sso/login_state.h"
#include "stages/ledger_audit_stage.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;

constexpr std::size_t kLogoutBodyLimit = 8192;

// The tenant a public SSO request acts in, once known: its records name it (the audit stage
// takes the tenant from the principal), though the caller stays anonymous.
void RecordTenant(RequestContext& ctx, std::string_view tenant_id,
                  std::string_view connection_id) {
  ctx.principal.tenant_id = std::string(tenant_id);
  if (!connection_id.empty()) {
    ctx.audit_resource = "sso_connection:" + std::string(connection_id);
  }
}

StatusOr<Reply> Login(const SsoFlowRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"tenant", "connection"}));
  const std::string_view tenant = http::QueryValue(q, "tenant");
  const std::string_view connection = http::QueryValue(q, "connection");
  if (tenant.empty() || connection.empty()) {
    return Status::InvalidArgument("invalid_query", "tenant and connection are required");
  }
  BULWARK_ASSIGN_OR_RETURN(sso::BeginResult begun,
                           d.flow->Begin(tenant, connection, core::NowUnixSeconds()));
  RecordTenant(ctx, begun.tenant_id, begun.connection_id);
  Reply reply{.status = 302};
  reply.headers.emplace_back("Location", begun.authorization_url);
  reply.headers.emplace_back(
      "Set-Cookie", http::SetCookie(sso::login_state::kCookie, begun.browser_binding,
                                    sso::login_state::kTtlSeconds, true, http::SameSite::kLax));
  return reply;
}

StatusOr<Reply> Callback(const SsoFlowRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto q, http::ParseQuery(ctx.query, {"code", "state", "iss", "error",
                                                                "error_description",
                                                                "error_uri", "session_state"}));
  const sso::CallbackParams params{.connection_id = std::string(ctx.param("connection")),
                                   .code = std::string(http::QueryValue(q, "code")),
                                   .state = std::string(http::QueryValue(q, "state")),
                                   .iss = std::string(http::QueryValue(q, "iss")),
                                   .error = std::string(http::QueryValue(q, "error"))};
  const std::string binding(http::CookieValue(ctx.req, sso::login_state::kCookie));
  const std::int64_t now = core::NowUnixSeconds();
  sso::RedeemResult redeemed = d.flow->Redeem(params, binding, now);
  RecordTenant(ctx, redeemed.tenant_id, redeemed.connection_id);
  if (!redeemed.status.ok()) return redeemed.status;

  audit::Event event = stages::LedgerAuditStage::EventFor(ctx, 302, Status::Ok());
  sso::SignedIn signed_in;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(
      *d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(signed_in, d.flow->Finish(tx, *redeemed.redeemed, now));
        if (!signed_in.refused.ok()) {
          // Refused, but the member's access was removed: the refusal's record commits with it.
          ev = stages::LedgerAuditStage::EventFor(ctx, 403, signed_in.refused);
          ev.actor = {audit::ActorKind::kUser, signed_in.user_id};
          ev.details.emplace_back("membership_removed", true);
          ev.details.emplace_back("signins_ended", signed_in.sessions_revoked);
          ev.details.emplace_back("keys_disabled", signed_in.api_keys_revoked);
          return Status::Ok();
        }
        ev.actor = {audit::ActorKind::kUser, signed_in.user_id};
        ev.details.emplace_back("session_id", signed_in.tokens.session_id);
        ev.details.emplace_back("role", signed_in.role);
        ev.details.emplace_back("jit_created", signed_in.created);
        return Status::Ok();
      },
      std::move(event)));
  // The member's role may have changed (roles are replaced at each sign-in): the member's other
  // sessions reload it on their next request (and a removed member's keys fail).
  d.flow->FinishSignIn(signed_in);
  if (!signed_in.refused.ok()) return signed_in.refused;

  // Browser mode, as a magic link's sign-in with "delivery": "cookie" (api/identity_routes.cc).
  BULWARK_ASSIGN_OR_RETURN(std::string csrf, crypto::RandomTokenBase64Url(32));
  const std::int64_t lifetime = d.sessions->options().absolute_timeout_s;
  Reply reply{.status = 302};
  reply.headers.emplace_back("Location", signed_in.redirect_after);
  reply.headers.emplace_back("Set-Cookie",
                             http::SetCookie(http::kAccessCookie, signed_in.tokens.access_token,
                                             signed_in.tokens.expires_in, true));
  reply.headers.emplace_back("Set-Cookie",
                             http::SetCookie(http::kRefreshCookie, signed_in.tokens.refresh_token,
                                             lifetime, true));
  reply.headers.emplace_back("Set-Cookie", http::SetCookie(http::kCsrfCookie, csrf, lifetime, false));
  // The attempt is spent: its cookie goes.
  reply.headers.emplace_back("Set-Cookie", http::SetCookie(sso::login_state::kCookie, "", 0, true,
                                                           http::SameSite::kLax));
  return reply;
}

StatusOr<Reply> BackchannelLogout(const SsoFlowRouteDeps& d, RequestContext& ctx) {
  std::string token;
  for (const auto& [name, value] : ctx.form) {
    if (name != "logout_token") {
      return Status::InvalidArgument("invalid_request", "the body carries only logout_token");
    }
    token = value;
  }
  if (token.empty()) return Status::InvalidArgument("invalid_request", "logout_token is required");
  const std::string connection(ctx.param("connection"));
  BULWARK_ASSIGN_OR_RETURN(auto tenant, d.flow->ConnectionTenant(connection));
  RecordTenant(ctx, tenant ? *tenant : "", connection);
  const std::int64_t now = core::NowUnixSeconds();
  // The provider (discovery, keys) is asked here, before the recorded change: that runs on the
  // audit writer's thread inside its group-commit transaction, which no network call may hold.
  BULWARK_ASSIGN_OR_RETURN(sso::ValidatedLogout validated,
                           d.flow->ValidateLogout(connection, token, now));
  audit::Event event = stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok());
  sso::LogoutResult result;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(
      *d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(result, d.flow->Logout(tx, validated, now));
        ev.tenant = result.tenant_id;
        ev.details.emplace_back("sessions_ended", static_cast<std::int64_t>(result.session_ids.size()));
        return Status::Ok();
      },
      std::move(event)));
  d.flow->FinishLogout(result);
  Reply reply{.status = 200, .body = "{}"};
  return reply;
}

}  // namespace

Status AddSsoFlowRoutes(http::Router& router, SsoFlowRouteDeps deps) {
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/sso/login",
      .auth = AuthDecision::kPublic,
      .summary = "Start an SSO sign-in: 302 to the tenant connection's identity provider with "
                 "state, nonce and PKCE (S256), and the attempt's __Host- cookie.",
      .handler = Bind(deps, Login),
  }));
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/sso/callback/{connection}",
      .auth = AuthDecision::kPublic,
      .audit_action = "sso.sign_in",
      .summary = "A connection's SSO redirect URI: the code redeemed (only for an attempt begun "
                 "for this connection), the ID token validated, and a browser-mode session "
                 "started (302 with its cookies).",
      .handler = Bind(deps, Callback),
  }));
  return router.Add({
      .method = Verb::post,
      .pattern = "/api/v1/sso/backchannel-logout/{connection}",
      .auth = AuthDecision::kPublic,
      .body = BodyKind::kForm,
      .max_body_bytes = kLogoutBodyLimit,
      .audit_action = "sso.backchannel_logout",
      .summary = "OpenID Back-Channel Logout: a logout token from the connection's provider ends "
                 "the sessions it names.",
      .handler = Bind(deps, BackchannelLogout),
  });
}

}  // namespace bulwark::api
