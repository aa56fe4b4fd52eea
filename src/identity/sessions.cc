#include "identity/sessions.h"

#include <algorithm>

#include "core/clock.h"
#include "core/text_list.h"
#include "identity/tokens.h"

namespace bulwark::identity {
namespace {

using store::Value;

constexpr std::string_view kRefreshPrefix = "bwr_";

Status InvalidRefresh() {
  return Status::Unauthenticated("invalid_refresh_token", "the refresh token is not valid");
}

}  // namespace

StatusOr<std::unique_ptr<SessionService>> SessionService::Open(store::Store& store,
                                                               const keyring::Keyring& keys,
                                                               SessionOptions options) {
  if (options.access_ttl_s < 1 || options.access_ttl_s > 900) {
    return Status::InvalidArgument("invalid_access_ttl",
                                   "access tokens live between 1 and 900 seconds");
  }
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<keyring::SigningKeys> signing,
                           keyring::SigningKeys::Open(store, keys, keyring::SigningKind::kJwt));
  return std::unique_ptr<SessionService>(
      new SessionService(store, std::move(options), std::move(signing)));
}

SessionService::SessionService(store::Store& store, SessionOptions options,
                               std::unique_ptr<keyring::SigningKeys> signing)
    : store_(store), options_(std::move(options)), signing_(std::move(signing)) {
  Publish();
  SetIssuer(options_.issuer);
}

void SessionService::SetIssuer(std::string issuer) {
  auto next = std::make_shared<Profile>();
  next->audiences =
      options_.audiences.empty() ? std::vector<std::string>{issuer} : options_.audiences;
  next->issuer = std::move(issuer);
  std::lock_guard<std::mutex> lock(keys_mu_);
  profile_ = std::move(next);
}

std::shared_ptr<const SessionService::Profile> SessionService::CurrentProfile() const {
  std::lock_guard<std::mutex> lock(keys_mu_);
  return profile_;
}

std::string SessionService::issuer() const { return CurrentProfile()->issuer; }

std::vector<std::string> SessionService::audiences() const { return CurrentProfile()->audiences; }

void SessionService::Publish() {
  auto next = std::make_shared<Published>();
  next->set = signing_->Current();
  const keyring::ActiveSigningKey& active = next->set->active;
  next->signer = JwtSigningKey{.kid = active.kid,
                               .private_key = active.private_key.Clone(),
                               .public_key = active.public_key};
  // Newest first: the key a verifier most likely needs is found first.
  const std::vector<keyring::PublicSigningKey> live = next->set->Live();
  for (auto it = live.rbegin(); it != live.rend(); ++it) {
    next->verify_keys.push_back({.kid = it->kid, .public_key = it->public_key});
  }
  next->jwks = JwksJson(next->verify_keys);
  std::lock_guard<std::mutex> lock(keys_mu_);
  keys_ = std::move(next);
}

std::shared_ptr<const SessionService::Published> SessionService::Keys() const {
  std::lock_guard<std::mutex> lock(keys_mu_);
  return keys_;
}

std::string SessionService::jwks() const { return Keys()->jwks; }

std::string SessionService::active_kid() const { return Keys()->signer.kid; }

StatusOr<bool> SessionService::ReloadSigningKeys(const keyring::Keyring& keys) {
  BULWARK_ASSIGN_OR_RETURN(bool changed, signing_->Reload(store_, keys));
  if (changed) Publish();
  return changed;
}

StatusOr<SessionTokens> SessionService::Issue(store::Transaction& tx, std::string_view session_id,
                                              std::string_view user_id, std::string_view tenant_id,
                                              std::int64_t version, std::int64_t generation,
                                              std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(IssuedToken refresh, NewToken(kRefreshPrefix));
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO refresh_tokens(token_hash, session_id, generation, created_at) "
              "VALUES (?, ?, ?, ?)",
              {TokenHashValue(refresh.hash), Value::Text(std::string(session_id)),
               Value::Int(generation), Value::Int(now)})
          .status());
  BULWARK_ASSIGN_OR_RETURN(std::string jti, NewId(""));
  const std::shared_ptr<const Profile> profile = CurrentProfile();
  AccessClaims claims{.issuer = profile->issuer,
                      .subject = std::string(user_id),
                      .tenant = std::string(tenant_id),
                      .session = std::string(session_id),
                      .session_version = version,
                      .issued_at = now,
                      .expires_at = now + options_.access_ttl_s,
                      .token_id = std::move(jti),
                      .audience = profile->audiences,
                      .not_before = now};
  BULWARK_ASSIGN_OR_RETURN(std::string access, SignAccessToken(claims, Keys()->signer));
  return SessionTokens{.session_id = std::string(session_id),
                       .access_token = std::move(access),
                       .refresh_token = std::move(refresh.text),
                       .expires_in = options_.access_ttl_s};
}

