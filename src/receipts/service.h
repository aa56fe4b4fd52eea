#pragma once
// The ReceiptService issues and reads signed receipts (format: receipts/receipt.h).
//
// Issuing is part of the change it proves: Issue runs inside the caller's write transaction,
// reads the tenant's chain head there and appends after it, so the receipt, the change and the
// change's audit record commit together or not at all. A feature that lands later needs one call:
//
//   // Its own change and a receipt, recorded in the audit ledger, all in one transaction:
//   audit::Event ev{.actor = ..., .tenant = tenant, .action = "apikey.create", ...};
//   BULWARK_ASSIGN_OR_RETURN(receipts::Receipt r, receipts.IssueRecorded(
//       writer, std::move(ev), tenant, receipts::kind::kApiKeyCreate,
//       {{"api_key_id", key_id}, {"name", name}, {"created_by", user_email}},
//       /*redact=*/{"api_key_id", "created_by"},
//       [&](store::Transaction& tx) { return keys.Insert(tx, ...); }));
//
//   // Or, already inside an AuditWriter::Commit change:
//   BULWARK_ASSIGN_OR_RETURN(receipts::Receipt r, receipts.Issue(tx, tenant, kind, fields,
//   redact));
//
// Storage (migration 4): receipts(id, tenant, seq, payload, signature, disclosures, hash) with
// UNIQUE(tenant, seq), and receipt_signing_keys(key_id, public_key, created_at). Both are
// append-only: the store's triggers refuse UPDATE and DELETE and no code path issues one.
// The signing keys rotate (keyring/signing_keys.h, kind receipt): the newest signs, and each
// receipt's key_id names the one that did. Private halves never leave the process; public halves
// are in receipt_signing_keys (`bulwark receipt pubkey`), every one ever used.
//
// Thread-safety: immutable after Open; any number of threads may call it, each with its own
// Transaction. Two issuers in one tenant are serialized by the store's write lock (and the
// UNIQUE(tenant, seq) constraint turns any race that slipped through into kConflict).
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event.h"
#include "audit/writer.h"
#include "crypto/secret_bytes.h"
#include "crypto/sign.h"
#include "keyring/keyring.h"
#include "keyring/signing_keys.h"
#include "receipts/receipt.h"
#include "store/store.h"

namespace bulwark::receipts {

class ReceiptService {
 public:
  // Opens the service on `store`: gets or creates the signing key through `keys` (and records
  // its public half) in one write transaction. `store` must outlive the service. Errors: those
  // of Keyring::GetOrCreateKey and of the store.
  static StatusOr<std::unique_ptr<ReceiptService>> Open(store::Store& store, const keyring::Keyring& keys);

  ReceiptService(const ReceiptService&) = delete;
  ReceiptService& operator=(const ReceiptService&) = delete;

  // The kid and public half of the key receipts are signed with now.
  std::string key_id() const { return signing_->Current()->active.kid; }
  crypto::Ed25519PublicKey public_key() const { return signing_->Current()->active.public_key; }
  // Every key, retired ones included, as of now (GET /.well-known/bulwark/receipt-keys).
  std::shared_ptr<const keyring::SigningKeySet> signing_keys() const { return signing_->Current(); }
  // Every key that has signed receipts, retired ones included (they still vouch for what they
  // signed): what a check of stored receipts trusts.
  std::vector<crypto::Ed25519PublicKey> verifying_keys() const {
    std::vector<crypto::Ed25519PublicKey> out;
    for (const keyring::PublicSigningKey& k : signing_->Current()->keys) out.push_back(k.public_key);
    return out;
  }

  // Picks up a rotation or retirement of the receipt signing keys: receipts issued from then on
  // are signed with the newest key and name it. Returns whether anything changed; on an error
  // the key stays as it was. Safe while receipts are issued (each uses one snapshot).
  StatusOr<bool> ReloadSigningKeys(const keyring::Keyring& keys) {
    return signing_->Reload(store_, keys);
  }

  // Issues the next receipt of `tenant` inside `tx` (a write transaction; the caller commits).
  // `fields` are the facts; each name in `redact` must be a field and is signed only as its
  // commitment, its value and salt kept as the receipt's disclosure. `id` empty: a fresh one.
  // kInvalidArgument with reason:
  //   "invalid_tenant"   empty, longer than 128 bytes, or outside [A-Za-z0-9_.:-];
  //   "invalid_kind"     not one of receipts::kind;
  //   "invalid_field"    a name empty, longer than 64 bytes or outside [a-z0-9_], a redact name
  //                      that is not a field, a plain value that is an object with an "_sd"
  //                      member, or a value that RFC 8785 cannot canonicalize;
  //   "invalid_receipt_id"  `id` given and not IsReceiptId;
  //   "receipt_too_large"   the payload would exceed kMaxPayloadBytes.
  // kIntegrity if the tenant's stored chain head is malformed; store errors as they are.
  StatusOr<Receipt> Issue(store::Transaction& tx, std::string_view tenant, std::string_view kind,
                          const boost::json::object& fields, const std::vector<std::string>& redact,
                          std::string_view id = {}) const;

  // The one call for features: runs `change` (may be null) and issues the receipt inside one
  // AuditWriter::Commit, so the change, the receipt and `event` are durable together or not at
  // all. The event gains the detail "receipt_id". Errors: those of `change` (then nothing is
  // kept), of Issue, and the writer's kUnavailable "audit_unavailable".
  StatusOr<Receipt> IssueRecorded(audit::AuditWriter& writer, audit::Event event, std::string_view tenant,
                                  std::string_view kind, const boost::json::object& fields,
                                  const std::vector<std::string>& redact,
                                  std::function<Status(store::Transaction&)> change = nullptr) const;

  // Receipt `id` of `tenant`. kNotFound "receipt_not_found" when there is none, including when
  // `id` belongs to another tenant or is not a receipt id at all (nothing tells those apart).
  // kIntegrity for a malformed stored row.
  StatusOr<Receipt> Get(std::string_view tenant, std::string_view id) const;

  // The public projection (Receipt::ProjectionJson) of receipt `id`, whatever its tenant: the
  // projection holds only what the tenant chose to make public. kNotFound "receipt_not_found".
  StatusOr<std::string> PublicProjection(std::string_view id) const;

  // A tenant's receipts with seq in [from_seq, from_seq + limit), in seq order: the series
  // `bulwark receipt verify` checks as a chain. limit is clamped to 1..1000.
  StatusOr<std::vector<Receipt>> Series(std::string_view tenant, std::int64_t from_seq, int limit) const;

  // Every tenant that holds a receipt, sorted (receipts/background_verifier.h walks their chains).
  StatusOr<std::vector<std::string>> Tenants() const;

 private:
  explicit ReceiptService(store::Store& store) : store_(store) {}

  store::Store& store_;
  std::unique_ptr<keyring::SigningKeys> signing_;
};

}  // namespace bulwark::receipts
