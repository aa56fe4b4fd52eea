#include "identity/mfa.h"

#include <algorithm>

#include "crypto/aead.h"
#include "crypto/compare.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "crypto/totp.h"
#include "identity/qr_code.h"

namespace bulwark::identity {
namespace {

using store::Value;

constexpr std::string_view kSealKeyId = "mfa-totp-seal";
constexpr std::size_t kSeedBytes = 20;  // 160 bits, as RFC 4226 recommends for SHA-1
constexpr int kRecoveryCodes = 10;

std::string SeedAad(std::string_view user_id) { return "bulwark-totp-v1|" + std::string(user_id); }

std::string UriEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '@') {
      out.push_back(c);
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

Status Denied(std::string reason, std::string message) {
  return Status::PermissionDenied(std::move(reason), std::move(message));
}

bool IsTotpCode(std::string_view code) {
  return code.size() == 6 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

MfaService::MfaService(const keyring::Keyring& keys, MfaOptions options)
    : keys_(keys), options_(std::move(options)) {}

StatusOr<bool> MfaService::Enrolled(store::Transaction& tx, std::string_view user_id) {
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT confirmed FROM mfa_totp WHERE user_id = ?",
                                               {Value::Text(std::string(user_id))}));
  return !rows.empty() && rows[0][0].as_int() != 0;
}

std::string MfaService::IssuerFor(std::string_view tenant_name) const {
  return options_.issuer + " (" + std::string(tenant_name) + ")";
}

StatusOr<MfaEnrollment> MfaService::Enroll(store::Transaction& tx, std::string_view user_id,
                                           std::string_view account_label,
                                           std::string_view tenant_name, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(bool enrolled, Enrolled(tx, user_id));
  if (enrolled)
    return Status::Conflict("mfa_already_enrolled", "TOTP is already set up for this account");
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes seed, crypto::RandomSecret(kSeedBytes));
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                           keys_.GetOrCreateKey(tx, kSealKeyId, "mfa_totp_seal", 32));
  const std::string aad = SeedAad(user_id);
  BULWARK_ASSIGN_OR_RETURN(auto sealed,
                           crypto::SealRandomNonce(key, seed.reveal_span(), crypto::AsBytes(aad)));
  BULWARK_RETURN_IF_ERROR(tx.Exec("DELETE FROM mfa_totp WHERE user_id = ? AND confirmed = 0",
                                  {Value::Text(std::string(user_id))})
                              .status());
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO mfa_totp(user_id, sealed_seed, created_at) VALUES (?, ?, ?)",
              {Value::Text(std::string(user_id)), Value::Bytes(std::move(sealed)), Value::Int(now)})
          .status());
  MfaEnrollment e;
  e.secret_base32 = crypto::Base32Encode(seed.reveal_span());
  const std::string issuer = UriEscape(IssuerFor(tenant_name));
  e.otpauth_uri = "otpauth://totp/" + issuer + ":" + UriEscape(account_label) +
                  "?secret=" + e.secret_base32 + "&issuer=" + issuer +
                  "&algorithm=SHA1&digits=6&period=30";
  BULWARK_ASSIGN_OR_RETURN(e.qr_code_data_uri, QrCodeSvgDataUri(e.otpauth_uri));
  return e;
}

StatusOr<RecoveryCodeSet> MfaService::PrepareRecoveryCodes() const {
  RecoveryCodeSet set;
  for (int i = 0; i < kRecoveryCodes; ++i) {
    BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes random, crypto::RandomSecret(10));  // 80 bits
    const std::string body = crypto::Base32Encode(random.reveal_span());  // 16 characters
    std::string code = std::to_string(i) + "-" + body.substr(0, 4) + "-" + body.substr(4, 4) + "-" +
                       body.substr(8, 4) + "-" + body.substr(12, 4);
    std::vector<std::uint8_t> salt(16);
    BULWARK_RETURN_IF_ERROR(crypto::RandomBytes(salt));
    BULWARK_ASSIGN_OR_RETURN(
        crypto::SecretBytes hash,
        crypto::Pbkdf2HmacSha256(crypto::AsBytes(code), salt, options_.recovery_iterations, 32));
    set.hashes.emplace_back(hash.reveal_span().begin(), hash.reveal_span().end());
    set.salts.push_back(std::move(salt));
    set.codes.push_back(std::move(code));
  }
  return set;
}

StatusOr<MfaCheck> MfaService::Confirm(store::Transaction& tx, std::string_view user_id,
                                       std::string_view code, std::int64_t now,
                                       RecoveryCodeSet codes) {
  if (codes.codes.size() != kRecoveryCodes || codes.salts.size() != kRecoveryCodes ||
      codes.hashes.size() != kRecoveryCodes) {
    return Status::Internal("recovery codes were not prepared");
  }
  BULWARK_ASSIGN_OR_RETURN(MfaCheck c, Check(tx, user_id, code, now, true, nullptr));
  if (!c.status.ok()) return c;
  BULWARK_RETURN_IF_ERROR(tx.Exec("UPDATE mfa_totp SET confirmed = 1 WHERE user_id = ?",
                                  {Value::Text(std::string(user_id))})
                              .status());
  BULWARK_RETURN_IF_ERROR(tx.Exec("DELETE FROM mfa_recovery_codes WHERE user_id = ?",
                                  {Value::Text(std::string(user_id))})
                              .status());
  for (int i = 0; i < kRecoveryCodes; ++i) {
    const auto k = static_cast<std::size_t>(i);
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO mfa_recovery_codes(user_id, idx, salt, code_hash) VALUES (?, ?, ?, ?)",
                {Value::Text(std::string(user_id)), Value::Int(i), Value::Bytes(codes.salts[k]),
                 Value::Bytes(codes.hashes[k])})
            .status());
  }
  c.recovery_codes = std::move(codes.codes);
  return c;
}

