#include "stages/token_buckets.h"

#include <algorithm>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace bulwark::stages {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using Clock = std::chrono::steady_clock;

// The text is not echoed: it may hold control bytes, and the message can reach a client.
Status InvalidRate() {
  return Status::InvalidArgument("invalid_rate",
                                 "a rate must be <count>/<number><unit> with unit s, m or h, a "
                                 "count of 1..1000000 and a period of 1s..24h, e.g. \"5/10m\"");
}

// Reads a run of decimal digits from the front of `text`; false if there are none or the value
// exceeds `limit`. Stops before exceeding the limit, so it cannot overflow.
bool ReadNumber(std::string_view& text, std::uint64_t limit, std::uint64_t& out) {
  std::size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    if (value > limit) return false;
    ++i;
  }
  if (i == 0) return false;
  text.remove_prefix(i);
  out = value;
  return true;
}

}  // namespace

StatusOr<RateRule> ParseRateRule(std::string_view text) {
  std::string_view rest = text;
  std::uint64_t count = 0;
  if (!ReadNumber(rest, kMaxRateCapacity, count) || count == 0) return InvalidRate();
  if (rest.empty() || rest.front() != '/') return InvalidRate();
  rest.remove_prefix(1);
  std::uint64_t number = 0;
  if (!ReadNumber(rest, static_cast<std::uint64_t>(kMaxRatePeriod.count()), number) ||
      number == 0 || rest.size() != 1) {
    return InvalidRate();
  }
  std::uint64_t unit_ms = 0;
  switch (rest.front()) {
    case 's':
      unit_ms = 1000;
      break;
    case 'm':
      unit_ms = 60 * 1000;
      break;
    case 'h':
      unit_ms = 60 * 60 * 1000;
      break;
    default:
      return InvalidRate();
  }
  // number <= 86,400,000 and unit_ms <= 3,600,000: the product fits easily in 64 bits.
  const std::uint64_t period_ms = number * unit_ms;
  if (period_ms > static_cast<std::uint64_t>(kMaxRatePeriod.count())) return InvalidRate();
  return RateRule{static_cast<std::uint32_t>(count),
                  milliseconds(static_cast<milliseconds::rep>(period_ms))};
}

std::string FormatRateRule(const RateRule& rule) {
  const auto ms = rule.period.count();
  std::string out = std::to_string(rule.capacity) + "/";
  if (ms > 0 && ms % 3'600'000 == 0) return out + std::to_string(ms / 3'600'000) + "h";
  if (ms > 0 && ms % 60'000 == 0) return out + std::to_string(ms / 60'000) + "m";
  if (ms > 0 && ms % 1000 == 0) return out + std::to_string(ms / 1000) + "s";
  return out + std::to_string(ms) + "ms";
}

// The token math. The level is kept in units where one token is worth `period_us` units and
// every elapsed microsecond adds `capacity` units, so refill is exact integer arithmetic with
// no division: a full bucket holds capacity * period_us units (at most 10^6 * 8.64*10^10, well
// inside int64), and waiting period/capacity adds exactly one token. Time is consumed in whole
// microseconds; the sub-microsecond remainder stays in `last` for the next call.
struct TokenBuckets::Bucket {
  std::int64_t level = 0;
  Clock::time_point last;  // the time up to which refill has been credited
  std::int64_t capacity = 0;
  std::int64_t period_us = 0;

  std::int64_t Full() const { return capacity * period_us; }

  // The level `now` would bring, without changing anything. Time before `last` adds nothing.
  // The elapsed time is capped at one period before multiplying, so it cannot overflow.
  std::int64_t LevelAt(Clock::time_point now, std::int64_t* used_us) const {
    std::int64_t us = 0;
    if (now > last) {
      us = std::min(std::chrono::duration_cast<microseconds>(now - last).count(), period_us);
    }
    *used_us = us;
    return std::min(Full(), level + us * capacity);
  }

  bool FullAt(Clock::time_point now) const {
    std::int64_t used_us = 0;
    return LevelAt(now, &used_us) >= Full();
  }

  void Refill(Clock::time_point now) {
    std::int64_t used_us = 0;
    level = LevelAt(now, &used_us);
    if (level >= Full()) {
      // Full: whatever else elapsed is discarded, as the bucket cannot hold more.
      if (now > last) last = now;
    } else {
      last += microseconds(used_us);
    }
  }

  // Switches to another rule, keeping whole tokens (clamped); a full bucket stays full.
  void Rebase(std::int64_t new_capacity, std::int64_t new_period_us) {
    const bool was_full = level >= Full();
    const std::int64_t tokens = std::min(level / period_us, new_capacity);
    capacity = new_capacity;
    period_us = new_period_us;
    level = was_full ? Full() : tokens * period_us;
  }
};

