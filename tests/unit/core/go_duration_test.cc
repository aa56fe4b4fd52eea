#include "core/go_duration.h"

#include <gtest/gtest.h>

namespace bulwark::core {
namespace {

TEST(GoDuration, ParsesVaultsForms) {
  EXPECT_EQ(ParseDurationSeconds("0s"), 0);
  EXPECT_EQ(ParseDurationSeconds("0"), 0);
  EXPECT_EQ(ParseDurationSeconds("90"), 90);
  EXPECT_EQ(ParseDurationSeconds("30m"), 1800);
  EXPECT_EQ(ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(ParseDurationSeconds("1h0m0s"), 3600);
  EXPECT_EQ(ParseDurationSeconds("2d"), 172800);
}

TEST(GoDuration, RefusesEverythingElse) {
  for (const char* bad : {"", "h", "1x", "1.5h", "-1s", "1h30", " 1s", "1s ", "100ms",
                          "999999999999999999999s", "40000d"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).has_value()) << bad;
  }
}

TEST(GoDuration, FormatsAsGoDoes) {
  EXPECT_EQ(FormatGoDuration(0), "0s");
  EXPECT_EQ(FormatGoDuration(45), "45s");
  EXPECT_EQ(FormatGoDuration(90), "1m30s");
  EXPECT_EQ(FormatGoDuration(3600), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(172800), "48h0m0s");
}

}  // namespace
}  // namespace bulwark::core
