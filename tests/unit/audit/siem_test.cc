// SIEM export: RFC 5424 formatting, octet-counting framing, and the exporter's delivery
// guarantees (in order, at least once, no gap) against a real TCP receiver on loopback; with
// several nodes on one PostgreSQL (pg_server.h), one exporter per sink at a time (the lease).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "../keyed_store_env.h"
#include "../run_program.h"
#include "../store/pg_server.h"
#include "../store/store_test_util.h"
#include "audit/event.h"
#include "audit/export.h"
#include "audit/ledger.h"
#include "audit/siem/audit_export.h"
#include "audit/siem/exporter.h"
#include "audit/siem/file_sink.h"
#include "audit/siem/syslog_format.h"
#include "audit/siem/syslog_sink.h"
#include "audit/writer.h"
#include "core/clock.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/tls_context.h"
#include "keyring/keyring.h"
#include "store/migrate.h"
#include "store/postgres/pg_store.h"

namespace bulwark::audit::siem {
namespace {

using namespace std::chrono_literals;
using store::testing::TempDir;

// ------------------------------------------------------------------------------------------
// Formatting

TEST(SyslogFormatTest, PriorityIsFacilityTimesEightPlusSeverityFromResult) {
  EXPECT_EQ(SyslogPriority(13, "success"), 13 * 8 + 6);
  EXPECT_EQ(SyslogPriority(13, "denied"), 13 * 8 + 5);
  EXPECT_EQ(SyslogPriority(13, "error"), 13 * 8 + 3);
  EXPECT_EQ(SyslogPriority(16, "success"), 134);  // local0.info
  EXPECT_EQ(SyslogPriority(10, "denied"), 85);    // authpriv.notice
  EXPECT_EQ(SyslogPriority(0, "unexpected"), 3);  // unknown results are treated as errors
  EXPECT_EQ(SyslogPriority(23, "success"), 190);
}

TEST(SyslogFormatTest, SdParamValuesEscapeQuoteBackslashAndBracket) {
  EXPECT_EQ(EscapeSdParamValue("plain-id"), "plain-id");
  EXPECT_EQ(EscapeSdParamValue(R"(a"b\c]d)"), R"(a\"b\\c\]d)");
  EXPECT_EQ(EscapeSdParamValue("[x="), "[x=");  // only the three characters of RFC 5424 §6.3.3
}

TEST(SyslogFormatTest, HeaderFieldsArePrintableAsciiAndBounded) {
  EXPECT_EQ(PrintUsAscii("http.denied", 32), "http.denied");
  EXPECT_EQ(PrintUsAscii("a b\tc\xC3\xA9", 32), "abc");
  EXPECT_EQ(PrintUsAscii("", 32), "-");
  EXPECT_EQ(PrintUsAscii(" \n", 32), "-");
  EXPECT_EQ(PrintUsAscii(std::string(100, 'x'), 32).size(), 32u);
}

TEST(SyslogFormatTest, TimestampsFollowRfc5424) {
  EXPECT_TRUE(IsRfc5424Timestamp("2026-11-22T23:30:00.123456Z"));
  EXPECT_TRUE(IsRfc5424Timestamp("2026-11-22T23:30:00Z"));
  EXPECT_TRUE(IsRfc5424Timestamp("2026-11-22T23:30:00.1+01:00"));
  EXPECT_FALSE(IsRfc5424Timestamp("2026-11-22T23:30:00.1234567Z"));  // at most 6 fraction digits
  EXPECT_FALSE(IsRfc5424Timestamp("2026-11-22 23:30:00Z"));
  EXPECT_FALSE(IsRfc5424Timestamp("2026-11-22T23:30:00"));
  EXPECT_FALSE(IsRfc5424Timestamp(""));
}

TEST(SyslogFormatTest, RecordCarriesEntryTimeActionSeqLedgerAndTheExactEntryBytes) {
  const std::string entry =
      R"({"action":"http.denied","result":"denied","seq":7,"time":"2026-11-22T23:30:00.123456Z"})";
  const SyslogIdentity id{
      .facility = 13, .hostname = "host1", .procid = "4242", .ledger_id = R"(led"ger])"};
  const std::string msg = FormatSyslogRecord(id, 7, entry);
  EXPECT_EQ(msg,
            "<109>1 2026-11-22T23:30:00.123456Z host1 bulwark 4242 http.denied "
            "[bulwark@32473 seq=\"7\" ledger=\"led\\\"ger\\]\"] \xEF\xBB\xBF" +
                entry);
}

TEST(SyslogFormatTest, CheckpointRecordCarriesWhatARuleChecksAndTheExportLine) {
  const SyslogIdentity id{.facility = 13, .hostname = "h", .procid = "9", .ledger_id = "L"};
  bulwark::audit::LedgerCheckpoint cp{
      .id = 4,
      .body = R"({"head_hash":"ab","key_id":"ed25519:k","ledger_id":"L","size":12,)"
              R"("time":"2026-11-22T23:30:00.123456Z","type":"bulwark.audit.checkpoint.v1"})",
      .key_id = "ed25519:k",
      .signature = {1, 2, 3},
      .has_columns = true,
      .size = 12,
      .head_hash = {0xab}};
  const std::string msg = FormatSyslogCheckpoint(id, cp);
  EXPECT_EQ(msg.rfind("<109>1 2026-11-22T23:30:00.123456Z h bulwark 9 audit.checkpoint "
                      R"([checkpoint@32473 ledger="L" size="12" head_hash="ab" key_id="ed25519:k" )"
                      R"(signature="AQID" id="4"] )"
                      "\xEF\xBB\xBF",
                      0),
            0u)
      << msg;
  std::string line = bulwark::audit::CheckpointLine(cp);
  line.pop_back();  // the newline
  EXPECT_EQ(msg.substr(msg.size() - line.size()), line);
  EXPECT_EQ(msg.find("seq="), std::string::npos);  // never counted as an entry
}

TEST(SyslogFormatTest, DamagedEntryIsStillShippedWhole) {
  const SyslogIdentity id{.facility = 1, .hostname = "", .procid = "", .ledger_id = "L"};
  const std::string msg = FormatSyslogRecord(id, 3, "not json");
  EXPECT_EQ(msg,
            "<11>1 - - bulwark - - [bulwark@32473 seq=\"3\" ledger=\"L\"] \xEF\xBB\xBFnot json");
}

TEST(SyslogFormatTest, OctetCountingCountsBytesNotCharacters) {
  EXPECT_EQ(FrameOctetCounting("abc"), "3 abc");
  EXPECT_EQ(FrameOctetCounting("\xC3\xA9"), "2 \xC3\xA9");
  EXPECT_EQ(FrameOctetCounting(""), "0 ");
  const std::string big(1000, 'x');
  EXPECT_EQ(FrameOctetCounting(big), "1000 " + big);
}

TEST(SyslogFormatTest, AddressParsing) {
  auto a = ParseSyslogAddress("127.0.0.1:514");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 514);
  auto b = ParseSyslogAddress("[::1]:6514");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(b->second, 6514);
  auto c = ParseSyslogAddress("siem.example.com:6514");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->first, "siem.example.com");
  for (const char* bad : {"", "host", "host:", ":514", "host:0", "host:65536", "host:51x",
                          "::1:514", "[::1]514", "ho st:514"}) {
    EXPECT_FALSE(ParseSyslogAddress(bad).ok()) << bad;
  }
}

