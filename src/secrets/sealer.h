#pragma once
// Sealing a secret version: the one place that knows how a secret's value is encrypted, what the
// ciphertext is bound to, and which data key seals it. No SQL and no store: the vault
// (secrets/vault.h) reads and writes the rows and calls this from put, read and reseal. Where
// this sits among the layers: docs/design.md.
//
// Stored format (the secret_versions.sealed column; existing rows must keep opening, so this
// never changes without a new AAD label):
//   sealed = nonce (12 bytes, fresh from the CSPRNG per seal)
//            || AES-256-GCM ciphertext (exactly as long as the plaintext)
//            || GCM tag (16 bytes)
//   so 28 bytes more than the plaintext (crypto::SealRandomNonce).
// The plaintext is the secret's JSON object, byte for byte as written.
// The AAD, never stored, is rebuilt from where the version lives:
//   "bulwark-secret-v1" 0x00 tenant 0x00 path 0x00 version 0x00 key_id
//   - tenant: the tenant id, as stored in secret_versions.tenant_id;
//   - path: the secret path (policy/secret_path.h: no NUL can occur);
//   - version: the version number in decimal ASCII, no sign or leading zeros ("1", "12");
//   - key_id: the data key's id, "tenant-data:<tenant>:<n>" (DataKeyId).
// So a ciphertext copied to another tenant, path or version, or relabelled with another data
// key, fails to open: kIntegrity "integrity_error", never another secret's value.
//
// Data keys: each tenant has numbered AES-256 data keys (kDataKeyPurpose, kDataKeyBytes), wrapped
// by the keyring's master key. New versions are sealed with the tenant's newest key until it has
// sealed `max_seals` values (kMaxSealsPerDataKey by default, far below the 2^32 random-nonce
// bound), then with the next one (ChooseSealingKey). Older keys still open what they sealed.
//
//   const SealedPlace place{tenant, path, version, key_id};
//   BULWARK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> sealed, SealVersion(key, place, value));
//   BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes plain, OpenVersion(key, place, sealed));
//
// Thread-safety: every function is safe to call concurrently; none holds state.
// Errors: OpenVersion returns kIntegrity "integrity_error" for anything that does not open
// (wrong key, any AAD field different, a changed, truncated or too short ciphertext). SealVersion
// and ResealVersion fail only as crypto/aead.h does (kInvalidArgument for a key that is not 32
// bytes, kInternal for OpenSSL); ResealVersion returns OpenVersion's error if the old one fails.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"

namespace bulwark::secrets {

inline constexpr std::string_view kSecretAadLabel = "bulwark-secret-v1";
inline constexpr std::int64_t kMaxSealsPerDataKey = 1LL << 30;
// The keyring purpose and size of a tenant data key (keyring::Keyring::GetOrCreateKey).
inline constexpr std::string_view kDataKeyPurpose = "tenant_data";
inline constexpr std::size_t kDataKeyBytes = 32;

// Where a sealed version lives: every field is bound into its AAD. Views: the caller keeps the
// strings alive for the call.
struct SealedPlace {
  std::string_view tenant;
  std::string_view path;
  std::int64_t version = 0;
  std::string_view key_id;
};

// The AAD of a secret version, laid out as above.
std::string SecretAad(std::string_view tenant, std::string_view path, std::int64_t version,
                      std::string_view key_id);
inline std::string SecretAad(const SealedPlace& place) {
  return SecretAad(place.tenant, place.path, place.version, place.key_id);
}

// Seals `plaintext` with data key `key` (whose id is place.key_id) for `place`.
StatusOr<std::vector<std::uint8_t>> SealVersion(const crypto::SecretBytes& key,
                                                const SealedPlace& place,
                                                std::span<const std::uint8_t> plaintext);
// Opens what SealVersion sealed for exactly `place` with exactly `key`.
StatusOr<crypto::SecretBytes> OpenVersion(const crypto::SecretBytes& key, const SealedPlace& place,
                                          std::span<const std::uint8_t> sealed);
// Opens `sealed` (of `from`, under `from_key`) and seals the value again for the same tenant,
// path and version under `to_key`, whose id is `to_key_id`: a data-key rotation's step.
StatusOr<std::vector<std::uint8_t>> ResealVersion(const crypto::SecretBytes& from_key,
                                                  const SealedPlace& from,
                                                  const crypto::SecretBytes& to_key,
                                                  std::string_view to_key_id,
                                                  std::span<const std::uint8_t> sealed);

// The id of a tenant's data key number `number` (1, 2, ...): "tenant-data:<tenant>:<number>".
std::string DataKeyId(std::string_view tenant, std::int64_t number);

// A tenant's newest data key, as the store holds it.
struct DataKeyRecord {
  std::int64_t number = 0;
  std::string key_id;
  std::int64_t seals = 0;  // how many values it has sealed
};

// Which data key seals a tenant's next value.
struct DataKeyChoice {
  std::int64_t number = 0;
  std::string key_id;
  bool create = false;  // a new key: the caller records it (and the keyring makes it)
};

// The newest key while it has sealed fewer than `max_seals` values; else (or when the tenant has
// none, `newest` empty) a new key numbered one past it (1 for the first).
DataKeyChoice ChooseSealingKey(std::string_view tenant, const std::optional<DataKeyRecord>& newest,
                               std::int64_t max_seals);

}  // namespace bulwark::secrets
