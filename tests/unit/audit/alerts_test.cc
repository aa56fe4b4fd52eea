#include "audit/alerts.h"

#include <gtest/gtest.h>

namespace bulwark::audit {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TEST(AuditAlertsTest, AuthFailureSpikeFiresOncePerWindow) {
  AlertMonitor m({.auth_failure_threshold = 5, .rate_limit_threshold = 0, .window = milliseconds(1000)});
  const auto t0 = Clock::now();
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(m.Observe(401, t0 + milliseconds(i)).has_value());
  auto alert = m.Observe(403, t0 + milliseconds(5));
  ASSERT_TRUE(alert.has_value());
  EXPECT_EQ(alert->action, "alert.auth_failure_spike");
  EXPECT_EQ(alert->actor.kind, ActorKind::kSystem);
  EXPECT_EQ(alert->result, Result::kError);
  // Quiet for the rest of the window, however many more failures arrive.
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(m.Observe(401, t0 + milliseconds(10 + i)).has_value());
  // After the window, a new spike fires again.
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(m.Observe(401, t0 + milliseconds(1100 + i)).has_value());
  EXPECT_TRUE(m.Observe(401, t0 + milliseconds(1105)).has_value());
}

TEST(AuditAlertsTest, SlowFailuresBelowTheRateDoNotFire) {
  AlertMonitor m({.auth_failure_threshold = 3, .window = milliseconds(100)});
  const auto t0 = Clock::now();
  for (int i = 0; i < 30; ++i) EXPECT_FALSE(m.Observe(401, t0 + milliseconds(60 * i)).has_value());
}

TEST(AuditAlertsTest, RateLimitSpikeAndOtherStatusesAreSeparate) {
  AlertMonitor m({.auth_failure_threshold = 3, .rate_limit_threshold = 2, .window = milliseconds(1000)});
  const auto t0 = Clock::now();
  EXPECT_FALSE(m.Observe(404, t0).has_value());
  EXPECT_FALSE(m.Observe(500, t0).has_value());
  EXPECT_FALSE(m.Observe(429, t0).has_value());
  EXPECT_FALSE(m.Observe(401, t0).has_value());
  auto alert = m.Observe(429, t0 + milliseconds(1));
  ASSERT_TRUE(alert.has_value());
  EXPECT_EQ(alert->action, "alert.rate_limit_spike");
}

TEST(AuditAlertsTest, ZeroThresholdDisablesARule) {
  AlertMonitor m({.auth_failure_threshold = 0, .rate_limit_threshold = 0});
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(m.Observe(401).has_value());
}

}  // namespace
}  // namespace bulwark::audit
