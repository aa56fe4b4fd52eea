#pragma once
// Signed receipts: the format. A receipt is evidence that Bulwark did something that matters to
// a tenant (rotated a key, created or revoked an API key, changed a role, ...), signed so that
// anyone holding the public key can check it offline, years later, without trusting Bulwark.
//
// Format "bulwark.receipt.v1". What is signed (the payload) is the RFC 8785 canonical JSON of
//   {"fields":{...},"id":"rcpt_<32 hex>","issued_at":"2026-11-23T00:00:00.000000Z",
//    "key_id":"ed25519:<16 hex>","kind":"apikey.create","prev":"<64 hex>"|null,"seq":1,
//    "tenant":"...","type":"bulwark.receipt.v1"}
// and the signature is Ed25519 over exactly those bytes, so `openssl pkeyutl -verify -rawin`
// checks it with no Bulwark code at all.
//
//   - id: "rcpt_" + 128 random bits in hex. Unguessable: knowing an id is what lets someone fetch
//     the public projection, so an id is only ever learnt from whoever was handed the receipt.
//   - seq, prev: each tenant's receipts form a hash chain. seq counts from 1 per tenant; prev is
//     the hex SHA-256 of the previous receipt's payload bytes (null exactly when seq is 1). A
//     series exported by the tenant therefore shows any receipt removed, inserted or reordered.
//   - key_id: "ed25519:" + the first 16 hex digits of SHA-256(raw public key), naming the key
//     that signed, so rotated keys can be told apart.
//   - fields: what the receipt is about. A field's value is any JSON value, or, for a field that
//     was redacted (storage keys, email addresses, internal ids), the commitment
//       {"_sd":"<hex SHA-256(salt || canonical JSON of the value)>"}   salt: 16 random bytes
//     The value and its salt (the field's "disclosure") are kept privately by the issuer. A
//     plain value is never itself an object with an "_sd" member, so a verifier cannot mistake
//     one for a commitment.
//
// Two documents carry a payload (both canonical JSON, the payload embedded as a JSON string so
// that its exact bytes survive any transport):
//   full receipt (tenant members):  {"disclosures":{"email":{"salt":"<b64>","value":"a@b.c"}},
//                                    "payload":"<payload text>","signature":"<b64>"}
//   public projection (anyone):     {"payload":"<payload text>","signature":"<b64>"}
// The projection carries the same signed bytes, so it verifies exactly as the full receipt does;
// revealing a redacted field later is handing out its disclosure, which anyone checks against
// the signed commitment.
#include <array>
#include <boost/json/value.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/hash.h"
#include "crypto/sign.h"

namespace bulwark::receipts {

inline constexpr std::string_view kReceiptType = "bulwark.receipt.v1";
inline constexpr std::string_view kReceiptIdPrefix = "rcpt_";
inline constexpr std::size_t kReceiptIdRandomBytes = 16;  // 128 bits
inline constexpr std::size_t kDisclosureSaltBytes = 16;
inline constexpr std::string_view kCommitmentMember = "_sd";
// A payload larger than this is refused at issue: receipts record facts, not documents.
inline constexpr std::size_t kMaxPayloadBytes = 16 * 1024;

// The operations that issue receipts. Each feature adds its kind here when it lands; Issue
// refuses any other, so a typo cannot mint a receipt nobody will recognise.
namespace kind {
inline constexpr std::string_view kKeyRotate = "key.rotate";
inline constexpr std::string_view kKeyRetire = "key.retire";
inline constexpr std::string_view kKeyRotateData = "key.rotate_data";
inline constexpr std::string_view kKeyRotateSigning = "key.rotate_signing";
inline constexpr std::string_view kKeyRetireSigning = "key.retire_signing";
inline constexpr std::string_view kApiKeyCreate = "apikey.create";
inline constexpr std::string_view kApiKeyRevoke = "apikey.revoke";
inline constexpr std::string_view kRoleChange = "role.change";
inline constexpr std::string_view kDownloadGrant = "download.grant";
inline constexpr std::string_view kBackupVerified = "backup.verified";
inline constexpr std::string_view kLicenceActivated = "licence.activated";
inline constexpr std::string_view kIdpConfigChange = "idp.config_change";
inline constexpr std::string_view kBreakglassStart = "breakglass.start";
inline constexpr std::string_view kBreakglassEnd = "breakglass.end";
// Issued only by the dev-mode local overlay (POST /api/v1/local/receipts), for tests and demos.
inline constexpr std::string_view kDevSample = "dev.sample";
}  // namespace kind

// True for one of the kinds above.
bool IsKnownKind(std::string_view k);

// True for "rcpt_" followed by exactly 32 lowercase hex digits.
bool IsReceiptId(std::string_view id);

// SHA-256(salt || value_canonical), lowercase hex: a redacted field's commitment.
std::string Commitment(std::span<const std::uint8_t> salt, std::string_view value_canonical);

// One issued receipt as stored.
struct Receipt {
  std::string id;
  std::string tenant;
  std::string kind;
  std::int64_t seq = 0;
  std::string payload;  // the canonical payload text: the signed bytes
  crypto::Ed25519Signature signature{};
  std::string disclosures;   // canonical JSON object {name:{"salt":b64,"value":v}}, "{}" if none
  crypto::Digest256 hash{};  // SHA-256(payload): the next receipt's prev

  // The full receipt document (canonical JSON), disclosures included: for tenant members.
  std::string FullJson() const;
  // The public projection (canonical JSON): payload and signature only.
  std::string ProjectionJson() const;
};

}  // namespace bulwark::receipts
