#include "api/identity_routes.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/body.h"
#include "api/recorded_commit.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "http/cookies.h"
#include "stages/ledger_audit_stage.h"
#include "identity/directory.h"
#include "identity/invites.h"
#include "identity/magic_links.h"
#include "sso/accounts.h"
#include "identity/tokens.h"
#include "policy/breakglass.h"
#include "policy/roles.h"
#include "policy/tenant_policy.h"

namespace bulwark::api {
namespace {

using http::AuthDecision;
using http::BodyKind;
using http::Reply;
using http::RequestContext;
using http::Verb;
namespace json = boost::json;

constexpr std::size_t kSmallBody = 4096;
constexpr std::int64_t kEnrollWindowSeconds =
    10 * 60;  // TOTP enrollment only this soon after sign-in

Status NotServing() { return IdentityUnavailable(); }

Reply JsonReply(unsigned status, const json::object& o) {
  return Reply{.status = status, .body = json::serialize(o)};
}

// "delivery": "body" (default: the tokens in the JSON reply, for API clients) or "cookie"
// (browser mode: HttpOnly __Host- cookies and a CSRF token, see http/cookies.h).
StatusOr<bool> WantsCookies(const JsonFields& body) {
  const std::string_view delivery = body.String("delivery");
  if (delivery.empty() || delivery == "body") return false;
  if (delivery == "cookie") return true;
  return Status::InvalidArgument("invalid_delivery", "delivery is \"body\" or \"cookie\"");
}

StatusOr<Reply> SessionReply(const IdentityRouteDeps& d, const identity::SessionTokens& t,
                             std::string_view user_id, std::string_view tenant_id, bool cookies) {
  json::object o{{"expires_in", t.expires_in},
                 {"session_id", t.session_id},
                 {"user_id", user_id},
                 {"tenant_id", tenant_id}};
  Reply reply;
  if (!cookies) {
    o["token_type"] = "Bearer";
    o["access_token"] = t.access_token;
    o["refresh_token"] = t.refresh_token;
  } else {
    BULWARK_ASSIGN_OR_RETURN(std::string csrf, crypto::RandomTokenBase64Url(32));
    const std::int64_t lifetime = d.sessions->options().absolute_timeout_s;
    reply.headers.emplace_back(
        "Set-Cookie", http::SetCookie(http::kAccessCookie, t.access_token, t.expires_in, true));
    reply.headers.emplace_back(
        "Set-Cookie", http::SetCookie(http::kRefreshCookie, t.refresh_token, lifetime, true));
    reply.headers.emplace_back("Set-Cookie",
                               http::SetCookie(http::kCsrfCookie, csrf, lifetime, false));
    o["token_type"] = "cookie";
    o["csrf_token"] = csrf;
  }
  reply.body = json::serialize(o);
  return reply;
}

// The audit event of this request, before the change decides its outcome.
audit::Event EventOf(const RequestContext& ctx, unsigned status) {
  return stages::LedgerAuditStage::EventFor(ctx, status, Status::Ok());
}

void Deny(audit::Event& e, const Status& s, unsigned http_status) {
  e.result = audit::Result::kDenied;
  e.reason = s.reason();
  for (auto& d : e.details) {
    if (d.first == "status") d.second = static_cast<int>(http_status);
  }
}

std::string LinkFor(const IdentityRouteDeps& d, std::string_view path, std::string_view token) {
  std::string base = d.public_url;
  if (base.empty()) {
    const bool dev_base = d.dev_link_base != nullptr && !d.dev_link_base->empty();
    base = dev_base ? *d.dev_link_base : "http://localhost:8420";
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string(path) + "#token=" + std::string(token);
}

// ---- sign-in -------------------------------------------------------------------------------

// HMAC-SHA-256 of a normalized address under the pseudonym key, hex.
std::string EmailPseudonym(const IdentityRouteDeps& d, std::string_view email) {
  return crypto::HexEncode(
      crypto::HmacSha256(d.email_pseudonym_key->reveal_span(), crypto::AsBytes(email)));
}

StatusOr<Reply> RequestLink(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {"email"}, {}));
  BULWARK_ASSIGN_OR_RETURN(std::string email, identity::NormalizeEmail(body.String("email")));
  if (d.mail == nullptr)
    return Status::Unavailable("mail_unavailable", "sign-in mail is not configured");
  if (d.limiter != nullptr) {
    BULWARK_RETURN_IF_ERROR(d.limiter->TakeFor(ctx, stages::RateLimitRule::Key::kEmail, email));
  }
  if (d.email_pseudonym_key == nullptr) return NotServing();
  const std::int64_t now = core::NowUnixSeconds();
  audit::Event e = EventOf(ctx, 202);
  identity::IssuedToken link;
  bool member = false;
  // Known or not, the same work happens, so the answer's timing does not tell them apart: the
  // same queries, a link written in one transaction with its record (for an address with no
  // account a decoy link, naming no one and never read), and a message built and queued (the
  // decoy's dropped unsent by the queue, mail_queue.h). The mail leaves from the queue, off
  // this request's timing.
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(auto user, identity::directory::FindActiveUser(tx, email));
        BULWARK_ASSIGN_OR_RETURN(auto tenants,
                                 identity::directory::TenantsOf(tx, user ? *user : ""));
        member = user && !tenants.empty();
        ev.details.emplace_back("known", member);
        // The ledger keeps records forever, so it holds no address (data minimisation): a
        // member is named by user id; any other address by a keyed hash of it, which tells two
        // requests for one address apart from requests for two, and nothing more.
        ev.resource = member ? "user:" + *user : "email_hmac:" + EmailPseudonym(d, email);
        if (member) {
          ev.actor = {audit::ActorKind::kUser, *user};
          BULWARK_ASSIGN_OR_RETURN(
              link, identity::magic_links::Issue(tx, *user, now, d.magic_link_ttl_s));
        } else {
          BULWARK_ASSIGN_OR_RETURN(link,
                                   identity::magic_links::IssueDecoy(tx, now, d.magic_link_ttl_s));
        }
        return Status::Ok();
      },
      std::move(e)));
  d.mail->Enqueue({.to = email,
                   .subject = "Your Bulwark sign-in link",
                   .text = "Sign in to Bulwark with this link (valid " +
                           std::to_string(d.magic_link_ttl_s / 60) + " minutes, single use):\n\n" +
                           LinkFor(d, "/login", link.text) +
                           "\n\nIf you did not ask for it, ignore this message.\n"},
                  member);
  return JsonReply(
      202, {{"status", "accepted"},
            {"message", "If the address belongs to an account, a sign-in link is on its way."}});
}

