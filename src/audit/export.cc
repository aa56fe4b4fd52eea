#include "audit/export.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include "audit/verify.h"
#include "core/json_text.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "keyring/signing_keys.h"

namespace bulwark::audit {
namespace {

// "key":"text" or, for bytes that are not UTF-8, "key_base64":"...".
void AppendBytesField(std::string& out, std::string_view key, std::string_view bytes) {
  out += '"';
  out += key;
  if (core::IsValidUtf8(bytes)) {
    out += "\":";
    core::AppendJsonString(out, bytes);
  } else {
    out += "_base64\":\"";
    out += crypto::Base64Encode(crypto::AsBytes(bytes));
    out += '"';
  }
}

void AppendEntry(std::string& line, const LedgerRow& row) {
  line += R"({"type":"entry","seq":)";
  line += std::to_string(row.seq);
  line += ',';
  AppendBytesField(line, "entry", row.entry);
  line += R"(,"prev_hash":")";
  line += crypto::HexEncode(row.prev_hash);
  line += R"(","hash":")";
  line += crypto::HexEncode(row.hash);
  line += "\"}\n";
}

void AppendCheckpoint(std::string& line, const LedgerCheckpoint& cp) {
  line += R"({"type":"checkpoint","id":)";
  line += std::to_string(cp.id);
  line += ',';
  AppendBytesField(line, "body", cp.body);
  line += R"(,"key_id":)";
  core::AppendJsonString(line, cp.key_id);
  line += R"(,"signature":")";
  line += crypto::Base64Encode(cp.signature);
  line += "\"}\n";
}

}  // namespace

std::string CheckpointLine(const LedgerCheckpoint& cp) {
  std::string line;
  AppendCheckpoint(line, cp);
  return line;
}

Status ExportLedger(std::unique_ptr<store::Store> store, std::ostream& out) {
  BULWARK_ASSIGN_OR_RETURN(std::unique_ptr<LedgerSource> src, OpenStoreSource(std::move(store)));
  const LedgerHeader& h = src->header();
  if (!h.problem.empty()) return Status::FailedPrecondition("ledger_meta_damaged", h.problem);
  std::string line = R"({"type":"header","format":"bulwark-audit-export-v1","ledger_id":)";
  if (h.has_ledger_id) {
    core::AppendJsonString(line, h.ledger_id);
  } else {
    line += "null";
  }
  line += R"(,"public_keys":[)";
  for (std::size_t i = 0; i < h.keys.size(); ++i) {
    if (i > 0) line += ',';
    line += R"({"key_id":)";
    core::AppendJsonString(line, h.keys[i].key_id);
    line += R"(,"public_key":")";
    line += crypto::Base64Encode(h.keys[i].public_key);
    line += "\"}";
  }
  line += "]}\n";
  out << line;
  LedgerItem item;
  while (true) {
    BULWARK_ASSIGN_OR_RETURN(bool more, src->Next(item));
    if (!more) break;
    line.clear();
    if (item.type == LedgerItem::Type::kEntry) {
      AppendEntry(line, item.entry);
    } else if (item.type == LedgerItem::Type::kCheckpoint) {
      AppendCheckpoint(line, item.checkpoint);
    } else {
      return Status::Internal("the database source yielded an unreadable item");  // it never does
    }
    out << line;
    if (!out) return Status::Unavailable("export_write_failed", "writing the export failed");
  }
  out.flush();
  if (!out) return Status::Unavailable("export_write_failed", "writing the export failed");
  return Status::Ok();
}

int RunAuditExport(const store::Opener& database, const std::string& out_file_or_dash,
                   std::ostream& err) {
  auto db = database();
  if (!db.ok()) {
    err << "audit export: error: " << db.status().ToString() << "\n";
    return 2;
  }
  if (out_file_or_dash.empty() || out_file_or_dash == "-") {
    Status s = ExportLedger(std::move(db).value(), std::cout);
    if (!s.ok()) {
      err << "audit export: error: " << s.ToString() << "\n";
      return 2;
    }
    return 0;
  }
  const std::string partial = out_file_or_dash + ".partial";
  Status s;
  {
    std::ofstream f(partial, std::ios::binary | std::ios::trunc);
    if (!f) {
      err << "audit export: error: cannot write " << partial << "\n";
      return 2;
    }
    s = ExportLedger(std::move(db).value(), f);
    f.close();
    if (s.ok() && !f) s = Status::Unavailable("export_write_failed", "writing the export failed");
  }
  if (s.ok() && std::rename(partial.c_str(), out_file_or_dash.c_str()) != 0) {
    s = Status::Unavailable("export_write_failed", "cannot move the export into place");
  }
  if (!s.ok()) {
    std::remove(partial.c_str());
    err << "audit export: error: " << s.ToString() << "\n";
    return 2;
  }
  return 0;
}

int RunAuditPubkey(const store::Opener& database, std::ostream& out, std::ostream& err) {
  return RunAuditPubkey(database, "", out, err);
}

int RunAuditPubkey(const store::Opener& database, const std::string& kid, std::ostream& out,
                   std::ostream& err) {
  auto db = database();
  std::map<std::string, std::string> retired;
  if (db.ok()) {
    if (auto tx = (*db)->Begin(store::TxMode::kRead); tx.ok()) {
      retired = keyring::RetiredSigningKeys(**tx, keyring::SigningKind::kLedger);
    }
  }
  StatusOr<std::unique_ptr<LedgerSource>> src =
      db.ok() ? OpenStoreSource(std::move(db).value()) : StatusOr<std::unique_ptr<LedgerSource>>(db.status());
  if (!src.ok()) {
    err << "audit pubkey: error: " << src.status().message() << "\n";
    return 2;
  }
  int printed = 0;
  for (const LedgerKey& k : (*src)->header().keys) {
    if (k.public_key.size() != crypto::kEd25519PublicKeySize) continue;  // damaged: nothing to pin
    if (!kid.empty() && k.key_id != kid) continue;
    crypto::Ed25519PublicKey raw{};
    std::copy(k.public_key.begin(), k.public_key.end(), raw.begin());
    auto pem = crypto::Ed25519PublicKeyToPem(raw);
    if (!pem.ok()) continue;
    out << "# " << k.key_id << keyring::RetiredNote(retired, k.key_id) << "\n" << *pem;
    ++printed;
  }
  if (!kid.empty() && printed == 0) {
    err << "audit pubkey: error: no checkpoint signing key " << kid << "\n";
    return 1;
  }
  return 0;
}

}  // namespace bulwark::audit
