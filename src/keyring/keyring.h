#pragma once
// The Keyring: holds the master key (KEK) for the life of the process and seals ("wraps") the
// data keys that everything else encrypts with, so a stolen database is useless without the
// master key, and the master key never touches the database.
//
// The database remembers which key it was sealed with through a key-check value
// (HMAC-SHA-256(KEK, "bulwark keyring check v1") in keyring_kek), never the key. Opening with
// any other key is refused before anything is written, so a typo in a key or password cannot
// make the server start and write data no one can read later.
//
// Example (boot):
//   BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<keyring::Keyring> ring,
//                            keyring::Keyring::Open(source, store));
//   // later, inside a write transaction:
//   BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes signing_seed,
//       ring->GetOrCreateKey(*tx, "audit-signing", "audit_signing_ed25519", 32));
//   BULWARK_RETURN_IF_ERROR(tx->Commit());
//
// Thread-safety: Open returns an immutable object; Wrap, Unwrap and GetOrCreateKey may be called
// from any number of threads at once (each with its own Transaction).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "keyring/master_key.h"
#include "store/store.h"

namespace bulwark::keyring {

// Format of Wrap's output, version 1:
//   0x01 || kek_version (4 bytes, big endian) || nonce (12) || ciphertext || tag (16)
// sealed with AES-256-GCM under the KEK and AAD "bulwark-wrap-v1|<kek_version>|<key_id>".
inline constexpr std::uint8_t kWrapFormatV1 = 0x01;
inline constexpr std::size_t kWrapOverhead = 1 + 4 + 12 + 16;

class Keyring {
 public:
  // Obtains the KEK from `source`, then checks it against the active (non-retired, highest
  // version) keyring_kek row in a read transaction:
  //   - no rows at all (first boot): inserts version 1 with the key-check value (and, for a
  //     password, a fresh 16-byte salt and the iteration count) in a write transaction;
  //   - a row that matches: opens; the store is not written;
  //   - a key that does not match, or a source of another kind (a password where the data was
  //     sealed with a raw key or vice versa; base64 and file are both raw keys and may replace
  //     each other): kFailedPrecondition "wrong_master_key"; nothing is written.
  // For a password the salt and iteration count stored in the row are used, not
  // source.pbkdf2_iterations (which only applies on first boot but must still be >= 100000).
  // Other errors: kInvalidArgument "invalid_master_key" (bad base64, not 32 bytes, empty
  // password), kInvalidArgument "weak_kdf_iterations" (< 100000), kFailedPrecondition
  // "master_key_unreadable" (key file), kFailedPrecondition "no_active_master_key" (every row
  // retired), kIntegrity (a malformed keyring_kek row), and any Store error.
  // `store` is used only during Open; the Keyring does not keep a reference to it.
  static StatusOr<std::unique_ptr<Keyring>> Open(const MasterKeySource& source, store::Store& store);

  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // Seals `key` under the KEK for the slot `key_id` (non-empty, at most 256 bytes, else
  // kInvalidArgument "invalid_key_id"). The result is only accepted by Unwrap with the same
  // key_id. kInternal if the CSPRNG or OpenSSL fails.
  StatusOr<std::vector<std::uint8_t>> Wrap(std::span<const std::uint8_t> key, std::string_view key_id) const;

  // Opens what Wrap produced for the same key_id. kIntegrity ("integrity_error") if it was
  // altered, truncated, moved to another key_id, is of an unknown format, or was sealed under a
  // KEK version this keyring does not hold. kInvalidArgument "invalid_key_id" as for Wrap.
  StatusOr<crypto::SecretBytes> Unwrap(std::span<const std::uint8_t> wrapped, std::string_view key_id) const;

  // Returns the data key stored in wrapped_keys under `key_id`, or creates one of `len` random
  // bytes (1..1024, else kInvalidArgument "invalid_key_length"), wraps it and inserts it through
  // `tx` (which must be a write transaction; the caller commits). An existing key of another
  // purpose or length is kFailedPrecondition "key_purpose_mismatch" / "key_length_mismatch";
  // a stored key that fails to unwrap is kIntegrity. Store errors are returned as they are (two
  // callers racing to create the same id: the loser gets kConflict from the primary key).
  StatusOr<crypto::SecretBytes> GetOrCreateKey(store::Transaction& tx, std::string_view key_id,
                                               std::string_view purpose, std::size_t len) const;

  // The version of the active KEK (1 after first boot).
  std::uint32_t kek_version() const { return kek_version_; }

 private:
  Keyring(crypto::SecretBytes kek, std::uint32_t kek_version);

  const crypto::SecretBytes kek_;
  const std::uint32_t kek_version_;
};

}  // namespace bulwark::keyring
