#pragma once
// The audit ledger: an append-only hash chain of canonical entries with signed checkpoints.
//
//   entry k:   hash_k = SHA-256(hash_{k-1} || entry_k),  hash_0 = SHA-256("bulwark-ledger-v1|" + id)
//   checkpoint: Ed25519 signature over canonical {head_hash, key_id, ledger_id, size, time, type}
//
// Appends happen inside the caller's write transaction, so a change and its record commit
// together (see writer.h for the group-committing front end every request uses). The ledger
// never updates or deletes a row, and the store's triggers refuse to.
#include <cstdint>
#include <memory>
#include <string>

#include "audit/event.h"
#include "audit/verify.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"
#include "crypto/sign.h"
#include "keyring/keyring.h"
#include "keyring/signing_keys.h"
#include "store/store.h"

namespace bulwark::audit {

struct LedgerHead {
  std::int64_t size = 0;     // number of entries; the last entry's seq
  crypto::Digest256 hash{};  // hash of entry `size`, or the genesis hash when empty
};

class Ledger {
 public:
  // Opens the ledger of `store`: creates its id and its checkpoint signing key (wrapped by the
  // keyring, public half in audit_signing_keys; keyring/signing_keys.h, kind ledger) on first use.
  static StatusOr<std::unique_ptr<Ledger>> Open(store::Store& store, const keyring::Keyring& keys);

  const std::string& ledger_id() const { return ledger_id_; }
  // The kid and public half of the key checkpoints are signed with now.
  std::string key_id() const { return signing_->Current()->active.kid; }
  crypto::Ed25519PublicKey public_key() const { return signing_->Current()->active.public_key; }
  // Every key, retired ones included, as of now (GET /.well-known/bulwark/receipt-keys).
  std::shared_ptr<const keyring::SigningKeySet> signing_keys() const { return signing_->Current(); }

  // Picks up a rotation or retirement of the checkpoint signing keys: the next checkpoint is
  // signed with the newest key and names it. Returns whether anything changed; on an error the
  // key stays as it was. Safe while checkpoints are written (each uses one snapshot).
  StatusOr<bool> ReloadSigningKeys(store::Store& store, const keyring::Keyring& keys) {
    return signing_->Reload(store, keys);
  }
  const crypto::Digest256& genesis() const { return genesis_; }

  // The current head, read inside `tx`.
  StatusOr<LedgerHead> ReadHead(store::Transaction& tx) const;
  // The size covered by the newest checkpoint (0 if none), read inside `tx`.
  StatusOr<std::int64_t> LastCheckpointSize(store::Transaction& tx) const;

  // Appends `event` after `head` inside `tx` (a write transaction) and returns the new head.
  StatusOr<LedgerHead> Append(store::Transaction& tx, const LedgerHead& head, const Event& event) const;
  // The same with the event's entry already built (PrepareEntry).
  StatusOr<LedgerHead> Append(store::Transaction& tx, const LedgerHead& head,
                              const PreparedEntry& entry) const;

  // Signs and stores a checkpoint of `head` inside `tx`; `written`, when given, receives it as
  // stored (for the high-water mark, audit/high_water.h).
  Status WriteCheckpoint(store::Transaction& tx, const LedgerHead& head,
                         LedgerCheckpoint* written = nullptr) const;

  // Whether the newest checkpoint in `tx` is one of this ledger, signed by its key, of exactly
  // `head`: what a writer that is not the only one (a CLI command beside the server) leaves with
  // its entries.
  StatusOr<bool> HeadIsSigned(store::Transaction& tx, const LedgerHead& head) const;

 private:
  Ledger() = default;
  std::string ledger_id_;
  std::unique_ptr<keyring::SigningKeys> signing_;
  crypto::Digest256 genesis_{};
};

// SHA-256("bulwark-ledger-v1|" + ledger_id): the chain's anchor, so two ledgers cannot be spliced.
crypto::Digest256 GenesisHash(std::string_view ledger_id);

}  // namespace bulwark::audit
