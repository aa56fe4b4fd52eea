#include "receipts/background_verifier.h"

#include <algorithm>

#include "core/log.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "receipts/verify.h"

namespace bulwark::receipts {
namespace {
constexpr int kPageSize = 1000;
}

BackgroundVerifier::BackgroundVerifier(store::Store& store, const ReceiptService& service,
                                       audit::AuditWriter& writer,
                                       std::chrono::milliseconds interval)
    : store_(store),
      service_(service),
      writer_(writer),
      thread_("bw-rcpt-verify", interval, [this] { VerifyAll(); }) {}

BackgroundVerifier::~BackgroundVerifier() { Stop(); }

void BackgroundVerifier::Stop() { thread_.Stop(); }

int BackgroundVerifier::VerifyAll() {
  auto tenants = service_.Tenants();
  if (!tenants.ok()) return 0;  // the store is down: readiness reports that; try again next pass
  int damaged = 0;
  for (const std::string& tenant : *tenants) damaged += VerifyTenant(tenant);
  return damaged;
}

int BackgroundVerifier::VerifyTenant(const std::string& tenant) {
  // Receipts signed before a rotation are checked with the key that signed them.
  const std::vector<crypto::Ed25519PublicKey> trusted = service_.verifying_keys();
  int damaged = 0;
  std::string previous;  // the last document of the page before: anchors the next page's chain
  for (std::int64_t from = 1;;) {
    auto page = service_.Series(tenant, from, kPageSize);
    if (!page.ok()) {
      // A row the service refuses to read back (kIntegrity) is damage; anything else is the
      // store's trouble, for the next pass.
      if (page.status().code() == ErrorCode::kIntegrity) {
        Report(tenant, "seq>=" + std::to_string(from), "malformed");
        ++damaged;
      }
      return damaged;
    }
    if (page->empty()) return damaged;
    std::string lines = previous;
    for (const Receipt& r : *page) {
      if (r.hash != crypto::Sha256(r.payload)) {
        Report(tenant, r.id, "stored_hash_mismatch");
        ++damaged;
      }
      lines += r.ProjectionJson();
      lines += '\n';
    }
    const SeriesReport report = VerifyReceiptText(lines, trusted);
    if (!report.ok) {
      Report(tenant, report.failed_id, report.reason);
      return damaged + 1;  // the chain is broken here: what follows cannot be anchored
    }
    if (static_cast<int>(page->size()) < kPageSize) return damaged;
    previous = page->back().ProjectionJson() + "\n";
    from = page->back().seq + 1;
  }
}

void BackgroundVerifier::Report(const std::string& tenant, const std::string& id,
                                const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!reported_.emplace(id, reason).second) return;
  log::Error("audit.alert",
             {{"alert", "receipt_hash_mismatch"}, {"receipt", id}, {"reason", reason}});
  audit::Event alert;
  alert.actor = {audit::ActorKind::kSystem, "receipt-verifier"};
  alert.tenant = tenant;
  alert.action = "alert.receipt_hash_mismatch";
  alert.resource = "receipt:" + id;
  alert.result = audit::Result::kError;
  alert.reason = "receipt_hash_mismatch";
  alert.details.emplace_back("check", reason);
  // If even this fails, the log line above remains.
  (void)writer_.Record(std::move(alert));
}

}  // namespace bulwark::receipts