TEST(SyslogConfigTest, ProductionRefusesPlainTcpBeyondLoopback) {
  config::Config c;
  std::vector<config::ConfigProblem> problems;
  c.audit_syslog_address = "127.0.0.1:514";
  CheckExportConfig(c, true, problems);
  EXPECT_TRUE(problems.empty());
  c.audit_syslog_address = "localhost:514";
  CheckExportConfig(c, true, problems);
  EXPECT_TRUE(problems.empty());

  c.audit_syslog_address = "10.1.2.3:514";
  CheckExportConfig(c, true, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].severity, config::ConfigProblem::Severity::kError);
  EXPECT_NE(problems[0].message.find("syslog over plain TCP beyond loopback"), std::string::npos);
  problems.clear();
  CheckExportConfig(c, false, problems);  // dev: a warning
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].severity, config::ConfigProblem::Severity::kWarning);

  problems.clear();
  c.audit_syslog_tls = true;
  c.audit_syslog_ca_file = "/nonexistent/ca.pem";
  CheckExportConfig(c, true, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].key, "audit.syslog_ca_file");

  problems.clear();
  c.audit_syslog_address = "nohostport";
  CheckExportConfig(c, true, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].key, "audit.syslog_address");
}

// ------------------------------------------------------------------------------------------
// A real syslog receiver on loopback: octet-counted frames over TCP, one connection at a time.

class TestReceiver {
 public:
  // Listens on 127.0.0.1:`port` (0: any free port). If `close_after` > 0, the first connection
  // is closed abruptly after that many messages (unread bytes make the kernel send a reset).
  explicit TestReceiver(std::uint16_t port = 0, int close_after = 0) : close_after_(close_after) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~TestReceiver() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::uint16_t port() const { return port_; }

