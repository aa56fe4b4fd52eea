#include "app/breakglass_sweeper.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/thread_name.h"
#include "policy/breakglass.h"

namespace bulwark::app {

namespace bg = policy::breakglass;

BreakglassSweeper::BreakglassSweeper(store::Store& store, audit::AuditWriter& writer,
                                     const receipts::ReceiptService& receipts,
                                     identity::SessionService& sessions,
                                     std::chrono::milliseconds interval)
    : store_(store),
      writer_(writer),
      receipts_(receipts),
      sessions_(sessions),
      interval_(interval),
      thread_([this] {
        core::NameThisThread("bw-breakglass");
        Run();
      }) {}

BreakglassSweeper::~BreakglassSweeper() { Stop(); }

StatusOr<int> BreakglassSweeper::SweepOnce() {
  std::vector<std::string> due;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(due, bg::DueGrants(*tx, core::NowUnixSeconds()));
  }
  int ended = 0;
  for (const std::string& id : due) {
    std::optional<bg::Grant> grant;
    audit::Event e;
    e.actor = {audit::ActorKind::kSystem, ""};
    e.action = "breakglass.end";
    e.resource = "breakglass:" + id;
    e.break_glass = true;
    e.auth_method = "system";
    const Status s = writer_.CommitAmending(
        [&](store::Transaction& tx, audit::Event& ev) -> Status {
          BULWARK_ASSIGN_OR_RETURN(
              auto closed,
              bg::EndWithReceipts(receipts_, tx, bg::Ending::Expired(id), core::NowUnixSeconds()));
          // Ended meanwhile by its holder (and recorded there): record nothing here.
          if (closed.empty()) return Status::NotFound("breakglass_not_active", "already ended");
          grant = closed[0].grant;
          const receipts::Receipt& r = closed[0].receipt;
          ev.tenant = grant->tenant_id;
          ev.reason = "expired";
          ev.details.emplace_back("receipt_id", r.id);
          ev.details.emplace_back("user", grant->user_id);
          return Status::Ok();
        },
        std::move(e));
    if (s.ok()) {
      sessions_.InvalidateSession(grant->session_id);
      ++ended;
    } else if (s.code() != ErrorCode::kNotFound) {
      // One grant's failure must not keep the others open: log it, go on, retry next round.
      log::Warn("breakglass.end_failed", {{"grant", id}, {"reason", s.reason()}});
    }
  }
  return ended;
}

void BreakglassSweeper::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    try {
      if (auto n = SweepOnce(); !n.ok())
        log::Warn("breakglass.sweep_failed", {{"reason", n.status().reason()}});
    } catch (const std::exception& ex) {
      log::Error("breakglass.sweep_threw", {{"what", ex.what()}});
    }
    lock.lock();
  }
}

void BreakglassSweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace bulwark::app
