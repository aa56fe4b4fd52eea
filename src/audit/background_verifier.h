#pragma once
// Re-checks the ledger continuously inside the server: every interval it reads the entries
// appended since its last pass and recomputes their links and hashes, checks that each entry's
// audit_index row (what GET /api/v1/audit/events filters on) says what the entry says, and
// checks the signature, ledger and head hash of every checkpoint its verified entries reach. On
// a mismatch it logs an alert and records it as an audit event ("alert.ledger_hash_mismatch",
// details seq and, for an index row or a checkpoint, "what"), which is exported like any other
// record. It starts from genesis, so a ledger damaged while the server was down is reported
// shortly after boot, and it rescans from genesis periodically (every 120 passes).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/ledger.h"
#include "audit/writer.h"
#include "core/periodic_thread.h"
#include "store/store.h"

namespace bulwark::audit {

class BackgroundVerifier {
 public:
  BackgroundVerifier(store::Store& store, const Ledger& ledger, AuditWriter& writer,
                     std::chrono::milliseconds interval);
  ~BackgroundVerifier();  // Stop()
  void Stop();

  // One pass now (also what the thread runs). Returns the first bad seq, or 0 if all is well.
  std::int64_t VerifyNewEntries();

  std::int64_t verified() const { return verified_.load(); }
  std::int64_t alerts() const { return alerts_.load(); }

 private:
  std::int64_t VerifyChain();
  void VerifyCheckpoints();
  void Alert(std::string_view what, std::int64_t seq,
             std::vector<std::pair<std::string, DetailValue>> details);

  store::Store& store_;
  const Ledger& ledger_;
  AuditWriter& writer_;
  std::mutex mu_;  // one pass at a time; guards the chain position
  crypto::Digest256 last_hash_{};
  std::int64_t reported_seq_ = 0;  // a damaged seq is reported once
  std::set<std::int64_t> reported_index_;   // so is an index row that disagrees with its entry
  std::int64_t checkpoints_checked_ = 0;    // checkpoint ids up to here were checked
  int passes_ = 0;
  std::atomic<std::int64_t> verified_{0};
  std::atomic<std::int64_t> alerts_{0};
  core::PeriodicThread thread_;  // last: stopped before anything a pass uses goes away
};

}  // namespace bulwark::audit