  // Seqs received, one list per connection, in arrival order.
  std::vector<std::vector<std::int64_t>> connections() {
    std::lock_guard lock(mu_);
    return conns_;
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  // The checkpoint records, in arrival order.
  std::vector<std::string> checkpoints() {
    std::lock_guard lock(mu_);
    return checkpoints_;
  }
  // Everything in arrival order: (true, size) for a checkpoint, (false, seq) for an entry.
  std::vector<std::pair<bool, std::int64_t>> stream() {
    std::lock_guard lock(mu_);
    return stream_;
  }
  std::size_t distinct() {
    std::lock_guard lock(mu_);
    std::set<std::int64_t> s;
    for (const auto& c : conns_) s.insert(c.begin(), c.end());
    return s.size();
  }

 private:
  void Run() {
    bool first = true;
    while (!stop_) {
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      {
        std::lock_guard lock(mu_);
        conns_.emplace_back();
      }
      Serve(c, first ? close_after_ : 0);
      first = false;
      ::close(c);
    }
  }

  // Reads frames until EOF, stop, or `limit` messages (0: no limit).
  void Serve(int c, int limit) {
    std::string buf;
    int count = 0;
    static const std::regex kSeq(R"re(\[bulwark@32473 seq="(\d+)")re");
    static const std::regex kCheckpoint(R"re( audit\.checkpoint \[checkpoint@32473 ledger="[^"]*" size="(\d+)")re");
    while (!stop_) {
      pollfd p{.fd = c, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char chunk[4096];
      const ssize_t n =
          ::recv(c, chunk, limit > 0 ? 256 : sizeof chunk, 0);  // small reads: stop mid-stream
      if (n <= 0) return;
      buf.append(chunk, static_cast<std::size_t>(n));
      for (;;) {
        const auto sp = buf.find(' ');
        if (sp == std::string::npos) break;
        const std::size_t len = std::stoul(buf.substr(0, sp));
        if (buf.size() < sp + 1 + len) break;
        std::string msg = buf.substr(sp + 1, len);
        buf.erase(0, sp + 1 + len);
        std::smatch m;
        if (std::regex_search(msg, m, kCheckpoint)) {
          std::lock_guard lock(mu_);
          stream_.push_back({true, std::stoll(m[1].str())});
          checkpoints_.push_back(std::move(msg));
          continue;  // `limit` counts entries
        }
        EXPECT_TRUE(std::regex_search(msg, m, kSeq)) << msg;
        {
          std::lock_guard lock(mu_);
          conns_.back().push_back(std::stoll(m[1].str()));
          stream_.push_back({false, std::stoll(m[1].str())});
          messages_.push_back(std::move(msg));
        }
        if (limit > 0 && ++count >= limit) return;  // unread bytes remain: the close resets
      }
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  int close_after_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::vector<std::int64_t>> conns_;
  std::vector<std::string> messages_;
  std::vector<std::string> checkpoints_;
  std::vector<std::pair<bool, std::int64_t>> stream_;
  std::thread thread_;
};

std::uint16_t FreePort() {
  TestReceiver r;
  const auto port = r.port();
  r.Stop();
  return port;
}

// ------------------------------------------------------------------------------------------
// Exporter against a real store and ledger.

struct Fixture : bulwark::testing::KeyedLedger {

  void Record(int n) {
    for (int i = 0; i < n; ++i) {
      Event e;
      e.action = i % 3 == 0 ? "http.denied" : "secret.read";
      e.result = i % 3 == 0 ? Result::kDenied : Result::kSuccess;
      e.request_id = "req-" + std::to_string(i);
      ASSERT_TRUE(writer->Record(std::move(e)).ok());
    }
  }

  // Signs the current head in its own transaction, as the writer's interval timer does.
  void CheckpointNow() {
    auto tx = store->Begin(store::TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    auto head = ledger->ReadHead(**tx);
    ASSERT_TRUE(head.ok());
    ASSERT_TRUE(ledger->WriteCheckpoint(**tx, *head).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }

  // (id, size) of every checkpoint, in id order.
  std::vector<std::pair<std::int64_t, std::int64_t>> Checkpoints() {
    auto tx = store->Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query("SELECT id, size FROM audit_checkpoints ORDER BY id");
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& r : *rows) out.emplace_back(r[0].as_int(), r[1].as_int());
    return out;
  }

  std::vector<std::string> Entries() {
    auto tx = store->Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query("SELECT entry FROM audit_ledger ORDER BY seq");
    std::vector<std::string> out;
    for (const auto& r : *rows) out.emplace_back(r[0].as_bytes().begin(), r[0].as_bytes().end());
    return out;
  }

  std::unique_ptr<SyslogSink> Sink(std::uint16_t port) {
    auto s = SyslogSink::Create(
        {.host = "127.0.0.1",
         .port = port,
         .connect_timeout = 1000ms,
         .write_timeout = 2000ms,
         .confirm_grace = 100ms},
        {.facility = 13, .hostname = "testhost", .procid = "1", .ledger_id = ledger->ledger_id()});
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  }
};

constexpr ExporterOptions kFast{.batch = 50,
                                .poll = 20ms,
                                .backoff_initial = 10ms,
                                .backoff_max = 100ms,
                                .persist_interval = 50ms,
                                .drain = 2000ms};

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 10'000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// In order, at least once, no gap: every connection carries consecutive seqs, starts no later
// than one past the highest seq delivered before it, and together they cover 1..n.
void ExpectInOrderNoGap(const std::vector<std::vector<std::int64_t>>& conns, std::int64_t n) {
  std::int64_t high = 0;
  for (const auto& c : conns) {
    if (c.empty()) continue;
    EXPECT_LE(c.front(), high + 1) << "gap before a reconnect";
    for (std::size_t i = 1; i < c.size(); ++i)
      ASSERT_EQ(c[i], c[i - 1] + 1) << "out of order or gap";
    high = std::max(high, c.back());
  }
  EXPECT_EQ(high, n);
}

TEST(ExporterTest, DeliversEveryEntryInOrderAndPersistsTheCursor) {
  Fixture f;
  TestReceiver rx;
  f.Record(120);
  Exporter ex(*f.store, f.Sink(rx.port()), kFast);
  ASSERT_TRUE(ex.Start().ok());
  f.Record(30);  // more while it runs: picked up by polling
  ASSERT_TRUE(WaitFor([&] { return ex.lag() == 0 && ex.cursor() == 150; })) << ex.lag();
  // Delivered means acknowledged by the receiver's TCP; its thread may still be parsing.
  ASSERT_TRUE(WaitFor([&] { return rx.messages().size() >= 150; })) << rx.messages().size();
  EXPECT_TRUE(ex.connected());
  ex.Stop();
  ExpectInOrderNoGap(rx.connections(), 150);
  EXPECT_EQ(rx.connections().size(), 1u);
  EXPECT_EQ(rx.messages().size(), 150u);  // no failure: no duplicate
  auto cursor = ReadExportCursor(*f.store, "syslog");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 150);

  // Each message ends with the exact ledger bytes after the BOM.
  const auto entries = f.Entries();
  const auto msgs = rx.messages();
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto bom = msgs[i].find("\xEF\xBB\xBF");
    ASSERT_NE(bom, std::string::npos);
    EXPECT_EQ(msgs[i].substr(bom + 3), entries[i]);
    EXPECT_TRUE(msgs[i].starts_with(i % 3 == 0 ? "<109>1 " : "<110>1 ")) << msgs[i];
  }
}

// Runs an exporter until it has shipped the whole ledger, then destroys it: stopped, cursor
// persisted, lease released.
void ExportAll(Fixture& f, std::uint16_t port) {
  Exporter ex(*f.store, f.Sink(port), kFast);
  ASSERT_TRUE(ex.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return ex.lag() == 0; }));
}

TEST(ExporterTest, ResumesFromThePersistedCursorAfterARestart) {
  Fixture f;
  TestReceiver rx;
  f.Record(40);
  ExportAll(f, rx.port());
  f.Record(25);
  Exporter ex2(*f.store, f.Sink(rx.port()), kFast);
  ASSERT_TRUE(ex2.Start().ok());
  EXPECT_EQ(ex2.cursor(), 40);
  ASSERT_TRUE(WaitFor([&] { return ex2.lag() == 0 && ex2.cursor() == 65; }));
  ASSERT_TRUE(WaitFor([&] { return rx.messages().size() >= 65; })) << rx.messages().size();
  ex2.Stop();
  const auto conns = rx.connections();
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_EQ(conns[1].front(), 41);  // nothing resent, nothing skipped
  ExpectInOrderNoGap(conns, 65);
}

TEST(ExporterTest, ForcedDisconnectMidBatchLosesNothing) {
  Fixture f;
  f.Record(200);
  TestReceiver rx(0, /*close_after=*/17);  // drops the first connection in the middle of batch 1
  Exporter ex(*f.store, f.Sink(rx.port()), kFast);
  ASSERT_TRUE(ex.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return ex.lag() == 0 && ex.cursor() == 200; })) << ex.lag();
  ASSERT_TRUE(WaitFor([&] { return rx.distinct() >= 200u; })) << rx.distinct();
  ex.Stop();
  const auto conns = rx.connections();
  ASSERT_GE(conns.size(), 2u);
  EXPECT_EQ(conns[0].size(), 17u);
  ExpectInOrderNoGap(conns, 200);
  EXPECT_EQ(rx.distinct(), 200u);
  EXPECT_EQ(*ReadExportCursor(*f.store, "syslog"), 200);
}

