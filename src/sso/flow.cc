#include "sso/flow.h"

#include <utility>

#include "core/percent_encoding.h"
#include "crypto/compare.h"
#include "identity/directory.h"
#include "sso/flow_store.h"
#include "sso/login_state.h"

namespace bulwark::sso {
namespace {

Status ConnectionNotFound() {
  return Status::NotFound("connection_not_found", "no such SSO connection");
}

// Entra's multi-tenant issuer is a template; its discovery document lives under "organizations".
constexpr std::string_view kEntraOrganizationsDiscovery =
    "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration";

// What the flow takes from a validated ID token, per the connection's preset: for Entra the
// account key is tid:oid (oid is stable per user and tenant; sub is per application).
}  // namespace

ExternalIdentity IdentityOf(const Connection& conn, const IdTokenClaims& c) {
  ExternalIdentity id{.issuer = conn.issuer,
                      .subject = c.subject,
                      .email = c.email,
                      .email_verified = c.email_verified,
                      .hd = c.hd,
                      .tid = c.tid,
                      .groups = c.groups,
                      .groups_overage = c.groups_overage};
  if (conn.preset == Preset::kEntra) {
    id.subject = EntraSubject(c.tid, c.oid);
    // Entra v2 ID tokens carry no email_verified; its optional claim xms_edov (true: the
    // email's domain is verified by the user's Entra tenant, whose tid the connection allows)
    // vouches for the email instead. Never for another preset.
    id.email_verified = c.email_verified || c.email_domain_owner_verified;
  }
  return id;
}

namespace {

TokenExpectations ExpectationsOf(const Connection& conn, std::int64_t now) {
  TokenExpectations e;
  e.issuer = conn.issuer;
  e.allowed_tenants = conn.entra_tenants;
  e.client_id = conn.client_id;
  e.now_unix = now;
  e.groups_claim = conn.groups_claim;
  return e;
}

// A logout token refusal is 400 (Back-Channel Logout 1.0 section 2.8), whatever the validator's
// code; its reason stays.
Status LogoutRefused(const Status& s) {
  if (s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kInternal) return s;
  return Status::InvalidArgument(std::string(s.reason()), "the logout token is not valid");
}

}  // namespace

FlowService::FlowService(store::Store& store, const ConnectionService& connections,
                         identity::SessionService& sessions, identity::ApiKeyService& api_keys,
                         ProviderClient& provider, FlowOptions options)
    : store_(store), connections_(connections), sessions_(sessions), api_keys_(api_keys),
      provider_(provider),
      options_(std::move(options)) {}

std::string FlowService::RedirectUri(std::string_view connection_id) const {
  std::string base = sessions_.issuer();
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + std::string(kCallbackPath) + core::PercentEncode(connection_id);
}

ProviderEndpoint FlowService::EndpointOf(const Connection& conn) const {
  ProviderEndpoint e{.issuer = conn.issuer,
                     .allow_insecure_loopback = options_.allow_insecure_loopback};
  if (conn.issuer.find(kTenantIdPlaceholder) != std::string::npos) {
    e.discovery_url = std::string(kEntraOrganizationsDiscovery);
  }
  return e;
}

StatusOr<BeginResult> FlowService::Begin(std::string_view tenant, std::string_view connection_id,
                                         std::int64_t now) {
  std::optional<Connection> conn;
  std::string tenant_id;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(auto resolved, identity::directory::ResolveTenant(*tx, tenant));
    if (!resolved) return ConnectionNotFound();
    tenant_id = *resolved;
    BULWARK_ASSIGN_OR_RETURN(conn, connections_.Get(*tx, tenant_id, connection_id));
    if (!conn || !conn->enabled) return ConnectionNotFound();
  }
  // Discovery before anything is stored: an unreachable provider leaves no attempt behind.
  BULWARK_ASSIGN_OR_RETURN(ProviderMetadata meta, provider_.Discover(EndpointOf(*conn)));
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kWrite));
  BULWARK_ASSIGN_OR_RETURN(
      login_state::Started s,
      login_state::Begin(*tx, tenant_id, conn->id, options_.post_login_path, now));
  BULWARK_RETURN_IF_ERROR(tx->Commit());
  std::string scope;
  for (const auto& sc : conn->scopes) scope += (scope.empty() ? "" : " ") + sc;
  std::string url = meta.authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + core::PercentEncode(conn->client_id) +
         "&redirect_uri=" + core::PercentEncode(RedirectUri(conn->id)) + "&scope=" + core::PercentEncode(scope) +
         "&state=" + s.state + "&nonce=" + s.nonce + "&code_challenge=" + s.code_challenge +
         "&code_challenge_method=S256";
  return BeginResult{.authorization_url = std::move(url),
                     .browser_binding = std::move(s.browser_binding),
                     .tenant_id = tenant_id,
                     .connection_id = conn->id};
}

