#include "audit/ledger.h"

#include <boost/json.hpp>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "crypto/encoding.h"
#include "crypto/random.h"

namespace bulwark::audit {
namespace {

using store::Value;

constexpr std::string_view kCheckpointType = "bulwark.audit.checkpoint.v1";

crypto::Digest256 ChainHash(const crypto::Digest256& prev, std::string_view entry) {
  crypto::Sha256Hasher h;
  h.Update(std::span<const std::uint8_t>(prev));
  h.Update(entry);
  return h.Finish();
}

StatusOr<crypto::Digest256> DigestFrom(const Value& v) {
  if (!v.is_bytes() || v.as_bytes().size() != 32) return Status::Integrity("ledger hash column is malformed");
  crypto::Digest256 d{};
  std::copy(v.as_bytes().begin(), v.as_bytes().end(), d.begin());
  return d;
}

}  // namespace

crypto::Digest256 GenesisHash(std::string_view ledger_id) {
  return crypto::Sha256("bulwark-ledger-v1|" + std::string(ledger_id));
}

StatusOr<std::unique_ptr<Ledger>> Ledger::Open(store::Store& store, const keyring::Keyring& keys) {
  std::unique_ptr<Ledger> ledger(new Ledger());
  {  // the transaction holds the write lock until it is gone, not only until it commits
    BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kWrite));
    BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT ledger_id FROM audit_ledger_meta"));
    if (rows.empty()) {
      BULWARK_ASSIGN_OR_RETURN(std::string id, crypto::RandomHex(16));
      ledger->ledger_id_ = "ledger-" + id;
      BULWARK_RETURN_IF_ERROR(
          tx->Exec("INSERT INTO audit_ledger_meta(ledger_id, created_at) VALUES (?, ?)",
                   {Value::Text(ledger->ledger_id_), Value::Text(core::NowIso8601Micros())})
              .status());
    } else {
      ledger->ledger_id_ = rows[0][0].as_text();
    }
    BULWARK_RETURN_IF_ERROR(tx->Commit());
  }
  BULWARK_ASSIGN_OR_RETURN(ledger->signing_,
                           keyring::SigningKeys::Open(store, keys, keyring::SigningKind::kLedger));
  ledger->genesis_ = GenesisHash(ledger->ledger_id_);
  return ledger;
}

StatusOr<LedgerHead> Ledger::ReadHead(store::Transaction& tx) const {
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT seq, hash FROM audit_ledger ORDER BY seq DESC LIMIT 1"));
  if (rows.empty()) return LedgerHead{0, genesis_};
  if (!rows[0][0].is_int()) return Status::Integrity("ledger seq column is malformed");
  BULWARK_ASSIGN_OR_RETURN(auto hash, DigestFrom(rows[0][1]));
  return LedgerHead{rows[0][0].as_int(), hash};
}

StatusOr<std::int64_t> Ledger::LastCheckpointSize(store::Transaction& tx) const {
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT MAX(size) FROM audit_checkpoints"));
  if (rows.empty() || rows[0][0].is_null()) return std::int64_t{0};
  if (!rows[0][0].is_int()) return Status::Integrity("checkpoint size column is malformed");
  return rows[0][0].as_int();
}

StatusOr<LedgerHead> Ledger::Append(store::Transaction& tx, const LedgerHead& head, const Event& event) const {
  BULWARK_ASSIGN_OR_RETURN(PreparedEntry entry, PrepareEntry(event));
  return Append(tx, head, entry);
}

StatusOr<LedgerHead> Ledger::Append(store::Transaction& tx, const LedgerHead& head,
                                    const PreparedEntry& entry) const {
  const std::int64_t seq = head.size + 1;
  BULWARK_ASSIGN_OR_RETURN(std::string bytes, entry.Fill(seq));
  const crypto::Digest256 hash = ChainHash(head.hash, bytes);
  std::vector<std::uint8_t> entry_bytes(bytes.begin(), bytes.end());
  BULWARK_RETURN_IF_ERROR(tx.Exec("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (?, ?, ?, ?)",
                                  {Value::Int(seq), Value::Bytes(std::move(entry_bytes)),
                                   Value::Bytes(head.hash), Value::Bytes(hash)})
                              .status());
  auto text_or_null = [](const std::string& v) { return v.empty() ? Value::Null() : Value::Text(v); };
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO audit_index(seq, time, tenant, actor_kind, actor_id, action, result) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)",
              {Value::Int(seq), Value::Text(entry.time), text_or_null(entry.tenant),
               Value::Text(std::string(ActorKindName(entry.actor_kind))),
               text_or_null(entry.actor_id), Value::Text(entry.action),
               Value::Text(std::string(ResultName(entry.result)))})
          .status());
  return LedgerHead{seq, hash};
}

Status Ledger::WriteCheckpoint(store::Transaction& tx, const LedgerHead& head,
                               LedgerCheckpoint* written) const {
  // One snapshot for the body's key_id, the signature and the key_id column.
  const auto keys = signing_->Current();
  const keyring::ActiveSigningKey& key = keys->active;
  boost::json::object body{{"head_hash", crypto::HexEncode(head.hash)},
                           {"key_id", key.kid},
                           {"ledger_id", ledger_id_},
                           {"size", head.size},
                           {"time", core::NowIso8601Micros()},
                           {"type", kCheckpointType}};
  BULWARK_ASSIGN_OR_RETURN(std::string canonical, core::CanonicalJson(body));
  BULWARK_ASSIGN_OR_RETURN(auto sig,
                           crypto::Ed25519Sign(key.private_key, crypto::AsBytes(canonical)));
  std::vector<std::uint8_t> body_bytes(canonical.begin(), canonical.end());
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO audit_checkpoints(size, head_hash, body, key_id, signature) VALUES (?, ?, ?, ?, ?)",
              {Value::Int(head.size), Value::Bytes(head.hash), Value::Bytes(std::move(body_bytes)),
               Value::Text(key.kid), Value::Bytes(sig)})
          .status());
  if (written != nullptr) {
    *written = LedgerCheckpoint{.id = 0,  // the row's id is not needed outside the database
                                .body = std::move(canonical),
                                .key_id = key.kid,
                                .signature = std::vector<std::uint8_t>(sig.begin(), sig.end()),
                                .has_columns = true,
                                .size = head.size,
                                .head_hash = std::vector<std::uint8_t>(head.hash.begin(), head.hash.end())};
  }
  return Status::Ok();
}

StatusOr<bool> Ledger::HeadIsSigned(store::Transaction& tx, const LedgerHead& head) const {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT body, key_id, signature FROM audit_checkpoints WHERE size = ? "
                          "ORDER BY id DESC LIMIT 1",
                          {Value::Int(head.size)}));
  if (rows.empty() || !rows[0][0].is_bytes() || !rows[0][2].is_bytes()) return false;
  const auto& body = rows[0][0].as_bytes();
  LedgerCheckpoint cp{.body = std::string(body.begin(), body.end()),
                      .signature = rows[0][2].as_bytes()};
  // Any of this ledger's keys, retired ones included: they still vouch for what they signed.
  std::vector<crypto::Ed25519PublicKey> trusted;
  for (const keyring::PublicSigningKey& k : signing_->Current()->keys) trusted.push_back(k.public_key);
  auto claim = OpenTrustedCheckpoint(cp, trusted);
  return claim.ok() && claim->ledger_id == ledger_id_ && claim->size == head.size &&
         std::equal(claim->head_hash.begin(), claim->head_hash.end(), head.hash.begin(),
                    head.hash.end());
}

}  // namespace bulwark::audit
