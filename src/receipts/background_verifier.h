#pragma once
// Re-checks every tenant's receipt chain inside the server, as audit::BackgroundVerifier does the
// ledger: every interval it reads each tenant's receipts in seq order and checks them as
// `bulwark receipt verify` would (receipts/verify.h: format, signature under the service's own
// key, seq without gaps, each prev the hash of the receipt before), and that each stored hash
// column (what the next receipt is chained to) is the SHA-256 of its payload. Receipts are
// append-only, so any failure is damage: it is logged and recorded once, per receipt and
// reason, as "alert.receipt_hash_mismatch" with the tenant, "receipt:<id>" and the reason.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "audit/writer.h"
#include "core/periodic_thread.h"
#include "receipts/service.h"
#include "store/store.h"

namespace bulwark::receipts {

class BackgroundVerifier {
 public:
  BackgroundVerifier(store::Store& store, const ReceiptService& service, audit::AuditWriter& writer,
                     std::chrono::milliseconds interval);
  ~BackgroundVerifier();  // Stop()
  BackgroundVerifier(const BackgroundVerifier&) = delete;
  BackgroundVerifier& operator=(const BackgroundVerifier&) = delete;
  void Stop();

  // One pass over every chain now (also what the thread runs). Returns how many damaged
  // receipts it found (reported or already reported before).
  int VerifyAll();

 private:
  // Checks one tenant's chain; returns the number of damaged receipts found.
  int VerifyTenant(const std::string& tenant);
  void Report(const std::string& tenant, const std::string& id, const std::string& reason);

  store::Store& store_;
  const ReceiptService& service_;
  audit::AuditWriter& writer_;
  std::mutex mu_;  // one pass at a time; guards reported_
  std::set<std::pair<std::string, std::string>> reported_;  // (receipt id, reason)
  core::PeriodicThread thread_;  // last: stopped before anything a pass uses goes away
};

}  // namespace bulwark::receipts
