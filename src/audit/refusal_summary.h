#pragma once
// Refusals beyond a threshold, recorded as one summary entry rather than one entry each.
//
// A refused request (401, 403, 429, an operator route's 404) is normally its own ledger entry,
// durable before the answer leaves. Anyone can send refusals, and the ledger cannot be pruned,
// so a client hammering without a valid credential would grow it without bound. The stage
// (stages/ledger_audit_stage.h) therefore hands each such refusal to Admit() first, under a key
// (client network, reason, route; and the principal, for an authenticated one):
//   - the first `threshold` refusals of a key within its window are recorded one by one, as
//     before (each with its request id, user agent and resource);
//   - the rest are counted into the key's summary and answered at once;
//   - when the window closes (`window` after the key's first refusal) the summary is written as
//     one ordinary chained ledger entry, action "http.denied_aggregated": the count, the first
//     and last refusal's time, the client network, the reason, the route and the status, with
//     the action each refusal would have been recorded under. Stop() writes every open summary
//     (the server calls it at shutdown, before the writer's final checkpoint).
// Nothing is lost on an orderly stop; a crash (SIGKILL, power) loses the counts of at most one
// window, never an entry already written. A summary that cannot be written (the ledger is
// unavailable) is kept and retried on the next pass.
//
// Memory is bounded: at most `max_keys` keys are held; once full, a refusal of a new key is
// counted into a summary of its reason and route with the client "*" (many), recorded not one
// by one.
//
//   RefusalSummaries summaries(writer, {.threshold = 20, .window = 60s});
//   if (summaries.Admit(network, route_label, event)) { /* record `event` as usual */ }
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "audit/event.h"
#include "audit/writer.h"

namespace bulwark::audit {

inline constexpr std::string_view kRefusalSummaryAction = "http.denied_aggregated";

struct RefusalSummaryOptions {
  std::int64_t threshold = 20;  // refusals per key and window recorded one by one; 0: all
  std::chrono::milliseconds window{60'000};
  std::size_t max_keys = 10'000;
};

class RefusalSummaries {
 public:
  using Clock = std::chrono::steady_clock;
  RefusalSummaries(AuditWriter& writer, RefusalSummaryOptions options);
  ~RefusalSummaries();  // Stop()
  RefusalSummaries(const RefusalSummaries&) = delete;
  RefusalSummaries& operator=(const RefusalSummaries&) = delete;

  // Counts refusal `event` (answered `http_status`) of client network `network` on route
  // `route`. True: record it one by one, as usual. False: it was counted into its key's
  // summary; record nothing now. The key is (network, event.reason, route, event.actor,
  // event.tenant): the caller blanks the actor of a request that did not authenticate, so
  // made-up credentials cannot multiply keys. Threshold 0 turns summaries off (always true).
  // Throws only std::bad_alloc.
  bool Admit(std::string_view network, std::string_view route, unsigned http_status,
             const Event& event, Clock::time_point now = Clock::now());

  // Writes the summaries of windows closed by `now`, and any not written before. Returns how
  // many were written.
  std::size_t Flush(Clock::time_point now = Clock::now());

  // Writes every summary, open or not, and stops the thread. Later refusals are recorded one
  // by one (Admit returns true).
  void Stop();

 private:
  struct Summary {
    std::string network;
    std::string route;
    Event first;  // reason, actor, tenant, action of the key; its details are dropped
    unsigned status = 0;
    Clock::time_point window_end;
    bool overflow = false;      // the table was full: client "*", nothing one by one
    std::int64_t recorded = 0;  // one by one in this window
    std::int64_t count = 0;     // counted into the summary
    std::chrono::system_clock::time_point first_at;
    std::chrono::system_clock::time_point last_at;
  };
  static Event SummaryEvent(const Summary& s, std::int64_t window_ms);
  void Close(Summary& s);  // mu_ held: queues the summary if it counted anything
  void CloseExpired(Clock::time_point now);  // mu_ held: closes and drops windows ended by `now`
  void Run();

  AuditWriter& writer_;
  const RefusalSummaryOptions options_;

  std::mutex mu_;
  std::unordered_map<std::string, Summary> open_;
  std::vector<Event> ready_;  // closed, to be written
  Clock::time_point next_sweep_{};
  bool stopped_ = false;

  std::mutex write_mu_;  // one Flush at a time
  std::condition_variable cv_;
  bool stop_thread_ = false;
  std::thread thread_;
};

}  // namespace bulwark::audit
