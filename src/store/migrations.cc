#include "store/migrations.h"

namespace bulwark::store {
namespace {

// Migration 1: the keyring. A KEK (key-encryption key) row records how the master key is derived
// and a check value to recognise it, never the key; wrapped_keys holds data keys sealed by a KEK.
constexpr std::string_view kFoundation = R"sql(
CREATE TABLE keyring_kek (
  version INTEGER PRIMARY KEY,
  source_kind TEXT NOT NULL,
  salt BLOB,
  iterations INTEGER,
  check_value BLOB NOT NULL,
  created_at TEXT NOT NULL,
  retired_at TEXT
);
CREATE TABLE wrapped_keys (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  kek_version INTEGER NOT NULL REFERENCES keyring_kek(version),
  wrapped BLOB NOT NULL,
  created_at TEXT NOT NULL
);
)sql";

// Migration 2: the audit ledger. audit_index holds the queryable columns of each entry (the
// ledger itself is only the hashed bytes); it is written in the same transaction. Each entry is the canonical JSON (RFC 8785) of one event, stored
// as the exact bytes hashed: hash = SHA-256(prev_hash || entry). Checkpoints sign {ledger id, size,
// head hash, time} with an Ed25519 key whose private half is wrapped by the keyring. The three
// tables are append-only: triggers refuse UPDATE and DELETE, and no code path issues one.
// (SQLite trigger syntax; the PostgreSQL backend carries its own trigger functions.)
constexpr std::string_view kAuditLedger = R"sql(
CREATE TABLE audit_ledger_meta (
  ledger_id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE audit_ledger (
  seq INTEGER PRIMARY KEY,
  entry BLOB NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
CREATE TABLE audit_signing_keys (
  key_id TEXT PRIMARY KEY,
  public_key BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY,
  size INTEGER NOT NULL,
  head_hash BLOB NOT NULL,
  body BLOB NOT NULL,
  key_id TEXT NOT NULL REFERENCES audit_signing_keys(key_id),
  signature BLOB NOT NULL
);
CREATE TABLE audit_index (
  seq INTEGER PRIMARY KEY REFERENCES audit_ledger(seq),
  time TEXT NOT NULL,
  tenant TEXT,
  actor_kind TEXT NOT NULL,
  actor_id TEXT,
  action TEXT NOT NULL,
  result TEXT NOT NULL
);
CREATE INDEX audit_index_tenant_seq ON audit_index(tenant, seq);
CREATE TRIGGER audit_index_no_update BEFORE UPDATE ON audit_index
BEGIN SELECT RAISE(ABORT, 'audit index is append-only'); END;
CREATE TRIGGER audit_index_no_delete BEFORE DELETE ON audit_index
BEGIN SELECT RAISE(ABORT, 'audit index is append-only'); END;
CREATE TRIGGER audit_ledger_no_update BEFORE UPDATE ON audit_ledger
BEGIN SELECT RAISE(ABORT, 'audit ledger is append-only'); END;
CREATE TRIGGER audit_ledger_no_delete BEFORE DELETE ON audit_ledger
BEGIN SELECT RAISE(ABORT, 'audit ledger is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_signing_keys_no_update BEFORE UPDATE ON audit_signing_keys
BEGIN SELECT RAISE(ABORT, 'audit signing keys are append-only'); END;
CREATE TRIGGER audit_signing_keys_no_delete BEFORE DELETE ON audit_signing_keys
BEGIN SELECT RAISE(ABORT, 'audit signing keys are append-only'); END;
)sql";

// Migration 3: where each SIEM export sink has got to in the ledger (audit/siem/exporter.h).
// Mutable on purpose: it is a delivery cursor, not part of the tamper-evident ledger.
constexpr std::string_view kAuditExportCursors = R"sql(
CREATE TABLE audit_export_cursors (
  sink TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
)sql";

// Migration 4: signed receipts (format in receipts/receipt.h). Each tenant's receipts form a
// hash chain: seq counts from 1 per tenant (UNIQUE(tenant, seq) makes a racing second issuer
// fail rather than fork the chain) and hash = SHA-256(payload) is the next receipt's prev.
// payload is the exact signed bytes; disclosures holds the redacted fields' values and salts,
// never shown publicly. receipt_signing_keys keeps the public half of each signing key (the
// private half is a keyring-wrapped data key). Both tables are append-only: triggers refuse
// UPDATE and DELETE (SQLite syntax; the PostgreSQL backend carries its own trigger functions).
constexpr std::string_view kReceipts = R"sql(
CREATE TABLE receipt_signing_keys (
  key_id TEXT PRIMARY KEY,
  public_key BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE receipts (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  seq INTEGER NOT NULL,
  payload BLOB NOT NULL,
  signature BLOB NOT NULL,
  disclosures BLOB NOT NULL,
  hash BLOB NOT NULL,
  UNIQUE(tenant, seq)
);
CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts are append-only'); END;
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts are append-only'); END;
CREATE TRIGGER receipt_signing_keys_no_update BEFORE UPDATE ON receipt_signing_keys
BEGIN SELECT RAISE(ABORT, 'receipt signing keys are append-only'); END;
CREATE TRIGGER receipt_signing_keys_no_delete BEFORE DELETE ON receipt_signing_keys
BEGIN SELECT RAISE(ABORT, 'receipt signing keys are append-only'); END;
)sql";

constexpr Migration kMigrations[] = {
    {1, "foundation", kFoundation},
    {2, "audit_ledger", kAuditLedger},
    {3, "audit_export_cursors", kAuditExportCursors},
    {4, "receipts", kReceipts},
};

}  // namespace

std::span<const Migration> AllMigrations() { return kMigrations; }

int LatestSchemaVersion() { return AllMigrations().back().version; }

}  // namespace bulwark::store