StatusOr<Reply> VerifyLink(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {"token"}, {"tenant", "delivery"}));
  BULWARK_ASSIGN_OR_RETURN(bool cookies, WantsCookies(body));
  const std::string token(body.String("token"));
  const std::string wanted_tenant(body.String("tenant"));
  const std::int64_t now = core::NowUnixSeconds();
  identity::SessionTokens tokens;
  std::string user_id, tenant_id;
  std::optional<audit::Event> breakglass_use;  // the record of a break-glass owner's sign-in
  audit::Event e = EventOf(ctx, 200);
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(user_id, identity::magic_links::Consume(tx, token, now));
        BULWARK_ASSIGN_OR_RETURN(auto tenants, identity::directory::TenantsOf(tx, user_id));
        if (!wanted_tenant.empty()) {
          BULWARK_ASSIGN_OR_RETURN(auto resolved,
                                   identity::directory::ResolveTenant(tx, wanted_tenant));
          if (!resolved || std::find(tenants.begin(), tenants.end(), *resolved) == tenants.end()) {
            return Status::PermissionDenied("not_a_member",
                                            "this account is not a member of that tenant");
          }
          tenant_id = *resolved;
        } else if (tenants.size() == 1) {
          tenant_id = tenants[0];
        } else if (tenants.empty()) {
          return Status::PermissionDenied("not_a_member",
                                          "this account is not a member of any tenant");
        } else {
          return Status::InvalidArgument("tenant_required",
                                         "this account belongs to several tenants: name one");
        }
        BULWARK_RETURN_IF_ERROR(policy::CheckClientAllowed(tx, tenant_id, ctx.client));
        // A tenant requiring SSO refuses the link (nothing is consumed), except to a designated
        // break-glass owner, whose use is recorded and alerted on below.
        BULWARK_ASSIGN_OR_RETURN(sso::MagicLinkUse use,
                                 sso::CheckMagicLink(tx, tenant_id, user_id));
        BULWARK_ASSIGN_OR_RETURN(tokens, d.sessions->Start(tx, user_id, tenant_id, now));
        ev.actor = {audit::ActorKind::kUser, user_id};
        ev.tenant = tenant_id;
        ev.auth_method = "magic_link";
        ev.details.emplace_back("session", tokens.session_id);
        if (use == sso::MagicLinkUse::kBreakglass) {
          ev.details.emplace_back("sso_breakglass", true);
          breakglass_use = ev;
        }
        return Status::Ok();
      },
      std::move(e)));
  if (breakglass_use) RaiseAlert(*d.writer, "sso_breakglass_sign_in", *breakglass_use);
  return SessionReply(d, tokens, user_id, tenant_id, cookies);
}

