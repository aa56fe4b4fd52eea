#pragma once
// The ledger's high-water mark: the newest checkpoint this node signed, kept in a file outside
// the database (audit.high_water_file; by default audit-checkpoint.json in the data directory).
//
// A database put back to an older copy, or a ledger truncated and rebuilt, is consistent in
// itself: its chain and its remaining checkpoints verify. What it cannot hide is a checkpoint
// signed before the rollback. The writer raises the mark after each checkpoint commits (never
// lowers it), and every command that opens the store for writing refuses a ledger that does not
// reach the mark with the same head hash (CheckAgainstHighWater). The file holds one checkpoint
// line as `bulwark audit export` writes it, so `bulwark audit verify --since-checkpoint FILE`
// reads it as it is.
//
// It only helps where the attacker cannot also roll the file back: keep it on another volume or
// ship it off the host (it is public: a body, a key id and a signature).
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "audit/ledger.h"
#include "audit/verify.h"
#include "core/status.h"
#include "store/store.h"

namespace bulwark::audit {

class HighWaterMark {
 public:
  explicit HighWaterMark(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  // The checkpoint in the file; nullopt when there is no file. Errors: kUnavailable when it
  // cannot be read, kInvalidArgument "not_a_checkpoint" when it holds something else.
  StatusOr<std::optional<LedgerCheckpoint>> Read() const;

  // Replaces the file with `cp` (has_columns: its size) unless it already holds a checkpoint of
  // at least that size: written beside it, fsync'd and renamed into place, so a crash leaves the
  // old mark or the new one. Errors: kUnavailable "high_water_unwritable".
  Status Raise(const LedgerCheckpoint& cp);

 private:
  std::string path_;
  std::mutex mu_;
};

// Refuses the ledger of `store` when it does not extend `mark`: the mark's signature must verify
// under the ledger's key, name this ledger, and the entry at its size must carry its head hash.
// Errors (kFailedPrecondition): "ledger_rolled_back" (fewer entries than the mark covers),
// "ledger_rewritten" (another hash at that size), "high_water_invalid" (the mark is not a
// checkpoint of this ledger signed by its key).
Status CheckAgainstHighWater(store::Store& store, const Ledger& ledger,
                             const LedgerCheckpoint& mark, const std::string& mark_path);

}  // namespace bulwark::audit
