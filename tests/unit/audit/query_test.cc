// Querying the audit trail: tenant-scoped, filtered, paginated, strict about its inputs.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "audit/ledger.h"
#include "audit/query.h"
#include "audit/writer.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "keyring/keyring.h"
#include "store/migrate.h"
#include "../store/store_test_util.h"

namespace bulwark::audit {
namespace {

class AuditQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::testing::MustOpen(store::testing::Options(dir_.File("db.sqlite")));
    ASSERT_TRUE(store::Migrate(*store_).ok());
    keyring::MasterKeySource src;
    std::vector<std::uint8_t> raw(32);
    ASSERT_TRUE(crypto::RandomBytes(raw).ok());
    src.material = crypto::SecretBytes::FromString(crypto::Base64Encode(raw));
    keys_ = std::move(*keyring::Keyring::Open(src, *store_));
    ledger_ = std::move(*Ledger::Open(*store_, *keys_));
    AuditWriter w(*store_, *ledger_, {});
    // tenant-a: 30 events alternating actions and results; tenant-b: 5; no tenant: 2.
    for (int i = 0; i < 30; ++i) {
      Event e;
      e.tenant = "tenant-a";
      e.actor = {ActorKind::kUser, i % 3 == 0 ? "alice" : "bob"};
      e.action = i % 2 == 0 ? "auth.verify" : "secret.read";
      e.result = i % 5 == 0 ? Result::kDenied : Result::kSuccess;
      e.time = "2026-11-22T10:00:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".000000Z";
      e.request_id = "a" + std::to_string(i);
      ASSERT_TRUE(w.Record(e).ok());
    }
    for (int i = 0; i < 5; ++i) {
      Event e;
      e.tenant = "tenant-b";
      e.action = "auth.verify";
      e.request_id = "b" + std::to_string(i);
      ASSERT_TRUE(w.Record(e).ok());
    }
    for (int i = 0; i < 2; ++i) {
      Event e;
      e.action = "http.denied";
      e.result = Result::kDenied;
      ASSERT_TRUE(w.Record(e).ok());
    }
  }

  std::vector<std::string> Ids(const EventPage& page) {
    std::vector<std::string> ids;
    for (const auto& e : page.entries) ids.emplace_back(boost::json::parse(e).at("request_id").as_string());
    return ids;
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<keyring::Keyring> keys_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(AuditQueryTest, OnlyTheCallersTenantNewestFirst) {
  auto page = QueryEvents(*store_, {.tenant = "tenant-b"});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Ids(*page), (std::vector<std::string>{"b4", "b3", "b2", "b1", "b0"}));
  EXPECT_TRUE(page->next_cursor.empty());
  auto none = QueryEvents(*store_, {.tenant = "tenant-zzz"});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->entries.empty());
}

TEST_F(AuditQueryTest, AnEmptyTenantSeesNothing) {
  auto page = QueryEvents(*store_, {});
  EXPECT_EQ(page.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(page.status().reason(), "tenant_unknown");
}

TEST_F(AuditQueryTest, PagesCoverEverythingExactlyOnce) {
  std::vector<std::string> all;
  EventQuery q{.tenant = "tenant-a", .limit = 7};
  int pages = 0;
  for (;;) {
    auto page = QueryEvents(*store_, q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    auto ids = Ids(*page);
    all.insert(all.end(), ids.begin(), ids.end());
    ++pages;
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  EXPECT_EQ(pages, 5);  // 7+7+7+7+2
  ASSERT_EQ(all.size(), 30u);
  EXPECT_EQ(all.front(), "a29");
  EXPECT_EQ(all.back(), "a0");
  std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), 30u);
}

TEST_F(AuditQueryTest, FiltersCombine) {
  auto verify = QueryEvents(*store_, {.tenant = "tenant-a", .action = "auth.verify"});
  ASSERT_TRUE(verify.ok());
  EXPECT_EQ(verify->entries.size(), 15u);
  auto prefix = QueryEvents(*store_, {.tenant = "tenant-a", .action = "auth.*"});
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(prefix->entries.size(), 15u);
  auto alice_denied = QueryEvents(*store_, {.tenant = "tenant-a", .actor_id = "alice", .result = "denied"});
  ASSERT_TRUE(alice_denied.ok());
  EXPECT_EQ(Ids(*alice_denied), (std::vector<std::string>{"a15", "a0"}));  // i%3==0 && i%5==0
  auto window = QueryEvents(*store_, {.tenant = "tenant-a", .since = "2026-11-22T10:00:10Z",
                                      .until = "2026-11-22T10:00:13Z"});
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(Ids(*window), (std::vector<std::string>{"a12", "a11", "a10"}));
  // A LIKE-style wildcard is not special: only the ".*" suffix is.
  auto literal = QueryEvents(*store_, {.tenant = "tenant-a", .action = "auth%"});
  ASSERT_TRUE(literal.ok());
  EXPECT_TRUE(literal->entries.empty());
}

TEST_F(AuditQueryTest, BadInputsHaveStableReasons) {
  EXPECT_EQ(QueryEvents(*store_, {.tenant = "tenant-a", .limit = 0}).status().reason(), "invalid_limit");
  EXPECT_EQ(QueryEvents(*store_, {.tenant = "tenant-a", .limit = 501}).status().reason(), "invalid_limit");
  EXPECT_EQ(QueryEvents(*store_, {.tenant = "tenant-a", .result = "ok"}).status().reason(), "invalid_result");
  EXPECT_EQ(QueryEvents(*store_, {.tenant = "tenant-a", .since = "yesterday"}).status().reason(), "invalid_time");
  EXPECT_EQ(QueryEvents(*store_, {.tenant = "tenant-a", .cursor = "not-a-cursor"}).status().reason(),
            "invalid_cursor");
  const std::string forged = crypto::Base64UrlEncode(crypto::AsBytes("v1:-5"));
  EXPECT_EQ(QueryEvents(*store_, {.tenant = "tenant-a", .cursor = forged}).status().reason(), "invalid_cursor");
}

TEST_F(AuditQueryTest, ACursorFromAnotherTenantRevealsNothingOfIt) {
  auto a = QueryEvents(*store_, {.tenant = "tenant-a", .limit = 1});
  ASSERT_TRUE(a.ok());
  auto b = QueryEvents(*store_, {.tenant = "tenant-b", .cursor = a->next_cursor});
  ASSERT_TRUE(b.ok());
  for (const auto& id : Ids(*b)) EXPECT_EQ(id[0], 'b');
}

}  // namespace
}  // namespace bulwark::audit
