// The ledger's append side: chain, WORM, group commit, fail-closed, checkpoints, no secrets.
#include "audit/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>

#include "../keyed_store_env.h"
#include "../store/store_test_util.h"
#include "audit/event.h"
#include "audit/writer.h"
#include "core/canonical_json.h"
#include "core/json_text.h"
#include "core/log.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "crypto/sign.h"
#include "stages/ledger_audit_stage.h"
#include "keyring/keyring.h"
#include "store/migrate.h"

namespace bulwark::audit {
namespace {

using store::TxMode;
using store::Value;
using store::testing::TempDir;

// A SecretBytes can never become an audit detail: the conversion is deleted.
static_assert(!std::is_constructible_v<DetailValue, const crypto::SecretBytes&>);
static_assert(!std::is_convertible_v<const crypto::SecretBytes&, DetailValue>);

struct Fixture : bulwark::testing::KeyedStore {
  std::unique_ptr<Ledger> ledger;

  Fixture() {
    auto l = Ledger::Open(*store, *keys);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    ledger = std::move(*l);
  }

  store::Rows Rows(const std::string& sql) {
    auto tx = store->Begin(TxMode::kRead);
    auto rows = (*tx)->Query(sql);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : store::Rows{};
  }
};

Event SampleEvent(int i) {
  Event e;
  e.actor = {ActorKind::kApiKey, "key-" + std::to_string(i)};
  e.tenant = "tenant-a";
  e.action = "secret.read";
  e.resource = "prod/db/password";
  e.request_id = "req-" + std::to_string(i);
  e.details.emplace_back("n", i);
  return e;
}

// Recomputes the chain from genesis; returns the number of entries.
std::int64_t CheckChain(Fixture& f) {
  crypto::Digest256 prev = GenesisHash(f.ledger->ledger_id());
  std::int64_t expected_seq = 1;
  for (const auto& row : f.Rows("SELECT seq, entry, prev_hash, hash FROM audit_ledger ORDER BY seq")) {
    EXPECT_EQ(row[0].as_int(), expected_seq);
    const auto& entry = row[1].as_bytes();
    EXPECT_TRUE(std::equal(prev.begin(), prev.end(), row[2].as_bytes().begin()));
    crypto::Sha256Hasher h;
    h.Update(std::span<const std::uint8_t>(prev));
    h.Update(std::span<const std::uint8_t>(entry));
    prev = h.Finish();
    EXPECT_TRUE(std::equal(prev.begin(), prev.end(), row[3].as_bytes().begin())) << "seq " << expected_seq;
    auto json = boost::json::parse(std::string(entry.begin(), entry.end()));
    EXPECT_EQ(json.at("seq").as_int64(), expected_seq);
    ++expected_seq;
  }
  return expected_seq - 1;
}

// Simulates a ledger the store refuses to append to (a full disk).
void RefuseLedgerAppends(Fixture& f) {
  auto tx = f.store->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)
                  ->Exec("CREATE TRIGGER ledger_full BEFORE INSERT ON audit_ledger "
                         "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
                  .ok());
  ASSERT_TRUE((*tx)->Commit().ok());
}

TEST(AuditLedgerTest, EntriesAreCanonicalAndChained) {
  Fixture f;
  AuditWriter w(*f.store, *f.ledger, {});
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(w.Record(SampleEvent(i)).ok());
  EXPECT_EQ(CheckChain(f), 20);
  auto rows = f.Rows("SELECT entry FROM audit_ledger WHERE seq = 1");
  const auto& b = rows[0][0].as_bytes();
  const std::string entry(b.begin(), b.end());
  EXPECT_EQ(entry.find(' '), std::string::npos);
  auto v = boost::json::parse(entry).as_object();
  EXPECT_EQ(v.at("action").as_string(), "secret.read");
  EXPECT_EQ(v.at("actor").at("kind").as_string(), "api_key");
  EXPECT_EQ(v.at("result").as_string(), "success");
  EXPECT_EQ(v.at("v").as_int64(), kEventSchemaVersion);
  EXPECT_FALSE(v.at("break_glass").as_bool());
}

TEST(AuditLedgerTest, StoreRefusesUpdateAndDeleteOfLedgerRows) {
  Fixture f;
  AuditWriter w(*f.store, *f.ledger, {.checkpoint_every = 1});
  ASSERT_TRUE(w.Record(SampleEvent(1)).ok());
  w.Stop();
  for (const char* sql : {"UPDATE audit_ledger SET entry = x'00' WHERE seq = 1", "DELETE FROM audit_ledger",
                          "UPDATE audit_checkpoints SET size = 7", "DELETE FROM audit_checkpoints",
                          "DELETE FROM audit_signing_keys", "UPDATE audit_signing_keys SET public_key = x'00'"}) {
    auto tx = f.store->Begin(TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    auto r = (*tx)->Exec(sql);
    EXPECT_FALSE(r.ok()) << sql;
  }
  EXPECT_EQ(CheckChain(f), 1);
  EXPECT_EQ(f.Rows("SELECT COUNT(*) FROM audit_checkpoints")[0][0].as_int(), 1);
}

TEST(AuditLedgerTest, ConcurrentWritersFormOneGapFreeChainInFewerBatches) {
  Fixture f;
  AuditWriter w(*f.store, *f.ledger, {.checkpoint_every = 50});
  constexpr int kThreads = 16;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!w.Record(SampleEvent(t * 1000 + i)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CheckChain(f), kThreads * kEach);
  const WriterStats st = w.stats();
  EXPECT_EQ(st.entries, static_cast<std::uint64_t>(kThreads * kEach));
  // Group commit: concurrent callers share transactions.
  EXPECT_LT(st.batches, static_cast<std::uint64_t>(kThreads * kEach));
}

TEST(AuditLedgerTest, ChangeAndRecordCommitTogetherAndAFailedChangeLeavesNothing) {
  Fixture f;
  {
    auto tx = f.store->Begin(TxMode::kWrite);
    ASSERT_TRUE((*tx)->Exec("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  AuditWriter w(*f.store, *f.ledger, {});
  auto insert = [](std::string name) {
    return [name](store::Transaction& tx) {
      return tx.Exec("INSERT INTO things(name) VALUES (?)", {Value::Text(name)}).status();
    };
  };
  ASSERT_TRUE(w.Commit(insert("a"), SampleEvent(1)).ok());
  // A change that fails: its status comes back, its row and its record do not exist.
  Status dup = w.Commit(
      [](store::Transaction& tx) {
        auto s = tx.Exec("INSERT INTO things(name) VALUES ('half')");
        if (!s.ok()) return s.status();
        return tx.Exec("INSERT INTO things(name) VALUES ('a')").status();  // unique violation
      },
      SampleEvent(2));
  EXPECT_EQ(dup.code(), ErrorCode::kConflict);
  ASSERT_TRUE(w.Commit(insert("b"), SampleEvent(3)).ok());
  EXPECT_EQ(f.Rows("SELECT COUNT(*) FROM things")[0][0].as_int(), 2);
  EXPECT_TRUE(f.Rows("SELECT id FROM things WHERE name = 'half'").empty());
  EXPECT_EQ(CheckChain(f), 2);
}

TEST(AuditLedgerTest, UnwritableLedgerFailsClosedWithNoEffect) {
  Fixture f;
  {
    auto tx = f.store->Begin(TxMode::kWrite);
    ASSERT_TRUE((*tx)->Exec("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  ASSERT_NO_FATAL_FAILURE(RefuseLedgerAppends(f));
  AuditWriter w(*f.store, *f.ledger, {});
  Status s = w.Commit(
      [](store::Transaction& tx) { return tx.Exec("INSERT INTO things(name) VALUES ('x')").status(); },
      SampleEvent(1));
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.reason(), "audit_unavailable");
  EXPECT_FALSE(w.healthy());
  EXPECT_EQ(f.Rows("SELECT COUNT(*) FROM things")[0][0].as_int(), 0);
  EXPECT_EQ(f.Rows("SELECT COUNT(*) FROM audit_ledger")[0][0].as_int(), 0);
}

// Submit's callback: once per event, after its batch committed (the entry is in the store when
// it runs), in submission order; OK only when durable.
TEST(AuditLedgerTest, SubmittedEventsReportOnceEachAfterTheyAreDurable) {
  Fixture f;
  AuditWriter w(*f.store, *f.ledger, {});
  constexpr int kEvents = 200;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> order;
  std::vector<std::int64_t> stored_at_callback;
  for (int i = 0; i < kEvents; ++i) {
    w.Submit(SampleEvent(i), [&, i](Status s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      // Read on another connection: visible, so committed before the callback ran.
      const auto n = f.Rows("SELECT COUNT(*) FROM audit_ledger")[0][0].as_int();
      std::lock_guard lock(mu);
      order.push_back(i);
      stored_at_callback.push_back(n);
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return order.size() == kEvents; }));
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
    EXPECT_GE(stored_at_callback[static_cast<std::size_t>(i)], i + 1);
  }
  lock.unlock();
  EXPECT_EQ(CheckChain(f), kEvents);
  // Entry k holds the k-th event submitted.
  for (const auto& row : f.Rows("SELECT seq, entry FROM audit_ledger ORDER BY seq")) {
    auto json = boost::json::parse(std::string(row[1].as_bytes().begin(), row[1].as_bytes().end()));
    EXPECT_EQ(json.at("request_id").as_string(), "req-" + std::to_string(row[0].as_int() - 1));
  }
}

// Stage 8 with an alert (a tampered secret): the request completes only once its record and the
// alert after it are both durable, so whoever reads the ledger after the answer finds both.
TEST(AuditLedgerTest, AStageRecordWithAnAlertCompletesOnceBothAreDurable) {
  Fixture f;
  // One entry per batch: the record and its alert always commit separately.
  AuditWriter w(*f.store, *f.ledger, {.max_batch = 1});
  stages::LedgerAuditStage stage(w, nullptr);
  const http::Request req;
  for (int i = 0; i < 40; ++i) {
    http::RequestContext ctx{.req = req};
    ctx.request_id = "req-" + std::to_string(i);
    ctx.audit_alert = "secret_integrity";
    std::promise<std::pair<Status, std::int64_t>> got;
    stage.Record(
        ctx, 500, Status::Integrity("a secret version failed its integrity check"), [&](Status s) {
          const auto alerts =
              f.Rows("SELECT COUNT(*) FROM audit_index WHERE action = 'alert.secret_integrity'");
          got.set_value({std::move(s), alerts[0][0].as_int()});
        });
    auto future = got.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    const auto [status, alerts] = future.get();
    EXPECT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(alerts, i + 1) << "the alert of request " << i << " was not durable yet";
  }
  const auto actions = f.Rows("SELECT action FROM audit_index ORDER BY seq");
  ASSERT_EQ(actions.size(), 80u);
  for (std::size_t k = 0; k < actions.size(); k += 2) {  // each record, then its alert
    EXPECT_EQ(actions[k][0].as_text(), "http.failed") << k;
    EXPECT_EQ(actions[k + 1][0].as_text(), "alert.secret_integrity") << k;
  }
}

TEST(AuditLedgerTest, ASubmittedEventThatCannotBeWrittenReportsUnavailable) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(RefuseLedgerAppends(f));
  AuditWriter w(*f.store, *f.ledger, {});
  std::promise<Status> got;
  w.Submit(SampleEvent(1), [&](Status s) { got.set_value(std::move(s)); });
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const Status s = fut.get();
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.reason(), "audit_unavailable");
  EXPECT_FALSE(w.healthy());
  EXPECT_EQ(f.Rows("SELECT COUNT(*) FROM audit_ledger")[0][0].as_int(), 0);

  // After Stop, a submission is refused at once, on the caller's thread.
  w.Stop();
  const auto caller = std::this_thread::get_id();
  bool called = false;
  w.Submit(SampleEvent(2), [&](Status st) {
    called = true;
    EXPECT_EQ(st.reason(), "audit_unavailable");
    EXPECT_EQ(std::this_thread::get_id(), caller);
  });
  EXPECT_TRUE(called);
}

// Stop drains what was submitted before it: every callback runs, each entry is durable.
TEST(AuditLedgerTest, StopCompletesEverySubmissionBeforeIt) {
  Fixture f;
  std::atomic<int> ok{0};
  {
    AuditWriter w(*f.store, *f.ledger, {});
    for (int i = 0; i < 100; ++i) {
      w.Submit(SampleEvent(i), [&](Status s) {
        if (s.ok()) ++ok;
      });
    }
    w.Stop();
    EXPECT_EQ(ok.load(), 100);
  }
  EXPECT_EQ(CheckChain(f), 100);
}

TEST(AuditLedgerTest, CheckpointsAreSignedOverTheirCanonicalBody) {
  Fixture f;
  {
    AuditWriter w(*f.store, *f.ledger, {.checkpoint_every = 10});
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(w.Record(SampleEvent(i)).ok());
  }  // Stop(): a final checkpoint at 25
  auto cps = f.Rows("SELECT size, head_hash, body, key_id, signature FROM audit_checkpoints ORDER BY id");
  ASSERT_GE(cps.size(), 2u);
  EXPECT_EQ(cps.back()[0].as_int(), 25);
  auto head = f.Rows("SELECT hash FROM audit_ledger WHERE seq = 25");
  EXPECT_EQ(cps.back()[1].as_bytes(), head[0][0].as_bytes());
  for (const auto& cp : cps) {
    const auto& body = cp[2].as_bytes();
    EXPECT_TRUE(crypto::Ed25519Verify(f.ledger->public_key(), body, cp[4].as_bytes()));
    auto json = boost::json::parse(std::string(body.begin(), body.end())).as_object();
    EXPECT_EQ(json.at("size").as_int64(), cp[0].as_int());
    EXPECT_EQ(json.at("ledger_id").as_string(), f.ledger->ledger_id());
    EXPECT_EQ(json.at("key_id").as_string(), cp[3].as_text());
    EXPECT_EQ(json.at("type").as_string(), "bulwark.audit.checkpoint.v1");
    // A modified body no longer verifies.
    auto tampered = body;
    tampered[tampered.size() / 2] ^= 1;
    EXPECT_FALSE(crypto::Ed25519Verify(f.ledger->public_key(), tampered, cp[4].as_bytes()));
  }
  // The public key is published in the store; the private half only wrapped.
  auto keys = f.Rows("SELECT public_key FROM audit_signing_keys");
  ASSERT_EQ(keys.size(), 1u);
  const crypto::Ed25519PublicKey pub = f.ledger->public_key();
  EXPECT_TRUE(std::equal(pub.begin(), pub.end(), keys[0][0].as_bytes().begin()));
}

TEST(AuditLedgerTest, ReopeningKeepsTheLedgerIdentityAndChain) {
  Fixture f;
  const std::string id = f.ledger->ledger_id();
  const std::string key_id = f.ledger->key_id();
  {
    AuditWriter w(*f.store, *f.ledger, {});
    ASSERT_TRUE(w.Record(SampleEvent(1)).ok());
  }
  auto again = Ledger::Open(*f.store, *f.keys);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ledger_id(), id);
  EXPECT_EQ((*again)->key_id(), key_id);
  f.ledger = std::move(*again);
  {
    AuditWriter w(*f.store, *f.ledger, {});
    ASSERT_TRUE(w.Record(SampleEvent(2)).ok());
  }
  EXPECT_EQ(CheckChain(f), 2);
}

TEST(AuditEventTest, CredentialNamedDetailsAndControlCharactersNeverReachTheEntry) {
  Event e = SampleEvent(1);
  e.details.emplace_back("api_key", "bwk_live_supersecretvalue");
  e.details.emplace_back("password", "hunter2hunter2");
  e.details.emplace_back("key_id", "k-123");
  e.user_agent = "curl/8\r\n{\"forged\":true}\x01";
  auto bytes = EntryBytes(e, 7);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->find("supersecret"), std::string::npos);
  EXPECT_EQ(bytes->find("hunter2"), std::string::npos);
  EXPECT_NE(bytes->find("k-123"), std::string::npos);
  EXPECT_EQ(bytes->find('\n'), std::string::npos);
  auto v = boost::json::parse(*bytes).as_object();
  EXPECT_EQ(v.at("details").at("api_key").as_string(), "[redacted]");
  EXPECT_EQ(v.at("user_agent").as_string(), "curl/8{\"forged\":true}");
  EXPECT_EQ(v.at("seq").as_int64(), 7);
  EXPECT_TRUE(v.at("tenant").is_string());
}

// The entry as the ledger first built it: a Boost.JSON object canonicalized by
// core::CanonicalJson. EntryBytes writes the members itself and must give the same bytes.
StatusOr<std::string> ReferenceEntryBytes(const Event& e, std::int64_t seq) {
  // Cut at `max` bytes, never inside a character; controls dropped; invalid UTF-8 replaced by
  // U+FFFD, and the result cut back to `max` bytes.
  auto sanitize = [](std::string_view in, std::size_t max) {
    std::string out;
    for (unsigned char c : core::Utf8Prefix(in, max)) {
      if (c >= 0x20 && c != 0x7F) out.push_back(static_cast<char>(c));
    }
    if (!core::IsValidUtf8(out)) {
      std::string quoted;
      core::AppendJsonString(quoted, out);
      out = std::string(boost::json::parse(quoted).as_string());
      out.resize(core::Utf8Prefix(out, max).size());
    }
    return out;
  };
  auto or_null = [&](const std::string& v, std::size_t max) -> boost::json::value {
    if (v.empty()) return nullptr;
    return boost::json::value(sanitize(v, max));
  };
  boost::json::object details;
  for (const auto& [name, value] : e.details) {
    const std::string key = sanitize(name, 64);
    if (log::IsCredentialName(key)) {
      details[key] = "[redacted]";
      continue;
    }
    switch (value.kind()) {
      case DetailValue::Kind::kText:
        details[key] = sanitize(value.text(), 1024);
        break;
      case DetailValue::Kind::kInt:
        details[key] = value.integer();
        break;
      case DetailValue::Kind::kBool:
        details[key] = value.boolean();
        break;
    }
  }
  boost::json::object o{
      {"v", kEventSchemaVersion},
      {"seq", seq},
      {"time", e.time},
      {"actor", boost::json::object{{"kind", ActorKindName(e.actor.kind)},
                                    {"id", or_null(e.actor.id, 1024)}}},
      {"tenant", or_null(e.tenant, 1024)},
      {"action", sanitize(e.action, 128)},
      {"resource", or_null(e.resource, 1024)},
      {"result", ResultName(e.result)},
      {"reason", or_null(e.reason, 1024)},
      {"request_id", or_null(e.request_id, 1024)},
      {"client", or_null(e.client, 1024)},
      {"user_agent", or_null(e.user_agent, 256)},
      {"auth_method", or_null(e.auth_method, 1024)},
      {"break_glass", e.break_glass},
      {"details", std::move(details)},
  };
  return core::CanonicalJson(o);
}

TEST(AuditEventTest, EntryBytesAreTheCanonicalJsonOfTheEvent) {
  std::vector<Event> events;
  events.push_back(SampleEvent(1));
  {
    Event e;  // every optional member empty, no details
    e.action = "http.denied";
    e.result = Result::kDenied;
    events.push_back(e);
  }
  {
    Event e = SampleEvent(2);
    e.actor = {ActorKind::kUser, "usr-\u00e9\"\\"};
    e.reason = "tenant_mismatch";
    e.client = "2001:db8::1";
    e.user_agent = std::string(300, 'u') + "\x01\n";
    e.auth_method = "magic_link";
    e.break_glass = true;
    e.resource = std::string("secret:caf\xC3\xA9/\xF0\x9F\x98\x80/\xEE\x80\x80") + "\xFF\xFE";
    e.details.clear();
    // Names that sort differently in UTF-8 and UTF-16, a repeated name (the last value wins), a
    // credential name, controls, an integer at the limit, booleans and an empty name.
    e.details.emplace_back("\xEE\x80\x80", 1);
    e.details.emplace_back("\xF0\x9F\x98\x80", 2);
    e.details.emplace_back("b", "first");
    e.details.emplace_back("a", true);
    e.details.emplace_back("b", "second\ttab");
    e.details.emplace_back("password", "hunter2");
    e.details.emplace_back("Z", std::int64_t{1} << 53);
    e.details.emplace_back("neg", -(std::int64_t{1} << 53));
    e.details.emplace_back("", false);
    e.details.emplace_back("long", std::string(2000, 'x'));
    events.push_back(e);
  }
  {
    // Limits that fall inside a character, and replacements that would pass the limit.
    Event e = SampleEvent(5);
    e.user_agent = std::string(255, 'a') + "\xC3\xA9";
    e.actor.id = std::string(1023, 'x') + "\xF0\x9F\x98\x80";
    e.reason = std::string(1024, '\xFF');
    e.resource = std::string(1000, 'r') + std::string(24, '\x80');
    e.details.emplace_back("bytes", std::string(1000, 'd') + std::string(30, '\xFE'));
    events.push_back(e);
  }
  for (ActorKind k :
       {ActorKind::kAnonymous, ActorKind::kApiKey, ActorKind::kOperator, ActorKind::kSystem}) {
    Event e = SampleEvent(3);
    e.actor.kind = k;
    e.result = Result::kError;
    events.push_back(e);
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    e.time = "2026-11-23T10:00:00.000001Z";
    const auto seq = static_cast<std::int64_t>(i) + 1;
    auto want = ReferenceEntryBytes(e, seq);
    auto got = EntryBytes(e, seq);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, *want) << "event " << i;
    EXPECT_TRUE(core::IsCanonical(*got));
    // Built before the seq is known, the entry is the same for any seq, up to 2^53.
    auto prepared = PrepareEntry(e);
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    EXPECT_EQ(prepared->time, e.time);
    for (std::int64_t n : {seq, std::int64_t{1234567890123}, std::int64_t{1} << 53}) {
      auto filled = prepared->Fill(n);
      auto reference = ReferenceEntryBytes(e, n);
      ASSERT_TRUE(filled.ok() && reference.ok());
      EXPECT_EQ(*filled, *reference) << "event " << i << " seq " << n;
    }
    EXPECT_EQ(prepared->Fill((std::int64_t{1} << 53) + 1).status().reason(), "non_canonicalizable");
  }
  // An integer a double cannot hold is refused, as CanonicalJson refuses it.
  Event big = SampleEvent(4);
  big.details.emplace_back("n2", (std::int64_t{1} << 53) + 1);
  EXPECT_EQ(EntryBytes(big, 1).status().reason(), "non_canonicalizable");
  EXPECT_EQ(ReferenceEntryBytes(big, 1).status().reason(), "non_canonicalizable");
}

// A field is cut to its limit in bytes, and the cut never leaves half a character behind: not
// when the limit falls inside a valid character, and not when replacing invalid bytes by U+FFFD
// (three bytes each) would make the text longer than the limit.
TEST(AuditEventTest, SanitizedFieldsStayWithinTheirLimitAndNeverCutACharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  Event e = SampleEvent(1);
  e.user_agent = std::string(255, 'a') + "\xC3\xA9" + "tail";  // the é straddles byte 256
  e.actor.id = std::string(1023, 'x') + "\xF0\x9F\x98\x80";    // the emoji straddles byte 1024
  e.reason = std::string(1024, '\xFF');                        // every byte invalid
  e.resource = std::string(1000, 'r') + std::string(24, '\x80');
  auto bytes = EntryBytes(e, 1);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto v = boost::json::parse(*bytes).as_object();
  EXPECT_EQ(v.at("user_agent").as_string(), std::string(255, 'a'));
  EXPECT_EQ(v.at("actor").at("id").as_string(), std::string(1023, 'x'));
  std::string reason(v.at("reason").as_string());
  EXPECT_EQ(reason.size(), 1023u);  // 341 replacement characters: a 342nd would pass 1024
  for (std::size_t i = 0; i < reason.size(); i += 3) EXPECT_EQ(reason.substr(i, 3), fffd) << i;
  std::string resource(v.at("resource").as_string());
  EXPECT_LE(resource.size(), 1024u);
  EXPECT_TRUE(core::IsValidUtf8(resource));
  EXPECT_EQ(resource.substr(0, 1000), std::string(1000, 'r'));
  EXPECT_EQ(resource.substr(1000), fffd + fffd + fffd + fffd + fffd + fffd + fffd + fffd);
}

TEST(AuditEventTest, AnEventWithoutActionIsRefused) {
  Event e;
  EXPECT_EQ(EntryBytes(e, 1).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(PrepareEntry(e).status().reason(), "invalid_event");
}

// An event without a time is stamped when its entry is built; the entry and the index row hold
// the same stamp.
TEST(AuditLedgerTest, AnUnstampedEventGetsOneTimeInItsEntryAndItsIndexRow) {
  Fixture f;
  std::promise<Status> got;
  AuditWriter w(*f.store, *f.ledger, {});
  Event e = SampleEvent(1);
  ASSERT_TRUE(e.time.empty());
  ASSERT_TRUE(w.Record(e).ok());
  w.Submit(SampleEvent(2), [&](Status s) { got.set_value(std::move(s)); });
  ASSERT_TRUE(got.get_future().get().ok());
  auto rows = f.Rows(
      "SELECT l.entry, i.time FROM audit_ledger l JOIN audit_index i ON i.seq = l.seq ORDER BY "
      "l.seq");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    auto json = boost::json::parse(std::string(row[0].as_bytes().begin(), row[0].as_bytes().end()));
    const std::string time(json.at("time").as_string());
    EXPECT_EQ(time.size(), std::string("2026-11-24T03:00:00.000000Z").size()) << time;
    EXPECT_EQ(row[1].as_text(), time);
  }
}

// An event that cannot become an entry is refused on its own, at once, on the caller's thread;
// the events submitted around it are written as usual (before, it failed the batch it fell in).
TEST(AuditLedgerTest, ASubmittedEventThatCannotBecomeAnEntryFailsAlone) {
  Fixture f;
  constexpr int kEvents = 50;
  std::mutex mu;  // outlive the writer, whose Stop runs what is left of the callbacks
  std::condition_variable cv;
  int ok = 0;
  AuditWriter w(*f.store, *f.ledger, {});
  for (int i = 0; i < kEvents; ++i) {
    w.Submit(SampleEvent(i), [&](Status s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      std::lock_guard lock(mu);
      ++ok;
      cv.notify_all();
    });
    if (i == kEvents / 2) {
      Event bad = SampleEvent(-1);
      bad.action.clear();
      const auto caller = std::this_thread::get_id();
      bool called = false;
      w.Submit(bad, [&](Status s) {
        called = true;
        EXPECT_EQ(s.reason(), "invalid_event");
        EXPECT_EQ(std::this_thread::get_id(), caller);
      });
      EXPECT_TRUE(called);
    }
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return ok == kEvents; }));
  lock.unlock();
  EXPECT_TRUE(w.healthy());
  EXPECT_EQ(CheckChain(f), kEvents);
  EXPECT_EQ(w.Record(Event{}).reason(), "invalid_event");
  EXPECT_EQ(CheckChain(f), kEvents);
}

}  // namespace
}  // namespace bulwark::audit

namespace bulwark::audit {
namespace {

TEST(AuditLedgerTest, InsertOrReplaceCannotRewriteAnEntry) {
  Fixture f;
  AuditWriter w(*f.store, *f.ledger, {});
  ASSERT_TRUE(w.Record(SampleEvent(1)).ok());
  w.Stop();
  auto tx = f.store->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto r = (*tx)->Exec("INSERT OR REPLACE INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (1, x'7b7d', x'00', x'00')");
  EXPECT_FALSE(r.ok());
  tx->reset();
  EXPECT_EQ(CheckChain(f), 1);
}

TEST(AuditLedgerTest, AChangeThatThrowsFailsOnlyItsCaller) {
  Fixture f;
  AuditWriter w(*f.store, *f.ledger, {});
  Status s = w.Commit([](store::Transaction&) -> Status { throw std::runtime_error("boom"); }, SampleEvent(1));
  EXPECT_EQ(s.code(), ErrorCode::kInternal);
  EXPECT_TRUE(w.Record(SampleEvent(2)).ok());
  EXPECT_TRUE(w.healthy());
  EXPECT_EQ(CheckChain(f), 1);
}

}  // namespace
}  // namespace bulwark::audit
