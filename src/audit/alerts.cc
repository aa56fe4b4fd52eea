#include "audit/alerts.h"

#include "core/log.h"

namespace bulwark::audit {

Event AlertFor(std::string_view name, const Event& cause) {
  log::Warn("audit.alert", {{"alert", name}, {"tenant", cause.tenant}}, cause.request_id);
  Event a;
  a.actor = {ActorKind::kSystem, ""};
  a.tenant = cause.tenant;
  a.action = "alert." + std::string(name);
  a.resource = cause.resource;
  a.result = Result::kDenied;
  a.reason = std::string(name);
  a.request_id = cause.request_id;
  a.client = cause.client;
  return a;
}

std::optional<Event> AlertMonitor::Observe(unsigned http_status, std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (http_status == 401 || http_status == 403) {
    return Count(auth_failures_, rules_.auth_failure_threshold, "auth_failure_spike", now);
  }
  if (http_status == 429) return Count(rate_limited_, rules_.rate_limit_threshold, "rate_limit_spike", now);
  return std::nullopt;
}

std::optional<Event> AlertMonitor::Count(Rule& rule, std::int64_t threshold, const char* name,
                                         std::chrono::steady_clock::time_point now) {
  if (threshold <= 0) return std::nullopt;
  rule.times.push_back(now);
  while (static_cast<std::int64_t>(rule.times.size()) > threshold) rule.times.pop_front();
  // `threshold` events, the oldest of them within the window: a spike.
  if (static_cast<std::int64_t>(rule.times.size()) < threshold || now - rule.times.front() > rules_.window ||
      now < rule.quiet_until) {
    return std::nullopt;
  }
  rule.quiet_until = now + rules_.window;
  rule.times.clear();
  log::Warn("audit.alert", {{"alert", name}, {"threshold", threshold},
                            {"window_ms", static_cast<std::int64_t>(rules_.window.count())}});
  Event e;
  e.actor = {ActorKind::kSystem, "alert-monitor"};
  e.action = std::string("alert.") + name;
  e.resource = "http";
  e.result = Result::kError;
  e.reason = name;
  e.details.emplace_back("threshold", threshold);
  e.details.emplace_back("window_ms", static_cast<std::int64_t>(rules_.window.count()));
  return e;
}

}  // namespace bulwark::audit
