#pragma once
// The statements of table rate_buckets: the rate-limit buckets every node shares (the
// algorithm, the naming of rows and the in-memory batching are stages/shared_rate_buckets.h's;
// this unit only holds the SQL). Each bucket is one row holding its GCRA "theoretical arrival
// time" `tat` and `idle_at`, the time (ms) after which it has refilled and may be pruned.
// Times are in units of 1/n ms, n being the rule's capacity, so the arithmetic stays integer.
//
// Thread-safe as the Transaction and Store passed in; holds no state. Errors: the store's
// (kUnavailable when it cannot be reached or is busy).
#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::store {

struct RateBucketTake {
  std::string_view bucket;    // the row's name
  std::int64_t now = 0;       // now, in 1/n ms
  std::int64_t n = 1;         // the rule's capacity (the time scale)
  std::int64_t cost = 0;      // what the tokens taken cost together, in 1/n ms
  std::int64_t ahead = 0;     // how far max(tat, now) may run ahead of now for the take to succeed
};

// Takes the tokens if the bucket has room: tat becomes max(tat, now) + cost (a bucket idle long
// enough is full again, never fuller). Returns whether it did; an absent row is created.
StatusOr<bool> TakeRateTokens(Transaction& tx, const RateBucketTake& take);

// The bucket's tat. kInternal if the row is absent (it was just written in `tx`).
StatusOr<std::int64_t> RateBucketTat(Transaction& tx, std::string_view bucket);

// Deletes the buckets idle (refilled) before `now_ms`, in its own transaction. Best effort.
Status PruneRateBuckets(Store& store, std::int64_t now_ms);

}  // namespace bulwark::store
