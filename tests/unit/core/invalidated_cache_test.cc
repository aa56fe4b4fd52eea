// The shared cache of store-derived state, and the shared text-list encoding.
#include "core/invalidated_cache.h"

#include <gtest/gtest.h>

#include "core/text_list.h"

namespace bulwark::core {
namespace {

TEST(InvalidatedCacheTest, ALoadThatRacedAnInvalidationIsNotCached) {
  InvalidatedCache<int> cache(10);
  const auto epoch = cache.Epoch();  // a load begins...
  cache.Invalidate("s1");            // ...a change commits and invalidates...
  cache.Insert("s1", 1, epoch);      // ...the stale load must not land
  EXPECT_FALSE(cache.Find("s1").has_value());
  cache.Insert("s1", 2, cache.Epoch());
  EXPECT_EQ(cache.Find("s1"), 2);
}

TEST(InvalidatedCacheTest, InvalidateIfDropsMatchingEntriesAndCapacityBoundsMemory) {
  InvalidatedCache<int> cache(3);
  for (int i = 0; i < 3; ++i) cache.Insert("k" + std::to_string(i), i, cache.Epoch());
  cache.InvalidateIf([](int v) { return v % 2 == 0; });
  EXPECT_FALSE(cache.Find("k0").has_value());
  EXPECT_EQ(cache.Find("k1"), 1);
  EXPECT_FALSE(cache.Find("k2").has_value());
  cache.Insert("k3", 3, cache.Epoch());
  cache.Insert("k4", 4, cache.Epoch());  // k1, k3, k4: at capacity
  cache.Insert("k5", 5, cache.Epoch());  // now full: starts over
  EXPECT_FALSE(cache.Find("k1").has_value());
  EXPECT_EQ(cache.Find("k5"), 5);
}

TEST(InvalidatedCacheTest, AClosedGateMissesKeepsNothingAndReopeningDropsEverything) {
  InvalidatedCache<int> cache(10);
  CacheGate& gate = CacheGate::Process();
  cache.Insert("a", 1, cache.Epoch());
  const auto epoch = cache.Epoch();  // a load begins before the channel drops
  gate.Close();
  EXPECT_FALSE(cache.Find("a").has_value());  // cannot be trusted while closed
  cache.Insert("b", 2, cache.Epoch());        // and nothing is kept
  EXPECT_FALSE(cache.Find("b").has_value());
  gate.Open();
  cache.Insert("c", 3, epoch);                // the load that began before is stale
  EXPECT_FALSE(cache.Find("a").has_value());  // what was cached before the drop is gone
  EXPECT_FALSE(cache.Find("b").has_value());
  EXPECT_FALSE(cache.Find("c").has_value());
  cache.Insert("d", 4, cache.Epoch());
  EXPECT_EQ(cache.Find("d"), 4);
}

TEST(TextListTest, SplitAndJoinRoundTrip) {
  EXPECT_EQ(SplitList("", ' '), std::vector<std::string>{});
  EXPECT_EQ(SplitList("a", ' '), std::vector<std::string>{"a"});
  EXPECT_EQ(SplitList("a b c", ' '), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(SplitList("10.0.0.0/8,,::1", ','), (std::vector<std::string>{"10.0.0.0/8", "", "::1"}));
  EXPECT_EQ(JoinList({"a", "b"}, ','), "a,b");
  EXPECT_EQ(JoinList({}, ','), "");
  const std::vector<std::string> items = {"secrets.list", "secrets.read"};
  EXPECT_EQ(SplitList(JoinList(items, ' '), ' '), items);
}

}  // namespace
}  // namespace bulwark::core
