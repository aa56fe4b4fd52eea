#include "core/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

namespace bulwark::core {
namespace {

using std::chrono::microseconds;
using std::chrono::system_clock;

system_clock::time_point AtMicros(std::int64_t micros) {
  return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(microseconds(micros)));
}

TEST(CoreClockTest, Epoch) {
  EXPECT_EQ(FormatIso8601Micros(AtMicros(0)), "1970-01-01T00:00:00.000000Z");
}

TEST(CoreClockTest, KnownInstantWithMicros) {
  // 2026-11-22T23:30:00Z is 1795390200 s after the epoch.
  EXPECT_EQ(FormatIso8601Micros(AtMicros(1'795'390'200LL * 1'000'000 + 123'456)),
            "2026-11-22T23:30:00.123456Z");
}

TEST(CoreClockTest, LeapDay) {
  EXPECT_EQ(FormatIso8601Micros(AtMicros(951'825'600LL * 1'000'000 + 1)),
            "2000-02-29T12:00:00.000001Z");
}

TEST(CoreClockTest, SubMicrosecondPrecisionIsTruncated) {
  const auto t = AtMicros(1'795'390'200LL * 1'000'000 + 123'456) + std::chrono::nanoseconds(999);
  EXPECT_EQ(FormatIso8601Micros(t), "2026-11-22T23:30:00.123456Z");
}

TEST(CoreClockTest, PreEpochNegativeMicros) {
  EXPECT_EQ(FormatIso8601Micros(AtMicros(-1)), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatIso8601Micros(AtMicros(-1'000'000)), "1969-12-31T23:59:59.000000Z");
  EXPECT_EQ(FormatIso8601Micros(AtMicros(-1'500'000)), "1969-12-31T23:59:58.500000Z");
  // Apollo 11 landing, 1969-07-20T20:17:40Z, plus a quarter second.
  EXPECT_EQ(FormatIso8601Micros(AtMicros(-14'182'940LL * 1'000'000 + 250'000)),
            "1969-07-20T20:17:40.250000Z");
}

TEST(CoreClockTest, NowHasTheFormatAndAdvances) {
  const std::string now = NowIso8601Micros();
  EXPECT_TRUE(std::regex_match(now, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)"))) << now;
  const std::int64_t a = NowUnixMicros();
  const std::int64_t b = NowUnixMicros();
  EXPECT_LE(a, b);
  EXPECT_GT(a, 1'700'000'000LL * 1'000'000);  // after 2023
}

}  // namespace
}  // namespace bulwark::core
