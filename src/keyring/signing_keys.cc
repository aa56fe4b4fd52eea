#include "keyring/signing_keys.h"

#include <algorithm>

#include "core/clock.h"

namespace bulwark::keyring {
namespace {

using store::Value;

// Where each kind keeps its keys. `legacy_id` is the wrapped key id the single key of a store
// from before rotation had (it stays generation 1's); later generations are "<legacy_id>:<n>".
// `public_table` is the table the kind's offline tools read public keys from (fixed names from
// the code, never input); empty for JWT, whose keys are published as the JWKS.
struct KindSpec {
  std::string_view name;
  std::string_view legacy_id;
  std::string_view purpose;
  std::string_view public_table;
};

const KindSpec& Spec(SigningKind kind) {
  static const KindSpec kJwt{"jwt", "session-signing-ed25519", "session_signing_ed25519", ""};
  static const KindSpec kLedger{"ledger", "audit-checkpoint-signing-v1", "audit_checkpoint_signing",
                                "audit_signing_keys"};
  static const KindSpec kReceipt{"receipt", "receipt-signing-v1", "receipt_signing_ed25519",
                                 "receipt_signing_keys"};
  switch (kind) {
    case SigningKind::kJwt:
      return kJwt;
    case SigningKind::kLedger:
      return kLedger;
    case SigningKind::kReceipt:
      return kReceipt;
  }
  return kJwt;
}

std::string WrappedIdFor(SigningKind kind, std::int64_t generation) {
  const std::string legacy(Spec(kind).legacy_id);
  return generation == 1 ? legacy : legacy + ":" + std::to_string(generation);
}

struct Row {
  PublicSigningKey key;
  std::string wrapped_key_id;
};

Status Malformed() { return Status::Integrity("a signing_keys row is malformed"); }

StatusOr<std::vector<Row>> ReadRows(store::Transaction& tx, SigningKind kind) {
  BULWARK_ASSIGN_OR_RETURN(
      store::Rows rows,
      tx.Query("SELECT generation, kid, wrapped_key_id, public_key, created_at, retired_at "
               "FROM signing_keys WHERE kind = ? ORDER BY generation",
               {Value::Text(std::string(SigningKindName(kind)))}));
  std::vector<Row> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    if (r.size() != 6 || !r[0].is_int() || !r[1].is_text() || !r[2].is_text() || !r[3].is_bytes() ||
        r[3].as_bytes().size() != crypto::kEd25519PublicKeySize || !r[4].is_text() ||
        !(r[5].is_null() || r[5].is_text())) {
      return Malformed();
    }
    Row row;
    row.key.generation = r[0].as_int();
    row.key.kid = r[1].as_text();
    row.wrapped_key_id = r[2].as_text();
    std::copy(r[3].as_bytes().begin(), r[3].as_bytes().end(), row.key.public_key.begin());
    row.key.created_at = r[4].as_text();
    if (r[5].is_text()) row.key.retired_at = r[5].as_text();
    if (crypto::Ed25519KeyId(row.key.public_key) != row.key.kid) return Malformed();
    out.push_back(std::move(row));
  }
  if (!out.empty()) out.back().key.active = true;
  return out;
}

// Publishes `pub` in the kind's public table (once: the tables are append-only).
Status Publish(store::Transaction& tx, SigningKind kind, const std::string& kid,
               const crypto::Ed25519PublicKey& pub, const std::string& now) {
  const std::string table(Spec(kind).public_table);
  if (table.empty()) return Status::Ok();
  BULWARK_ASSIGN_OR_RETURN(
      store::Rows known,
      tx.Query("SELECT 1 FROM " + table + " WHERE key_id = ?", {Value::Text(kid)}));
  if (!known.empty()) return Status::Ok();
  return tx
      .Exec("INSERT INTO " + table + "(key_id, public_key, created_at) VALUES (?, ?, ?)",
            {Value::Text(kid), Value::Bytes(pub), Value::Text(now)})
      .status();
}

// Makes (or, for generation 1 of an older store, adopts) the key of `generation` and records it.
StatusOr<PublicSigningKey> AddGeneration(store::Transaction& tx, const Keyring& keys,
                                         SigningKind kind, std::int64_t generation) {
  const std::string wrapped_id = WrappedIdFor(kind, generation);
  BULWARK_ASSIGN_OR_RETURN(
      crypto::SecretBytes seed,
      keys.GetOrCreateKey(tx, wrapped_id, Spec(kind).purpose, crypto::kEd25519PrivateKeySize));
  PublicSigningKey key;
  BULWARK_ASSIGN_OR_RETURN(key.public_key, crypto::Ed25519PublicKeyFromPrivate(seed));
  key.kid = crypto::Ed25519KeyId(key.public_key);
  key.generation = generation;
  key.created_at = core::NowIso8601Micros();
  key.active = true;
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO signing_keys(kind, generation, kid, wrapped_key_id, public_key, "
              "created_at) VALUES (?, ?, ?, ?, ?, ?)",
              {Value::Text(std::string(SigningKindName(kind))), Value::Int(generation),
               Value::Text(key.kid), Value::Text(wrapped_id), Value::Bytes(key.public_key),
               Value::Text(key.created_at)})
          .status());
  BULWARK_RETURN_IF_ERROR(Publish(tx, kind, key.kid, key.public_key, key.created_at));
  return key;
}

