#pragma once
// Offline verification of the tamper-evident audit ledger (see store/migrations.cc, migration 2,
// for the format): the hash chain, every signed checkpoint, and that nothing was cut off behind
// the last checkpoint.
//
// One verifier serves both the live database and an export file: each is read through a
// LedgerSource, a forward-only stream of entries with each checkpoint placed right after the
// entry at its size. Verification is one streaming pass: memory does not grow with the ledger
// (only with the number of checkpoints that refer ahead of the stream), so a ledger of a million
// entries verifies at hash speed.
//
// The verifier recomputes everything from the format specification (genesis, chain, checkpoint
// body) and deliberately shares no code with the writer, so a writer bug cannot hide itself.
//
// Example:
//   BULWARK_ASSIGN_OR_RETURN(VerifyReport r, audit::VerifyStore(open_store, {pub}));
//   if (!r.ok) std::cerr << DamageKindName(r.kind) << " at seq " << r.seq << ": " << r.detail;
//
// Classification (the first anomaly in ledger order wins; checkpoint findings only when the chain
// itself is intact), with the seq reported:
//   deleted_entry      a gap in the stored seq numbers, or an entry whose JSON seq is ahead of its
//                      position while it still carries its own valid hash (later rows renumbered)
//                      -> the first missing seq.
//   reordered_entries  rows k and k+1 exchanged (by content or by position) -> k.
//   inserted_entry     a row whose prev_hash skips the row before it, or whose JSON seq is one
//                      behind its position (rows renumbered after an insertion), or an invalid row
//                      that the next row's prev_hash skips -> the inserted row's seq.
//   modified_entry     SHA-256(prev_hash || entry) differs from the stored hash -> that row; or a
//                      row's prev_hash does not name the previous row's hash: if the row is itself
//                      consistent the previous row was rewritten with its hash recomputed -> the
//                      previous row, else the prev_hash column itself was altered -> this row.
//   malformed          the chain holds but an entry is not a canonical (RFC 8785) JSON object whose
//                      "seq" equals its position, or the source is unreadable at that point (a bad
//                      export line, a missing ledger id); also a validly signed checkpoint whose
//                      body is not the checkpoint format. Tampering that also breaks a hash is
//                      reported as the structural kind above, never as malformed.
//   bad_checkpoint_signature  the signature does not verify under the trusted key its key_id
//                      names (or, naming none, under any trusted key) -> the checkpoint's size.
//   checkpoint_mismatch       a validly signed checkpoint whose head hash differs from the hash
//                      recomputed at its size, whose body names another ledger, or whose stored
//                      columns (size, head_hash, key_id) disagree with its signed body -> its size.
//   truncated_tail     a validly signed checkpoint covers more entries than exist -> entries + 1.
// Among checkpoint findings the order of precedence is the order of this list. Then, when the
// chain and its checkpoints hold:
//   rolled_back        a trusted checkpoint (VerifyOptions::since, `--since-checkpoint`) covers
//                      more entries than exist -> entries + 1 (its head is compared like any
//                      checkpoint's: a different hash at its size is checkpoint_mismatch).
//   unsigned_tail      more entries follow the last valid checkpoint than the checkpoint policy
//                      leaves unsigned (TailPolicy), or one of them is dated later than that
//                      checkpoint's time plus the policy's interval -> the first entry past the
//                      allowance. A rewrite that recomputed the chain and deleted the later
//                      checkpoints looks like this.
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/sign.h"
#include "store/store.h"