TEST(ExporterTest, ReceiverDownShowsLagThenCatchesUpWithoutBlockingWriters) {
  Fixture f;
  const std::uint16_t port = FreePort();
  Exporter ex(*f.store, f.Sink(port), kFast);
  ASSERT_TRUE(ex.Start().ok());
  const auto t0 = std::chrono::steady_clock::now();
  f.Record(30);  // the ledger does not wait for the receiver
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  ASSERT_TRUE(WaitFor([&] { return ex.lag() == 30; }));
  EXPECT_FALSE(ex.connected());
  TestReceiver rx(port);
  ASSERT_TRUE(WaitFor([&] { return ex.lag() == 0; })) << ex.lag();
  EXPECT_TRUE(ex.connected());
  ex.Stop();
  ExpectInOrderNoGap(rx.connections(), 30);
}

TEST(ExporterTest, StopWhileReceiverIsDownIsPromptAndKeepsTheCursor) {
  Fixture f;
  f.Record(10);
  Exporter ex(*f.store, f.Sink(FreePort()), kFast);
  ASSERT_TRUE(ex.Start().ok());
  std::this_thread::sleep_for(100ms);
  const auto t0 = std::chrono::steady_clock::now();
  ex.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  EXPECT_EQ(*ReadExportCursor(*f.store, "syslog"), 0);
}

TEST(FileSinkTest, LinesAreTheLedgerEntriesInOrder) {
  Fixture f;
  const std::string path = f.dir.File("audit.jsonl");
  {
    std::ofstream torn(path);
    torn << "{\"torn";  // a line cut by a crash is ended, never glued to the next entry
  }
  f.Record(70);
  {
    Exporter ex(*f.store, std::make_unique<FileSink>(path), kFast);
    ASSERT_TRUE(ex.Start().ok());
    ASSERT_TRUE(WaitFor([&] { return ex.lag() == 0; }));
  }
  f.Record(5);
  {
    Exporter ex(*f.store, std::make_unique<FileSink>(path), kFast);
    ASSERT_TRUE(ex.Start().ok());
    ASSERT_TRUE(WaitFor([&] { return ex.lag() == 0; }));
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(R"({"type":"checkpoint")", 0) != 0) lines.push_back(line);
  }
  const auto entries = f.Entries();
  ASSERT_EQ(lines.size(), entries.size() + 1);
  EXPECT_EQ(lines[0], "{\"torn");
  for (std::size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(lines[i + 1], entries[i]) << i;
  EXPECT_EQ(*ReadExportCursor(*f.store, "file"), 75);
}

// Every checkpoint reaches the sink, each right after the entry of its size, also one signed in a
// transaction of its own after its entry was already delivered (the interval checkpoint). Fails on
// the previous build: no checkpoint was ever shipped.
TEST(ExporterTest, EveryCheckpointFollowsTheEntryOfItsSize) {
  Fixture f;
  TestReceiver rx;
  f.Record(30);
  f.CheckpointNow();
  Exporter ex(*f.store, f.Sink(rx.port()), kFast);
  ASSERT_TRUE(ex.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return rx.distinct() == 30 && !rx.checkpoints().empty(); }));
  f.Record(5);
  ASSERT_TRUE(WaitFor([&] { return rx.distinct() == 35; }));
  f.CheckpointNow();  // after entry 35 was delivered: still shipped, right after it
  f.Record(120);      // several batches of 50
  f.writer->Stop();   // its final checkpoint; no timer signs anything after the count below
  f.CheckpointNow();
  const auto cps = f.Checkpoints();
  ASSERT_TRUE(WaitFor([&] { return rx.stream().size() == 155 + cps.size(); }));
  ex.Stop();
  std::vector<std::pair<bool, std::int64_t>> want;
  std::size_t next = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> by_size = cps;
  std::stable_sort(by_size.begin(), by_size.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });
  for (; next < by_size.size() && by_size[next].second == 0; ++next) want.push_back({true, 0});
  for (std::int64_t seq = 1; seq <= 155; ++seq) {
    want.push_back({false, seq});
    for (; next < by_size.size() && by_size[next].second == seq; ++next) want.push_back({true, seq});
  }
  EXPECT_EQ(rx.stream(), want);
  EXPECT_GE(cps.size(), 3u);
  for (const std::string& m : rx.checkpoints()) {
    EXPECT_NE(m.find(R"({"type":"checkpoint","id":)"), std::string::npos) << m;
  }
}