// The set `rows` describe, with the active key unwrapped through `tx` (read suffices).
StatusOr<std::shared_ptr<const SigningKeySet>> BuildSet(store::Transaction& tx, const Keyring& keys,
                                                        SigningKind kind, std::vector<Row> rows) {
  if (rows.empty())
    return Status::Integrity("no signing key of kind " + std::string(Spec(kind).name));
  const Row& last = rows.back();
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                           keys.GetOrCreateKey(tx, last.wrapped_key_id, Spec(kind).purpose,
                                               crypto::kEd25519PrivateKeySize));
  BULWARK_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey pub, crypto::Ed25519PublicKeyFromPrivate(seed));
  if (pub != last.key.public_key) {
    return Status::Integrity("the active " + std::string(Spec(kind).name) +
                             " signing key does not match its published public key");
  }
  auto set = std::make_shared<SigningKeySet>();
  set->kind = kind;
  set->active = ActiveSigningKey{.kid = last.key.kid,
                                 .private_key = std::move(seed),
                                 .public_key = pub,
                                 .generation = last.key.generation};
  for (Row& r : rows) set->keys.push_back(std::move(r.key));
  return std::shared_ptr<const SigningKeySet>(std::move(set));
}

bool SameKeys(const SigningKeySet& set, const std::vector<Row>& rows) {
  if (set.keys.size() != rows.size()) return false;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (set.keys[i].kid != rows[i].key.kid || set.keys[i].retired_at != rows[i].key.retired_at) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view SigningKindName(SigningKind kind) { return Spec(kind).name; }

std::optional<SigningKind> ParseSigningKind(std::string_view name) {
  for (SigningKind k : {SigningKind::kJwt, SigningKind::kLedger, SigningKind::kReceipt}) {
    if (Spec(k).name == name) return k;
  }
  return std::nullopt;
}

const PublicSigningKey* SigningKeySet::FindLive(std::string_view kid) const {
  for (const PublicSigningKey& k : keys) {
    if (k.kid == kid && !k.retired_at.has_value()) return &k;
  }
  return nullptr;
}

std::vector<PublicSigningKey> SigningKeySet::Live() const {
  std::vector<PublicSigningKey> out;
  for (const PublicSigningKey& k : keys) {
    if (!k.retired_at.has_value()) out.push_back(k);
  }
  return out;
}

StatusOr<std::unique_ptr<SigningKeys>> SigningKeys::Open(store::Store& store, const Keyring& keys,
                                                         SigningKind kind) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kWrite));
  BULWARK_ASSIGN_OR_RETURN(std::vector<Row> rows, ReadRows(*tx, kind));
  if (rows.empty()) {
    BULWARK_RETURN_IF_ERROR(AddGeneration(*tx, keys, kind, 1).status());
    BULWARK_ASSIGN_OR_RETURN(rows, ReadRows(*tx, kind));
  }
  BULWARK_ASSIGN_OR_RETURN(auto set, BuildSet(*tx, keys, kind, std::move(rows)));
  BULWARK_RETURN_IF_ERROR(tx->Commit());
  return std::unique_ptr<SigningKeys>(new SigningKeys(std::move(set)));
}

