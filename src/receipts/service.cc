#include "receipts/service.h"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "crypto/encoding.h"
#include "crypto/random.h"

namespace bulwark::receipts {
namespace {

using store::Value;

constexpr std::size_t kMaxTenantBytes = 128;
constexpr std::size_t kMaxFieldNameBytes = 64;
constexpr std::string_view kColumns = "id, tenant, seq, payload, signature, disclosures, hash";

bool ValidTenant(std::string_view t) {
  if (t.empty() || t.size() > kMaxTenantBytes) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '-';
  });
}

bool ValidFieldName(std::string_view n) {
  if (n.empty() || n.size() > kMaxFieldNameBytes) return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::string AsString(const Value& v) {
  if (v.is_text()) return v.as_text();
  if (v.is_bytes()) return std::string(v.as_bytes().begin(), v.as_bytes().end());
  return {};
}

// A stored row back into a Receipt, refusing anything a writer could not have produced.
StatusOr<Receipt> FromRow(const store::Row& r) {
  Receipt out;
  if (r.size() != 7 || !r[0].is_text() || !r[1].is_text() || !r[2].is_int() || !r[4].is_bytes() ||
      !r[6].is_bytes()) {
    return Status::Integrity("receipt row is malformed");
  }
  out.id = r[0].as_text();
  out.tenant = r[1].as_text();
  out.seq = r[2].as_int();
  out.payload = AsString(r[3]);
  out.disclosures = AsString(r[5]);
  if (!core::IsCanonical(out.payload) || !core::IsCanonical(out.disclosures)) {
    return Status::Integrity("receipt row is malformed");
  }
  if (r[4].as_bytes().size() != out.signature.size() || r[6].as_bytes().size() != out.hash.size()) {
    return Status::Integrity("receipt row is malformed");
  }
  std::copy(r[4].as_bytes().begin(), r[4].as_bytes().end(), out.signature.begin());
  std::copy(r[6].as_bytes().begin(), r[6].as_bytes().end(), out.hash.begin());
  // The kind is read back from the signed payload, the one place it is recorded.
  boost::system::error_code ec;
  boost::json::value p = boost::json::parse(out.payload, ec);
  if (ec || !p.is_object() || !p.as_object().contains("kind") || !p.as_object().at("kind").is_string()) {
    return Status::Integrity("receipt row is malformed");
  }
  out.kind = std::string(p.as_object().at("kind").as_string());
  return out;
}

Value Blob(std::string_view s) { return Value::Bytes(crypto::AsBytes(s)); }

}  // namespace

StatusOr<std::unique_ptr<ReceiptService>> ReceiptService::Open(store::Store& store, const keyring::Keyring& keys) {
  std::unique_ptr<ReceiptService> svc(new ReceiptService(store));
  BULWARK_ASSIGN_OR_RETURN(svc->signing_,
                           keyring::SigningKeys::Open(store, keys, keyring::SigningKind::kReceipt));
  return svc;
}

StatusOr<Receipt> ReceiptService::Issue(store::Transaction& tx, std::string_view tenant, std::string_view kind,
                                        const boost::json::object& fields, const std::vector<std::string>& redact,
                                        std::string_view id) const {
  if (!ValidTenant(tenant)) return Status::InvalidArgument("invalid_tenant", "the tenant id is not valid");
  if (!IsKnownKind(kind)) return Status::InvalidArgument("invalid_kind", "unknown receipt kind");
  if (!id.empty() && !IsReceiptId(id)) {
    return Status::InvalidArgument("invalid_receipt_id", "a receipt id is rcpt_ and 32 hex digits");
  }
  for (const std::string& name : redact) {
    if (!fields.contains(name)) {
      return Status::InvalidArgument("invalid_field", "a redacted field \"" + name + "\" is not a field");
    }
  }

  boost::json::object signed_fields;
  boost::json::object disclosures;
  for (const auto& member : fields) {
    const std::string_view name = member.key();
    if (!ValidFieldName(name)) {
      return Status::InvalidArgument("invalid_field", "field names are 1..64 characters of [a-z0-9_]");
    }
    auto canonical = core::CanonicalJson(member.value());
    if (!canonical.ok()) {
      return Status::InvalidArgument("invalid_field", "field \"" + std::string(name) + "\" cannot be canonicalized");
    }
    const bool redacted = std::find(redact.begin(), redact.end(), name) != redact.end();
    if (!redacted) {
      if (member.value().is_object() && member.value().as_object().contains(kCommitmentMember)) {
        return Status::InvalidArgument("invalid_field",
                                       "field \"" + std::string(name) + "\" looks like a commitment (_sd)");
      }
      signed_fields[name] = member.value();
      continue;
    }
    std::array<std::uint8_t, kDisclosureSaltBytes> salt{};
    BULWARK_RETURN_IF_ERROR(crypto::RandomBytes(salt));
    signed_fields[name] = boost::json::object{{kCommitmentMember, Commitment(salt, *canonical)}};
    disclosures[name] = boost::json::object{{"salt", crypto::Base64Encode(salt)}, {"value", member.value()}};
  }

  Receipt r;
  if (id.empty()) {
    BULWARK_ASSIGN_OR_RETURN(std::string random, crypto::RandomHex(kReceiptIdRandomBytes));
    r.id = std::string(kReceiptIdPrefix) + random;
  } else {
    r.id = std::string(id);
  }
  r.tenant = std::string(tenant);
  r.kind = std::string(kind);

  // The chain head is read inside the caller's write transaction: no other issuer can append
  // between this read and the insert.
  BULWARK_ASSIGN_OR_RETURN(auto head, tx.Query("SELECT seq, hash FROM receipts WHERE tenant = ? ORDER BY seq DESC LIMIT 1",
                                               {Value::Text(r.tenant)}));
  boost::json::value prev = nullptr;
  r.seq = 1;
  if (!head.empty()) {
    if (!head[0][0].is_int() || !head[0][1].is_bytes() || head[0][1].as_bytes().size() != 32) {
      return Status::Integrity("the tenant's receipt chain head is malformed");
    }
    r.seq = head[0][0].as_int() + 1;
    prev = crypto::HexEncode(head[0][1].as_bytes());
  }

  // One snapshot for the payload's key_id and the signature.
  const auto keys = signing_->Current();
  boost::json::object payload{{"fields", std::move(signed_fields)},
                              {"id", r.id},
                              {"issued_at", core::NowIso8601Micros()},
                              {"key_id", keys->active.kid},
                              {"kind", r.kind},
                              {"prev", std::move(prev)},
                              {"seq", r.seq},
                              {"tenant", r.tenant},
                              {"type", kReceiptType}};
  BULWARK_ASSIGN_OR_RETURN(r.payload, core::CanonicalJson(payload));
  if (r.payload.size() > kMaxPayloadBytes) {
    return Status::InvalidArgument("receipt_too_large", "the receipt's fields are too large");
  }
  BULWARK_ASSIGN_OR_RETURN(r.disclosures, core::CanonicalJson(disclosures));
  BULWARK_ASSIGN_OR_RETURN(
      r.signature, crypto::Ed25519Sign(keys->active.private_key, crypto::AsBytes(r.payload)));
  r.hash = crypto::Sha256(r.payload);

  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO receipts(id, tenant, seq, payload, signature, disclosures, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
              {Value::Text(r.id), Value::Text(r.tenant), Value::Int(r.seq), Blob(r.payload), Value::Bytes(r.signature),
               Blob(r.disclosures), Value::Bytes(r.hash)})
          .status());
  return r;
}

