#include "core/thread_role.h"

#include <gtest/gtest.h>

#include <thread>

namespace bulwark::core {
namespace {

TEST(CoreThreadRoleTest, ARoleHoldsForItsScopeOnItsThreadOnly) {
  EXPECT_EQ(ThisThreadRole(), ThreadRole::kOther);
  {
    ScopedThreadRole io(ThreadRole::kIo);
    EXPECT_EQ(ThisThreadRole(), ThreadRole::kIo);
    ThreadRole other_thread = ThreadRole::kIo;
    std::thread t([&] { other_thread = ThisThreadRole(); });
    t.join();
    EXPECT_EQ(other_thread, ThreadRole::kOther);
    {
      ScopedThreadRole nested(ThreadRole::kLedgerWriter);
      EXPECT_EQ(ThisThreadRole(), ThreadRole::kLedgerWriter);
    }
    EXPECT_EQ(ThisThreadRole(), ThreadRole::kIo);  // the outer role is back
  }
  EXPECT_EQ(ThisThreadRole(), ThreadRole::kOther);
}

}  // namespace
}  // namespace bulwark::core
