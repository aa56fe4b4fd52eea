#pragma once
// TOTP multi-factor authentication (RFC 6238: SHA-1, 6 digits, 30 s steps, one step either
// side) and single-use recovery codes.
//
// The seed is sealed at rest with AES-256-GCM under a keyring data key, with AAD binding it to
// its user, so a seed copied to another user's row does not open. A code is accepted once: the
// step it matched is remembered and no step at or before it is accepted again. Five failures in
// a row lock MFA for 15 minutes. Ten recovery codes are shown once at confirmation and stored as
// PBKDF2-HMAC-SHA-256 hashes with their own salt; each works once.
//
//   auto e = mfa.Enroll(tx, user_id, email, now);            // show e.otpauth_uri
//   auto codes = mfa.PrepareRecoveryCodes();                 // slow hashes, outside the write
//   auto c = mfa.Confirm(tx, user_id, first_code, now, *codes);   // c.recovery_codes, shown once
//   auto v = mfa.Verify(tx, user_id, totp_code, now);             // step-up
//
// Verification outcomes are values, not errors, so the failure counter and its audit record
// commit together; a non-OK StatusOr means the store or keyring failed.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace bulwark::identity {

struct MfaEnrollment {
  std::string secret_base32;  // secret: shown once to the user, never logged
  // otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&... (Google Authenticator's Key Uri
  // Format), ISSUER being "Bulwark (<tenant name>)": secret as well.
  std::string otpauth_uri;
  // A QR code of exactly otpauth_uri, as a data: URI of an SVG image (identity/qr_code.h).
  std::string qr_code_data_uri;
};

struct MfaCheck {
  Status status;  // OK, or kPermissionDenied "mfa_invalid_code" / "mfa_locked" / "mfa_not_enrolled"
  bool used_recovery_code = false;
  bool locked_now = false;  // this failure started a lock
  std::int64_t failures = 0;
  std::vector<std::string> recovery_codes;  // Confirm only: secret, shown once
};

// Recovery codes with their salted slow hashes, made before the write transaction so the
// PBKDF2 work never holds the store's write lock.
struct RecoveryCodeSet {
  std::vector<std::string> codes;  // secret: shown once
  std::vector<std::vector<std::uint8_t>> salts;
  std::vector<std::vector<std::uint8_t>> hashes;
};

// A presented recovery code hashed under the salt stored for its index (again outside the write
// transaction). `index` is -1 when the text is not a recovery code or that index is spent.
struct RecoveryProof {
  int index = -1;
  std::vector<std::uint8_t> hash;
};

struct MfaOptions {
  // The product name in the issuer authenticator apps show: "Bulwark (<tenant name>)".
  std::string issuer = "Bulwark";
  int max_failures = 5;
  std::int64_t lock_seconds = 15 * 60;
  std::uint32_t recovery_iterations = 100'000;
};

class MfaService {
 public:
  MfaService(const keyring::Keyring& keys, MfaOptions options = {});

  // A new unconfirmed seed (replacing an unconfirmed one). kConflict "mfa_already_enrolled" if
  // a confirmed one exists. The authenticator shows `account_label` (the email) under the issuer
  // "Bulwark (<tenant_name>)", so accounts of several tenants are told apart.
  StatusOr<MfaEnrollment> Enroll(store::Transaction& tx, std::string_view user_id,
                                 std::string_view account_label, std::string_view tenant_name,
                                 std::int64_t now);
  // The issuer an enrollment in `tenant_name` names: "Bulwark (acme)".
  std::string IssuerFor(std::string_view tenant_name) const;
  // Ten fresh recovery codes and their hashes (CPU only; no store access).
  StatusOr<RecoveryCodeSet> PrepareRecoveryCodes() const;
  // Confirms enrollment with a first code; on success stores `codes` (from
  // PrepareRecoveryCodes) and returns them in recovery_codes.
  StatusOr<MfaCheck> Confirm(store::Transaction& tx, std::string_view user_id,
                             std::string_view code, std::int64_t now, RecoveryCodeSet codes);
  // Reads the salt for a recovery code's index and hashes the code under it.
  StatusOr<RecoveryProof> PrepareRecoveryProof(store::Store& store, std::string_view user_id,
                                               std::string_view code) const;
  // A TOTP code, or a recovery code whose proof was prepared ("N-XXXX-XXXX-XXXX-XXXX").
  StatusOr<MfaCheck> Verify(store::Transaction& tx, std::string_view user_id, std::string_view code,
                            std::int64_t now, const RecoveryProof* proof = nullptr);
  // True if the user has confirmed TOTP.
  StatusOr<bool> Enrolled(store::Transaction& tx, std::string_view user_id);

 private:
  StatusOr<MfaCheck> Check(store::Transaction& tx, std::string_view user_id, std::string_view code,
                           std::int64_t now, bool confirming, const RecoveryProof* proof);
  StatusOr<bool> UseRecoveryCode(store::Transaction& tx, std::string_view user_id,
                                 const RecoveryProof& proof, std::int64_t now);

  const keyring::Keyring& keys_;
  const MfaOptions options_;
};

}  // namespace bulwark::identity
