#include "sso/login_state.h"

#include <vector>

#include "crypto/compare.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace bulwark::sso::login_state {
namespace {

using store::Value;

constexpr std::size_t kRandomBytes = 32;  // 256 bits
// base64url of 32 bytes, unpadded.
constexpr std::size_t kEncodedLength = 43;

Status StateInvalid() {
  return Status::InvalidArgument("sso_state_invalid",
                                 "the sign-in attempt is unknown, expired or already used");
}

Status BrowserMismatch() {
  return Status::InvalidArgument("sso_browser_mismatch",
                                 "the sign-in was started in another browser");
}

Value HashValue(std::string_view text) {
  const crypto::Digest256 h = crypto::Sha256(text);
  return Value::Bytes(std::span<const std::uint8_t>(h));
}

// base64url(HMAC-SHA-256(binding, label || 0 || state)): 43 characters, a valid PKCE verifier.
StatusOr<std::string> Derive(std::string_view binding, std::string_view label,
                             std::string_view state) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> key, crypto::Base64UrlDecode(binding));
  std::string message(label);
  message.push_back('\0');
  message.append(state);
  const crypto::Digest256 mac = crypto::HmacSha256(key, crypto::AsBytes(message));
  return crypto::Base64UrlEncode(mac);
}

bool Plausible(std::string_view text) {
  if (text.size() != kEncodedLength) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

StatusOr<Started> Begin(store::Transaction& tx, std::string_view tenant_id,
                        std::string_view connection_id, std::string_view redirect_after,
                        std::int64_t now) {
  Started s;
  BULWARK_ASSIGN_OR_RETURN(s.state, crypto::RandomTokenBase64Url(kRandomBytes));
  BULWARK_ASSIGN_OR_RETURN(s.browser_binding, crypto::RandomTokenBase64Url(kRandomBytes));
  BULWARK_ASSIGN_OR_RETURN(s.nonce, Derive(s.browser_binding, "nonce", s.state));
  BULWARK_ASSIGN_OR_RETURN(std::string verifier, Derive(s.browser_binding, "pkce", s.state));
  s.code_challenge = crypto::Base64UrlEncode(crypto::Sha256(verifier));
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO sso_login_states(state_hash, binding_hash, tenant_id, connection_id, "
              "redirect_after, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
              {HashValue(s.state), HashValue(s.browser_binding),
               Value::Text(std::string(tenant_id)), Value::Text(std::string(connection_id)),
               Value::Text(std::string(redirect_after)), Value::Int(now),
               Value::Int(now + kTtlSeconds)})
          .status());
  return s;
}

StatusOr<Pending> Consume(store::Transaction& tx, std::string_view state,
                          std::string_view browser_binding, std::int64_t now) {
  if (!Plausible(state)) return StateInvalid();
  const Value state_hash = HashValue(state);
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT binding_hash, tenant_id, connection_id, redirect_after FROM "
                          "sso_login_states WHERE state_hash = ?",
                          {state_hash}));
  if (rows.empty()) return StateInvalid();
  if (!Plausible(browser_binding)) return BrowserMismatch();
  const crypto::Digest256 presented = crypto::Sha256(browser_binding);
  if (!crypto::ConstantTimeEquals(rows[0][0].as_bytes(), presented)) return BrowserMismatch();
  BULWARK_ASSIGN_OR_RETURN(
      const std::int64_t changed,
      tx.Exec("UPDATE sso_login_states SET consumed_at = ? WHERE state_hash = ? AND "
              "consumed_at IS NULL AND expires_at > ?",
              {Value::Int(now), state_hash, Value::Int(now)}));
  if (changed != 1) return StateInvalid();
  Pending p;
  p.tenant_id = rows[0][1].as_text();
  p.connection_id = rows[0][2].as_text();
  p.redirect_after = rows[0][3].as_text();
  BULWARK_ASSIGN_OR_RETURN(p.nonce, Derive(browser_binding, "nonce", state));
  BULWARK_ASSIGN_OR_RETURN(p.code_verifier, Derive(browser_binding, "pkce", state));
  return p;
}

StatusOr<std::int64_t> Purge(store::Transaction& tx, std::int64_t now) {
  return tx.Exec("DELETE FROM sso_login_states WHERE expires_at < ?", {Value::Int(now - 86400)});
}

}  // namespace bulwark::sso::login_state
