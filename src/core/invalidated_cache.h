#pragma once
// A bounded in-process cache of store-derived state that every change invalidates, without a
// window for stale entries: a value loaded from the store is inserted only if no invalidation
// happened since the load began (the epoch did not move), so a load racing a change can never
// put the pre-change state back after the change dropped it.
//
//   const auto epoch = cache.Epoch();
//   if (auto hit = cache.Find(id)) return *hit;
//   BULWARK_ASSIGN_OR_RETURN(Value v, LoadFromStore(id));
//   cache.Insert(id, v, epoch);          // ignored if an Invalidate ran meanwhile
//   ...
//   cache.Invalidate(id);                // after the change committed
//
// Memory is bounded: when `capacity` entries are held, the next insert starts over from empty
// (reloading is cheap; entries are plain snapshots). Thread-safe.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bulwark::core {

template <typename V>
class InvalidatedCache {
 public:
  explicit InvalidatedCache(std::size_t capacity) : capacity_(capacity) {}

  // Read before loading; pass to Insert.
  std::uint64_t Epoch() {
    std::lock_guard lock(mu_);
    return epoch_;
  }

  std::optional<V> Find(std::string_view key) {
    std::lock_guard lock(mu_);
    if (auto it = map_.find(std::string(key)); it != map_.end()) return it->second;
    return std::nullopt;
  }

  void Insert(std::string_view key, V value, std::uint64_t epoch_at_load) {
    std::lock_guard lock(mu_);
    if (epoch_ != epoch_at_load) return;
    if (map_.size() >= capacity_) map_.clear();
    map_.insert_or_assign(std::string(key), std::move(value));
  }

  void Invalidate(std::string_view key) {
    std::lock_guard lock(mu_);
    ++epoch_;
    map_.erase(std::string(key));
  }

  // Drops every entry for which `pred(value)` holds.
  template <typename Pred>
  void InvalidateIf(Pred pred) {
    std::lock_guard lock(mu_);
    ++epoch_;
    std::erase_if(map_, [&](const auto& kv) { return pred(kv.second); });
  }

 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, V> map_;
  std::uint64_t epoch_ = 0;
};

}  // namespace bulwark::core