RedeemResult FlowService::Redeem(const CallbackParams& params, std::string_view browser_binding,
                                 std::int64_t now) {
  RedeemResult out;
  // 1. The attempt, spent in its own transaction whatever happens next.
  auto spent = [&]() -> StatusOr<login_state::Pending> {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kWrite));
    BULWARK_ASSIGN_OR_RETURN(auto p, login_state::Consume(*tx, params.state, browser_binding, now));
    BULWARK_RETURN_IF_ERROR(tx->Commit());
    return p;
  }();
  if (!spent.ok()) {
    out.status = spent.status();
    return out;
  }
  const login_state::Pending& pending = *spent;
  out.tenant_id = pending.tenant_id;
  out.connection_id = pending.connection_id;
  out.status = [&]() -> Status {
    // The code arrived at another connection's redirect URI than the one the attempt sent to
    // its provider: a mix-up (RFC 9700 section 4.4.2). Refused whether or not `iss` is sent.
    if (params.connection_id != pending.connection_id) {
      return Status::InvalidArgument("connection_mismatch",
                                     "the callback is not the sign-in attempt's connection");
    }
    if (!params.error.empty()) {
      return Status::InvalidArgument("sso_provider_error",
                                     "the identity provider refused the sign-in");
    }
    std::optional<Connection> conn;
    crypto::SecretBytes secret;
    {
      BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
      BULWARK_ASSIGN_OR_RETURN(conn, connections_.Get(*tx, pending.tenant_id, pending.connection_id));
      if (!conn || !conn->enabled) return ConnectionNotFound();
      BULWARK_ASSIGN_OR_RETURN(secret, connections_.ClientSecret(*tx, *conn));
    }
    const ProviderEndpoint endpoint = EndpointOf(*conn);
    BULWARK_ASSIGN_OR_RETURN(ProviderMetadata meta, provider_.Discover(endpoint));
    // RFC 9207: when the provider says it sends `iss`, it must be there and be the issuer; a
    // mix-up attack hands us another provider's code.
    if (meta.authorization_response_iss_parameter_supported || !params.iss.empty()) {
      if (!crypto::ConstantTimeEquals(params.iss, meta.issuer)) {
        return Status::InvalidArgument("sso_iss_mismatch",
                                       "the callback names another issuer than the connection's");
      }
    }
    if (params.code.empty()) {
      return Status::InvalidArgument("sso_code_missing", "the callback carries no code");
    }
    const CodeExchange exchange{.client_id = conn->client_id,
                                .client_secret = &secret,
                                .code = params.code,
                                .redirect_uri = RedirectUri(conn->id),
                                .code_verifier = pending.code_verifier};
    BULWARK_ASSIGN_OR_RETURN(TokenResponse tokens, provider_.ExchangeCode(endpoint, meta, exchange));
    TokenExpectations expect = ExpectationsOf(*conn, now);
    expect.nonce = pending.nonce;
    BULWARK_ASSIGN_OR_RETURN(IdTokenClaims claims,
                             provider_.ValidateIdToken(endpoint, meta, tokens.id_token, expect));
    out.redeemed = Redeemed{
        .tenant_id = pending.tenant_id,
        .connection_id = pending.connection_id,
        .redirect_after =
            pending.redirect_after.empty() ? options_.post_login_path : pending.redirect_after,
        .identity = IdentityOf(*conn, claims),
        .sid = claims.sid,
        .token_subject = claims.subject,
        .session_life_s = conn->backchannel_logout ? 0 : conn->max_session_s};
    return Status::Ok();
  }();
  return out;
}

