// Refusal summaries: one by one up to the threshold, then counted into one chained entry per
// (network, reason, route, principal) and window; bounded keys; nothing lost at Stop().
#include "audit/refusal_summary.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "../keyed_store_env.h"
#include "audit/ledger.h"
#include "audit/writer.h"

namespace bulwark::audit {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Fixture : bulwark::testing::KeyedLedger {

  std::vector<boost::json::object> Entries() {
    auto tx = store->Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query("SELECT entry FROM audit_ledger ORDER BY seq");
    EXPECT_TRUE(rows.ok());
    std::vector<boost::json::object> out;
    for (const auto& r : *rows) {
      const auto& b = r[0].as_bytes();
      out.push_back(boost::json::parse(std::string(b.begin(), b.end())).as_object());
    }
    return out;
  }
};

Event Refusal(std::string reason = "authentication_required") {
  Event e;
  e.action = "http.denied";
  e.result = Result::kDenied;
  e.reason = std::move(reason);
  return e;
}

TEST(RefusalSummaryTest, BeyondTheThresholdRefusalsAreCountedIntoOneEntryPerWindow) {
  Fixture f;
  RefusalSummaries s(*f.writer, {.threshold = 3, .window = milliseconds(60'000)});
  const auto t0 = Clock::now();
  int one_by_one = 0;
  for (int i = 0; i < 10; ++i) one_by_one += s.Admit("203.0.113.9", "GET /x", 401, Refusal(), t0) ? 1 : 0;
  EXPECT_EQ(one_by_one, 3);
  // Another reason, route or network is another key.
  EXPECT_TRUE(s.Admit("203.0.113.9", "GET /x", 429, Refusal("rate_limited"), t0));
  EXPECT_TRUE(s.Admit("203.0.113.9", "GET /y", 401, Refusal(), t0));
  EXPECT_TRUE(s.Admit("198.51.100.1", "GET /x", 401, Refusal(), t0));
  EXPECT_EQ(s.Flush(t0 + milliseconds(59'999)), 0u);  // the window is still open
  EXPECT_EQ(s.Flush(t0 + milliseconds(60'000)), 1u);  // only the key that counted something
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 1u);
  const auto& e = entries[0];
  EXPECT_EQ(e.at("action").as_string(), kRefusalSummaryAction);
  EXPECT_EQ(e.at("client").as_string(), "203.0.113.9");
  EXPECT_EQ(e.at("reason").as_string(), "authentication_required");
  EXPECT_EQ(e.at("resource").as_string(), "GET /x");
  EXPECT_EQ(e.at("result").as_string(), "denied");
  const auto& d = e.at("details").as_object();
  EXPECT_EQ(d.at("count").as_int64(), 7);
  EXPECT_EQ(d.at("recorded_individually").as_int64(), 3);
  EXPECT_EQ(d.at("status").as_int64(), 401);
  EXPECT_EQ(d.at("action").as_string(), "http.denied");
  EXPECT_LE(d.at("first_time").as_string(), d.at("last_time").as_string());
  // The next window starts over: one by one again.
  EXPECT_TRUE(s.Admit("203.0.113.9", "GET /x", 401, Refusal(), t0 + milliseconds(60'001)));
}

TEST(RefusalSummaryTest, APrincipalIsPartOfTheKey) {
  Fixture f;
  RefusalSummaries s(*f.writer, {.threshold = 1, .window = milliseconds(60'000)});
  const auto t0 = Clock::now();
  Event a = Refusal("rate_limited");
  a.actor = {ActorKind::kApiKey, "aaaa"};
  a.tenant = "t1";
  Event b = a;
  b.actor.id = "bbbb";
  EXPECT_TRUE(s.Admit("10.0.0.1", "GET /x", 429, a, t0));
  EXPECT_TRUE(s.Admit("10.0.0.1", "GET /x", 429, b, t0));
  EXPECT_FALSE(s.Admit("10.0.0.1", "GET /x", 429, a, t0));
  s.Stop();
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].at("actor").as_object().at("id").as_string(), "aaaa");
  EXPECT_EQ(entries[0].at("tenant").as_string(), "t1");
}

TEST(RefusalSummaryTest, KeysAreBoundedAndTheRestIsCountedUnderAStar) {
  Fixture f;
  RefusalSummaries s(*f.writer, {.threshold = 5, .window = milliseconds(60'000), .max_keys = 2});
  const auto t0 = Clock::now();
  EXPECT_TRUE(s.Admit("10.0.0.1", "GET /x", 401, Refusal(), t0));
  EXPECT_TRUE(s.Admit("10.0.0.2", "GET /x", 401, Refusal(), t0));
  for (int i = 3; i < 100; ++i) {
    EXPECT_FALSE(s.Admit("10.0.0." + std::to_string(i), "GET /x", 401, Refusal(), t0));
  }
  s.Stop();
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].at("client").as_string(), "*");
  EXPECT_EQ(entries[0].at("details").as_object().at("count").as_int64(), 97);
}

TEST(RefusalSummaryTest, StopWritesOpenWindowsAndLaterRefusalsAreRecordedOneByOne) {
  Fixture f;
  RefusalSummaries s(*f.writer, {.threshold = 1, .window = milliseconds(3'600'000)});
  const auto t0 = Clock::now();
  EXPECT_TRUE(s.Admit("10.0.0.1", "GET /x", 401, Refusal(), t0));
  EXPECT_FALSE(s.Admit("10.0.0.1", "GET /x", 401, Refusal(), t0));
  EXPECT_FALSE(s.Admit("10.0.0.1", "GET /x", 401, Refusal(), t0));
  s.Stop();
  const auto entries = f.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].at("details").as_object().at("count").as_int64(), 2);
  EXPECT_TRUE(s.Admit("10.0.0.1", "GET /x", 401, Refusal(), t0));
  s.Stop();  // twice is fine
}

TEST(RefusalSummaryTest, ThresholdZeroRecordsEveryRefusalOneByOne) {
  Fixture f;
  RefusalSummaries s(*f.writer, {.threshold = 0});
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(s.Admit("10.0.0.1", "GET /x", 401, Refusal()));
}

}  // namespace
}  // namespace bulwark::audit
