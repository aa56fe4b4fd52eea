#pragma once
// Token buckets for the rate limiter (stage 3b): one bucket per key, in a table whose memory
// is bounded no matter how many distinct keys arrive.
//
// A bucket holds up to `capacity` tokens and refills evenly, one token every period/capacity.
// A request takes one token; with none left it is refused and told how long to wait. So a
// client may burst `capacity` requests and is then held to the average rate. The token math
// is integer and exact: capacity N over period P allows exactly N requests at once, then one
// more after P/N, never an extra one through rounding.
//
// The table is split into shards by a hash of the key, each with its own mutex, so requests
// for different keys rarely contend and there is no global lock.
//
// Memory is bounded by max_keys (keys, not bytes: callers keep keys short). When a shard is
// full, a new key first displaces buckets that have refilled to capacity (a full bucket behaves
// exactly like an absent one, so dropping it changes no decision), and only if there are none
// the least recently used bucket. An attacker who floods us with fresh keys (spoofed sources,
// random paths) therefore cannot grow memory; at worst they push out idle buckets, which is why
// refilled ones go first: their clients lose nothing.
//
// Example:
//   StatusOr<RateRule> rule = ParseRateRule("5/10m");   // 5 requests, one more every 2 minutes
//   if (!rule.ok()) return rule.status();
//   TokenBuckets buckets;
//   std::chrono::milliseconds wait =
//       buckets.Take("ip:203.0.113.9|POST /api/v1/auth/request", *rule, clock.Now());
//   if (wait.count() > 0) {
//     // refuse with 429 and Retry-After: ceil(wait / 1s)
//   }
//   // The first 5 calls at the same instant return 0ms; the 6th returns 120000ms.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::stages {

// A rate: `capacity` requests, refilled evenly over `period` (a burst of up to capacity).
struct RateRule {
  std::uint32_t capacity = 0;
  std::chrono::milliseconds period{0};
};

// The bounds ParseRateRule enforces.
inline constexpr std::uint32_t kMaxRateCapacity = 1'000'000;
inline constexpr std::chrono::milliseconds kMaxRatePeriod = std::chrono::hours(24);

// Parses "<count>/<number><unit>" with unit s, m or h: "5/10m", "600/1m", "100/1s", "1000/1h".
// Count is 1..1,000,000 and the period 1s..24h. Anything else (a zero, an overflow, a sign,
// spaces, a missing or unknown unit) is kInvalidArgument with reason "invalid_rate".
StatusOr<RateRule> ParseRateRule(std::string_view text);

// The canonical text of `rule`, in the largest unit that divides the period exactly: {5, 600s}
// gives "5/10m", {100, 3600s} gives "100/1h". ParseRateRule(FormatRateRule(r)) == r for every
// rule ParseRateRule accepts. A period that is not whole seconds is shown in "ms", which
// ParseRateRule does not accept (such a rule does not come from configuration).
std::string FormatRateRule(const RateRule& rule);

// Where the rate limiter takes its tokens: this process's table (TokenBuckets, one node), or
// buckets in the store that every node shares (SharedRateBuckets, several nodes on PostgreSQL).
class RateBuckets {
 public:
  virtual ~RateBuckets() = default;
  // Takes one token for `key` now: 0ms when allowed, otherwise the wait (>= 1ms) and nothing is
  // taken. An error only from a shared store that cannot be reached (the caller refuses).
  virtual StatusOr<std::chrono::milliseconds> TakeNow(std::string_view key, const RateRule& rule) = 0;
};

// A bounded, thread-safe table of token buckets keyed by an opaque string.
class TokenBuckets final : public RateBuckets {
 public:
  // At most `max_keys` buckets are held at any time (0 is taken as 1). Small tables use fewer
  // shards so that each shard keeps a useful budget (see kMinKeysPerShard).
  explicit TokenBuckets(std::size_t max_keys = 200'000);
  ~TokenBuckets();

  TokenBuckets(const TokenBuckets&) = delete;
  TokenBuckets& operator=(const TokenBuckets&) = delete;

  // Takes one token from the bucket named `key` (e.g. "ip:203.0.113.9|POST /api/v1/auth/request"),
  // creating it full. Returns 0ms when allowed; otherwise how long until one token will be
  // available (>= 1ms, rounded up to whole milliseconds), and nothing is taken.
  //
  // `now` comes from a monotonic clock. If it is earlier than the bucket last saw (a clock that
  // went backwards, or callers racing with slightly stale readings), no tokens are added: time
  // that did not pass mints nothing.
  //
  // The rule normally stays the same for a key. If it changes, the bucket keeps the whole
  // tokens it held, clamped to the new capacity (a full bucket stays full). A rule with
  // capacity 0 or a period <= 0 refuses, with a wait of 1s, and creates no bucket; a capacity
  // or period above kMaxRateCapacity / kMaxRatePeriod is clamped to it.
  //
  // Throws nothing but std::bad_alloc (when a new key cannot be stored); the table is left
  // consistent if it does.
  std::chrono::milliseconds Take(std::string_view key, const RateRule& rule,
                                 std::chrono::steady_clock::time_point now);

  StatusOr<std::chrono::milliseconds> TakeNow(std::string_view key, const RateRule& rule) override {
    return Take(key, rule, std::chrono::steady_clock::now());
  }

  // The number of keys currently held (a snapshot; shards are counted one after another).
  std::size_t size() const;

  static constexpr std::size_t kMaxShards = 32;
  static constexpr std::size_t kMinKeysPerShard = 64;

 private:
  struct Bucket;
  struct Shard;

  Shard& ShardFor(std::string_view key);

  std::size_t shard_count_;
  std::size_t keys_per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace bulwark::stages
