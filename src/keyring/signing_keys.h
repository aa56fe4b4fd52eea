#pragma once
// Signing keys that rotate: the access-token (JWT) key, the audit ledger's checkpoint key and the
// receipt key. Each kind has a series of Ed25519 keys (generations 1, 2, ...) in signing_keys;
// the newest generation is the active one, which signs; every key not retired verifies.
//
// A key is named by its kid, crypto::Ed25519KeyId of its public half ("ed25519:<16 hex>"): what
// a JWT header, a checkpoint and a receipt carry, so a verifier picks the one public key that
// fits. The private half is a keyring-wrapped data key (wrapped_keys, under wrapped_key_id); the
// public half is in signing_keys, and for the ledger and receipts also in the table their offline
// tools read (audit_signing_keys, receipt_signing_keys), which keep every key ever used.
//
// Lifecycle (`bulwark key rotate-signing`, `bulwark key retire-signing`):
//   rotate  adds generation N+1, which becomes the active key of every process once it reloads
//           (SIGHUP, POST /api/v1/ops/keyring/reload); until then a process keeps signing with
//           the key it holds, which still verifies everywhere.
//   retire  marks one key retired and destroys its private half, so it never signs again. The
//           active key is never retired (rotate first). A retired JWT key leaves the JWKS and its
//           tokens are refused; a retired ledger or receipt key stays published (marked retired),
//           because the checkpoints and receipts it signed remain evidence.
//
// A store from before rotation existed has one key per kind under a fixed wrapped key id; Open
// adopts it as generation 1, so nothing signed before changes its kid.
//
// Example (boot):
//   BULWARK_ASSIGN_OR_RETURN(auto jwt_keys, keyring::SigningKeys::Open(store, ring,
//   SigningKind::kJwt)); auto set = jwt_keys->Current();            // immutable snapshot
//   Sign(set->active.private_key, ...);        // header kid: set->active.kid
//   // on SIGHUP:
//   BULWARK_ASSIGN_OR_RETURN(bool changed, jwt_keys->Reload(store, ring));
//
// Thread-safety: Current and Reload may be called from any number of threads; a snapshot never
// changes once published (Reload swaps the pointer under a small mutex).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "crypto/sign.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace bulwark::keyring {

enum class SigningKind { kJwt, kLedger, kReceipt };

// "jwt", "ledger", "receipt".
std::string_view SigningKindName(SigningKind kind);
// The kind named `name` exactly; nullopt for anything else.
std::optional<SigningKind> ParseSigningKind(std::string_view name);

// One key as published: never the private half.
struct PublicSigningKey {
  std::string kid;
  crypto::Ed25519PublicKey public_key{};
  std::int64_t generation = 0;
  std::string created_at;
  std::optional<std::string> retired_at;
  bool active = false;
};

// The key that signs.
struct ActiveSigningKey {
  std::string kid;
  crypto::SecretBytes private_key;  // 32-byte Ed25519 seed
  crypto::Ed25519PublicKey public_key{};
  std::int64_t generation = 0;
};

// One kind's keys at one moment. Immutable once published.
struct SigningKeySet {
  SigningKind kind = SigningKind::kJwt;
  ActiveSigningKey active;
  std::vector<PublicSigningKey> keys;  // every generation, ascending; retired ones included

  // The key named `kid` if it is not retired (retired keys verify nothing live), else nullptr.
  const PublicSigningKey* FindLive(std::string_view kid) const;
  // Every key not retired, ascending by generation.
  std::vector<PublicSigningKey> Live() const;
};

class SigningKeys {
 public:
  // Loads the keys of `kind` in one write transaction, creating generation 1 on first use (or
  // adopting the key this store had before rotation existed), and unwraps the active key.
  // Errors: those of Keyring::GetOrCreateKey (kUnavailable "master_key_reload_required" when
  // the active key is wrapped under a master key version this keyring does not hold) and of the
  // store; kIntegrity for a malformed row or a key whose public half does not match its kid.
  static StatusOr<std::unique_ptr<SigningKeys>> Open(store::Store& store, const Keyring& keys,
                                                     SigningKind kind);

  SigningKeys(const SigningKeys&) = delete;
  SigningKeys& operator=(const SigningKeys&) = delete;

  std::shared_ptr<const SigningKeySet> Current() const;

  // Re-reads the keys (read transaction; nothing is written) and publishes them if anything
  // changed (a rotation or a retirement). Returns whether it did. On an error the current set
  // stays as it was.
  StatusOr<bool> Reload(store::Store& store, const Keyring& keys);

 private:
  explicit SigningKeys(std::shared_ptr<const SigningKeySet> set) : set_(std::move(set)) {}
  mutable std::mutex mu_;  // guards set_ (the pointer)
  std::shared_ptr<const SigningKeySet> set_;
};

// What RotateSigningKey did.
struct SigningRotation {
  std::string from_kid;
  std::string to_kid;
  std::int64_t generation = 0;  // the new key's
};

// Inside `tx` (a write transaction; the caller commits): makes a fresh key the next generation of
// `kind`, wrapped by `keys` under the active master key, and publishes its public half. The
// previous keys stay as they are (they keep verifying). Errors: those of GetOrCreateKey and of
// the store (kConflict when another rotation of the same kind won a race: run it again).
StatusOr<SigningRotation> RotateSigningKey(store::Transaction& tx, const Keyring& keys,
                                           SigningKind kind);

// Inside `tx` (write): retires key `kid` of `kind` and deletes its private half. Errors, nothing
// changed: kNotFound "signing_key_not_found" (no such kid for this kind); kFailedPrecondition
// "signing_key_active" (the active key: rotate first), "signing_key_retired" (already).
// Returns the retired key's generation.
StatusOr<std::int64_t> RetireSigningKey(store::Transaction& tx, SigningKind kind,
                                        std::string_view kid);

// Every key of `kind`, ascending by generation (the newest is active). An empty list when none
// was made yet. kIntegrity for a malformed row.
StatusOr<std::vector<PublicSigningKey>> ListSigningKeys(store::Transaction& tx, SigningKind kind);

// For the offline tools that print public keys: kid -> retired_at of the retired keys of `kind`.
// Empty if there are none, and for a store from before signing keys rotated (no signing_keys
// table), or one that cannot be read (the tools print the keys they have all the same).
std::map<std::string, std::string> RetiredSigningKeys(store::Transaction& tx, SigningKind kind);
// " (retired <time>)" for a kid in `retired`, else "".
std::string RetiredNote(const std::map<std::string, std::string>& retired, std::string_view kid);

}  // namespace bulwark::keyring
