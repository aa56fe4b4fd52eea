#include "audit/writer.h"

#include <memory>
#include <vector>

#include "core/log.h"
#include "crypto/encoding.h"
#include "core/thread_name.h"
#include "core/thread_role.h"

namespace bulwark::audit {
namespace {

Status Unavailable() {
  return Status::Unavailable("audit_unavailable", "the audit ledger cannot be written");
}

bool SameHead(const LedgerHead& a, const LedgerHead& b) { return a.size == b.size && a.hash == b.hash; }

}  // namespace

AuditWriter::AuditWriter(store::Store& store, const Ledger& ledger, WriterOptions options)
    : store_(store), ledger_(ledger), options_(options), thread_([this] {
        core::NameThisThread("bw-audit-writer");
        core::ScopedThreadRole role(core::ThreadRole::kLedgerWriter);
        Run();
      }) {}

AuditWriter::~AuditWriter() { Stop(); }

Status AuditWriter::Commit(Change change, Event event) {
  AmendingChange amending;
  if (change) amending = [c = std::move(change)](store::Transaction& tx, Event&) { return c(tx); };
  return CommitAmending(std::move(amending), std::move(event));
}

Status AuditWriter::CommitAmending(AmendingChange change, Event event) {
  Pending p{std::move(change), {}, Status::Ok(), false};
  if (p.change) {
    p.event = std::move(event);  // the change may amend it: its entry is built in the batch
  } else {
    auto entry = PrepareEntry(event);
    if (!entry.ok()) return entry.status();
    p.entry = std::move(*entry);
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return Unavailable();
  queue_.push_back(&p);
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return p.done; });
  return p.result;
}

void AuditWriter::Submit(Event event, Done done) noexcept {
  if (!done) done = [](const Status&) {};  // an empty callback would read as a blocking caller
  Pending* p = nullptr;
  std::optional<Status> refused;
  bool out_of_memory = false;
  try {
    auto entry = PrepareEntry(event);
    if (entry.ok()) {
      p = new Pending{nullptr, {}, Status::Ok(), false, nullptr, std::move(*entry)};
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        p->callback = std::move(done);
        queue_.push_back(p);
        work_cv_.notify_one();
        return;
      }
    } else {
      // An event that cannot become an entry fails alone, before it could fail a batch.
      refused = entry.status();
    }
  } catch (...) {
    out_of_memory = true;  // not queued, so not durable
  }
  if (p != nullptr && p->callback) done = std::move(p->callback);
  delete p;
  Status outcome = Unqueued();
  if (!out_of_memory) {
    try {
      outcome = refused ? std::move(*refused) : Unavailable();
    } catch (...) {  // its text could not be allocated: out of memory after all
    }
  }
  try {
    done(std::move(outcome));
  } catch (...) {
    log::Error("audit.callback_threw", {});
  }
}

void AuditWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopping_ = true;
    work_cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
}

WriterStats AuditWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool AuditWriter::healthy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return healthy_;
}

void AuditWriter::Run() {
  for (;;) {
    std::deque<Pending*> batch;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait_for(lock, options_.checkpoint_interval,
                        [&] { return stopping_ || !queue_.empty(); });
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      stopping = stopping_ && queue_.empty();
    }
    if (!batch.empty()) {
      WriteBatch(batch);
    } else if (!stopping) {
      // Idle: a time-based checkpoint, if entries arrived since the last one.
      if (auto tx = store_.Begin(store::TxMode::kWrite); tx.ok()) {
        auto head = ReadGuardedHead(**tx);
        if (head.ok() && MaybeCheckpoint(**tx, *head, false).ok() && (*tx)->Commit().ok()) {
          Committed(*head);
        } else {
          unpublished_.reset();
        }
      }
    }
    if (stopping) {
      // The final checkpoint, so a truncation after shutdown is detectable.
      if (auto tx = store_.Begin(store::TxMode::kWrite); tx.ok()) {
        auto head = ReadGuardedHead(**tx);
        if (head.ok() && MaybeCheckpoint(**tx, *head, true).ok() && (*tx)->Commit().ok()) {
          Committed(*head);
          log::Info("audit.final_checkpoint", {{"size", head->size}});
        }
      }
      return;
    }
  }
}

Status AuditWriter::MaybeCheckpoint(store::Transaction& tx, const LedgerHead& head, bool force) {
  if (last_checkpoint_size_ < 0) {
    BULWARK_ASSIGN_OR_RETURN(last_checkpoint_size_, ledger_.LastCheckpointSize(tx));
  }
  if (head.size == last_checkpoint_size_) return Status::Ok();
  const auto now = std::chrono::steady_clock::now();
  const bool due = force || head.size - last_checkpoint_size_ >= options_.checkpoint_every ||
                   !last_checkpoint_time_ ||
                   now - *last_checkpoint_time_ >= options_.checkpoint_interval;
  if (!due) return Status::Ok();
  LedgerCheckpoint written;
  BULWARK_RETURN_IF_ERROR(ledger_.WriteCheckpoint(tx, head, &written));
  unpublished_ = std::move(written);
  last_checkpoint_size_ = head.size;  // if the commit fails, the next batch's reads correct it
  last_checkpoint_time_ = now;
  return Status::Ok();
}