StatusOr<SignedIn> FlowService::Finish(store::Transaction& tx, const Redeemed& r,
                                       std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(auto conn, connections_.Get(tx, r.tenant_id, r.connection_id));
  if (!conn) return ConnectionNotFound();
  BULWARK_ASSIGN_OR_RETURN(SignIn account,
                           ResolveSignIn(tx, *conn, r.identity, now, options_.provisioning));
  SignedIn out;
  out.user_id = account.user_id;
  out.tenant_id = r.tenant_id;
  if (!account.refused.ok()) {
    // The membership is gone: so are the member's sessions and API keys, in this transaction.
    BULWARK_ASSIGN_OR_RETURN(out.sessions_revoked,
                             sessions_.RevokeMember(tx, r.tenant_id, account.user_id,
                                                    "sso_no_role_mapped", now));
    BULWARK_ASSIGN_OR_RETURN(out.api_keys_revoked,
                             api_keys_.RevokeCreatedBy(tx, r.tenant_id, account.user_id, now));
    out.refused = account.refused;
    out.role_changed = true;
    return out;
  }
  BULWARK_ASSIGN_OR_RETURN(out.tokens,
                           sessions_.Start(tx, account.user_id, r.tenant_id, now, r.session_life_s));
  BULWARK_RETURN_IF_ERROR(flow_store::LinkSession(tx,
                                                  {.session_id = out.tokens.session_id,
                                                   .tenant_id = r.tenant_id,
                                                   .connection_id = r.connection_id,
                                                   .subject = r.token_subject,
                                                   .idp_sid = r.sid},
                                                  now));
  out.redirect_after = r.redirect_after;
  out.created = account.created || account.membership_created;
  out.role = std::string(policy::RoleName(account.role));
  out.role_changed = account.previous_role && *account.previous_role != account.role;
  out.breakglass = account.breakglass;
  out.groups_overage = account.groups_overage;
  return out;
}

void FlowService::FinishSignIn(const SignedIn& signed_in) {
  sessions_.InvalidateMember(signed_in.tenant_id, signed_in.user_id);
  if (!signed_in.refused.ok()) api_keys_.InvalidateTenant(signed_in.tenant_id);
}

StatusOr<ValidatedLogout> FlowService::ValidateLogout(std::string_view connection_id,
                                                      std::string_view logout_token,
                                                      std::int64_t now) {
  std::optional<Connection> conn;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(auto tenant_id, flow_store::TenantOfConnection(*tx, connection_id));
    if (!tenant_id) return Status::InvalidArgument("invalid_logout_token", "unknown connection");
    BULWARK_ASSIGN_OR_RETURN(conn, connections_.Get(*tx, *tenant_id, connection_id));
    if (!conn) return Status::InvalidArgument("invalid_logout_token", "unknown connection");
  }
  if (!conn->enabled) {
    return Status::InvalidArgument("connection_disabled", "the SSO connection is disabled");
  }
  // The provider is asked with no transaction open (a slow one delays only this request).
  const ProviderEndpoint endpoint = EndpointOf(*conn);
  BULWARK_ASSIGN_OR_RETURN(ProviderMetadata meta, provider_.Discover(endpoint));
  auto claims = provider_.ValidateLogoutToken(endpoint, meta, logout_token, ExpectationsOf(*conn, now));
  if (!claims.ok()) return LogoutRefused(claims.status());
  return ValidatedLogout{
      .tenant_id = conn->tenant_id, .connection_id = conn->id, .claims = std::move(*claims)};
}

StatusOr<LogoutResult> FlowService::Logout(store::Transaction& tx, const ValidatedLogout& v,
                                           std::int64_t now) {
  // The connection may have been disabled or removed since the token was validated.
  BULWARK_ASSIGN_OR_RETURN(auto conn, connections_.Get(tx, v.tenant_id, v.connection_id));
  if (!conn) return Status::InvalidArgument("invalid_logout_token", "unknown connection");
  if (!conn->enabled) {
    return Status::InvalidArgument("connection_disabled", "the SSO connection is disabled");
  }
  const LogoutTokenClaims& claims = v.claims;
  // Kept until the token could no longer be accepted anyway (exp, else iat + the validator's
  // max age plus skew).
  const TokenExpectations limits;
  const std::int64_t keep_until =
      claims.exp ? *claims.exp + limits.skew_s : claims.iat + limits.max_age_s + 2 * limits.skew_s;
  BULWARK_ASSIGN_OR_RETURN(const bool fresh,
                           flow_store::SpendLogoutJti(tx, conn->id, claims.jti, keep_until));
  if (!fresh) {
    return Status::InvalidArgument("logout_token_replayed", "this logout token was already used");
  }
  BULWARK_ASSIGN_OR_RETURN(auto links,
                           flow_store::LinkedSessions(tx, conn->id, claims.sid, claims.subject));
  LogoutResult out;
  out.tenant_id = conn->tenant_id;
  for (const auto& l : links) {
    BULWARK_RETURN_IF_ERROR(sessions_.Revoke(tx, l.session_id, "sso_backchannel_logout", now));
    out.session_ids.push_back(l.session_id);
  }
  return out;
}

StatusOr<std::optional<std::string>> FlowService::ConnectionTenant(std::string_view connection_id) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  return flow_store::TenantOfConnection(*tx, connection_id);
}

void FlowService::FinishLogout(const LogoutResult& result) {
  for (const auto& id : result.session_ids) sessions_.InvalidateSession(id);
}

}  // namespace bulwark::sso