StatusOr<RecoveryProof> MfaService::PrepareRecoveryProof(store::Store& store,
                                                         std::string_view user_id,
                                                         std::string_view code) const {
  RecoveryProof proof;
  // "N-XXXX-XXXX-XXXX-XXXX": the index names the one row to check, so a guess costs one hash.
  if (code.size() != 21 || code[0] < '0' || code[0] > '9' || code[1] != '-') return proof;
  const int idx = code[0] - '0';
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx->Query("SELECT salt FROM mfa_recovery_codes "
                                     "WHERE user_id = ? AND idx = ? AND used_at IS NULL",
                                     {Value::Text(std::string(user_id)), Value::Int(idx)}));
  if (rows.empty()) return proof;
  std::string upper(code);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes hash,
                           crypto::Pbkdf2HmacSha256(crypto::AsBytes(upper), rows[0][0].as_bytes(),
                                                    options_.recovery_iterations, 32));
  proof.index = idx;
  proof.hash.assign(hash.reveal_span().begin(), hash.reveal_span().end());
  return proof;
}

StatusOr<MfaCheck> MfaService::Verify(store::Transaction& tx, std::string_view user_id,
                                      std::string_view code, std::int64_t now,
                                      const RecoveryProof* proof) {
  return Check(tx, user_id, code, now, false, proof);
}

StatusOr<MfaCheck> MfaService::Check(store::Transaction& tx, std::string_view user_id,
                                     std::string_view code, std::int64_t now, bool confirming,
                                     const RecoveryProof* proof) {
  MfaCheck out;
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT sealed_seed, confirmed, last_step, failures, locked_until "
                          "FROM mfa_totp WHERE user_id = ?",
                          {Value::Text(std::string(user_id))}));
  if (rows.empty() || (rows[0][1].as_int() != 0) == confirming) {
    out.status = confirming ? Denied("mfa_not_enrolling", "start TOTP enrollment first")
                            : Denied("mfa_not_enrolled", "set up TOTP first");
    return out;
  }
  const auto& r = rows[0];
  out.failures = r[3].as_int();
  if (r[4].as_int() > now) {
    out.status = Denied("mfa_locked", "too many failed codes; MFA is locked for a while");
    return out;
  }
  bool ok = false;
  std::int64_t matched_step = r[2].as_int();
  if (IsTotpCode(code)) {
    BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                             keys_.GetOrCreateKey(tx, kSealKeyId, "mfa_totp_seal", 32));
    const std::string aad = SeedAad(user_id);
    auto seed = crypto::OpenRandomNonce(key, r[0].as_bytes(), crypto::AsBytes(aad));
    if (!seed.ok()) return Status::Integrity("a TOTP seed failed to decrypt");
    const auto step = crypto::TotpMatch(*seed, code, now, crypto::TotpParams{}, 1);
    // A step at or before the last accepted one is a replay, refused like a wrong code.
    if (step && static_cast<std::int64_t>(*step) > r[2].as_int()) {
      ok = true;
      matched_step = static_cast<std::int64_t>(*step);
    }
  } else if (!confirming && proof != nullptr && proof->index >= 0) {
    BULWARK_ASSIGN_OR_RETURN(ok, UseRecoveryCode(tx, user_id, *proof, now));
    out.used_recovery_code = ok;
  }
  if (ok) {
    BULWARK_RETURN_IF_ERROR(
        tx.Exec("UPDATE mfa_totp SET last_step = ?, failures = 0 WHERE user_id = ?",
                {Value::Int(matched_step), Value::Text(std::string(user_id))})
            .status());
    out.failures = 0;
    return out;
  }
  out.failures += 1;
  std::int64_t locked_until = 0;
  if (out.failures >= options_.max_failures) {
    locked_until = now + options_.lock_seconds;
    out.locked_now = true;
  }
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("UPDATE mfa_totp SET failures = ?, locked_until = ? WHERE user_id = ?",
              {Value::Int(out.locked_now ? 0 : out.failures), Value::Int(locked_until),
               Value::Text(std::string(user_id))})
          .status());
  out.status = out.locked_now
                   ? Denied("mfa_locked", "too many failed codes; MFA is locked for a while")
                   : Denied("mfa_invalid_code", "the code is not valid");
  return out;
}

StatusOr<bool> MfaService::UseRecoveryCode(store::Transaction& tx, std::string_view user_id,
                                           const RecoveryProof& proof, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT code_hash FROM mfa_recovery_codes "
                                    "WHERE user_id = ? AND idx = ? AND used_at IS NULL",
                                    {Value::Text(std::string(user_id)), Value::Int(proof.index)}));
  if (rows.empty() || !crypto::ConstantTimeEquals(proof.hash, rows[0][0].as_bytes())) return false;
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t changed,
      tx.Exec("UPDATE mfa_recovery_codes SET used_at = ? "
              "WHERE user_id = ? AND idx = ? AND used_at IS NULL",
              {Value::Int(now), Value::Text(std::string(user_id)), Value::Int(proof.index)}));
  return changed == 1;
}

}  // namespace bulwark::identity
