#include "core/ascii.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::core {
namespace {

TEST(AsciiTest, LowersAsciiLettersOnly) {
  EXPECT_EQ(AsciiLower("Application/JSON; Charset=UTF-8"), "application/json; charset=utf-8");
  EXPECT_EQ(AsciiLower("WAL"), "wal");
  EXPECT_EQ(AsciiLower(""), "");
  EXPECT_EQ(AsciiLower("@[`{09az"), "@[`{09az");  // the neighbours of A-Z and a-z stay
  // UTF-8 bytes are kept as they are: "ÄÖ" is not ASCII.
  EXPECT_EQ(AsciiLower("\xC3\x84\xC3\x96X"), "\xC3\x84\xC3\x96x");
  EXPECT_EQ(AsciiLower(std::string("A\0B", 3)), std::string("a\0b", 3));
  static_assert(AsciiLower('Q') == 'q' && AsciiLower('q') == 'q' && AsciiLower('\xC4') == '\xC4');
}

}  // namespace
}  // namespace bulwark::core
