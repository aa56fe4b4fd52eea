#pragma once
// Exporting the audit ledger as JSON lines, for archiving, shipping to a SIEM, or verifying
// elsewhere with `bulwark audit verify --export FILE` (audit/verify.h reads it back).
//
// Format "bulwark-audit-export-v1", one JSON object per line:
//   {"type":"header","format":"bulwark-audit-export-v1","ledger_id":"...",
//    "public_keys":[{"key_id":"...","public_key":"<base64 of the raw 32 bytes>"}]}
//   {"type":"entry","seq":1,"entry":"<the canonical entry
//   text>","prev_hash":"<hex>","hash":"<hex>"}
//   ...
//   {"type":"checkpoint","id":1,"body":"<the canonical body
//   text>","key_id":"...","signature":"<base64>"}
// Entries in seq order; each checkpoint right after the entry at its size (size 0 before the
// first entry). The export is a faithful copy of what is stored, damage included: it does not
// verify. Only a damaged ledger can hold entry or body bytes that are not UTF-8; such a value is
// written as "entry_base64" / "body_base64" instead, so that no byte is lost or replaced.
//
// Example:
//   std::ofstream f("audit.jsonl");
//   BULWARK_ASSIGN_OR_RETURN(auto db, store::OpenSqliteFileAsIs(data_dir + "/bulwark.db"));
//   BULWARK_RETURN_IF_ERROR(audit::ExportLedger(std::move(db), f));
#include <memory>
#include <ostream>
#include <string>

#include "audit/verify.h"
#include "core/status.h"
#include "store/store.h"

namespace bulwark::audit {

// One checkpoint as its export line (with the newline): what `audit verify --since-checkpoint`
// and the high-water file (audit/high_water.h) hold.
std::string CheckpointLine(const LedgerCheckpoint& cp);

// Streams the ledger in `store` (SQLite or PostgreSQL) to `out` (read-only, one snapshot, bounded
// memory). Errors: those of OpenStoreSource (audit/verify.h); kFailedPrecondition
// "ledger_meta_damaged" if the ledger_meta table holds more than one row (no row: the
// header's ledger_id is null); kUnavailable "export_write_failed" if `out` fails.
Status ExportLedger(std::unique_ptr<store::Store> store, std::ostream& out);

// The whole `bulwark audit export` command: `database` opens the store holding the ledger
// (app::OpenToolStore in the binary). `out_file_or_dash` empty or "-": standard output;
// otherwise the file is written beside its final name and renamed into place when complete, so
// a failed export never leaves a plausible-looking partial file. Errors go to `err`.
// Returns 0 ok, 2 usage or I/O error.
int RunAuditExport(const store::Opener& database, const std::string& out_file_or_dash,
                   std::ostream& err);

// `bulwark audit pubkey`: each checkpoint signing key of the ledger as "# <key_id>" then its PEM,
// to pin with `audit verify --pubkey`; errors to `err`. Exit 0, or 2 when the database cannot be read.
int RunAuditPubkey(const store::Opener& database, std::ostream& out, std::ostream& err);
// The same; `kid` non-empty prints only that key (returns 1 if there is none). Every key that
// ever signed a checkpoint is printed, a retired one marked "# <key_id> (retired <time>)": the
// checkpoints it signed stay valid.
int RunAuditPubkey(const store::Opener& database, const std::string& kid, std::ostream& out,
                   std::ostream& err);

}  // namespace bulwark::audit
