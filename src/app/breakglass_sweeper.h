#pragma once
// Ends break-glass grants whose time is up, each with its audit record (breakglass.end, flagged)
// and its end receipt in one transaction, and drops the session's cached state so the grant stops
// applying at once (the session check also ignores an expired grant before the sweeper runs).
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "audit/writer.h"
#include "identity/sessions.h"
#include "receipts/service.h"
#include "store/store.h"

namespace bulwark::app {

class BreakglassSweeper {
 public:
  BreakglassSweeper(store::Store& store, audit::AuditWriter& writer,
                    const receipts::ReceiptService& receipts, identity::SessionService& sessions,
                    std::chrono::milliseconds interval);
  ~BreakglassSweeper();  // Stop()
  // Ends what is due now; returns how many grants it ended.
  StatusOr<int> SweepOnce();
  void Stop();

 private:
  void Run();

  store::Store& store_;
  audit::AuditWriter& writer_;
  const receipts::ReceiptService& receipts_;
  identity::SessionService& sessions_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bulwark::app
