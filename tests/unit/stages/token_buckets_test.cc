#include "stages/token_buckets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace bulwark::stages {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using TimePoint = std::chrono::steady_clock::time_point;

// A fixed, arbitrary origin well away from zero, so that going "back" stays in range.
const TimePoint kT0 = TimePoint(hours(1000));

RateRule Rule(std::string_view text) {
  StatusOr<RateRule> r = ParseRateRule(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : RateRule{};
}

// Takes `n` tokens at `now`, expecting each to be allowed.
void TakeAllowed(TokenBuckets& b, std::string_view key, const RateRule& rule, TimePoint now,
                 int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(b.Take(key, rule, now), milliseconds(0)) << key << " take #" << i;
  }
}

// --- ParseRateRule / FormatRateRule -------------------------------------------------------

TEST(HttpRateRuleTest, ParsesGoodRules) {
  struct Case {
    std::string_view text;
    std::uint32_t capacity;
    milliseconds period;
  };
  const Case cases[] = {
      {"5/10m", 5, minutes(10)},
      {"600/1m", 600, minutes(1)},
      {"20/10m", 20, minutes(10)},
      {"100/1s", 100, seconds(1)},
      {"1000/1h", 1000, hours(1)},
      {"1/1s", 1, seconds(1)},
      {"1000000/1s", 1'000'000, seconds(1)},
      {"1/24h", 1, hours(24)},
      {"1/1440m", 1, hours(24)},
      {"1/86400s", 1, hours(24)},
      {"3/90s", 3, seconds(90)},
  };
  for (const Case& c : cases) {
    StatusOr<RateRule> r = ParseRateRule(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(r->capacity, c.capacity) << c.text;
    EXPECT_EQ(r->period, c.period) << c.text;
  }
}

TEST(HttpRateRuleTest, RejectsBadRules) {
  const std::string_view cases[] = {
      "",
      "5",
      "5/",
      "/10m",
      "5/10",   // missing unit
      "5/m",    // missing number
      "0/10m",  // zero count
      "5/0m",   // zero period
      "5/0s",
      "1000001/1s",                  // count over 1,000,000
      "99999999999999999999999/1s",  // overflow
      "5/99999999999999999999999s",
      "5/25h",  // period over 24h
      "5/1441m",
      "5/86401s",
      " 5/10m",  // spaces
      "5/10m ",
      "5 /10m",
      "5/ 10m",
      "5/10 m",
      "+5/10m",  // signs
      "-5/10m",
      "5/-10m",
      "5/10ms",  // unknown or extra unit
      "5/10d",
      "5/10M",
      "5/10mm",
      "5/1.5m",
      "5.0/10m",
      "5//10m",
      "5/10m/1s",
      "five/10m",
      "0x10/1s",
      std::string_view("5/10m\0", 6),
  };
  for (std::string_view text : cases) {
    StatusOr<RateRule> r = ParseRateRule(text);
    ASSERT_FALSE(r.ok()) << "accepted \"" << text << "\"";
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_EQ(r.status().reason(), "invalid_rate") << text;
  }
}

TEST(HttpRateRuleTest, FormatsCanonicallyAndRoundTrips) {
  struct Case {
    std::string_view in;
    std::string_view canonical;
  };
  const Case cases[] = {
      {"5/10m", "5/10m"},   {"600/1m", "600/1m"}, {"100/1s", "100/1s"},  {"1000/1h", "1000/1h"},
      {"5/600s", "5/10m"},  {"5/60m", "5/1h"},    {"5/3600s", "5/1h"},   {"7/90s", "7/90s"},
      {"1/1440m", "1/24h"}, {"2/120m", "2/2h"},   {"0005/10m", "5/10m"},
  };
  for (const Case& c : cases) {
    RateRule r = Rule(c.in);
    EXPECT_EQ(FormatRateRule(r), c.canonical) << c.in;
    StatusOr<RateRule> again = ParseRateRule(FormatRateRule(r));
    ASSERT_TRUE(again.ok()) << c.in;
    EXPECT_EQ(again->capacity, r.capacity);
    EXPECT_EQ(again->period, r.period);
  }
  EXPECT_EQ(FormatRateRule(RateRule{3, milliseconds(1500)}), "3/1500ms");
}

// --- TokenBuckets -------------------------------------------------------------------------

TEST(HttpTokenBucketsTest, BurstThenRefusalWithRetryAfter) {
  TokenBuckets b;
  const RateRule rule = Rule("5/10m");
  TakeAllowed(b, "k", rule, kT0, 5);
  // One token comes back every 10m / 5 = 2 minutes.
  EXPECT_EQ(b.Take("k", rule, kT0), minutes(2));
  EXPECT_EQ(b.Take("k", rule, kT0 + seconds(30)), seconds(90));
  EXPECT_EQ(b.Take("k", rule, kT0 + minutes(2) - nanoseconds(1)), milliseconds(1));
  EXPECT_EQ(b.Take("k", rule, kT0 + minutes(2) - milliseconds(1) - nanoseconds(1)),
            milliseconds(2));  // 1ms + 1ns rounds up
}

TEST(HttpTokenBucketsTest, RefillsOneTokenPerPeriodOverCapacity) {
  TokenBuckets b;
  const RateRule rule = Rule("5/10m");
  TakeAllowed(b, "k", rule, kT0, 5);
  const TimePoint t1 = kT0 + minutes(2);
  EXPECT_EQ(b.Take("k", rule, t1), milliseconds(0));  // exactly one more after P/N
  EXPECT_EQ(b.Take("k", rule, t1), minutes(2));
  // After a whole period the bucket is full again: a full burst, and no more.
  const TimePoint t2 = t1 + minutes(10);
  TakeAllowed(b, "k", rule, t2, 5);
  EXPECT_EQ(b.Take("k", rule, t2), minutes(2));
  // A long idle time does not bank more than capacity.
  const TimePoint t3 = t2 + hours(24 * 365);
  TakeAllowed(b, "k", rule, t3, 5);
  EXPECT_GT(b.Take("k", rule, t3), milliseconds(0));
}

TEST(HttpTokenBucketsTest, UnevenPeriodsRoundUpAndStayExact) {
  TokenBuckets b;
  const RateRule rule = Rule("3/1s");  // one token every 333.33..ms
  TakeAllowed(b, "k", rule, kT0, 3);
  const milliseconds wait = b.Take("k", rule, kT0);
  EXPECT_EQ(wait, milliseconds(334));
  EXPECT_GT(b.Take("k", rule, kT0 + milliseconds(333)), milliseconds(0));
  EXPECT_EQ(b.Take("k", rule, kT0 + wait), milliseconds(0));  // the hint is never too early
  // Over many periods exactly capacity per period is allowed, however the calls are spaced.
  int allowed = 0;
  const TimePoint start = kT0 + seconds(10);
  TakeAllowed(b, "k", rule, start, 3);
  for (int ms = 1; ms <= 60'000; ms += 7) {
    if (b.Take("k", rule, start + milliseconds(ms)) == milliseconds(0)) ++allowed;
  }
  // 60s at 3/s: 180 tokens (the last may still be refilling at the final call).
  EXPECT_GE(allowed, 179);
  EXPECT_LE(allowed, 180);
}

TEST(HttpTokenBucketsTest, HighRateAllowsExactlyOnePerMicrosecond) {
  TokenBuckets b;
  const RateRule rule = Rule("1000000/1s");
  TakeAllowed(b, "k", rule, kT0, 1'000'000);
  EXPECT_EQ(b.Take("k", rule, kT0), milliseconds(1));  // 1us, rounded up
  EXPECT_EQ(b.Take("k", rule, kT0 + microseconds(1)), milliseconds(0));
  EXPECT_EQ(b.Take("k", rule, kT0 + microseconds(1)), milliseconds(1));
}

TEST(HttpTokenBucketsTest, KeysAreIndependent) {
  TokenBuckets b;
  const RateRule rule = Rule("2/1m");
  TakeAllowed(b, "ip:203.0.113.9|POST /api/v1/auth/request", rule, kT0, 2);
  EXPECT_GT(b.Take("ip:203.0.113.9|POST /api/v1/auth/request", rule, kT0), milliseconds(0));
  TakeAllowed(b, "ip:203.0.113.10|POST /api/v1/auth/request", rule, kT0, 2);
  TakeAllowed(b, "ip:203.0.113.9|POST /api/v1/auth/verify", rule, kT0, 2);
  EXPECT_EQ(b.size(), 3u);
}

TEST(HttpTokenBucketsTest, ConcurrentTakesOnOneKeyAllowExactlyCapacity) {
  TokenBuckets b;
  const RateRule rule = Rule("1000/1h");
  std::atomic<int> allowed{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (b.Take("shared", rule, kT0) == milliseconds(0)) {
          allowed.fetch_add(1, std::memory_order_relaxed);
        } else {
          refused.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
  EXPECT_EQ(refused.load(), 8 * 500 - 1000);
}

TEST(HttpTokenBucketsTest, ConcurrentDistinctKeysStayWithinBound) {
  constexpr std::size_t kMax = 4096;
  TokenBuckets b(kMax);
  const RateRule rule = Rule("2/1m");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10'000; ++i) {
        const std::string key = "ip:" + std::to_string(t) + "." + std::to_string(i);
        EXPECT_EQ(b.Take(key, rule, kT0 + milliseconds(i)), milliseconds(0));
        if (i % 1000 == 0) {
          EXPECT_LE(b.size(), kMax);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(b.size(), kMax);
  EXPECT_GT(b.size(), kMax / 2);
}

TEST(HttpTokenBucketsTest, MemoryBoundHoldsUnderAFloodOfKeys) {
  for (std::size_t max_keys :
       {std::size_t{1}, std::size_t{7}, std::size_t{100}, std::size_t{1000}, std::size_t{5000}}) {
    TokenBuckets b(max_keys);
    const RateRule rule = Rule("3/1h");
    for (std::size_t i = 0; i < 10 * max_keys; ++i) {
      // Every bucket is left short of capacity, so none is ever "refilled".
      ASSERT_EQ(b.Take("flood:" + std::to_string(i), rule, kT0), milliseconds(0));
      ASSERT_LE(b.size(), max_keys) << "max_keys=" << max_keys << " after " << i;
    }
    EXPECT_GE(b.size(), max_keys / 2) << "max_keys=" << max_keys;
  }
  TokenBuckets zero(0);  // taken as 1
  EXPECT_EQ(zero.Take("a", Rule("1/1s"), kT0), milliseconds(0));
  EXPECT_EQ(zero.Take("b", Rule("1/1s"), kT0), milliseconds(0));
  EXPECT_EQ(zero.size(), 1u);
}

TEST(HttpTokenBucketsTest, RefilledBucketIsEvictedBeforeADrainedOne) {
  TokenBuckets b(2);  // one shard, two keys
  const RateRule slow = Rule("1/1h");
  const RateRule fast = Rule("1/1s");
  // "drained" is the least recently used, but still has a debt; "refilled" is newer but has
  // refilled by the time the third key arrives.
  ASSERT_EQ(b.Take("drained", slow, kT0), milliseconds(0));
  ASSERT_EQ(b.Take("refilled", fast, kT0 + milliseconds(1)), milliseconds(0));
  const TimePoint later = kT0 + seconds(2);
  ASSERT_EQ(b.Take("new", fast, later), milliseconds(0));
  EXPECT_EQ(b.size(), 2u);
  // "drained" survived: it is still refused, with its remaining wait.
  EXPECT_EQ(b.Take("drained", slow, later), hours(1) - seconds(2));
}

TEST(HttpTokenBucketsTest, LeastRecentlyUsedIsEvictedWhenNoneHasRefilled) {
  TokenBuckets b(2);
  const RateRule rule = Rule("1/1h");
  ASSERT_EQ(b.Take("a", rule, kT0), milliseconds(0));
  ASSERT_EQ(b.Take("b", rule, kT0 + seconds(1)), milliseconds(0));
  ASSERT_GT(b.Take("a", rule, kT0 + seconds(2)), milliseconds(0));  // "a" is now the most recent
  ASSERT_EQ(b.Take("c", rule, kT0 + seconds(3)), milliseconds(0));  // evicts "b"
  EXPECT_EQ(b.size(), 2u);
  EXPECT_GT(b.Take("a", rule, kT0 + seconds(4)), milliseconds(0));  // kept
  EXPECT_EQ(b.Take("b", rule, kT0 + seconds(5)), milliseconds(0));  // forgotten, so full again
  EXPECT_EQ(b.size(), 2u);
}

TEST(HttpTokenBucketsTest, TimeGoingBackwardsMintsNothing) {
  TokenBuckets b;
  const RateRule rule = Rule("2/10s");
  const TimePoint t = kT0 + seconds(100);
  TakeAllowed(b, "k", rule, t, 2);
  const milliseconds at_t = b.Take("k", rule, t);
  EXPECT_EQ(at_t, seconds(5));
  // Earlier readings: still refused, and the wait counts from the earlier `now`.
  EXPECT_EQ(b.Take("k", rule, t - seconds(60)), seconds(65));
  EXPECT_EQ(b.Take("k", rule, t - hours(900)), hours(900) + seconds(5));
  // Forward again: the bucket refills from where it was, as if the jump never happened.
  EXPECT_EQ(b.Take("k", rule, t + seconds(5) - milliseconds(1)), milliseconds(1));
  EXPECT_EQ(b.Take("k", rule, t + seconds(5)), milliseconds(0));
  EXPECT_EQ(b.Take("k", rule, t + seconds(5)), seconds(5));

  // A fresh bucket visited in the past stays at capacity, no more.
  TakeAllowed(b, "fresh", rule, t, 1);
  TakeAllowed(b, "fresh", rule, t - hours(10), 1);
  EXPECT_GT(b.Take("fresh", rule, t - hours(20)), milliseconds(0));
  EXPECT_GT(b.Take("fresh", rule, t), milliseconds(0));
}

TEST(HttpTokenBucketsTest, RuleChangeClampsWithoutOverflow) {
  TokenBuckets b;
  TakeAllowed(b, "k", Rule("10/1m"), kT0, 3);  // 7 left
  // A smaller capacity clamps the 7 tokens to 2.
  TakeAllowed(b, "k", Rule("2/1m"), kT0, 2);
  EXPECT_EQ(b.Take("k", Rule("2/1m"), kT0), seconds(30));
  // A much larger rule keeps the (zero) whole tokens: no burst is minted by the change.
  EXPECT_EQ(b.Take("k", Rule("1000000/24h"), kT0), milliseconds(87));  // 86.4ms, rounded up
  // A full bucket stays full under a new rule.
  TakeAllowed(b, "full", Rule("1/1s"), kT0, 1);
  TakeAllowed(b, "full", Rule("4/1s"), kT0 + hours(1), 4);
  EXPECT_GT(b.Take("full", Rule("4/1s"), kT0 + hours(1)), milliseconds(0));
  // Out-of-range rules are clamped, never overflow.
  const RateRule huge{std::numeric_limits<std::uint32_t>::max(),
                      milliseconds(std::numeric_limits<milliseconds::rep>::max())};
  TakeAllowed(b, "huge", huge, kT0, 1'000'000);
  EXPECT_EQ(b.Take("huge", huge, kT0), milliseconds(87));
  EXPECT_EQ(b.Take("huge", huge, kT0 + hours(24)), milliseconds(0));
}

TEST(HttpTokenBucketsTest, InvalidRuleRefusesWithoutStoringAKey) {
  TokenBuckets b;
  EXPECT_EQ(b.Take("k", RateRule{}, kT0), seconds(1));
  EXPECT_EQ(b.Take("k", RateRule{0, seconds(10)}, kT0), seconds(1));
  EXPECT_EQ(b.Take("k", RateRule{5, milliseconds(-1)}, kT0), seconds(1));
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
}  // namespace bulwark::stages
