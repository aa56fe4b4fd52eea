#pragma once
// Alert rules over what the audit stage sees. A rule that fires is itself an audit event
// ("alert.<rule>"), so it reaches every SIEM exporter, and a warning log line.
//
// Rules here: a spike of refused authentications (401/403) and of rate-limit trips (429), each
// "at least `threshold` within `window`". A rule fires once and then stays quiet for one window,
// so an attack produces an alert per window, not one per request. Other alerts are raised where
// their cause is seen: ledger hash mismatch (background_verifier.h), break-glass activation and
// receipt verification failures (their features).
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "audit/event.h"

namespace bulwark::audit {

// The alert `name` ("secret_integrity") raised by `cause`, an event just recorded: same tenant,
// resource, request and client, from the system. Logs one warning line.
Event AlertFor(std::string_view name, const Event& cause);

struct AlertRules {
  std::int64_t auth_failure_threshold = 50;  // 401/403 within the window
  std::int64_t rate_limit_threshold = 100;   // 429 within the window
  std::chrono::milliseconds window{60'000};
};

class AlertMonitor {
 public:
  explicit AlertMonitor(AlertRules rules) : rules_(rules) {}

  // Counts one response. Returns the alert event to record when a rule fires now.
  std::optional<Event> Observe(unsigned http_status,
                               std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Rule {
    std::deque<std::chrono::steady_clock::time_point> times;  // at most `threshold` kept
    std::chrono::steady_clock::time_point quiet_until{};
  };
  std::optional<Event> Count(Rule& rule, std::int64_t threshold, const char* name,
                             std::chrono::steady_clock::time_point now);

  const AlertRules rules_;
  std::mutex mu_;
  Rule auth_failures_;
  Rule rate_limited_;
};

}  // namespace bulwark::audit
