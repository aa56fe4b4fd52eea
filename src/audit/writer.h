#pragma once
// The one way to write audit records: group-committed, fail-closed.
//
// Callers hand in an event, optionally with the change it records. A writer thread takes every
// pending call, runs them in ONE store transaction — each inside its own savepoint, so one
// caller's failure undoes only its own change — appends their entries to the ledger and commits
// once: one fsync for the whole batch. Each caller returns only when its record is durable.
//
//   Status s = writer.Commit([&](store::Transaction& tx) { return secrets.Put(tx, ...); }, event);
//   // s.ok(): the change and its record are both durable. Otherwise neither exists.
//
// If the ledger cannot be written (store read-only, full, unreachable) every caller in the batch
// gets kUnavailable "audit_unavailable" and nothing of theirs is kept: no audit, no effect.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "audit/ledger.h"
#include "store/store.h"

namespace bulwark::audit {

struct WriterOptions {
  std::size_t max_batch = 512;
  std::int64_t checkpoint_every = 1000;                   // entries
  std::chrono::milliseconds checkpoint_interval{10'000};  // and at least this often
  // Called on the writer thread with each checkpoint once it committed (the high-water mark,
  // audit/high_water.h). It must not block for long or call into this writer.
  std::function<void(const LedgerCheckpoint&)> on_checkpoint;
  // This writer is the store's only ledger writer but for commands that sign their own head (a
  // SQLite server; its CLI commands write with checkpoint_every = 1). Before each append or
  // checkpoint it compares the stored head with the one it last wrote; any other head that no
  // valid checkpoint signs is a foreign entry: it logs audit.alert ledger_head_mismatch and
  // fails every later call closed (kUnavailable "audit_unavailable"), signing nothing over it.
  bool guard_head = false;
};

// What a Submit answers when its event could not be queued because memory ran out. Building it
// allocates nothing (both strings fit std::string's inline buffer).
inline Status Unqueued() { return Status::Unavailable("audit_unqueued", "out of memory"); }

struct WriterStats {
  std::uint64_t batches = 0;
  std::uint64_t entries = 0;
  std::uint64_t failures = 0;
  std::int64_t head = 0;
};

class AuditWriter {
 public:
  using Change = std::function<Status(store::Transaction&)>;
  // A change that learns what happened only inside the transaction (a refresh token found to be
  // a reuse, a code that locks MFA) and amends the event it is recorded with: result, reason,
  // action, details. Returning OK keeps the change and records the amended event, also when the
  // event is a refusal (the revocation and its record are then durable together).
  using AmendingChange = std::function<Status(store::Transaction&, Event&)>;

  AuditWriter(store::Store& store, const Ledger& ledger, WriterOptions options);
  ~AuditWriter();  // Stop()

  // Called once with the outcome of a Submit: on the writer thread after the batch committed or
  // failed (or at once, on the caller's thread, when the writer has stopped). It must not block
  // or wait on this writer.
  using Done = std::function<void(Status)>;

  // Records `event` durably. Blocks until committed.
  Status Record(Event event) { return Commit(nullptr, std::move(event)); }

  // Queues `event` and returns at once; `done` learns when it is durable. What the event records
  // (a read) must not be acted on before `done` reports OK: the request path sends nothing
  // until then.
  void Submit(Event event, Done done) noexcept;

  // Applies `change` (may be null) and records `event` in the same transaction. If `change`
  // fails, its effects are rolled back, nothing is recorded for it, and its Status is returned.
  Status Commit(Change change, Event event);
  Status CommitAmending(AmendingChange change, Event event);

  // Drains pending calls, writes a final checkpoint, stops the thread. Later calls fail.
  void Stop();

  WriterStats stats() const;
  // False after the last batch failed to commit (for /readyz).
  bool healthy() const;

 private:
  struct Pending {
    AmendingChange change;
    Event event;  // left empty when `entry` is built from it
    Status result;
    bool done = false;
    Done callback;  // set: a Submit, owned by the queue and deleted once called
    // The entry, built by the caller when there is no change to amend the event: the writer's
    // thread is the one every request waits on, so what can be done before it, is.
    std::optional<PreparedEntry> entry;
  };
  void Finish(std::deque<Pending*>& batch);
  void Run();
  void WriteBatch(std::deque<Pending*>& batch);
  Status MaybeCheckpoint(store::Transaction& tx, const LedgerHead& head, bool force);
  // Reads the head inside `tx` and, with guard_head, checks it against `known_head_`.
  StatusOr<LedgerHead> ReadGuardedHead(store::Transaction& tx);
  // After a commit: the head it left, and the checkpoint it signed (if any) handed on.
  void Committed(const LedgerHead& head);

  store::Store& store_;
  const Ledger& ledger_;
  const WriterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  bool stopped_ = false;
  WriterStats stats_;
  bool healthy_ = true;

  // Writer thread only.
  std::int64_t last_checkpoint_size_ = -1;  // -1: not read yet
  // None yet: the first batch signs a checkpoint, so an unsigned entry is never dated more than
  // checkpoint_interval after the last checkpoint in the store (what `audit verify` checks).
  std::optional<std::chrono::steady_clock::time_point> last_checkpoint_time_;
  std::optional<LedgerCheckpoint> unpublished_;  // signed in the open transaction
  std::optional<LedgerHead> known_head_;         // guard_head: the head this writer last saw
  bool head_tampered_ = false;                   // guard_head: a foreign head was found
  std::thread thread_;
};

}  // namespace bulwark::audit