namespace bulwark::audit {

enum class DamageKind {
  kNone,
  kModifiedEntry,
  kDeletedEntry,
  kInsertedEntry,
  kReorderedEntries,
  kTruncatedTail,
  kBadCheckpointSignature,
  kCheckpointMismatch,
  kMalformed,
  kUnsigned,  // with trusted keys: entries, but no trusted checkpoint covers any of them
  kRolledBack,    // a trusted checkpoint covers more entries than the ledger holds
  kUnsignedTail,  // more unsigned entries after the last checkpoint than the policy allows
};

// "none", "modified_entry", "deleted_entry", ... : stable names for output and for machines.
std::string_view DamageKindName(DamageKind kind);

struct VerifyReport {
  bool ok = false;
  DamageKind kind = DamageKind::kNone;
  std::int64_t seq = 0;      // first bad seq, or the checkpoint's size; 0 when ok
  std::string detail;        // what was found; when ok, where the checkpoint keys were trusted from
  std::int64_t entries = 0;  // entries that verified (before the anomaly, if any)
  std::int64_t checkpoints = 0;  // checkpoints examined
  std::int64_t bytes = 0;        // entry bytes hashed
  std::string head_hash;         // hex of the verified head (the genesis value for an empty ledger)
  bool keys_from_source =
      false;  // true: no trusted keys were given; the source's own keys were used
};

// ---- The source abstraction ------------------------------------------------------------------

// One stored entry, exactly as the source holds it (nothing is verified yet).
struct LedgerRow {
  std::int64_t seq = 0;  // the row's seq (database column, or the export line's "seq")
  std::string entry;     // the entry bytes that were hashed
  std::vector<std::uint8_t> prev_hash;
  std::vector<std::uint8_t> hash;
};

struct LedgerCheckpoint {
  std::int64_t id = 0;
  std::string body;  // canonical JSON bytes that were signed
  std::string key_id;
  std::vector<std::uint8_t> signature;
  // The database repeats size and head_hash in columns; an export carries only the body.
  bool has_columns = false;
  std::int64_t size = 0;
  std::vector<std::uint8_t> head_hash;
};

struct LedgerKey {
  std::string key_id;
  std::vector<std::uint8_t> public_key;  // raw Ed25519, 32 bytes when intact
};

struct LedgerHeader {
  bool has_ledger_id = false;  // false only for a database without its ledger_meta row
  std::string ledger_id;
  std::vector<LedgerKey> keys;
  std::string problem;  // non-empty: the header itself is damaged (reported as malformed at seq 0)
};

struct LedgerItem {
  enum class Type { kEntry, kCheckpoint, kMalformed };
  Type type = Type::kEntry;
  LedgerRow entry;              // kEntry
  LedgerCheckpoint checkpoint;  // kCheckpoint
  std::string problem;          // kMalformed: why this part of the source cannot be read
};

// A forward-only stream over one ledger. Entries come in stored order; each checkpoint comes
// after the last entry whose seq is at most its size (so normally right after entry `size`).
class LedgerSource {
 public:
  virtual ~LedgerSource() = default;
  virtual const LedgerHeader& header() const = 0;
  // Fills `item` and returns true, or returns false at the end. A Status error is an I/O or
  // store failure (not damage): verification cannot conclude.
  virtual StatusOr<bool> Next(LedgerItem& item) = 0;
  // "database" or "export header": where header().keys came from, for the report.
  virtual std::string_view origin() const = 0;
};

// Reads the ledger of a store (SQLite or PostgreSQL) without changing it: one read transaction,
// so one snapshot for the whole stream. Errors: those of Store::Begin, kFailedPrecondition
// "no_audit_ledger" if the database has no audit tables.
StatusOr<std::unique_ptr<LedgerSource>> OpenStoreSource(std::unique_ptr<store::Store> store);

// OpenStoreSource on the SQLite file at `db_path` as it is (store::OpenSqliteFileAsIs: it must
// exist and is opened in the journal mode it already has). Errors: also kUnavailable for a
// missing or unreadable file.
StatusOr<std::unique_ptr<LedgerSource>> OpenDatabaseSource(const std::string& db_path);

// Opens an export written by ExportLedger (audit/export.h). Errors: kUnavailable if the file
// cannot be read; kInvalidArgument "not_an_export" if its first line is not an export header.
// Damage past the header (bad lines) is reported by the verifier, not here.
StatusOr<std::unique_ptr<LedgerSource>> OpenExportSource(const std::string& export_path);

// ---- Verification ----------------------------------------------------------------------------

// How much of the ledger may follow its last valid checkpoint unsigned. A server signs a
// checkpoint in the same transaction as the entries that reach audit.checkpoint_every, and in the
// first batch written audit.checkpoint_interval_ms or more after its last one (the first batch
// after it starts, too): a committed entry is unsigned only while fewer than checkpoint_every
// entries follow the checkpoint and while it is dated less than the interval after it. A crash
// can leave such a tail, never a longer or an older one.
struct TailPolicy {
  std::int64_t max_entries = 0;  // 0: not checked
  std::int64_t max_age_us = 0;   // 0: not checked; entry time minus checkpoint time
};
// The slack on top of the interval, for clock adjustments between the entry's and the
// checkpoint's time stamps.
constexpr std::int64_t kTailSlackSeconds = 60;
// The allowance for a server that ran with this policy: `checkpoint_every` entries, and entries
// dated up to checkpoint_interval_ms + kTailSlackSeconds after the checkpoint.
TailPolicy TailPolicyFor(std::int64_t checkpoint_every, std::int64_t checkpoint_interval_ms);

struct VerifyOptions {
  TailPolicy tail;
  // A checkpoint trusted from outside the ledger (the high-water file, a checkpoint line from an
  // export or the SIEM): the ledger must reach its size with its head hash. Its signature must
  // verify like the ledger's own checkpoints (under `trusted`, or the source's key of its key_id).
  std::optional<LedgerCheckpoint> since;
};

// Reads one checkpoint line as `bulwark audit export` writes it ({"type":"checkpoint",...}; also
// the format of the high-water file). Errors: kUnavailable if the file cannot be read,
// kInvalidArgument "not_a_checkpoint" when its first non-blank line is not a checkpoint line.
StatusOr<LedgerCheckpoint> ReadCheckpointFile(const std::string& path);
StatusOr<LedgerCheckpoint> ParseCheckpointLine(std::string_view line);

// What a checkpoint's signed body says.
struct CheckpointClaim {
  std::string ledger_id;
  std::int64_t size = 0;
  std::vector<std::uint8_t> head_hash;
  std::string key_id;
};
// The body of `cp`, without checking its signature. kInvalidArgument "checkpoint_malformed".
StatusOr<CheckpointClaim> ReadCheckpointBody(std::string_view body);
// The body of `cp` once its signature verifies under one of `keys`; kInvalidArgument
// "checkpoint_signature_invalid" otherwise.
StatusOr<CheckpointClaim> OpenTrustedCheckpoint(const LedgerCheckpoint& cp,
                                               const std::vector<crypto::Ed25519PublicKey>& keys);

// Verifies everything `source` yields. `trusted` empty: each checkpoint is checked against the
// source's own key with its key_id (report.keys_from_source = true, and said in detail when ok);
// otherwise a checkpoint is valid only if the one of `trusted` whose crypto::Ed25519KeyId is its
// key_id verifies it (after key rotations, pass the keys from before and after); a key_id that
// names none of them (not a crypto::Ed25519KeyId) is tried against each. A Status error means the
// source failed to read (see LedgerSource::Next); damage is always an ok StatusOr with !ok.
// `options` (tail policy, trusted checkpoint) default to nothing checked beyond the above.
StatusOr<VerifyReport> VerifyLedger(LedgerSource& source,
                                    const std::vector<crypto::Ed25519PublicKey>& trusted,
                                    const VerifyOptions& options = {});

StatusOr<VerifyReport> VerifyStore(const store::Opener& database,
                                   const std::vector<crypto::Ed25519PublicKey>& trusted,
                                   const VerifyOptions& options = {});
StatusOr<VerifyReport> VerifyDatabase(const std::string& db_path,
                                      const std::vector<crypto::Ed25519PublicKey>& trusted,
                                      const VerifyOptions& options = {});
StatusOr<VerifyReport> VerifyExport(const std::string& export_path,
                                    const std::vector<crypto::Ed25519PublicKey>& trusted,
                                    const VerifyOptions& options = {});

// The whole `bulwark audit verify` command. Exactly one of `database` (opens the store holding
// the ledger: app::OpenToolStore in the binary) and `export_file`.
// `pubkey_pem_file`: one or more PEM Ed25519 public keys to trust instead of the source's own.
// `since_checkpoint_file`: a trusted checkpoint (ReadCheckpointFile) the ledger must extend.
// `tail`: the checkpoint policy the server ran with (TailPolicyFor of its configuration).
// Writes the result to `out` when the ledger verifies, what is wrong to `err` otherwise (and the
// warning when no key was given):
//   audit verify: OK: 1000 entries, 10 checkpoints, head 3f2a..., 812345 entries/s   (out)
//   audit verify: FAILED: modified_entry at seq 500: ...                          (err)
//   audit verify: error: ...                                                      (err)
// Returns 0 ok, 1 damage found, 2 usage or I/O error.
int RunAuditVerify(const store::Opener& database, const std::string& export_file,
                   const std::string& pubkey_pem_file, std::ostream& out, std::ostream& err,
                   const std::string& since_checkpoint_file = {}, const TailPolicy& tail = {});
// The same with the keys of several PEM files trusted together (the bundles from before and
// after a rotation). Each checkpoint is checked with the trusted key its key_id names.
int RunAuditVerify(const store::Opener& database, const std::string& export_file,
                   const std::vector<std::string>& pubkey_pem_files, std::ostream& out,
                   std::ostream& err,
                   const std::string& since_checkpoint_file = {}, const TailPolicy& tail = {});

}  // namespace bulwark::audit