StatusOr<SessionTokens> SessionService::Start(store::Transaction& tx, std::string_view user_id,
                                              std::string_view tenant_id, std::int64_t now,
                                              std::int64_t absolute_life_s) {
  BULWARK_ASSIGN_OR_RETURN(std::string id, NewId("ses_"));
  const std::int64_t life = absolute_life_s > 0
                                ? std::min(absolute_life_s, options_.absolute_timeout_s)
                                : options_.absolute_timeout_s;
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO sessions(id, user_id, tenant_id, version, created_at, last_seen_at, "
              "absolute_expires_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
              {Value::Text(id), Value::Text(std::string(user_id)),
               Value::Text(std::string(tenant_id)), Value::Int(now), Value::Int(now),
               Value::Int(now + life)})
          .status());
  return Issue(tx, id, user_id, tenant_id, 1, 1, now);
}

StatusOr<RefreshResult> SessionService::Refresh(store::Transaction& tx,
                                                std::string_view refresh_token, std::int64_t now) {
  RefreshResult out;
  if (!LooksLikeToken(refresh_token, kRefreshPrefix)) {
    out.status = InvalidRefresh();
    return out;
  }
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query(
          "SELECT r.session_id, r.generation, r.rotated_at, s.user_id, s.tenant_id, s.version, "
          "s.revoked_at, s.last_seen_at, s.absolute_expires_at FROM refresh_tokens r "
          "JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = ?",
          {TokenHashValue(HashToken(refresh_token))}));
  if (rows.empty()) {
    out.status = InvalidRefresh();
    return out;
  }
  const auto& r = rows[0];
  out.session_id = r[0].as_text();
  out.user_id = r[3].as_text();
  out.tenant_id = r[4].as_text();
  const std::int64_t generation = r[1].as_int();
  const std::int64_t version = r[5].as_int();
  if (!r[6].is_null()) {
    out.status = Status::Unauthenticated("session_revoked", "the session has ended");
    return out;
  }
  if (!r[2].is_null()) {
    // A rotated token came back: revoke the whole family.
    out.reused = true;
    BULWARK_RETURN_IF_ERROR(Revoke(tx, out.session_id, "refresh_reused", now));
    out.status = Status::Unauthenticated(
        "refresh_reused", "the refresh token was already used; the session is revoked");
    return out;
  }
  if (now - r[7].as_int() > options_.idle_timeout_s || now >= r[8].as_int()) {
    BULWARK_RETURN_IF_ERROR(Revoke(tx, out.session_id, "expired", now));
    out.status =
        Status::Unauthenticated("session_expired", "the session has expired; sign in again");
    return out;
  }
  // Only the holder of the current token can rotate it: the guarded update makes two concurrent
  // refreshes with one token a win and a reuse, never two families.
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t changed,
      tx.Exec(
          "UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL",
          {Value::Int(now), TokenHashValue(HashToken(refresh_token))}));
  if (changed != 1) {
    out.reused = true;
    BULWARK_RETURN_IF_ERROR(Revoke(tx, out.session_id, "refresh_reused", now));
    out.status = Status::Unauthenticated(
        "refresh_reused", "the refresh token was already used; the session is revoked");
    return out;
  }
  BULWARK_RETURN_IF_ERROR(tx.Exec("UPDATE sessions SET last_seen_at = ? WHERE id = ?",
                                  {Value::Int(now), Value::Text(out.session_id)})
                              .status());
  BULWARK_ASSIGN_OR_RETURN(SessionTokens t, Issue(tx, out.session_id, out.user_id, out.tenant_id,
                                                  version, generation + 1, now));
  out.tokens = std::move(t);
  return out;
}

Status SessionService::Revoke(store::Transaction& tx, std::string_view session_id,
                              std::string_view reason, std::int64_t now) {
  return tx
      .Exec(
          "UPDATE sessions SET revoked_at = ?, revoked_reason = ?, version = version + 1 "
          "WHERE id = ? AND revoked_at IS NULL",
          {Value::Int(now), Value::Text(std::string(reason)), Value::Text(std::string(session_id))})
      .status();
}

StatusOr<std::int64_t> SessionService::RevokeMember(store::Transaction& tx,
                                                    std::string_view tenant_id,
                                                    std::string_view user_id,
                                                    std::string_view reason, std::int64_t now) {
  return tx.Exec(
          "UPDATE sessions SET revoked_at = ?, revoked_reason = ?, version = version + 1 "
          "WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL",
          {Value::Int(now), Value::Text(std::string(reason)), Value::Text(std::string(tenant_id)),
           Value::Text(std::string(user_id))});
}

Status SessionService::RequireRecentSignIn(store::Transaction& tx, std::string_view session_id,
                                           std::int64_t now, std::int64_t max_age_s) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT created_at FROM sessions WHERE id = ? AND revoked_at IS NULL",
                          {Value::Text(std::string(session_id))}));
  if (rows.empty()) return Status::Unauthenticated("session_revoked", "the session has ended");
  if (now - rows[0][0].as_int() > max_age_s) {
    return Status::PermissionDenied(
        "reauthentication_required",
        "sign in again (a fresh sign-in link) to set up two-factor authentication");
  }
  return Status::Ok();
}