TEST(FileSinkTest, CheckpointLinesFollowTheEntryOfTheirSize) {
  Fixture f;
  const std::string path = f.dir.File("audit.jsonl");
  f.Record(10);
  f.CheckpointNow();
  f.Record(3);
  f.writer->Stop();  // its final checkpoint; nothing signs after the count below
  f.CheckpointNow();
  {
    Exporter ex(*f.store, std::make_unique<FileSink>(path), kFast);
    ASSERT_TRUE(ex.Start().ok());
    ASSERT_TRUE(WaitFor([&] { return ex.lag() == 0; }));
  }  // Stop() drains the checkpoints too
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const auto entries = f.Entries();
  const auto cps = f.Checkpoints();
  ASSERT_EQ(lines.size(), entries.size() + cps.size());
  // After entry 13: its checkpoints, in id order, as `audit export` writes them.
  const auto last = std::find(lines.begin(), lines.end(), entries.back());
  ASSERT_NE(last, lines.end());
  std::vector<std::int64_t> after, want;
  for (auto it = last + 1; it != lines.end(); ++it) {
    EXPECT_EQ(it->rfind(R"({"type":"checkpoint","id":)", 0), 0u) << *it;
    after.push_back(boost::json::parse(*it).as_object().at("id").as_int64());
  }
  for (const auto& [cid, size] : cps) {
    if (size == 13) want.push_back(cid);
  }
  EXPECT_EQ(after, want);
  EXPECT_GE(want.size(), 2u);
}

// ------------------------------------------------------------------------------------------
// TLS: a real TLS receiver with a certificate issued by a throwaway CA (made by the openssl CLI).

struct TestPki {
  TempDir dir;
  bool ok = false;
  TestPki() {
    using bulwark::testing::RunProgram;
    const std::string ca_key = dir.File("ca.key"), srv_key = dir.File("srv.key"),
                      csr = dir.File("srv.csr");
    ok = RunProgram({"openssl",
                     "req",
                     "-x509",
                     "-newkey",
                     "ec",
                     "-pkeyopt",
                     "ec_paramgen_curve:P-256",
                     "-nodes",
                     "-keyout",
                     ca_key,
                     "-out",
                     ca(),
                     "-subj",
                     "/CN=bulwark-test-ca",
                     "-days",
                     "2",
                     "-addext",
                     "basicConstraints=critical,CA:TRUE",
                     "-addext",
                     "keyUsage=critical,keyCertSign"}) == 0 &&
         RunProgram({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", srv_key, "-out", csr, "-subj", "/CN=syslog.test",
                     "-addext", "subjectAltName=DNS:syslog.test,IP:127.0.0.1"}) == 0 &&
         RunProgram({"openssl", "x509", "-req", "-in", csr, "-CA", ca(), "-CAkey", ca_key,
                     "-CAcreateserial", "-out", cert(), "-days", "2", "-copy_extensions",
                     "copy"}) == 0;
  }
  std::string ca() const { return dir.File("ca.pem"); }
  std::string cert() const { return dir.File("srv.pem"); }
  std::string key() const { return dir.File("srv.key"); }
};

