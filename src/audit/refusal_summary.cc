#include "audit/refusal_summary.h"

#include <algorithm>
#include <iterator>

#include "core/clock.h"
#include "core/log.h"
#include "core/thread_name.h"

namespace bulwark::audit {
namespace {

std::string KeyOf(std::string_view network, std::string_view route, const Event& e) {
  std::string key;
  key.reserve(network.size() + route.size() + e.reason.size() + e.actor.id.size() +
              e.tenant.size() + 16);
  key += network;
  key += '\n';
  key += e.reason;
  key += '\n';
  key += route;
  key += '\n';
  key += ActorKindName(e.actor.kind);
  key += ':';
  key += e.actor.id;
  key += '\n';
  key += e.tenant;
  return key;
}

}  // namespace

RefusalSummaries::RefusalSummaries(AuditWriter& writer, RefusalSummaryOptions options)
    : writer_(writer), options_(options) {
  if (options_.threshold <= 0) return;  // off: nothing to write, no thread
  thread_ = std::thread([this] {
    core::NameThisThread("bw-audit-refusals");
    Run();
  });
}

RefusalSummaries::~RefusalSummaries() { Stop(); }

bool RefusalSummaries::Admit(std::string_view network, std::string_view route,
                             unsigned http_status, const Event& event, Clock::time_point now) {
  if (options_.threshold <= 0) return true;
  std::string key = KeyOf(network, route, event);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return true;
  // The key's open window, once one that has ended is closed.
  const auto find_open = [&](const std::string& k) {
    auto found = open_.find(k);
    if (found != open_.end() && found->second.window_end <= now) {
      Close(found->second);
      open_.erase(found);
      found = open_.end();
    }
    return found;
  };
  auto it = find_open(key);
  bool overflow = false;
  if (it == open_.end() && open_.size() >= options_.max_keys) {
    // Full: sweep what has ended, at most every 100 ms (a sweep walks the whole table).
    if (now >= next_sweep_) {
      CloseExpired(now);
      next_sweep_ = now + std::chrono::milliseconds(100);
    }
    if (open_.size() >= options_.max_keys) {
      overflow = true;
      key = KeyOf("*", route, event);
      it = find_open(key);
    }
  }
  if (it == open_.end()) {
    Summary s;
    s.network = overflow ? "*" : std::string(network);
    s.route = std::string(route);
    s.first.actor = event.actor;
    s.first.tenant = event.tenant;
    s.first.action = event.action;
    s.first.reason = event.reason;
    s.first.auth_method = event.auth_method;
    s.status = http_status;
    s.window_end = now + options_.window;
    s.overflow = overflow;
    it = open_.emplace(std::move(key), std::move(s)).first;
  }
  Summary& s = it->second;
  if (!s.overflow && s.recorded < options_.threshold) {
    ++s.recorded;
    return true;
  }
  const auto wall = std::chrono::system_clock::now();
  if (s.count == 0) s.first_at = wall;
  s.last_at = wall;
  ++s.count;
  return false;
}

Event RefusalSummaries::SummaryEvent(const Summary& s, std::int64_t window_ms) {
  Event e;
  e.actor = s.first.actor;
  e.tenant = s.first.tenant;
  e.action = std::string(kRefusalSummaryAction);
  e.resource = s.route;
  e.result = Result::kDenied;
  e.reason = s.first.reason;
  e.client = s.network;
  e.auth_method = s.first.auth_method;
  e.details.emplace_back("count", s.count);
  e.details.emplace_back("first_time", core::FormatIso8601Micros(s.first_at));
  e.details.emplace_back("last_time", core::FormatIso8601Micros(s.last_at));
  e.details.emplace_back("status", static_cast<std::int64_t>(s.status));
  e.details.emplace_back("action", s.first.action);
  e.details.emplace_back("recorded_individually", s.recorded);
  e.details.emplace_back("window_ms", window_ms);
  return e;
}

void RefusalSummaries::Close(Summary& s) {
  if (s.count == 0) return;
  ready_.push_back(SummaryEvent(s, static_cast<std::int64_t>(options_.window.count())));
}

void RefusalSummaries::CloseExpired(Clock::time_point now) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.window_end <= now) {
      Close(it->second);
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t RefusalSummaries::Flush(Clock::time_point now) {
  std::lock_guard<std::mutex> one_at_a_time(write_mu_);
  std::vector<Event> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CloseExpired(now);
    batch.swap(ready_);
  }
  std::size_t written = 0;
  std::vector<Event> failed;
  for (Event& e : batch) {
    Event copy = e;  // Record takes it; kept for a retry if it fails
    if (Status s = writer_.Record(std::move(copy)); s.ok()) {
      ++written;
    } else {
      log::Error("audit.refusal_summary_failed", {{"reason", s.reason()}});
      failed.push_back(std::move(e));
    }
  }
  if (!failed.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.insert(ready_.begin(), std::make_move_iterator(failed.begin()),
                  std::make_move_iterator(failed.end()));
  }
  return written;
}

void RefusalSummaries::Run() {
  const auto tick = std::min<std::chrono::milliseconds>(options_.window / 2,
                                                        std::chrono::milliseconds(1000));
  std::unique_lock<std::mutex> lock(write_mu_);
  while (!stop_thread_) {
    cv_.wait_for(lock, tick, [this] { return stop_thread_; });
    if (stop_thread_) break;
    lock.unlock();
    Flush();
    lock.lock();
  }
}

void RefusalSummaries::Stop() {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    stop_thread_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [key, s] : open_) Close(s);
    open_.clear();
  }
  Flush(Clock::time_point::max());
  std::lock_guard<std::mutex> lock(mu_);
  for (const Event& e : ready_) {
    // The ledger could not take it: the log line is all that is left of these refusals.
    log::Error("audit.refusal_summary_lost",
               {{"reason", e.reason}, {"client", e.client}, {"resource", e.resource}});
  }
  ready_.clear();
}

}  // namespace bulwark::audit