StatusOr<Reply> Refresh(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {}, {"refresh_token", "delivery"}));
  BULWARK_ASSIGN_OR_RETURN(bool cookies, WantsCookies(body));
  std::string token(body.String("refresh_token"));
  if (cookies && token.empty()) {
    // Browser mode: the refresh token is in its cookie; a cross-site page cannot echo the CSRF
    // cookie into the header, so it cannot make the browser refresh.
    if (!http::CsrfTokenMatches(ctx.req)) {
      return Status::PermissionDenied("csrf_failed",
                                      "refreshing with the cookie needs the X-CSRF-Token header");
    }
    token = std::string(http::CookieValue(ctx.req, http::kRefreshCookie));
  }
  if (token.empty())
    return Status::InvalidArgument("invalid_body", "expected {\"refresh_token\": string}");
  const std::int64_t now = core::NowUnixSeconds();
  identity::RefreshResult result;
  audit::Event e = EventOf(ctx, 200);
  e.auth_method = "refresh_token";
  audit::Event recorded;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(result, d.sessions->Refresh(tx, token, now));
        if (result.tokens) {
          // A refresh token used from outside the tenant's allowlist rotates nothing.
          BULWARK_RETURN_IF_ERROR(policy::CheckClientAllowed(tx, result.tenant_id, ctx.client));
        }
        if (!result.session_id.empty()) {
          ev.actor = {audit::ActorKind::kUser, result.user_id};
          ev.tenant = result.tenant_id;
          ev.details.emplace_back("session", result.session_id);
        }
        if (result.reused) {
          // The revocation commits with this record; the caller still gets 401.
          ev.action = "auth.refresh_reuse";
          Deny(ev, result.status, 401);
          recorded = ev;
          return Status::Ok();
        }
        if (!result.status.ok() && result.status.reason() == "session_expired") {
          Deny(ev, result.status, 401);
          return Status::Ok();
        }
        return result.status;
      },
      std::move(e)));
  if (result.reused || !result.status.ok()) {
    // Only a revocation that committed changes what the cache may hold.
    if (!result.session_id.empty() &&
        (result.reused || result.status.reason() == "session_expired")) {
      d.sessions->InvalidateSession(result.session_id);
    }
    if (result.reused) RaiseAlert(*d.writer, "refresh_token_reuse", recorded);
    return result.status;
  }
  return SessionReply(d, *result.tokens, result.user_id, result.tenant_id, cookies);
}

StatusOr<Reply> Logout(const IdentityRouteDeps& d, RequestContext& ctx) {
  const std::string sid = ctx.principal.session_id;
  audit::Event e = EventOf(ctx, 204);
  e.details.emplace_back("session", sid);
  const std::int64_t now = core::NowUnixSeconds();
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_RETURN_IF_ERROR(d.sessions->Revoke(tx, sid, "logout", now));
        // A break-glass grant does not outlive its session: it ends here, with its end receipt.
        if (d.receipts == nullptr) return Status::Ok();
        BULWARK_ASSIGN_OR_RETURN(
            auto ended, policy::breakglass::EndWithReceipts(
                            *d.receipts, tx, policy::breakglass::Ending::Session(sid), now));
        for (const auto& [grant, receipt] : ended) {
          ev.details.emplace_back("breakglass_ended", grant.id);
          ev.details.emplace_back("receipt_id", receipt.id);
        }
        return Status::Ok();
      },
      std::move(e)));
  d.sessions->InvalidateSession(sid);
  Reply reply{.status = 204};
  for (std::string_view name : {http::kAccessCookie, http::kRefreshCookie, http::kCsrfCookie}) {
    reply.headers.emplace_back("Set-Cookie",
                               http::SetCookie(name, "", 0, name != http::kCsrfCookie));
  }
  return reply;
}

