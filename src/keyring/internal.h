#pragma once
// Pieces shared by keyring.cc and rotation.cc: reading keyring_kek rows, deriving and recognising
// a KEK, and the wrap format. Not a public contract; nothing outside src/keyring includes this.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"
#include "keyring/master_key.h"
#include "store/store.h"

namespace bulwark::keyring::internal {

inline constexpr std::size_t kSaltSize = 16;

// One keyring_kek row.
struct KekRow {
  std::uint32_t version = 0;
  std::string source_kind;         // "base64", "file" or "password"
  std::vector<std::uint8_t> salt;  // password rows only
  std::uint32_t iterations = 0;    // password rows only
  std::vector<std::uint8_t> check_value;
  std::string created_at;
  std::optional<std::string> retired_at;
};

// Every keyring_kek row, highest version first. kIntegrity for a malformed row.
StatusOr<std::vector<KekRow>> ReadKekRows(store::Transaction& tx);

// HMAC-SHA-256(kek, "bulwark keyring check v1").
crypto::Digest256 CheckValue(const crypto::SecretBytes& kek);

// What can be checked about `source` without the store: iterations >= 100000 and a non-empty
// password, or a raw key that reads and decodes (returned; nullopt for a password).
StatusOr<std::optional<crypto::SecretBytes>> CheckSource(const MasterKeySource& source);

// True if a key of `kind` may have sealed `row` (base64 and file are both raw keys).
bool SameKindClass(MasterKeySourceKind kind, const KekRow& row);

// The KEK `source` gives for `row`: `raw` (from CheckSource) for a raw key, PBKDF2 with the row's
// salt and iterations for a password. Call only when SameKindClass.
StatusOr<crypto::SecretBytes> KekForRow(const MasterKeySource& source,
                                        const std::optional<crypto::SecretBytes>& raw,
                                        const KekRow& row);

// Constant-time: does `kek` have `row`'s check value?
bool KekMatches(const crypto::SecretBytes& kek, const KekRow& row);

// The one message for a key that matches nothing (kFailedPrecondition "wrong_master_key").
Status WrongMasterKey(std::string detail);

// Seals `key` in wrap format v2 under `kek`, which is keyring_kek version `kek_version`.
StatusOr<std::vector<std::uint8_t>> WrapUnder(const crypto::SecretBytes& kek,
                                              std::uint32_t kek_version,
                                              std::span<const std::uint8_t> key,
                                              std::string_view key_id, std::string_view purpose);

// The KEK version a wrapped blob names (kIntegrity if it is truncated or of an unknown format).
StatusOr<std::uint32_t> WrappedKekVersion(std::span<const std::uint8_t> wrapped);

}  // namespace bulwark::keyring::internal
