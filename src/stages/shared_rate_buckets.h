#pragma once
// Rate-limit buckets every node shares, in the store (table rate_buckets), for several nodes on
// one PostgreSQL database: a client spreading its attempts over the nodes gets the same budget
// as against one.
//
// Each bucket is one row, updated by one statement under its row lock (TxMode::kRowWrite: it
// does not wait for the ledger's writers). The algorithm is GCRA, the token bucket held as one
// "theoretical arrival time": capacity N over period P allows a burst of N, then one request
// every P/N, like TokenBuckets. Times are the nodes' wall clocks (keep them in NTP sync: a skew
// of d grants about d*N/P extra requests), scaled by N so the arithmetic stays integer and
// exact. A row is named by HMAC-SHA-256(key | N | P) under a key from the keyring: the emails
// and addresses in bucket keys never reach the database in a form that can be reversed, and a
// changed rule starts a fresh bucket rather than misreading the old one's scale. Buckets that
// have refilled are pruned once a minute. With PostgreSQL the increment skips the WAL flush
// wait (synchronous_commit off): a database crash may forget the last few increments, which only
// ever grants a few more attempts, and never costs an fsync per request.
//
// A refusal is remembered in memory until its wait is over, so a client hammering a spent
// bucket costs this node nothing and the database nothing (bounded: the memory starts over when
// full, which only sends a refused client back to the database). A fast rule (N >= 40, e.g. the
// per-API-key one) takes up to N/20 tokens (at most 50) per trip and spends them here within a
// second: the nodes together never exceed the shared budget, and a busy key costs the database
// one trip per batch, not per request. Slow rules (sign-in) take one token per trip, exactly.
//
//   auto buckets = std::make_shared<SharedRateBuckets>(store, hmac_key);
//   auto wait = buckets->TakeNow("ip:203.0.113.9|POST /api/v1/auth/request", {5, 10min});
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "crypto/secret_bytes.h"
#include "stages/token_buckets.h"
#include "store/store.h"

namespace bulwark::stages {

class SharedRateBuckets final : public RateBuckets {
 public:
  using WallClockMs = std::function<std::int64_t()>;
  SharedRateBuckets(store::Store& store, crypto::SecretBytes key, WallClockMs now_ms = nullptr);

  // Errors: the store's (kUnavailable when it cannot be reached or is busy).
  StatusOr<std::chrono::milliseconds> TakeNow(std::string_view key, const RateRule& rule) override;

 private:
  void MaybePrune(std::int64_t now_ms);

  store::Store& store_;
  const crypto::SecretBytes key_;
  WallClockMs now_ms_;
  std::atomic<std::int64_t> next_prune_ms_{0};
  struct Held {
    std::int64_t tokens;    // taken from the shared bucket, not yet spent
    std::int64_t until_ms;  // then dropped
  };
  std::mutex mu_;
  std::unordered_map<std::string, std::int64_t> refused_until_ms_;  // by row name
  std::unordered_map<std::string, Held> held_;                      // by row name
};

}  // namespace bulwark::stages