StatusOr<Receipt> ReceiptService::IssueRecorded(audit::AuditWriter& writer, audit::Event event,
                                                std::string_view tenant, std::string_view kind,
                                                const boost::json::object& fields,
                                                const std::vector<std::string>& redact,
                                                std::function<Status(store::Transaction&)> change) const {
  // The id is chosen before the transaction so the audit record can name it.
  BULWARK_ASSIGN_OR_RETURN(std::string random, crypto::RandomHex(kReceiptIdRandomBytes));
  const std::string id = std::string(kReceiptIdPrefix) + random;
  event.details.emplace_back("receipt_id", id);
  std::optional<Receipt> issued;
  Status s = writer.Commit(
      [&](store::Transaction& tx) -> Status {
        issued.reset();  // only what this run of the change issued counts
        if (change) BULWARK_RETURN_IF_ERROR(change(tx));
        BULWARK_ASSIGN_OR_RETURN(Receipt r, Issue(tx, tenant, kind, fields, redact, id));
        issued = std::move(r);
        return Status::Ok();
      },
      std::move(event));
  if (!s.ok()) return s;
  if (!issued) return Status::Internal("receipt was not issued");
  return std::move(*issued);
}

StatusOr<Receipt> ReceiptService::Get(std::string_view tenant, std::string_view id) const {
  if (!IsReceiptId(id) || tenant.empty()) return Status::NotFound("receipt_not_found", "no such receipt");
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT " + std::string(kColumns) +
                                                    " FROM receipts WHERE id = ? AND tenant = ?",
                                                {Value::Text(std::string(id)), Value::Text(std::string(tenant))}));
  if (rows.empty()) return Status::NotFound("receipt_not_found", "no such receipt");
  return FromRow(rows[0]);
}

StatusOr<std::string> ReceiptService::PublicProjection(std::string_view id) const {
  if (!IsReceiptId(id)) return Status::NotFound("receipt_not_found", "no such receipt");
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto rows, tx->Query("SELECT " + std::string(kColumns) + " FROM receipts WHERE id = ?",
                                                {Value::Text(std::string(id))}));
  if (rows.empty()) return Status::NotFound("receipt_not_found", "no such receipt");
  BULWARK_ASSIGN_OR_RETURN(Receipt r, FromRow(rows[0]));
  return r.ProjectionJson();
}

StatusOr<std::vector<Receipt>> ReceiptService::Series(std::string_view tenant, std::int64_t from_seq,
                                                      int limit) const {
  limit = std::clamp(limit, 1, 1000);
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx->Query("SELECT " + std::string(kColumns) +
                               " FROM receipts WHERE tenant = ? AND seq >= ? ORDER BY seq LIMIT ?",
                           {Value::Text(std::string(tenant)), Value::Int(from_seq), Value::Int(limit)}));
  std::vector<Receipt> out;
  out.reserve(rows.size());
  for (const store::Row& row : rows) {
    BULWARK_ASSIGN_OR_RETURN(Receipt r, FromRow(row));
    out.push_back(std::move(r));
  }
  return out;
}

StatusOr<std::vector<std::string>> ReceiptService::Tenants() const {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto rows,
                           tx->Query("SELECT DISTINCT tenant FROM receipts ORDER BY tenant", {}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const store::Row& row : rows) {
    if (!row[0].is_text()) return Status::Integrity("receipt row is malformed");
    out.push_back(row[0].as_text());
  }
  return out;
}

}  // namespace bulwark::receipts