StatusOr<LedgerHead> AuditWriter::ReadGuardedHead(store::Transaction& tx) {
  if (head_tampered_) return Unavailable();
  BULWARK_ASSIGN_OR_RETURN(LedgerHead head, ledger_.ReadHead(tx));
  if (!options_.guard_head) return head;
  if (!known_head_ || SameHead(head, *known_head_)) {
    known_head_ = head;  // the first read: where this writer starts
    return head;
  }
  // Another writer holding the signing key (a CLI command beside the server) signs its head in
  // the transaction that appends it, on top of the head this writer left.
  if (head.size > known_head_->size) {
    BULWARK_ASSIGN_OR_RETURN(bool is_signed, ledger_.HeadIsSigned(tx, head));
    BULWARK_ASSIGN_OR_RETURN(auto ours, tx.Query("SELECT hash FROM audit_ledger WHERE seq = ?",
                                                 {store::Value::Int(known_head_->size)}));
    const bool kept = known_head_->size == 0 ||
                      (!ours.empty() && ours[0][0].is_bytes() &&
                       std::equal(ours[0][0].as_bytes().begin(), ours[0][0].as_bytes().end(),
                                  known_head_->hash.begin(), known_head_->hash.end()));
    if (is_signed && kept) {
      known_head_ = head;
      return head;
    }
  }
  head_tampered_ = true;
  log::Error("audit.alert", {{"alert", "ledger_head_mismatch"},
                             {"expected_seq", known_head_->size},
                             {"expected_hash", crypto::HexEncode(known_head_->hash)},
                             {"found_seq", head.size},
                             {"found_hash", crypto::HexEncode(head.hash)},
                             {"message",
                              "the ledger's head is not the one this server wrote and no valid "
                              "checkpoint signs it: an entry was added or removed behind the "
                              "writer's back; nothing more is recorded or signed until restart"}});
  return Unavailable();
}

void AuditWriter::Committed(const LedgerHead& head) {
  if (options_.guard_head) known_head_ = head;
  if (!unpublished_) return;
  const LedgerCheckpoint cp = std::move(*unpublished_);
  unpublished_.reset();
  if (!options_.on_checkpoint) return;
  try {
    options_.on_checkpoint(cp);
  } catch (...) {
    log::Error("audit.checkpoint_callback_threw", {});
  }
}

void AuditWriter::WriteBatch(std::deque<Pending*>& batch) {
  std::size_t appended = 0;
  Status batch_status = [&]() -> Status {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kWrite));
    BULWARK_ASSIGN_OR_RETURN(LedgerHead head, ReadGuardedHead(*tx));
    for (Pending* p : batch) {
      // A change that fails is undone alone (its savepoint); a bare record needs none: if its
      // append fails the whole batch fails closed.
      if (p->change) BULWARK_RETURN_IF_ERROR(tx->Exec("SAVEPOINT audit_item").status());
      Status change_status = Status::Ok();
      if (p->change) {
        // A caller's change is its own business: whatever it throws fails that caller only.
        try {
          change_status = p->change(*tx, p->event);
        } catch (const std::exception& e) {
          log::Error("audit.change_threw", {{"what", e.what()}});
          change_status = Status::Internal("the change failed");
        } catch (...) {
          change_status = Status::Internal("the change failed");
        }
      }
      if (!change_status.ok()) {
        BULWARK_RETURN_IF_ERROR(tx->Exec("ROLLBACK TO audit_item").status());
        BULWARK_RETURN_IF_ERROR(tx->Exec("RELEASE audit_item").status());
        p->result = change_status;
        continue;
      }
      auto next =
          p->entry ? ledger_.Append(*tx, head, *p->entry) : ledger_.Append(*tx, head, p->event);
      if (!next.ok()) {
        // The store refused the append: the whole batch is in doubt, fail closed.
        return next.status();
      }
      head = *next;
      if (p->change) BULWARK_RETURN_IF_ERROR(tx->Exec("RELEASE audit_item").status());
      p->result = Status::Ok();
      ++appended;
    }
    BULWARK_RETURN_IF_ERROR(MaybeCheckpoint(*tx, head, false));
    BULWARK_RETURN_IF_ERROR(tx->Commit());
    Committed(head);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.head = head.size;
    return Status::Ok();
  }();

  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!batch_status.ok()) {
      log::Error("audit.batch_failed", {{"reason", batch_status.reason()},
                                        {"calls", static_cast<std::int64_t>(batch.size())}});
      last_checkpoint_size_ = -1;  // re-read: the checkpoint may not have committed
      last_checkpoint_time_.reset();  // and sign at the next batch
      unpublished_.reset();
      // A caller whose change failed on its own keeps its error; everyone else: no audit, no
      // effect.
      for (Pending* p : batch) {
        if (p->result.ok()) p->result = Unavailable();
      }
      ++stats_.failures;
      healthy_ = false;
    } else {
      ++stats_.batches;
      stats_.entries += appended;
      healthy_ = true;
    }
  }
  Finish(batch);
}

void AuditWriter::Finish(std::deque<Pending*>& batch) {
  std::vector<Pending*> waiting;
  for (Pending* p : batch) {
    if (!p->callback) {
      waiting.push_back(p);
      continue;
    }
    // A submitted call: its callback only hands the outcome on; it runs outside the lock.
    std::unique_ptr<Pending> owned(p);
    try {
      owned->callback(owned->result);
    } catch (...) {
      log::Error("audit.callback_threw", {});
    }
  }
  if (waiting.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (Pending* p : waiting) p->done = true;
  done_cv_.notify_all();
}

}  // namespace bulwark::audit
