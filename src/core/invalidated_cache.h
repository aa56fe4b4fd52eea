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
//
// Several nodes on one database: a node learns of another node's changes through the store's
// change notifications (app/cluster_sync). While that channel is down, the node cannot know
// what it missed, so CacheGate::Process() is closed: every cache of the process misses and
// keeps nothing (each lookup reads the store), and reopening drops everything cached before.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bulwark::core {

// Whether the process may trust its caches. Open by default (one node, or the change channel
// is up); Close() and Open() each drop every entry of every cache at once.
class CacheGate {
 public:
  static CacheGate& Process() {
    static CacheGate gate;
    return gate;
  }
  void Close() {
    open_.store(false);
    generation_.fetch_add(1);
  }
  void Open() {
    generation_.fetch_add(1);
    open_.store(true);
  }
  // Drops every entry of every cache (a change the caller cannot attribute).
  void Flush() { generation_.fetch_add(1); }
  bool open() const { return open_.load(); }
  std::uint64_t generation() const { return generation_.load(); }

 private:
  std::atomic<bool> open_{true};
  std::atomic<std::uint64_t> generation_{0};
};

template <typename V>
class InvalidatedCache {
 public:
  explicit InvalidatedCache(std::size_t capacity) : capacity_(capacity) {}

  // Read before loading; pass to Insert. Moves on every invalidation of this cache and every
  // turn of the process gate (both counters only grow, so their sum does too).
  std::uint64_t Epoch() {
    std::lock_guard lock(mu_);
    return epoch_ + gate_.generation();
  }

  std::optional<V> Find(std::string_view key) {
    if (!gate_.open()) return std::nullopt;
    const std::uint64_t generation = gate_.generation();
    std::lock_guard lock(mu_);
    if (auto it = map_.find(std::string(key));
        it != map_.end() && it->second.generation == generation) {
      return it->second.value;
    }
    return std::nullopt;
  }

  void Insert(std::string_view key, V value, std::uint64_t epoch_at_load) {
    std::lock_guard lock(mu_);
    const std::uint64_t generation = gate_.generation();
    if (epoch_ + generation != epoch_at_load || !gate_.open()) return;
    if (map_.size() >= capacity_) map_.clear();
    map_.insert_or_assign(std::string(key), Entry{std::move(value), generation});
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
    std::erase_if(map_, [&](const auto& kv) { return pred(kv.second.value); });
  }

 private:
  struct Entry {
    V value;
    std::uint64_t generation;  // of the gate when inserted; another generation is a miss
  };
  const std::size_t capacity_;
  CacheGate& gate_ = CacheGate::Process();
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
  std::uint64_t epoch_ = 0;
};

}  // namespace bulwark::core