StatusOr<Reply> Me(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(
      auto member, identity::directory::GetMember(*tx, ctx.principal.tenant_id, ctx.principal.id));
  if (!member) return Status::Unauthenticated("session_revoked", "the session has ended");
  BULWARK_ASSIGN_OR_RETURN(bool enrolled, d.mfa->Enrolled(*tx, ctx.principal.id));
  return JsonReply(200, {{"user_id", member->user_id},
                         {"email", member->email},
                         {"tenant_id", ctx.principal.tenant_id},
                         {"role", policy::RoleName(member->role)},
                         {"session_id", ctx.principal.session_id},
                         {"mfa_enrolled", enrolled},
                         {"mfa_verified_at", ctx.principal.mfa_verified_at}});
}

// ---- MFA -----------------------------------------------------------------------------------

// Enrolling is allowed only in a session that signed in moments ago (a stolen access token must
// not let its holder plant their own second factor), and the account's address is told.
StatusOr<Reply> EnrollTotp(const IdentityRouteDeps& d, RequestContext& ctx) {
  identity::MfaEnrollment enrollment;
  std::string email;
  const std::int64_t now = core::NowUnixSeconds();
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx) -> Status {
        BULWARK_RETURN_IF_ERROR(d.sessions->RequireRecentSignIn(tx, ctx.principal.session_id, now,
                                                                kEnrollWindowSeconds));
        BULWARK_ASSIGN_OR_RETURN(
            auto m, identity::directory::GetMember(tx, ctx.principal.tenant_id, ctx.principal.id));
        if (!m) return Status::Unauthenticated("session_revoked", "the session has ended");
        email = m->email;
        BULWARK_ASSIGN_OR_RETURN(auto tenant_name,
                                 identity::directory::TenantName(tx, ctx.principal.tenant_id));
        if (!tenant_name)
          return Status::Unauthenticated("session_revoked", "the session has ended");
        BULWARK_ASSIGN_OR_RETURN(enrollment,
                                 d.mfa->Enroll(tx, ctx.principal.id, m->email, *tenant_name, now));
        return Status::Ok();
      },
      EventOf(ctx, 201)));
  return JsonReply(201, {{"otpauth_uri", enrollment.otpauth_uri},
                         {"secret", enrollment.secret_base32},
                         {"qr_code", enrollment.qr_code_data_uri}});
}

// Confirm (first code) and verify (step-up) share this: the failure counter and its record
// commit together. Only verify counts as a step-up. The slow recovery-code hashing happens
// before the write transaction, never inside it.
StatusOr<Reply> CheckTotp(const IdentityRouteDeps& d, RequestContext& ctx, bool confirming) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {"code"}, {}));
  const std::string code(body.String("code"));
  if (code.empty() || code.size() > 64)
    return Status::InvalidArgument("invalid_code", "code must be 1-64 characters");
  const std::int64_t now = core::NowUnixSeconds();
  identity::RecoveryCodeSet prepared;
  identity::RecoveryProof proof;
  if (confirming) {
    BULWARK_ASSIGN_OR_RETURN(prepared, d.mfa->PrepareRecoveryCodes());
  } else {
    BULWARK_ASSIGN_OR_RETURN(proof, d.mfa->PrepareRecoveryProof(*d.store, ctx.principal.id, code));
  }
  identity::MfaCheck check;
  std::string email;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(
            check, confirming ? d.mfa->Confirm(tx, ctx.principal.id, code, now, prepared)
                              : d.mfa->Verify(tx, ctx.principal.id, code, now, &proof));
        if (!check.status.ok()) {
          ev.action = check.locked_now ? "mfa.lock" : "mfa.failure";
          Deny(ev, check.status, 403);
          ev.details.emplace_back("failures", check.failures);
          return Status::Ok();
        }
        if (check.used_recovery_code) ev.details.emplace_back("recovery_code", true);
        if (confirming) {
          BULWARK_ASSIGN_OR_RETURN(auto m, identity::directory::GetMember(
                                               tx, ctx.principal.tenant_id, ctx.principal.id));
          if (m) email = m->email;
          return Status::Ok();
        }
        return d.sessions->MarkMfaVerified(tx, ctx.principal.session_id, now);
      },
      EventOf(ctx, 200)));
  if (!check.status.ok()) return check.status;
  if (confirming) {
    if (d.mail != nullptr && !email.empty()) {
      d.mail->Enqueue({.to = email,
                       .subject = "Two-factor authentication was turned on",
                       .text = "TOTP two-factor authentication was just turned on for your Bulwark "
                               "account. If this "
                               "was not you, tell your tenant's owner at once.\n"});
    }
    json::array codes;
    for (const auto& c : check.recovery_codes) codes.emplace_back(c);
    return JsonReply(200, {{"status", "enrolled"}, {"recovery_codes", std::move(codes)}});
  }
  d.sessions->InvalidateSession(ctx.principal.session_id);
  return JsonReply(200, {{"status", "verified"}, {"mfa_verified_at", now}});
}

