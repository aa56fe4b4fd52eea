#pragma once
// Master key (KEK) rotation and retirement: the store side of `bulwark key rotate`,
// `bulwark key retire` and `bulwark key status`.
//
// A rotation adds keyring_kek version max+1 for a new master key and re-wraps every data key in
// wrapped_keys under it, in the caller's write transaction (so the audit record and receipt of
// the rotation commit with it, or nothing does). Data keys themselves do not change: only their
// seal, so nothing encrypted under them is touched. Older versions stay in keyring_kek (and
// readable by a keyring that holds them) until retired; a version is retired only when no
// wrapped key uses it.
//
// Example (the CLI; `current` holds the configured key, opened with Keyring::OpenAnyVersion):
//   BULWARK_ASSIGN_OR_RETURN(keyring::PreparedMasterKey next,
//                            keyring::PrepareMasterKey(new_source, store));  // slow KDF: no lock
//   writer.CommitAmending([&](store::Transaction& tx, audit::Event& ev) -> Status {
//     BULWARK_ASSIGN_OR_RETURN(keyring::RotationResult r, keyring::Rotate(tx, *current, next));
//     ...issue the key.rotate receipt in tx, amend ev...
//   }, event);
//
// Then the running server must pick the new key up (SIGHUP or POST /api/v1/ops/keyring/reload,
// after the configuration names the new key): until it does, it cannot open data keys it has
// not cached, and the keys it creates are sealed under the old version ("leftovers", re-wrapped
// by running the same rotation again).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "crypto/secret_bytes.h"
#include "keyring/keyring.h"
#include "keyring/master_key.h"
#include "store/store.h"

namespace bulwark::keyring {

// A new master key, derived and checked against the store, ready for Rotate.
struct PreparedMasterKey {
  crypto::SecretBytes kek;
  std::string source_kind;         // keyring_kek.source_kind for a new row
  std::vector<std::uint8_t> salt;  // password: a fresh 16-byte salt (or the row's)
  std::uint32_t iterations = 0;    // password: source.pbkdf2_iterations (or the row's)
  std::optional<std::uint32_t> existing_version;  // the active version already is this key
};

// Derives the KEK of `new_source` (read transaction only; nothing is written) and recognises a
// re-run: if it is already the active version, existing_version is set and Rotate re-wraps only
// what is not yet under it. A password gets a fresh 16-byte salt and source.pbkdf2_iterations.
// Errors: those of the source (kInvalidArgument "invalid_master_key" / "weak_kdf_iterations" —
// never below 100000 —, kFailedPrecondition "master_key_unreadable"); kFailedPrecondition
//   "no_master_key"        the store has no keyring yet (start the server once);
//   "master_key_retired"   the key is that of a retired version (a retired key is never reused);
//   "master_key_not_new"   the key is that of an older version still live (choose a new key);
// kIntegrity for a malformed keyring_kek row; store errors.
StatusOr<PreparedMasterKey> PrepareMasterKey(const MasterKeySource& new_source,
                                             store::Store& store);

struct RotationResult {
  std::uint32_t from_version = 0;  // the active version before (a re-run: the newest leftover's)
  std::uint32_t to_version = 0;    // the version every wrapped key is now under
  std::int64_t rewrapped = 0;      // wrapped_keys rows re-sealed
  bool created_version = false;    // false on a re-run that reused to_version
};

// Inside `tx` (a write transaction; the caller commits): inserts keyring_kek version max+1 for
// `next` (unless next.existing_version), then re-wraps every wrapped_keys row not under that
// version, in wrap format v2: unwrapped with `current` (which must hold each row's version),
// sealed under `next`. Errors (the caller rolls back; nothing is kept):
//   kFailedPrecondition "nothing_to_rotate"  next is the active version and every row is under it;
//   kFailedPrecondition "master_key_version_not_held"  some row is under a version `current`
//       does not hold (the message names it and how many rows);
//   kConflict "keyring_changed"  keyring_kek changed since PrepareMasterKey (run it again);
//   kIntegrity  a wrapped key failed to open; store errors.
StatusOr<RotationResult> Rotate(store::Transaction& tx, const Keyring& current,
                                const PreparedMasterKey& next);

// Inside `tx` (write): sets retired_at on version `version`. kNotFound "kek_version_not_found";
// kFailedPrecondition "kek_version_retired" (already), "kek_version_active" (the active
// version — the highest live one — is never retired: rotate first), "kek_version_in_use" (the
// message says how many wrapped keys are still sealed under it: rotate, or re-run the rotation).
Status Retire(store::Transaction& tx, std::uint32_t version);

// One keyring_kek version as `bulwark key status` shows it.
struct KekVersionInfo {
  std::uint32_t version = 0;
  std::string source_kind;
  std::string created_at;
  std::optional<std::string> retired_at;
  std::int64_t wrapped_keys = 0;  // rows of wrapped_keys sealed under it
  bool active = false;
};
// Every version, ascending. kIntegrity for a malformed row; store errors.
StatusOr<std::vector<KekVersionInfo>> ListVersions(store::Transaction& tx);

}  // namespace bulwark::keyring
