#include "store/rate_buckets.h"

#include <string>

namespace bulwark::store {

StatusOr<bool> TakeRateTokens(Transaction& tx, const RateBucketTake& t) {
  const std::int64_t later = t.now + t.cost;
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx.Query("INSERT INTO rate_buckets(bucket, tat, idle_at) VALUES (?, ?, ?) "
               "ON CONFLICT(bucket) DO UPDATE SET "
               "tat = (CASE WHEN rate_buckets.tat > ? THEN rate_buckets.tat ELSE ? END) + ?, "
               "idle_at = ((CASE WHEN rate_buckets.tat > ? THEN rate_buckets.tat ELSE ? END) + "
               "? + ? - 1) / ? "
               "WHERE (CASE WHEN rate_buckets.tat > ? THEN rate_buckets.tat ELSE ? END) - ? <= ? "
               "RETURNING tat",
               {Value::Text(std::string(t.bucket)), Value::Int(later),
                Value::Int(later <= 0 ? 0 : (later + t.n - 1) / t.n), Value::Int(t.now),
                Value::Int(t.now), Value::Int(t.cost),  //
                Value::Int(t.now), Value::Int(t.now), Value::Int(t.cost), Value::Int(t.n),
                Value::Int(t.n),  //
                Value::Int(t.now), Value::Int(t.now), Value::Int(t.now), Value::Int(t.ahead)}));
  return !rows.empty();
}

StatusOr<std::int64_t> RateBucketTat(Transaction& tx, std::string_view bucket) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT tat FROM rate_buckets WHERE bucket = ?", {Value::Text(std::string(bucket))}));
  if (rows.empty() || !rows[0][0].is_int()) return Status::Internal("a rate bucket vanished");
  return rows[0][0].as_int();
}

Status PruneRateBuckets(Store& store, std::int64_t now_ms) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(TxMode::kRowWrite));
  BULWARK_RETURN_IF_ERROR(
      tx->Exec("DELETE FROM rate_buckets WHERE idle_at < ?", {Value::Int(now_ms)}).status());
  return tx->Commit();
}

}  // namespace bulwark::store
