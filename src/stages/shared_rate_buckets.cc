#include "stages/shared_rate_buckets.h"

#include <algorithm>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "store/rate_buckets.h"

namespace bulwark::stages {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kPruneEveryMs = 60'000;
constexpr std::size_t kMaxRemembered = 100'000;
constexpr std::int64_t kHoldMs = 1000;  // tokens taken ahead are spent within this, or dropped

std::int64_t WallNowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t CeilDiv(std::int64_t a, std::int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

}  // namespace

SharedRateBuckets::SharedRateBuckets(store::Store& store, crypto::SecretBytes key,
                                     WallClockMs now_ms)
    : store_(store),
      key_(std::move(key)),
      now_ms_(now_ms ? std::move(now_ms) : WallClockMs(WallNowMs)) {}

StatusOr<milliseconds> SharedRateBuckets::TakeNow(std::string_view key, const RateRule& rule) {
  if (rule.capacity == 0 || rule.period.count() <= 0) return milliseconds(1000);
  // Units of 1/N ms: one request costs P (in ms), a burst may run N-1 requests ahead.
  const std::int64_t n = std::min<std::int64_t>(rule.capacity, kMaxRateCapacity);
  const std::int64_t cost = std::min(rule.period, kMaxRatePeriod).count();
  const std::int64_t tolerance = cost * (n - 1);
  const std::int64_t now_ms = now_ms_();
  const std::int64_t now = now_ms * n;
  const std::string named = std::string(key) + '|' + std::to_string(n) + '|' + std::to_string(cost);
  const std::string bucket =
      crypto::HexEncode(crypto::HmacSha256(key_.reveal_span(), crypto::AsBytes(named)));
  // A fast rule (N >= 40) takes up to N/20 tokens (at most 50) per trip to the database and
  // spends them here within a second: never more than the shared budget (they were taken from
  // it), and a hot key costs the database one trip per batch instead of one per request. A
  // slow rule (the sign-in limits) takes one at a time, exactly.
  const std::int64_t chunk = n >= 40 ? std::min<std::int64_t>(n / 20, 50) : 1;
  {
    std::lock_guard lock(mu_);
    if (auto it = refused_until_ms_.find(bucket); it != refused_until_ms_.end()) {
      if (it->second > now_ms) return milliseconds(it->second - now_ms);
      refused_until_ms_.erase(it);
    }
    if (auto it = held_.find(bucket); it != held_.end()) {
      if (it->second.until_ms > now_ms && it->second.tokens > 0) {
        if (--it->second.tokens == 0) held_.erase(it);
        return milliseconds(0);
      }
      held_.erase(it);
    }
  }

  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRowWrite));
  // Takes k tokens if the bucket has room for k: max(tat, now) may run at most
  // tolerance - (k-1)*cost ahead of now.
  auto take = [&](std::int64_t k) {
    return store::TakeRateTokens(*tx, {.bucket = bucket,
                                       .now = now,
                                       .n = n,
                                       .cost = k * cost,
                                       .ahead = tolerance - (k - 1) * cost});
  };
  BULWARK_ASSIGN_OR_RETURN(bool taken, take(chunk));
  std::int64_t got = taken ? chunk : 0;
  if (!taken && chunk > 1) {
    BULWARK_ASSIGN_OR_RETURN(taken, take(1));  // near the end of the budget: one at a time
    got = taken ? 1 : 0;
  }
  milliseconds wait(0);
  if (!taken) {
    BULWARK_ASSIGN_OR_RETURN(const std::int64_t tat, store::RateBucketTat(*tx, bucket));
    const std::int64_t ahead = std::max(tat, now) - now - tolerance;
    wait = milliseconds(std::max<std::int64_t>(1, CeilDiv(ahead, n)));
  }
  BULWARK_RETURN_IF_ERROR(tx->Commit());
  if (wait.count() > 0 || got > 1) {
    std::lock_guard lock(mu_);
    if (refused_until_ms_.size() + held_.size() >= kMaxRemembered) {
      refused_until_ms_.clear();  // only sends a refused client back to the database
      held_.clear();              // only forgoes tokens already counted against the budget
    }
    if (wait.count() > 0) refused_until_ms_[bucket] = now_ms + wait.count();
    if (got > 1) held_[bucket] = Held{got - 1, now_ms + kHoldMs};
  }
  tx.reset();  // hand the connection back before the prune takes one
  MaybePrune(now_ms);
  return wait;
}

void SharedRateBuckets::MaybePrune(std::int64_t now_ms) {
  std::int64_t due = next_prune_ms_.load();
  if (now_ms < due || !next_prune_ms_.compare_exchange_strong(due, now_ms + kPruneEveryMs)) return;
  // A refilled bucket behaves exactly like an absent one, so dropping it changes no decision.
  // Best effort: a failure leaves the rows for the next minute.
  (void)store::PruneRateBuckets(store_, now_ms);
}

}  // namespace bulwark::stages
