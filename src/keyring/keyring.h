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
//   // after `bulwark key rotate` and the operator pointing the config at the new key:
//   BULWARK_RETURN_IF_ERROR(ring->Reload(new_source, store));  // holds old and new versions
//
// The keyring may hold several KEK versions (after a rotation: the old and the new one) and seals
// under the highest it holds; versions stay readable until `bulwark key retire`.
//
// Thread-safety: Wrap, Unwrap, GetOrCreateKey and Reload may be called from any number of
// threads at once (each with its own Transaction). The held versions are an immutable snapshot
// swapped under a small mutex, so a Reload never blocks a request for longer than that swap.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "keyring/master_key.h"
#include "store/store.h"

namespace bulwark::keyring {

// Wrap's output, format version 2 (what Wrap writes):
//   0x02 || kek_version (4 bytes, big endian) || nonce (12) || ciphertext || tag (16)
// sealed with AES-256-GCM under KEK version `kek_version` and the AAD
// "bulwark-wrap-v2|<kek_version>|<key_id>|<purpose>", so a wrapped key moved to another slot or
// another purpose fails to open. Format version 1 (0x01, AAD "bulwark-wrap-v1|<kek_version>|
// <key_id>", no purpose) is still opened; rotation (keyring/rotation.h) rewrites it as version 2.
inline constexpr std::uint8_t kWrapFormatV1 = 0x01;
inline constexpr std::uint8_t kWrapFormatV2 = 0x02;
inline constexpr std::size_t kWrapOverhead = 1 + 4 + 12 + 16;

class Keyring {
 public:
  // Obtains the KEK from `source`, then checks it against the active (non-retired, highest
  // version) keyring_kek row in a read transaction:
  //   - no rows at all (first boot): inserts version 1 with the key-check value (and, for a
  //     password, a fresh 16-byte salt and the iteration count) in a write transaction;
  //   - a row that matches: opens; the store is not written;
  //   - a key that does not match (including the key of an older, not yet retired version), or
  //     a source of another kind (a password where the data was sealed with a raw key or vice
  //     versa; base64 and file are both raw keys and may replace each other):
  //     kFailedPrecondition "wrong_master_key"; nothing is written.
  // For a password the salt and iteration count stored in the row are used, not
  // source.pbkdf2_iterations (which only applies on first boot but must still be >= 100000).
  // Other errors: kInvalidArgument "invalid_master_key" (bad base64, not 32 bytes, empty
  // password), kInvalidArgument "weak_kdf_iterations" (< 100000), kFailedPrecondition
  // "master_key_unreadable" (key file), kFailedPrecondition "no_active_master_key" (every row
  // retired), kIntegrity (a malformed keyring_kek row), and any Store error.
  // `store` is used only during Open; the Keyring does not keep a reference to it.
  static StatusOr<std::unique_ptr<Keyring>> Open(const MasterKeySource& source,
                                                 store::Store& store);

  // For maintenance commands (`bulwark key rotate`): like Open, but `source` may be the key of
  // any non-retired version, not only the active one, and the store is never written (an empty
  // keyring_kek is kFailedPrecondition "no_master_key"). The keyring holds that one version and
  // seals under it. Errors otherwise as Reload.
  static StatusOr<std::unique_ptr<Keyring>> OpenAnyVersion(const MasterKeySource& source,
                                                           store::Store& store);

  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // Picks up a master key while requests run (SIGHUP, POST /api/v1/ops/keyring/reload): derives
  // the KEK of `source` (for a password, with each row's salt) and matches it, in constant time
  // by check value, against the non-retired keyring_kek rows (read transaction; nothing is
  // written). On a match the keyring holds that version too, keeping every version it held, so
  // data keys wrapped under any of them still open; Wrap seals under the highest version held
  // (the new one after a rotation). Reloading a version already held is OK and changes nothing.
  // No match: kFailedPrecondition "wrong_master_key", the keyring is unchanged. Other errors as
  // Open (source checks, kIntegrity for a malformed row, Store errors), keyring unchanged.
  // Safe to call while other threads Wrap, Unwrap and GetOrCreateKey: they see the old or the
  // new set of versions, never a mix.
  //
  //   if (Status s = ring->Reload(source, store); !s.ok()) log::Warn("keyring.reload_failed", ...);
  Status Reload(const MasterKeySource& source, store::Store& store);

  // Seals `key` for the slot `key_id` and its `purpose` under the active KEK (format v2). key_id:
  // non-empty, at most 256 bytes, else kInvalidArgument "invalid_key_id"; purpose: 1..64 of
  // [a-z0-9_.-], else kInvalidArgument "invalid_purpose". The result is only accepted by Unwrap
  // with the same key_id and purpose. kInternal if the CSPRNG or OpenSSL fails.
  StatusOr<std::vector<std::uint8_t>> Wrap(std::span<const std::uint8_t> key,
                                           std::string_view key_id, std::string_view purpose) const;

  // Opens what Wrap produced for the same key_id and purpose (a format-v1 blob, which does not
  // bind a purpose, opens with any valid purpose). kIntegrity ("integrity_error") if it was
  // altered, truncated, moved to another key_id or purpose, is of an unknown format, or was
  // sealed under a KEK version this keyring does not hold. kInvalidArgument as for Wrap.
  StatusOr<crypto::SecretBytes> Unwrap(std::span<const std::uint8_t> wrapped,
                                       std::string_view key_id, std::string_view purpose) const;

  // Returns the data key stored in wrapped_keys under `key_id`, or creates one of `len` random
  // bytes (1..1024, else kInvalidArgument "invalid_key_length"), wraps it and inserts it through
  // `tx` (which must be a write transaction; the caller commits). An existing key of another
  // purpose or length is kFailedPrecondition "key_purpose_mismatch" / "key_length_mismatch";
  // a stored key that fails to unwrap is kIntegrity, unless it was re-wrapped under a newer KEK
  // version the store has and this keyring does not hold yet (a `bulwark key rotate` this process
  // has not reloaded): that is kUnavailable "master_key_reload_required", for reads and writes
  // alike, never an integrity alarm. Creating a key while the store's active
  // KEK version is not this keyring's (rotated or retired since the last reload) is kUnavailable
  // "master_key_reload_required". Store errors are returned as they are (two callers racing to
  // create the same id: the loser gets kConflict from the primary key).
  StatusOr<crypto::SecretBytes> GetOrCreateKey(store::Transaction& tx, std::string_view key_id,
                                               std::string_view purpose, std::size_t len) const;

  // The version Wrap seals under: the highest held (1 after first boot).
  std::uint32_t kek_version() const;
  // Every version held, ascending.
  std::vector<std::uint32_t> held_versions() const;
  bool holds_version(std::uint32_t version) const;

 private:
  // Immutable once published; Reload publishes a new one.
  struct State {
    std::map<std::uint32_t, crypto::SecretBytes> keks;
    std::uint32_t active = 0;
  };
  explicit Keyring(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  // kUnavailable "master_key_reload_required" if `wrapped` is sealed under a KEK version newer
  // than any held that the store has (keyring_kek); OK otherwise (then a failure is damage).
  Status ReloadPending(store::Transaction& tx, std::span<const std::uint8_t> wrapped) const;
  std::shared_ptr<const State> Snapshot() const;

  mutable std::mutex mu_;  // guards state_ (the pointer, not the State)
  std::shared_ptr<const State> state_;
};

}  // namespace bulwark::keyring