Status SessionService::MarkMfaVerified(store::Transaction& tx, std::string_view session_id,
                                       std::int64_t now) {
  return tx
      .Exec("UPDATE sessions SET mfa_verified_at = ? WHERE id = ? AND revoked_at IS NULL",
            {Value::Int(now), Value::Text(std::string(session_id))})
      .status();
}

StatusOr<SessionService::State> SessionService::LoadState(std::string_view session_id) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx->Query("SELECT s.user_id, s.tenant_id, s.version, s.revoked_at, s.absolute_expires_at, "
                "s.mfa_verified_at, u.disabled, m.role, t.deleted_at, t.breakglass_enabled, "
                "m.breakglass_designated FROM sessions s JOIN users u ON u.id = s.user_id "
                "JOIN tenants t ON t.id = s.tenant_id "
                "LEFT JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id "
                "WHERE s.id = ?",
                {Value::Text(std::string(session_id))}));
  State st;
  if (rows.empty()) return st;  // inactive
  const auto& r = rows[0];
  st.user_id = r[0].as_text();
  st.tenant_id = r[1].as_text();
  st.version = r[2].as_int();
  st.absolute_expires_at = r[4].as_int();
  st.mfa_verified_at = r[5].as_int();
  st.role = r[7].is_null() ? std::string() : r[7].as_text();
  st.active = r[3].is_null() && r[6].as_int() == 0 && !st.role.empty() && r[8].is_null();
  // A grant counts only while the tenant allows break-glass and the member is still designated:
  // switching it off or un-designating takes effect on the next request.
  const bool grant_allowed = r[9].as_int() != 0 && !r[10].is_null() && r[10].as_int() != 0;
  BULWARK_ASSIGN_OR_RETURN(
      auto grants,
      tx->Query("SELECT id, scope_verbs, scope_path_prefix, expires_at "
                "FROM breakglass_grants WHERE session_id = ? AND ended_at IS NULL "
                "AND expires_at > ? ORDER BY started_at DESC LIMIT 1",
                {Value::Text(std::string(session_id)), Value::Int(core::NowUnixSeconds())}));
  if (grant_allowed && !grants.empty()) {
    st.grant_id = grants[0][0].as_text();
    st.grant_verbs = core::SplitList(grants[0][1].as_text(), ' ');
    st.grant_path_prefix = grants[0][2].as_text();
    st.grant_expires_at = grants[0][3].as_int();
  }
  return st;
}

StatusOr<core::Principal> SessionService::Authenticate(std::string_view access_token,
                                                       std::int64_t now) {
  const std::shared_ptr<const Profile> profile = CurrentProfile();
  BULWARK_ASSIGN_OR_RETURN(AccessClaims claims,
                           VerifyAccessToken(access_token, Keys()->verify_keys, profile->issuer,
                                             profile->audiences, now));
  const std::uint64_t epoch = cache_.Epoch();
  std::optional<State> cached = cache_.Find(claims.session);
  if (!cached) {
    BULWARK_ASSIGN_OR_RETURN(State loaded, LoadState(claims.session));
    cache_.Insert(claims.session, loaded, epoch);
    cached = std::move(loaded);
  }
  const State& st = *cached;
  if (!st.active || st.version != claims.session_version || st.user_id != claims.subject ||
      st.tenant_id != claims.tenant || now >= st.absolute_expires_at) {
    return Status::Unauthenticated("session_revoked", "the session has ended");
  }
  core::Principal p{.kind = core::Principal::Kind::kUser,
                    .id = st.user_id,
                    .tenant_id = st.tenant_id,
                    .auth_method = "session",
                    .role = st.role,
                    .session_id = claims.session,
                    .mfa_verified_at = st.mfa_verified_at};
  // A grant past its time is closed here at once, whether or not the sweeper has ended it yet.
  if (!st.grant_id.empty() && now < st.grant_expires_at) {
    p.break_glass = true;
    p.breakglass_grant_id = st.grant_id;
    p.breakglass_verbs = st.grant_verbs;
    p.breakglass_path_prefix = st.grant_path_prefix;
  }
  return p;
}

void SessionService::InvalidateSession(std::string_view session_id) {
  cache_.Invalidate(session_id);
}

void SessionService::InvalidateMember(std::string_view tenant_id, std::string_view user_id) {
  cache_.InvalidateIf(
      [&](const State& st) { return st.tenant_id == tenant_id && st.user_id == user_id; });
}

void SessionService::InvalidateTenant(std::string_view tenant_id) {
  cache_.InvalidateIf([&](const State& st) { return st.tenant_id == tenant_id; });
}

void SessionService::InvalidateUser(std::string_view user_id) {
  cache_.InvalidateIf([&](const State& st) { return st.user_id == user_id; });
}

}  // namespace bulwark::identity