// ---- members and invitations ---------------------------------------------------------------

StatusOr<policy::Role> ActorRole(const RequestContext& ctx) {
  auto r = policy::ParseRole(ctx.principal.role);
  if (!r) return Status::PermissionDenied("permission_denied", "no role in this tenant");
  return *r;
}

StatusOr<Reply> ListMembers(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto members,
                           identity::directory::ListMembers(*tx, ctx.principal.tenant_id));
  json::array out;
  for (const auto& m : members) {
    out.push_back(json::object{{"user_id", m.user_id},
                               {"email", m.email},
                               {"role", policy::RoleName(m.role)},
                               {"created_at", m.created_at}});
  }
  return JsonReply(200, {{"members", std::move(out)}});
}

StatusOr<Reply> ChangeRole(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {"role"}, {}));
  const auto role = policy::ParseRole(body.String("role"));
  if (!role)
    return Status::InvalidArgument("invalid_role", "role must be owner, admin, member or viewer");
  BULWARK_ASSIGN_OR_RETURN(policy::Role actor, ActorRole(ctx));
  const std::string target(ctx.param("user_id"));
  audit::Event e = EventOf(ctx, 200);
  e.resource = "member:" + target;
  e.details.emplace_back("role", std::string(policy::RoleName(*role)));
  std::string receipt_id;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_RETURN_IF_ERROR(
            identity::directory::ChangeRole(tx, ctx.principal.tenant_id, actor, target, *role));
        BULWARK_ASSIGN_OR_RETURN(
            receipts::Receipt r,
            d.receipts->Issue(tx, ctx.principal.tenant_id, receipts::kind::kRoleChange,
                              json::object{{"user_id", target},
                                           {"role", policy::RoleName(*role)},
                                           {"changed_by", ctx.principal.id}},
                              {"user_id", "changed_by"}));
        receipt_id = r.id;
        ev.details.emplace_back("receipt_id", r.id);
        return Status::Ok();
      },
      std::move(e)));
  d.sessions->InvalidateMember(ctx.principal.tenant_id, target);
  d.api_keys->InvalidateTenant(ctx.principal.tenant_id);  // keys hold at most their creator's verbs
  return JsonReply(
      200, {{"user_id", target}, {"role", policy::RoleName(*role)}, {"receipt_id", receipt_id}});
}

StatusOr<Reply> RemoveMember(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(policy::Role actor, ActorRole(ctx));
  const std::string target(ctx.param("user_id"));
  audit::Event e = EventOf(ctx, 204);
  e.resource = "member:" + target;
  const std::int64_t now = core::NowUnixSeconds();
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx) -> Status {
        BULWARK_RETURN_IF_ERROR(
            identity::directory::RemoveMember(tx, ctx.principal.tenant_id, actor, target));
        // Rejoining later starts from nothing: no keys, no path policies.
        BULWARK_RETURN_IF_ERROR(
            d.api_keys->RevokeCreatedBy(tx, ctx.principal.tenant_id, target, now).status());
        BULWARK_RETURN_IF_ERROR(
            policy::path_policies::ForgetMember(tx, ctx.principal.tenant_id, target));
        return d.sessions->RevokeMember(tx, ctx.principal.tenant_id, target, "member_removed", now)
            .status();
      },
      std::move(e)));
  if (d.path_access != nullptr) d.path_access->InvalidateTenant(ctx.principal.tenant_id);
  d.sessions->InvalidateMember(ctx.principal.tenant_id, target);
  d.api_keys->InvalidateTenant(ctx.principal.tenant_id);  // keys hold at most their creator's verbs
  return Reply{.status = 204};
}

