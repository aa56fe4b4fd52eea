#pragma once
// Re-checks the ledger continuously inside the server: every interval it reads the entries
// appended since its last pass and recomputes their links and hashes. On a mismatch it logs an
// alert and records it as an audit event ("alert.ledger_hash_mismatch"), which is exported like
// any other record. It starts from genesis, so a ledger damaged while the server was down is
// reported shortly after boot, and it rescans from genesis periodically.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "audit/ledger.h"
#include "audit/writer.h"
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
  void Run();

  store::Store& store_;
  const Ledger& ledger_;
  AuditWriter& writer_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;  // one pass at a time; guards stop_ and the chain position
  std::condition_variable cv_;
  bool stop_ = false;
  crypto::Digest256 last_hash_{};
  std::int64_t reported_seq_ = 0;  // a damaged seq is reported once
  int passes_ = 0;
  std::atomic<std::int64_t> verified_{0};
  std::atomic<std::int64_t> alerts_{0};
  std::thread thread_;
};

}  // namespace bulwark::audit