// Accepts connections one after another on its own io thread, completes the server side of the
// TLS handshake and parses octet-counted frames. Asynchronous, so that bytes the TLS engine
// buffered together with the handshake are parsed at once and the destructor never waits on a
// blocked read.
class TlsTestReceiver {
 public:
  explicit TlsTestReceiver(const TestPki& pki) : acceptor_(io_) {  // NOLINT: ctx_ is set below
    auto ctx = crypto::MakeServerTlsContext(pki.cert(), pki.key());
    EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
    ctx_ = *ctx;
    using boost::asio::ip::tcp;
    const tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsTestReceiver() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int handshake_failures() const { return handshake_failures_.load(); }
  std::vector<std::int64_t> seqs() {
    std::lock_guard lock(mu_);
    return seqs_;
  }

 private:
  struct Conn {
    explicit Conn(boost::asio::ip::tcp::socket s, boost::asio::ssl::context& ctx)
        : tls(std::move(s), ctx) {}
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> tls;
    std::array<char, 4096> chunk{};
    std::string buf;
  };

  void Accept() {
    acceptor_.async_accept(
        [this](const boost::system::error_code& ec, boost::asio::ip::tcp::socket sock) {
          if (ec) return;
          auto conn = std::make_shared<Conn>(std::move(sock), *ctx_);
          conn->tls.async_handshake(boost::asio::ssl::stream_base::server,
                                    [this, conn](const boost::system::error_code& hec) {
                                      if (hec) {
                                        ++handshake_failures_;
                                        Accept();
                                      } else {
                                        Read(conn);
                                      }
                                    });
        });
  }

  void Read(const std::shared_ptr<Conn>& conn) {
    conn->tls.async_read_some(boost::asio::buffer(conn->chunk),
                              [this, conn](const boost::system::error_code& ec, std::size_t n) {
                                if (ec) {
                                  Accept();  // one connection at a time, like a simple receiver
                                  return;
                                }
                                conn->buf.append(conn->chunk.data(), n);
                                Parse(conn->buf);
                                Read(conn);
                              });
  }

  void Parse(std::string& buf) {
    static const std::regex kSeq(R"re(\[bulwark@32473 seq="(\d+)")re");
    for (;;) {
      const auto sp = buf.find(' ');
      if (sp == std::string::npos) return;
      const std::size_t len = std::stoul(buf.substr(0, sp));
      if (buf.size() < sp + 1 + len) return;
      const std::string msg = buf.substr(sp + 1, len);
      buf.erase(0, sp + 1 + len);
      std::smatch m;
      if (std::regex_search(msg, m, kSeq)) {
        std::lock_guard lock(mu_);
        seqs_.push_back(std::stoll(m[1].str()));
      }
    }
  }

  std::shared_ptr<boost::asio::ssl::context> ctx_;  // outlives the io_context's pending handlers
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<int> handshake_failures_{0};
  std::mutex mu_;
  std::vector<std::int64_t> seqs_;
  std::thread thread_;
};

TEST(SyslogTlsTest, DeliversOverVerifiedTlsByNameAndByIp) {
  TestPki pki;
  ASSERT_TRUE(pki.ok) << "the openssl CLI could not make a test PKI";
  for (const std::string name :
       {"syslog.test", ""}) {  // "": the host, 127.0.0.1, matched as an IP SAN
    Fixture f;
    TlsTestReceiver rx(pki);
    f.Record(40);
    auto sink =
        SyslogSink::Create({.host = "127.0.0.1",
                            .port = rx.port(),
                            .tls = true,
                            .ca_file = pki.ca(),
                            .server_name = name,
                            .connect_timeout = 2000ms,
                            .confirm_grace = 100ms},
                           {.facility = 13, .hostname = "h", .procid = "1", .ledger_id = "L"});
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    Exporter ex(*f.store, std::move(*sink), kFast);
    ASSERT_TRUE(ex.Start().ok());
    ASSERT_TRUE(WaitFor([&] { return ex.lag() == 0; })) << name << " lag " << ex.lag();
    // Delivered means acknowledged by the receiver's TCP; its parser thread may still be reading.
    ASSERT_TRUE(WaitFor([&] { return rx.seqs().size() >= 40; }))
        << name << " received " << rx.seqs().size();
    ex.Stop();
    std::vector<std::int64_t> expected(40);
    for (int i = 0; i < 40; ++i) expected[static_cast<std::size_t>(i)] = i + 1;
    EXPECT_EQ(rx.seqs(), expected) << name;
  }
}

TEST(SyslogTlsTest, WrongNameOrUntrustedCaIsNeverSentAnything) {
  TestPki pki;
  TestPki other;  // a different CA that did not issue the receiver's certificate
  ASSERT_TRUE(pki.ok && other.ok);
  struct Case {
    std::string name;
    std::string ca;
  };
  for (const Case& c : {Case{"other.test", pki.ca()}, Case{"syslog.test", other.ca()}}) {
    Fixture f;
    TlsTestReceiver rx(pki);
    f.Record(5);
    auto sink =
        SyslogSink::Create({.host = "127.0.0.1",
                            .port = rx.port(),
                            .tls = true,
                            .ca_file = c.ca,
                            .server_name = c.name,
                            .connect_timeout = 2000ms},
                           {.facility = 13, .hostname = "h", .procid = "1", .ledger_id = "L"});
    ASSERT_TRUE(sink.ok());
    Exporter ex(*f.store, std::move(*sink), kFast);
    ASSERT_TRUE(ex.Start().ok());
    EXPECT_TRUE(WaitFor([&] { return rx.handshake_failures() >= 2; }));
    EXPECT_FALSE(ex.connected());
    EXPECT_EQ(ex.lag(), 5);
    ex.Stop();
    EXPECT_TRUE(rx.seqs().empty());
  }
}

TEST(AuditExportTest, StartsOneExporterPerConfiguredSink) {
  Fixture f;
  TestReceiver rx;
  f.Record(5);
  config::Config c;
  c.audit_syslog_address = "127.0.0.1:" + std::to_string(rx.port());
  c.audit_file = f.dir.File("a.jsonl");
  auto set = AuditExport::Start(c, *f.store, f.ledger->ledger_id());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_TRUE(WaitFor([&] {
    auto st = (*set)->States();
    return st.size() == 2 && st[0].lag == 0 && st[1].lag == 0;
  }));
  const auto st = (*set)->States();
  EXPECT_EQ(st[0].sink, "syslog");
  EXPECT_EQ(st[1].sink, "file");
  EXPECT_TRUE(st[0].connected && st[1].connected);
  EXPECT_TRUE(st[0].active && st[1].active);  // a single node always holds the leases
  (*set)->Stop();
  ExpectInOrderNoGap(rx.connections(), 5);
  EXPECT_EQ(store::testing::FileMode(c.audit_file) & 077, 0);  // created 0600

  config::Config none;
  auto empty = AuditExport::Start(none, *f.store, f.ledger->ledger_id());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE((*empty)->States().empty());
}

// ------------------------------------------------------------------------------------------
// Several nodes, one database: the export lease.

// One SIEM that every node's sink delivers to, recording which node sent each seq.
class SharedReceiver {
 public:
  struct Delivery {
    std::string node;
    std::int64_t seq;
  };
  void Add(const std::string& node, std::int64_t seq) {
    std::lock_guard lock(mu_);
    log_.push_back({node, seq});
  }
  std::vector<Delivery> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::map<std::int64_t, int> counts() {
    std::map<std::int64_t, int> out;
    for (const auto& d : log()) ++out[d.seq];
    return out;
  }
  std::size_t from(const std::string& node) {
    std::size_t n = 0;
    for (const auto& d : log()) n += d.node == node ? 1 : 0;
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<Delivery> log_;
};

// A sink that delivers to a SharedReceiver and confirms what it sent. HangNextSend() makes the
// next Send deliver its batch and then block (a node that froze or died mid-batch, its entries
// in flight) until Resume() or CancelAt().
class RecordingSink final : public ExportSink {
 public:
  RecordingSink(std::string node, SharedReceiver& rx) : node_(std::move(node)), rx_(rx) {}
  std::string_view name() const override { return "syslog"; }
  Status Connect() override {
    connected_ = true;
    last_sent_ = 0;
    return Status::Ok();
  }
  bool connected() const override { return connected_; }
  void Close() override { connected_ = false; }
  Status Send(std::span<const ExportRecord> records) override {
    for (const auto& r : records) {
      if (!r.checkpoint) rx_.Add(node_, r.seq);  // entries only: the lease tests count those
    }
    std::unique_lock lock(mu_);
    if (hang_next_) {
      hang_next_ = false;
      hanging_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hanging_; });
      if (cancelled_) return Status::Unavailable("export_cancelled", "cancelled");
    }
    last_sent_ = records.back().seq;
    return Status::Ok();
  }
  StatusOr<std::int64_t> Confirmed() override { return last_sent_; }
  void CancelAt(std::chrono::steady_clock::time_point) override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    hanging_ = false;
    cv_.notify_all();
  }

  void HangNextSend() {
    std::lock_guard lock(mu_);
    hang_next_ = true;
  }
  bool hanging() {
    std::lock_guard lock(mu_);
    return hanging_;
  }
  void Resume() {
    std::lock_guard lock(mu_);
    hanging_ = false;
    cv_.notify_all();
  }

 private:
  const std::string node_;
  SharedReceiver& rx_;
  bool connected_ = false;
  std::int64_t last_sent_ = 0;  // exporter thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool hang_next_ = false;
  bool hanging_ = false;
  bool cancelled_ = false;
};