StatusOr<Reply> CreateInvite(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {"email", "role"}, {}));
  BULWARK_ASSIGN_OR_RETURN(std::string email, identity::NormalizeEmail(body.String("email")));
  const auto role = policy::ParseRole(body.String("role"));
  if (!role)
    return Status::InvalidArgument("invalid_role", "role must be owner, admin, member or viewer");
  BULWARK_ASSIGN_OR_RETURN(policy::Role actor, ActorRole(ctx));
  if (d.mail == nullptr)
    return Status::Unavailable("mail_unavailable", "invitation mail is not configured");
  identity::invites::Created created;
  audit::Event e = EventOf(ctx, 201);
  e.resource = "email:" + email;
  e.details.emplace_back("role", std::string(policy::RoleName(*role)));
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(
            created, identity::invites::Create(tx, ctx.principal.tenant_id, actor, email, *role,
                                               ctx.principal.id, core::NowUnixSeconds()));
        ev.details.emplace_back("invite", created.id);
        return Status::Ok();
      },
      std::move(e)));
  d.mail->Enqueue({.to = email,
                   .subject = "You are invited to Bulwark",
                   .text = "You have been invited to join a Bulwark tenant as " +
                           std::string(policy::RoleName(*role)) +
                           ". Accept within 7 days (single use):\n\n" +
                           LinkFor(d, "/accept-invite", created.token.text) + "\n"});
  return JsonReply(201, {{"id", created.id},
                         {"email", email},
                         {"role", policy::RoleName(*role)},
                         {"expires_at", created.expires_at}});
}

StatusOr<Reply> AcceptInvite(const IdentityRouteDeps& d, RequestContext& ctx) {
  BULWARK_ASSIGN_OR_RETURN(JsonFields body, JsonBody(ctx, {"token"}, {"delivery"}));
  BULWARK_ASSIGN_OR_RETURN(bool cookies, WantsCookies(body));
  const std::string token(body.String("token"));
  const std::int64_t now = core::NowUnixSeconds();
  identity::invites::Accepted accepted;
  identity::SessionTokens tokens;
  BULWARK_RETURN_IF_ERROR(CommitRecorded(*d.writer, ctx,
      [&](store::Transaction& tx, audit::Event& ev) -> Status {
        BULWARK_ASSIGN_OR_RETURN(accepted, identity::invites::Accept(tx, token, now));
        BULWARK_RETURN_IF_ERROR(policy::CheckClientAllowed(tx, accepted.tenant_id, ctx.client));
        // A mailed invitation signs in like a magic link: a tenant requiring SSO refuses it
        // (nothing is accepted); its members join by signing in with SSO.
        BULWARK_RETURN_IF_ERROR(
            sso::CheckMagicLink(tx, accepted.tenant_id, accepted.user_id).status());
        BULWARK_ASSIGN_OR_RETURN(tokens,
                                 d.sessions->Start(tx, accepted.user_id, accepted.tenant_id, now));
        ev.actor = {audit::ActorKind::kUser, accepted.user_id};
        ev.tenant = accepted.tenant_id;
        ev.auth_method = "invite";
        ev.details.emplace_back("invite", accepted.invite_id);
        ev.details.emplace_back("role", std::string(policy::RoleName(accepted.role)));
        return Status::Ok();
      },
      EventOf(ctx, 200)));
  return SessionReply(d, tokens, accepted.user_id, accepted.tenant_id, cookies);
}

StatusOr<Reply> Outbox(const IdentityRouteDeps& d) {
  json::array out;
  if (d.outbox != nullptr) {
    for (const auto& m : d.outbox->Messages()) {
      out.push_back(json::object{{"to", m.to}, {"subject", m.subject}, {"text", m.text}});
    }
  }
  return JsonReply(200, {{"messages", std::move(out)}});
}

}  // namespace