// One shard: buckets in recency order (front = most recently used) and an index into them. The
// index's keys are views of the strings held in the list nodes, which never move.
struct alignas(64) TokenBuckets::Shard {
  struct Entry {
    std::string key;
    Bucket bucket;
  };
  using List = std::list<Entry>;

  std::mutex mu;
  List lru;
  std::unordered_map<std::string_view, List::iterator> index;
  // Insertions left that drop the LRU bucket without first looking for refilled ones (below).
  std::size_t sweeps_skipped = 0;

  void Erase(List::iterator it) {
    index.erase(std::string_view(it->key));
    lru.erase(it);
  }

  // Frees at least one slot. Looking for refilled buckets costs a pass over the shard; if a
  // pass frees little, the next budget/16 insertions just drop the LRU bucket, so a flood of
  // fresh keys (which leaves no bucket refilled) costs O(1) amortised per request, not O(n).
  void MakeRoom(std::size_t budget, Clock::time_point now) {
    if (sweeps_skipped > 0) {
      --sweeps_skipped;
    } else {
      std::size_t freed = 0;
      for (auto it = lru.begin(); it != lru.end();) {
        auto next = std::next(it);
        if (it->bucket.FullAt(now)) {
          Erase(it);
          ++freed;
        }
        it = next;
      }
      if (freed < std::max<std::size_t>(1, budget / 16)) sweeps_skipped = budget / 16;
      if (freed > 0) return;
    }
    Erase(std::prev(lru.end()));
  }
};

TokenBuckets::TokenBuckets(std::size_t max_keys) {
  max_keys = std::max<std::size_t>(max_keys, 1);
  shard_count_ = std::clamp<std::size_t>(max_keys / kMinKeysPerShard, 1, kMaxShards);
  keys_per_shard_ = max_keys / shard_count_;  // >= 1, and shards * budget <= max_keys
  shards_ = std::make_unique<Shard[]>(shard_count_);
}

TokenBuckets::~TokenBuckets() = default;

TokenBuckets::Shard& TokenBuckets::ShardFor(std::string_view key) {
  // The index hashes the same key; mixing the high bits in picks shards with other bits than
  // the ones that place the key inside the shard's table.
  std::uint64_t h = std::hash<std::string_view>{}(key);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return shards_[h % shard_count_];
}

std::chrono::milliseconds TokenBuckets::Take(std::string_view key, const RateRule& rule,
                                             std::chrono::steady_clock::time_point now) {
  if (rule.capacity == 0 || rule.period.count() <= 0) return std::chrono::seconds(1);
  const std::int64_t capacity = std::min<std::int64_t>(rule.capacity, kMaxRateCapacity);
  const std::int64_t period_us =
      std::chrono::duration_cast<microseconds>(std::min(rule.period, kMaxRatePeriod)).count();

  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);

  Bucket* bucket = nullptr;
  if (auto found = shard.index.find(key); found != shard.index.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);  // now most recently used
    bucket = &found->second->bucket;
    bucket->Refill(now);
    if (bucket->capacity != capacity || bucket->period_us != period_us) {
      bucket->Rebase(capacity, period_us);
    }
  } else {
    if (shard.lru.size() >= keys_per_shard_) shard.MakeRoom(keys_per_shard_, now);
    shard.lru.push_front(Shard::Entry{std::string(key), Bucket{}});
    try {
      shard.index.emplace(std::string_view(shard.lru.front().key), shard.lru.begin());
    } catch (...) {
      shard.lru.pop_front();
      throw;
    }
    bucket = &shard.lru.front().bucket;
    bucket->capacity = capacity;
    bucket->period_us = period_us;
    bucket->level = bucket->Full();
    bucket->last = now;
  }

  if (bucket->level >= bucket->period_us) {
    bucket->level -= bucket->period_us;
    return milliseconds(0);
  }
  // Refused: the missing units arrive at `capacity` per microsecond counted from `last`.
  const std::int64_t missing = bucket->period_us - bucket->level;
  const std::int64_t wait_us = (missing + capacity - 1) / capacity;
  const nanoseconds wait = (bucket->last + microseconds(wait_us)) - now;
  const std::int64_t wait_ms = (wait.count() + 999'999) / 1'000'000;  // wait > 0: see below
  // Refill credits whole microseconds only, so `now - last` is under 1us when time moved
  // forward, and negative when it went back: wait is always positive. The max is belt and
  // braces.
  return milliseconds(std::max<std::int64_t>(wait_ms, 1));
}

std::size_t TokenBuckets::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    total += shards_[i].lru.size();
  }
  return total;
}

}  // namespace bulwark::stages