constexpr ExporterOptions kLeaseFast{.batch = 20,
                                     .poll = 20ms,
                                     .backoff_initial = 10ms,
                                     .backoff_max = 100ms,
                                     .persist_interval = 0ms,  // persist before every batch
                                     .drain = 2000ms,
                                     .lease = 1000ms,
                                     .renew = 200ms};

// Reads the shared cursor every few milliseconds while it runs and notes any step backwards.
class CursorWatch {
 public:
  CursorWatch(store::Store& store, std::string sink) : store_(store), sink_(std::move(sink)) {
    thread_ = std::thread([this] {
      std::int64_t last = 0;
      while (!stop_) {
        if (auto c = ReadExportCursor(store_, sink_); c.ok()) {
          if (*c < last) backwards_ = true;
          last = std::max(last, *c);
        }
        std::this_thread::sleep_for(3ms);
      }
    });
  }
  ~CursorWatch() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool moved_backwards() const { return backwards_; }

 private:
  store::Store& store_;
  const std::string sink_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> backwards_{false};
  std::thread thread_;
};

// Two nodes (two stores, each with its own connection pool) on one fresh PostgreSQL database.
class ExportLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& pg = ::bulwark::testing::SharedPgServer();
    ASSERT_TRUE(pg.ok()) << pg.error();
    const std::string url = pg.NewDatabase();
    for (auto* node : {&node_a_, &node_b_}) {
      auto s = store::OpenPostgresStore({.url = url, .pool_size = 4});
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      *node = std::move(*s);
    }
    ASSERT_TRUE(store::Migrate(*node_a_).ok());
  }

  // Appends ledger rows seq head+1 .. head+n (the exporter reads only seq and entry).
  void Append(int n) {
    auto tx = node_a_->Begin(store::TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    for (int i = 0; i < n; ++i) {
      ++head_;
      const std::string entry = R"({"seq":)" + std::to_string(head_) + "}";
      ASSERT_TRUE(
          (*tx)
              ->Exec("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (?, ?, ?, ?)",
                     {store::Value::Int(head_),
                      store::Value::Bytes(store::Value::Blob(entry.begin(), entry.end())),
                      store::Value::Bytes(store::Value::Blob(32, 0)),
                      store::Value::Bytes(store::Value::Blob(32, 1))})
              .ok());
    }
    ASSERT_TRUE((*tx)->Commit().ok());
  }

  std::vector<store::Row> LeaseRow() {
    auto tx = node_a_->Begin(store::TxMode::kRead);
    auto rows = (*tx)->Query(
        "SELECT seq, owner, lease_until FROM audit_export_cursors WHERE sink = 'syslog'");
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<store::Row>{};
  }

  std::unique_ptr<store::Store> node_a_, node_b_;
  std::int64_t head_ = 0;
};

TEST_F(ExportLeaseTest, TwoNodesDeliverEachEntryExactlyOnce) {
  SharedReceiver rx;
  CursorWatch watch(*node_a_, "syslog");
  Append(150);
  Exporter a(*node_a_, std::make_unique<RecordingSink>("a", rx), kLeaseFast, "node-a");
  Exporter b(*node_b_, std::make_unique<RecordingSink>("b", rx), kLeaseFast, "node-b");
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  for (int i = 0; i < 10; ++i) {  // more while both run, across several lease renewals
    Append(15);
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(WaitFor([&] {
    return rx.counts().size() == 300u && *ReadExportCursor(*node_a_, "syslog") == 300;
  })) << rx.counts().size();
  std::this_thread::sleep_for(300ms);              // the standby had every chance to send too
  EXPECT_NE(a.active(), b.active());               // exactly one holds the lease
  EXPECT_FALSE((a.active() ? b : a).connected());  // the other never even connects
  const auto& holder = a.active() ? "a" : "b";
  EXPECT_EQ(rx.from(holder), 300u);
  for (const auto& [seq, n] : rx.counts()) EXPECT_EQ(n, 1) << "seq " << seq;
  // Both show the same lag: the standby reads the exporting node's cursor.
  EXPECT_TRUE(WaitFor([&] { return a.lag() == 0 && b.lag() == 0; })) << a.lag() << " " << b.lag();
  const auto row = LeaseRow();
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][1].as_text(), a.active() ? "node-a" : "node-b");
  a.Stop();
  b.Stop();
  watch.Stop();
  EXPECT_FALSE(watch.moved_backwards());
  EXPECT_EQ(rx.log().size(), 300u);
  const auto released = LeaseRow();
  EXPECT_EQ(released[0][0].as_int(), 300);
  EXPECT_TRUE(released[0][1].is_null());  // a stopped node lets go of its lease
}

TEST_F(ExportLeaseTest, AStoppedHolderHandsOverAtOnceWithoutGapOrRepeat) {
  SharedReceiver rx;
  CursorWatch watch(*node_a_, "syslog");
  Append(100);
  auto a = std::make_unique<Exporter>(*node_a_, std::make_unique<RecordingSink>("a", rx),
                                      kLeaseFast, "node-a");
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a->active(); }));  // a first: it is the holder
  Exporter b(*node_b_, std::make_unique<RecordingSink>("b", rx), kLeaseFast, "node-b");
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a->cursor() == 100; }));
  Append(40);
  const auto t0 = std::chrono::steady_clock::now();
  a.reset();  // stops: persists its cursor and releases the lease
  Append(60);
  ASSERT_TRUE(WaitFor([&] { return b.active(); }));
  const auto takeover = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(takeover, 700ms) << "a released lease is taken at the next poll, not after it expires";
  ASSERT_TRUE(WaitFor([&] { return rx.counts().size() == 200u && b.cursor() == 200; }))
      << rx.counts().size();
  b.Stop();
  watch.Stop();
  EXPECT_FALSE(watch.moved_backwards());
  EXPECT_GE(rx.from("a"), 100u);
  EXPECT_GT(rx.from("b"), 0u);
  // b started exactly after a's last delivery: every seq once, in order.
  const auto log = rx.log();
  ASSERT_EQ(log.size(), 200u);
  for (std::size_t i = 0; i < log.size(); ++i)
    EXPECT_EQ(log[i].seq, static_cast<std::int64_t>(i) + 1);
}