Status AddIdentityRoutes(http::Router& router, IdentityRouteDeps deps, bool local_overlay) {
  using H = RouteFn<IdentityRouteDeps>;
  struct Def {
    Verb method;
    const char* pattern;
    AuthDecision auth;
    const char* permission;
    bool tenant_scoped;
    bool mfa;
    bool body;
    const char* action;
    const char* summary;
    H handler;
  };
  const Def defs[] = {
      {Verb::post, "/api/v1/auth/request", AuthDecision::kPublic, "", false, false, true,
       "auth.request",
       "Mail a single-use sign-in link (15 minutes) to a member's address. Always 202, known or "
       "not.",
       RequestLink},
      {Verb::post, "/api/v1/auth/verify", AuthDecision::kPublic, "", false, false, true,
       "auth.verify",
       "Exchange a sign-in link's token (once) for a session: access token (JWT) and refresh "
       "token.",
       VerifyLink},
      {Verb::post, "/api/v1/auth/refresh", AuthDecision::kPublic, "", false, false, true,
       "auth.refresh",
       "Rotate a refresh token for new tokens; a reused one revokes the whole session.", Refresh},
      {Verb::post, "/api/v1/auth/logout", AuthDecision::kSession, "", true, false, false,
       "auth.logout", "End the session: its access and refresh tokens stop working at once.",
       Logout},
      {Verb::post, "/api/v1/auth/accept-invite", AuthDecision::kPublic, "", false, false, true,
       "invite.accept",
       "Accept an invitation (once): join its tenant with its role and start a session.",
       AcceptInvite},
      {Verb::get, "/api/v1/me", AuthDecision::kSession, "", true, false, false, "",
       "The signed-in member: user, tenant, role, MFA state.", Me},
      {Verb::post, "/api/v1/auth/mfa/totp", AuthDecision::kSession, "", true, false, false,
       "mfa.enroll", "Start TOTP enrollment: the otpauth:// URI and secret, shown once.",
       EnrollTotp},
      {Verb::post, "/api/v1/auth/mfa/totp/confirm", AuthDecision::kSession, "", true, false, true,
       "mfa.enroll.confirm",
       "Confirm TOTP with a first code; returns 10 single-use recovery codes, shown once.",
       [](const IdentityRouteDeps& d, RequestContext& ctx) { return CheckTotp(d, ctx, true); }},
      {Verb::post, "/api/v1/auth/mfa/verify", AuthDecision::kSession, "", true, false, true,
       "mfa.verify",
       "Step-up: verify a TOTP or recovery code; high-impact actions are allowed for 5 minutes.",
       [](const IdentityRouteDeps& d, RequestContext& ctx) { return CheckTotp(d, ctx, false); }},
      {Verb::get, "/api/v1/members", AuthDecision::kSession, "members.read", true, false, false, "",
       "The tenant's members and their roles.", ListMembers},
      {Verb::patch, "/api/v1/members/{user_id}", AuthDecision::kSession, "members.role.update",
       true, true, true, "member.role_change",
       "Change a member's role (MFA step-up; owner-only for owners).", ChangeRole},
      {Verb::delete_, "/api/v1/members/{user_id}", AuthDecision::kSession, "members.remove", true,
       true, false, "member.remove", "Remove a member; their sessions end at once (MFA step-up).",
       RemoveMember},
      {Verb::post, "/api/v1/invites", AuthDecision::kSession, "members.invite", true, true, true,
       "invite.create",
       "Invite an address to the tenant with a role; the single-use link (7 days) is mailed (MFA "
       "step-up).",
       CreateInvite},
  };
  for (const Def& def : defs) {
    BULWARK_RETURN_IF_ERROR(router.Add({
        .method = def.method,
        .pattern = def.pattern,
        .auth = def.auth,
        .permission = def.permission,
        .tenant_scoped = def.tenant_scoped,
        .mfa_step_up = def.mfa,
        .body = def.body ? BodyKind::kJson : BodyKind::kNone,
        .max_body_bytes = def.body ? kSmallBody : 0,
        .audit_action = def.action,
        .summary = def.summary,
        .handler = Bind(deps, def.handler),
    }));
  }
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/.well-known/jwks.json",
      .auth = AuthDecision::kPublic,
      .public_cache = true,
      .summary = "The public keys (JWKS, EdDSA/Ed25519) that verify access tokens offline.",
      .handler = [deps](RequestContext&) -> StatusOr<Reply> {
        if (deps.sessions == nullptr) return NotServing();
        return Reply{.body = deps.sessions->jwks()};
      },
  }));
  if (!local_overlay) return Status::Ok();
  return router.Add({
      .method = Verb::get,
      .pattern = "/api/v1/local/outbox",
      .auth = AuthDecision::kPublic,
      .summary = "Dev overlay: mail that would have been sent (sign-in links, invitations). Dev "
                 "mode only.",
      .handler = [deps](RequestContext&) -> StatusOr<Reply> { return Outbox(deps); },
  });
}

}  // namespace bulwark::api