std::shared_ptr<const SigningKeySet> SigningKeys::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return set_;
}

StatusOr<bool> SigningKeys::Reload(store::Store& store, const Keyring& keys) {
  const auto current = Current();
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(std::vector<Row> rows, ReadRows(*tx, current->kind));
  if (SameKeys(*current, rows)) return false;
  BULWARK_ASSIGN_OR_RETURN(auto next, BuildSet(*tx, keys, current->kind, std::move(rows)));
  std::lock_guard<std::mutex> lock(mu_);
  set_ = std::move(next);
  return true;
}

StatusOr<SigningRotation> RotateSigningKey(store::Transaction& tx, const Keyring& keys,
                                           SigningKind kind) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Row> rows, ReadRows(tx, kind));
  if (rows.empty()) {
    // A store whose servers never signed anything of this kind: its first key comes first.
    BULWARK_RETURN_IF_ERROR(AddGeneration(tx, keys, kind, 1).status());
    BULWARK_ASSIGN_OR_RETURN(rows, ReadRows(tx, kind));
  }
  const PublicSigningKey& from = rows.back().key;
  BULWARK_ASSIGN_OR_RETURN(PublicSigningKey to, AddGeneration(tx, keys, kind, from.generation + 1));
  return SigningRotation{.from_kid = from.kid, .to_kid = to.kid, .generation = to.generation};
}

StatusOr<std::int64_t> RetireSigningKey(store::Transaction& tx, SigningKind kind,
                                        std::string_view kid) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Row> rows, ReadRows(tx, kind));
  const auto it =
      std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.key.kid == kid; });
  const std::string what = std::string(SigningKindName(kind)) + " signing key " + std::string(kid);
  if (it == rows.end()) {
    return Status::NotFound("signing_key_not_found", "there is no " + what);
  }
  if (it->key.active) {
    return Status::FailedPrecondition("signing_key_active",
                                      "the " + what +
                                          " is the active key and is never retired; rotate first "
                                          "(bulwark key rotate-signing --kind " +
                                          std::string(SigningKindName(kind)) + ")");
  }
  if (it->key.retired_at.has_value()) {
    return Status::FailedPrecondition(
        "signing_key_retired", "the " + what + " was already retired at " + *it->key.retired_at);
  }
  BULWARK_ASSIGN_OR_RETURN(
      std::int64_t changed,
      tx.Exec("UPDATE signing_keys SET retired_at = ? WHERE kind = ? AND kid = ? AND "
              "retired_at IS NULL",
              {Value::Text(core::NowIso8601Micros()),
               Value::Text(std::string(SigningKindName(kind))), Value::Text(std::string(kid))}));
  if (changed != 1) {
    return Status::Conflict(
        "signing_keys_changed",
        "the signing keys changed meanwhile; nothing was changed, run it again");
  }
  // The private half is destroyed: a retired key never signs again, whoever holds the master key.
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM wrapped_keys WHERE id = ?", {Value::Text(it->wrapped_key_id)}).status());
  return it->key.generation;
}

StatusOr<std::vector<PublicSigningKey>> ListSigningKeys(store::Transaction& tx, SigningKind kind) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<Row> rows, ReadRows(tx, kind));
  std::vector<PublicSigningKey> out;
  out.reserve(rows.size());
  for (Row& r : rows) out.push_back(std::move(r.key));
  return out;
}

std::map<std::string, std::string> RetiredSigningKeys(store::Transaction& tx, SigningKind kind) {
  std::map<std::string, std::string> out;
  auto present = tx.HasTable("signing_keys");
  if (!present.ok() || !*present) return out;
  auto keys = ListSigningKeys(tx, kind);
  if (!keys.ok()) return out;
  for (const PublicSigningKey& k : *keys) {
    if (k.retired_at) out.emplace(k.kid, *k.retired_at);
  }
  return out;
}

std::string RetiredNote(const std::map<std::string, std::string>& retired, std::string_view kid) {
  const auto it = retired.find(std::string(kid));
  return it == retired.end() ? std::string() : " (retired " + it->second + ")";
}

}  // namespace bulwark::keyring