TEST_F(ExportLeaseTest, ADeadHolderIsReplacedWhenItsLeaseExpiresAndCannotComeBack) {
  SharedReceiver rx;
  CursorWatch watch(*node_a_, "syslog");
  Append(100);
  auto* sink_a = new RecordingSink("a", rx);
  Exporter a(*node_a_, std::unique_ptr<ExportSink>(sink_a), kLeaseFast, "node-a");
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a.active() && a.cursor() == 100; }));
  Exporter b(*node_b_, std::make_unique<RecordingSink>("b", rx), kLeaseFast, "node-b");
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return b.cursor() == 100; }));  // standing by, showing a's cursor
  EXPECT_FALSE(b.active());

  // a freezes in the middle of shipping 101..120: delivered, not confirmed, no more renewals.
  sink_a->HangNextSend();
  Append(100);
  ASSERT_TRUE(WaitFor([&] { return sink_a->hanging(); }));
  const auto t0 = std::chrono::steady_clock::now();
  const auto row = LeaseRow();
  ASSERT_EQ(row.size(), 1u);
  const std::int64_t lease_until = row[0][2].as_int();  // a's last renewal
  ASSERT_TRUE(WaitFor([&] { return b.active(); }, 5000ms));
  EXPECT_GE(core::NowUnixMicros() / 1000, lease_until) << "taken before the lease expired";
  EXPECT_LE(std::chrono::steady_clock::now() - t0, kLeaseFast.lease + 1000ms);
  ASSERT_TRUE(WaitFor([&] { return b.cursor() == 200; }));

  // a wakes up: its next renewal finds b's lease, so it stands by and ships nothing more.
  const std::size_t from_a = rx.from("a");
  EXPECT_EQ(from_a, 120u);
  sink_a->Resume();
  ASSERT_TRUE(WaitFor([&] { return !a.active(); }));
  Append(30);
  ASSERT_TRUE(WaitFor([&] { return rx.counts().size() == 230u && b.cursor() == 230; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(rx.from("a"), from_a);
  EXPECT_FALSE(a.connected());
  EXPECT_TRUE(b.active());

  // At least once, no gap: only the batch in flight when a froze (101..120) arrived twice.
  for (const auto& [seq, n] : rx.counts())
    EXPECT_EQ(n, seq >= 101 && seq <= 120 ? 2 : 1) << "seq " << seq;
  a.Stop();
  b.Stop();
  watch.Stop();
  EXPECT_FALSE(watch.moved_backwards());
  EXPECT_EQ(*ReadExportCursor(*node_a_, "syslog"), 230);
}

// The file sink follows the same rule (audit_export.cc): one node at a time, one cursor. Each
// entry lands in exactly one node's file; together the files hold the ledger once.
TEST_F(ExportLeaseTest, FileSinksOnTwoNodesTogetherHoldEachEntryOnce) {
  store::testing::TempDir dir;
  const std::string file_a = dir.File("a.jsonl"), file_b = dir.File("b.jsonl");
  Append(80);
  auto a = std::make_unique<Exporter>(*node_a_, std::make_unique<FileSink>(file_a), kLeaseFast,
                                      "node-a");
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a->active(); }));
  Exporter b(*node_b_, std::make_unique<FileSink>(file_b), kLeaseFast, "node-b");
  ASSERT_TRUE(b.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a->cursor() == 80; }));
  a.reset();
  Append(50);
  ASSERT_TRUE(WaitFor([&] { return b.active() && b.cursor() == 130; }));
  b.Stop();
  auto lines = [](const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  auto all = lines(file_a);
  EXPECT_EQ(all.size(), 80u);
  for (auto& l : lines(file_b)) all.push_back(std::move(l));
  ASSERT_EQ(all.size(), 130u);
  for (std::size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i], R"({"seq":)" + std::to_string(i + 1) + "}");
  EXPECT_EQ(*ReadExportCursor(*node_a_, "file"), 130);
}

// One node on SQLite: after a crash, the dead process's lease (still in the row) delays the
// restarted exporter by at most its remainder; then it resumes from the cursor.
TEST(ExportLeaseSqliteTest, ARestartAfterACrashWaitsOutTheDeadProcesssLeaseOnly) {
  Fixture f;
  TestReceiver rx;
  f.Record(20);
  ExportAll(f, rx.port());
  f.Record(10);
  // What a crash leaves: the row still names the dead process, its lease running for 600 ms.
  const std::int64_t until = core::NowUnixMicros() / 1000 + 600;
  {
    auto tx = f.store->Begin(store::TxMode::kWrite);
    ASSERT_TRUE((*tx)
                    ->Exec("UPDATE audit_export_cursors SET owner = 'dead', lease_until = ? WHERE "
                           "sink = 'syslog'",
                           {store::Value::Int(until)})
                    .ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  ExporterOptions options = kFast;
  options.lease = 1000ms;
  Exporter ex(*f.store, f.Sink(rx.port()), options);
  ASSERT_TRUE(ex.Start().ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(ex.active());
  EXPECT_EQ(ex.lag(), 10);
  ASSERT_TRUE(WaitFor([&] { return ex.active() && ex.lag() == 0; }, 3000ms));
  EXPECT_GE(core::NowUnixMicros() / 1000, until);
  ASSERT_TRUE(WaitFor([&] { return rx.messages().size() >= 30; }));
  ex.Stop();
  const auto conns = rx.connections();
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_EQ(conns[1].front(), 21);
  ExpectInOrderNoGap(conns, 30);
}

}  // namespace
}  // namespace bulwark::audit::siem
