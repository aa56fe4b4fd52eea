// The offline verifier and exporter against ledgers built here from the format specification
// (not by the writer), then damaged the way an attacker with the database's owner account or a
// text editor would: triggers dropped, rows edited, deleted, inserted, exchanged, checkpoints
// re-signed. Every database test runs on SQLite and on a real PostgreSQL 15 (pg_server.h).
#include "audit/verify.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../run_program.h"
#include "../store/pg_server.h"
#include "../store/store_test_util.h"
#include "audit/export.h"
#include "core/canonical_json.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/sign.h"
#include "store/migrate.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace bulwark::audit {
namespace {

using crypto::Digest256;
using store::Value;
using store::testing::TempDir;
using Bytes = std::vector<std::uint8_t>;

constexpr char kLedgerId[] = "ldg_0f3c9a";
constexpr char kKeyId[] = "ck_2026_1";
constexpr char kTime[] = "2026-11-22T10:00:00Z";

std::string EntryText(std::int64_t seq, std::string_view result = "success") {
  // Canonical by construction: members in code-point order, integers, plain ASCII strings.
  return R"({"action":"secret.read","actor":{"id":"u_7","kind":"user"},"details":{"path":"kv/app/db"},)"
         R"("request_id":"req-)" +
         std::to_string(seq) + R"(","result":")" + std::string(result) + R"(","seq":)" +
         std::to_string(seq) + R"(,"tenant":"t_1","time":")" + kTime + R"(","v":1})";
}

Bytes B(const Digest256& d) { return Bytes(d.begin(), d.end()); }

Digest256 Genesis(std::string_view ledger_id) {
  return crypto::Sha256("bulwark-ledger-v1|" + std::string(ledger_id));
}

Digest256 Link(const Bytes& prev, std::string_view entry) {
  crypto::Sha256Hasher h;
  h.Update(prev);
  h.Update(entry);
  return h.Finish();
}

std::string Body(std::int64_t size, const Bytes& head, std::string_view key_id = kKeyId,
                 std::string_view ledger_id = kLedgerId) {
  return R"({"head_hash":")" + crypto::HexEncode(head) + R"(","key_id":")" + std::string(key_id) +
         R"(","ledger_id":")" + std::string(ledger_id) + R"(","size":)" + std::to_string(size) +
         R"(,"time":")" + kTime + R"(","type":"bulwark.audit.checkpoint.v1"})";
}

Bytes Sign(const crypto::Ed25519KeyPair& kp, std::string_view body) {
  auto sig = crypto::Ed25519Sign(kp.private_key, crypto::AsBytes(body));
  EXPECT_TRUE(sig.ok());
  return Bytes(sig->begin(), sig->end());
}

// A ledger in a fresh database of the backend named by the test parameter.
class LedgerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto kp = crypto::GenerateEd25519KeyPair();
    ASSERT_TRUE(kp.ok());
    key_ = std::move(kp).value();
    auto other = crypto::GenerateEd25519KeyPair();
    ASSERT_TRUE(other.ok());
    attacker_ = std::move(other).value();
    db_path_ = dir_.File("bulwark.db");
    if (postgres()) {
      ASSERT_TRUE(bulwark::testing::SharedPgServer().ok())
          << bulwark::testing::SharedPgServer().error();
      url_ = bulwark::testing::SharedPgServer().NewDatabase();
      auto s = store::OpenPostgresStore({.url = url_, .pool_size = 1});
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(s).value();
    } else {
      store_ = store::testing::MustOpen(store::testing::Options(db_path_));
    }
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store::Migrate(*store_).ok());
  }

  bool postgres() const { return GetParam() == "postgresql"; }

  // Opens the database as the offline commands do.
  store::Opener Opener() const {
    if (postgres()) {
      return [url = url_] { return store::OpenPostgresStore({.url = url, .pool_size = 1}); };
    }
    return [path = db_path_] { return store::OpenSqliteFileAsIs(path); };
  }

  // Entries 1..n, a checkpoint every `every` entries; `text(seq)` gives each entry's bytes.
  void Build(std::int64_t n, std::int64_t every,
             std::function<std::string(std::int64_t)> text = nullptr) {
    auto tx = store_->Begin(store::TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    auto& t = *tx;
    ASSERT_TRUE(t->Exec("INSERT INTO audit_ledger_meta(ledger_id, created_at) VALUES (?, ?)",
                        {Value::Text(kLedgerId), Value::Text(kTime)})
                    .ok());
    ASSERT_TRUE(
        t->Exec("INSERT INTO audit_signing_keys(key_id, public_key, created_at) VALUES (?, ?, ?)",
                {Value::Text(kKeyId), Value::Bytes(key_.public_key), Value::Text(kTime)})
            .ok());
    hashes_.assign(1, B(Genesis(kLedgerId)));
    std::int64_t cp_id = 0;
    for (std::int64_t s = 1; s <= n; ++s) {
      std::string e = text ? text(s) : EntryText(s);
      Bytes h = B(Link(hashes_.back(), e));
      ASSERT_TRUE(
          t->Exec("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (?, ?, ?, ?)",
                  {Value::Int(s), Value::Bytes(crypto::AsBytes(e)), Value::Bytes(hashes_.back()),
                   Value::Bytes(h)})
              .ok());
      hashes_.push_back(h);
      if (every > 0 && s % every == 0) {
        std::string body = Body(s, h);
        ASSERT_TRUE(
            t->Exec("INSERT INTO audit_checkpoints(id, size, head_hash, body, key_id, signature) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    {Value::Int(++cp_id), Value::Int(s), Value::Bytes(h),
                     Value::Bytes(crypto::AsBytes(body)), Value::Text(kKeyId),
                     Value::Bytes(Sign(key_, body))})
                .ok());
      }
    }
    ASSERT_TRUE(t->Commit().ok());
  }

  // What an attacker does first with the sqlite3 tool or psql.
  void DropTriggers() {
    for (const char* t :
         {"audit_ledger", "audit_checkpoints", "audit_signing_keys", "audit_ledger_meta"}) {
      if (postgres()) {
        Exec(std::string("ALTER TABLE ") + t + " DISABLE TRIGGER USER");
        continue;
      }
      Exec(std::string("DROP TRIGGER ") + t + "_no_update");
      Exec(std::string("DROP TRIGGER ") + t + "_no_delete");
    }
  }

  void Exec(std::string_view sql, store::Params params = {}) {
    auto tx = store_->Begin(store::TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    auto r = (*tx)->Exec(sql, params);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE((*tx)->Commit().ok());
  }

  VerifyReport Verify(const std::vector<crypto::Ed25519PublicKey>& trusted = {}) {
    auto r = VerifyStore(Opener(), trusted);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : VerifyReport{};
  }

  VerifyReport VerifyFile(const std::string& path,
                          const std::vector<crypto::Ed25519PublicKey>& trusted = {}) {
    auto r = VerifyExport(path, trusted);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : VerifyReport{};
  }

  std::vector<std::string> ExportLines() {
    std::ostringstream out;
    auto db = Opener()();
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return {};
    Status s = ExportLedger(std::move(db).value(), out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<std::string> lines;
    std::istringstream in(out.str());
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }

  std::string WriteLines(const std::vector<std::string>& lines,
                         const std::string& name = "export.jsonl") {
    std::string path = dir_.File(name);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    for (const auto& l : lines) f << l << "\n";
    return path;
  }

  static boost::json::object Obj(const std::string& line) {
    return boost::json::parse(line).as_object();
  }

  // Index of the export line of entry `seq` (or of the checkpoint with that size).
  static std::size_t LineOf(const std::vector<std::string>& lines, std::int64_t seq,
                            std::string_view type = "entry") {
    for (std::size_t i = 1; i < lines.size(); ++i) {
      auto o = Obj(lines[i]);
      if (o["type"].as_string() != type) continue;
      if (type == "entry" && o["seq"].as_int64() == seq) return i;
      if (type == "checkpoint" &&
          boost::json::parse(o["body"].as_string()).as_object()["size"].as_int64() == seq) {
        return i;
      }
    }
    ADD_FAILURE() << "no line for " << seq;
    return 0;
  }

  static std::string EntryLine(std::int64_t row_seq, const std::string& entry, const Bytes& prev,
                               const Bytes& hash) {
    boost::json::object o;
    o["type"] = "entry";
    o["seq"] = row_seq;
    o["entry"] = entry;
    o["prev_hash"] = crypto::HexEncode(prev);
    o["hash"] = crypto::HexEncode(hash);
    return boost::json::serialize(o);
  }

  TempDir dir_;
  std::string db_path_;  // SQLite
  std::string url_;      // PostgreSQL
  std::unique_ptr<store::Store> store_;
  crypto::Ed25519KeyPair key_;
  crypto::Ed25519KeyPair attacker_;
  std::vector<Bytes> hashes_;  // hashes_[s]: hash of entry s; hashes_[0]: genesis
};

#define EXPECT_DAMAGE(report, k, s)                                         \
  do {                                                                      \
    const VerifyReport& r_ = (report);                                      \
    EXPECT_FALSE(r_.ok);                                                    \
    EXPECT_EQ(DamageKindName(r_.kind), DamageKindName(k)) << r_.detail;     \
    EXPECT_EQ(r_.seq, (s)) << DamageKindName(r_.kind) << ": " << r_.detail; \
  } while (0)

// ---- PEM ------------------------------------------------------------------------------------

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Ed25519Pem, RoundTrip) {
  auto kp = crypto::GenerateEd25519KeyPair();
  ASSERT_TRUE(kp.ok());
  auto pem = crypto::Ed25519PublicKeyToPem(kp->public_key);
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(pem->rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);
  auto back = crypto::Ed25519PublicKeyFromPem(*pem);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, kp->public_key);
  // Text before the block (a comment, a label) is ignored.
  auto labelled = crypto::Ed25519PublicKeyFromPem("checkpoint key ck_2026_1\n" + *pem);
  ASSERT_TRUE(labelled.ok());
  EXPECT_EQ(*labelled, kp->public_key);
}

TEST(Ed25519Pem, RejectsGarbageAndOtherKeyTypes) {
  EXPECT_EQ(crypto::Ed25519PublicKeyFromPem("").status().reason(), "invalid_key");
  EXPECT_EQ(crypto::Ed25519PublicKeyFromPem(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .status()
                .reason(),
            "invalid_key");
  // X25519 SPKI (RFC 8410 test vector public key): right size, wrong algorithm.
  const char* x25519 =
      "-----BEGIN PUBLIC "
      "KEY-----\nMCowBQYDK2VuAyEAhSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n-----END PUBLIC "
      "KEY-----\n";
  EXPECT_EQ(crypto::Ed25519PublicKeyFromPem(x25519).status().reason(), "invalid_key");
}

TEST(Ed25519Pem, InteroperatesWithTheOpensslCli) {
  TempDir dir;
  const std::string priv = dir.File("k.pem"), pub = dir.File("pub.pem"), msg = dir.File("msg"),
                    sig = dir.File("sig"), ours = dir.File("ours.pem");
  { std::ofstream(msg, std::ios::binary) << "checkpoint body"; }
  using bulwark::testing::RunProgram;
  ASSERT_EQ(RunProgram({"openssl", "genpkey", "-algorithm", "ed25519", "-out", priv}), 0)
      << "the openssl CLI";
  ASSERT_EQ(RunProgram({"openssl", "pkey", "-in", priv, "-pubout", "-out", pub}), 0);
  ASSERT_EQ(RunProgram(
                {"openssl", "pkeyutl", "-sign", "-rawin", "-inkey", priv, "-in", msg, "-out", sig}),
            0);
  auto key = crypto::Ed25519PublicKeyFromPem(Slurp(pub));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const std::string signature = Slurp(sig);
  EXPECT_TRUE(
      crypto::Ed25519Verify(*key, crypto::AsBytes("checkpoint body"), crypto::AsBytes(signature)));
  // Our PEM of the same key is byte-identical to openssl's and readable by it.
  auto pem = crypto::Ed25519PublicKeyToPem(*key);
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(*pem, Slurp(pub));
  { std::ofstream(ours, std::ios::binary) << *pem; }
  EXPECT_EQ(RunProgram({"openssl", "pkey", "-pubin", "-in", ours, "-noout"}), 0);
}

// ---- Database ---------------------------------------------------------------------------------

std::string BackendName(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

INSTANTIATE_TEST_SUITE_P(Backends, LedgerTest, ::testing::Values("sqlite", "postgresql"),
                         BackendName);

// What only the SQLite file has: its bytes, and an attacker's connection without foreign keys.
class SqliteLedgerTest : public LedgerTest {};
INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteLedgerTest, ::testing::Values("sqlite"), BackendName);

TEST_P(LedgerTest, CleanLedgerVerifies) {
  Build(1000, 100);
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << DamageKindName(r.kind) << " " << r.seq << " " << r.detail;
  EXPECT_EQ(r.entries, 1000);
  EXPECT_EQ(r.checkpoints, 10);
  EXPECT_EQ(r.head_hash, crypto::HexEncode(hashes_[1000]));
  EXPECT_GT(r.bytes, 100 * 1000);
  EXPECT_TRUE(r.keys_from_source);
  EXPECT_NE(r.detail.find("database"), std::string::npos) << r.detail;

  VerifyReport pinned = Verify({key_.public_key});
  EXPECT_TRUE(pinned.ok) << pinned.detail;
  EXPECT_FALSE(pinned.keys_from_source);
}

TEST_P(LedgerTest, EmptyLedgerVerifiesAtGenesis) {
  Build(0, 100);
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries, 0);
  EXPECT_EQ(r.head_hash, crypto::HexEncode(Genesis(kLedgerId)));
}

TEST_P(SqliteLedgerTest, VerifyingDoesNotChangeTheDatabaseFile) {
  Build(300, 100);
  store_.reset();  // the builder's connections close: the WAL is folded into the file
  const std::string before = crypto::Sha256Hex(Slurp(db_path_));
  EXPECT_TRUE(Verify().ok);
  EXPECT_EQ(crypto::Sha256Hex(Slurp(db_path_)), before);
  EXPECT_FALSE(VerifyDatabase(dir_.File("missing.db"), {}).ok());
  EXPECT_FALSE(std::ifstream(dir_.File("missing.db")).good()) << "the verifier created a database";
}

TEST_P(LedgerTest, ModifiedEntry) {
  Build(1000, 100);
  DropTriggers();
  Exec("UPDATE audit_ledger SET entry = ? WHERE seq = 500",
       {Value::Bytes(crypto::AsBytes(EntryText(500, "denied")))});
  EXPECT_DAMAGE(Verify(), DamageKind::kModifiedEntry, 500);
}

TEST_P(LedgerTest, ModifiedEntryWithItsHashRecomputed) {
  Build(1000, 100);
  DropTriggers();
  const std::string forged = EntryText(500, "denied");
  Exec("UPDATE audit_ledger SET entry = ?, hash = ? WHERE seq = 500",
       {Value::Bytes(crypto::AsBytes(forged)), Value::Bytes(B(Link(hashes_[499], forged)))});
  EXPECT_DAMAGE(Verify(), DamageKind::kModifiedEntry, 500);
}

TEST_P(LedgerTest, ModifiedPrevHashColumn) {
  Build(1000, 100);
  DropTriggers();
  Exec("UPDATE audit_ledger SET prev_hash = ? WHERE seq = 500", {Value::Bytes(hashes_[10])});
  EXPECT_DAMAGE(Verify(), DamageKind::kModifiedEntry, 500);
}

TEST_P(LedgerTest, ChangedLedgerIdBreaksGenesis) {
  Build(50, 10);
  DropTriggers();
  Exec("UPDATE audit_ledger_meta SET ledger_id = 'ldg_other'");
  EXPECT_DAMAGE(Verify(), DamageKind::kModifiedEntry, 1);
}

TEST_P(LedgerTest, DeletedEntry) {
  Build(1000, 100);
  DropTriggers();
  Exec("DELETE FROM audit_ledger WHERE seq = 500");
  EXPECT_DAMAGE(Verify(), DamageKind::kDeletedEntry, 500);
}

TEST_P(LedgerTest, DeletedEntryWithLaterRowsRenumbered) {
  Build(1000, 100);
  DropTriggers();
  Exec("DELETE FROM audit_ledger WHERE seq = 500");
  Exec("UPDATE audit_ledger SET seq = -(seq - 1) WHERE seq > 500");
  Exec("UPDATE audit_ledger SET seq = -seq WHERE seq < 0");
  EXPECT_DAMAGE(Verify(), DamageKind::kDeletedEntry, 500);
}

TEST_P(LedgerTest, InsertedEntryAfter499) {
  Build(1000, 100);
  DropTriggers();
  Exec("UPDATE audit_ledger SET seq = -(seq + 1) WHERE seq >= 500");
  Exec("UPDATE audit_ledger SET seq = -seq WHERE seq < 0");
  const std::string forged = EntryText(500, "forged");
  Exec("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (500, ?, ?, ?)",
       {Value::Bytes(crypto::AsBytes(forged)), Value::Bytes(hashes_[499]),
        Value::Bytes(B(Link(hashes_[499], forged)))});
  EXPECT_DAMAGE(Verify(), DamageKind::kInsertedEntry, 500);
}

TEST_P(LedgerTest, InsertedEntryThatDoesNotEvenChain) {
  Build(1000, 100);
  DropTriggers();
  Exec("UPDATE audit_ledger SET seq = -(seq + 1) WHERE seq >= 500");
  Exec("UPDATE audit_ledger SET seq = -seq WHERE seq < 0");
  Exec("INSERT INTO audit_ledger(seq, entry, prev_hash, hash) VALUES (500, ?, ?, ?)",
       {Value::Bytes(crypto::AsBytes(EntryText(500, "forged"))), Value::Bytes(hashes_[1]),
        Value::Bytes(hashes_[2])});
  EXPECT_DAMAGE(Verify(), DamageKind::kInsertedEntry, 500);
}

TEST_P(LedgerTest, ReorderedEntries) {
  Build(1000, 100);
  DropTriggers();
  // Exchange the contents of rows 500 and 501 (seq column unchanged), as an UPDATE would.
  Exec("UPDATE audit_ledger SET seq = -1 WHERE seq = 500");
  Exec("UPDATE audit_ledger SET seq = 500 WHERE seq = 501");
  Exec("UPDATE audit_ledger SET seq = 501 WHERE seq = -1");
  EXPECT_DAMAGE(Verify(), DamageKind::kReorderedEntries, 500);
}

TEST_P(LedgerTest, TruncatedTailBehindTheLastCheckpoint) {
  Build(1000, 100);
  DropTriggers();
  Exec("DELETE FROM audit_ledger WHERE seq > 950");
  EXPECT_DAMAGE(Verify(), DamageKind::kTruncatedTail, 951);
}

TEST_P(LedgerTest, TruncatedTailThatAlsoDroppedTheCheckpointIsInvisible) {
  // The documented limit: with the covering checkpoint gone too, a shorter ledger is consistent.
  Build(1000, 100);
  DropTriggers();
  Exec("DELETE FROM audit_ledger WHERE seq > 950");
  Exec("DELETE FROM audit_checkpoints WHERE size > 950");
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries, 950);
}

TEST_P(LedgerTest, BadCheckpointSignature) {
  Build(1000, 100);
  DropTriggers();
  auto rows = (*store_->Begin(store::TxMode::kRead))
                  ->Query("SELECT signature FROM audit_checkpoints WHERE size = 300");
  ASSERT_TRUE(rows.ok());
  Bytes sig = (*rows)[0][0].as_bytes();
  sig[10] ^= 0x01;
  Exec("UPDATE audit_checkpoints SET signature = ? WHERE size = 300", {Value::Bytes(sig)});
  EXPECT_DAMAGE(Verify(), DamageKind::kBadCheckpointSignature, 300);
}

TEST_P(LedgerTest, CheckpointResignedWithAnUntrustedKey) {
  Build(1000, 100);
  DropTriggers();
  const std::string body = Body(400, hashes_[7]);
  Exec("UPDATE audit_checkpoints SET body = ?, head_hash = ?, signature = ? WHERE size = 400",
       {Value::Bytes(crypto::AsBytes(body)), Value::Bytes(hashes_[7]),
        Value::Bytes(Sign(attacker_, body))});
  EXPECT_DAMAGE(Verify(), DamageKind::kBadCheckpointSignature, 400);
  EXPECT_DAMAGE(Verify({key_.public_key}), DamageKind::kBadCheckpointSignature, 400);
}

TEST_P(LedgerTest, CheckpointWithTheTrustedKeyButAWrongHead) {
  Build(1000, 100);
  DropTriggers();
  const std::string body = Body(400, hashes_[7]);
  Exec("UPDATE audit_checkpoints SET body = ?, head_hash = ?, signature = ? WHERE size = 400",
       {Value::Bytes(crypto::AsBytes(body)), Value::Bytes(hashes_[7]),
        Value::Bytes(Sign(key_, body))});
  EXPECT_DAMAGE(Verify(), DamageKind::kCheckpointMismatch, 400);
  EXPECT_DAMAGE(Verify({key_.public_key}), DamageKind::kCheckpointMismatch, 400);
}

TEST_P(LedgerTest, CheckpointColumnsThatDisagreeWithTheSignedBody) {
  Build(1000, 100);
  DropTriggers();
  Exec("UPDATE audit_checkpoints SET head_hash = ? WHERE size = 600", {Value::Bytes(hashes_[5])});
  EXPECT_DAMAGE(Verify(), DamageKind::kCheckpointMismatch, 600);
}

TEST_P(LedgerTest, SwappedSigningKeyInTheDatabaseIsCaughtOnlyWithATrustedKey) {
  // An attacker who rewrites the chain, re-signs every checkpoint and replaces the stored public
  // key fools a verifier that trusts the database; a pinned key stops them.
  Build(200, 100);
  DropTriggers();
  Exec("UPDATE audit_signing_keys SET public_key = ?", {Value::Bytes(attacker_.public_key)});
  for (std::int64_t size : {100, 200}) {
    const std::string body = Body(size, hashes_[static_cast<std::size_t>(size)]);
    Exec("UPDATE audit_checkpoints SET signature = ? WHERE size = ?",
         {Value::Bytes(Sign(attacker_, body)), Value::Int(size)});
  }
  EXPECT_TRUE(Verify().ok);
  EXPECT_DAMAGE(Verify({key_.public_key}), DamageKind::kBadCheckpointSignature, 100);
}

TEST_P(LedgerTest, TrustedKeySetExcludingTheDatabaseKey) {
  Build(1000, 100);
  EXPECT_DAMAGE(Verify({attacker_.public_key}), DamageKind::kBadCheckpointSignature, 100);
}

TEST_P(SqliteLedgerTest, UnknownKeyId) {
  Build(300, 100);
  DropTriggers();
  store::SqliteOptions o = store::testing::Options(db_path_);
  o.foreign_keys = false;  // as the sqlite3 tool runs by default
  auto raw = store::testing::MustOpen(o);
  ASSERT_NE(raw, nullptr);
  auto tx = raw->Begin(store::TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)->Exec("UPDATE audit_checkpoints SET key_id = 'nope' WHERE size = 200").ok());
  ASSERT_TRUE((*tx)->Commit().ok());
  EXPECT_DAMAGE(Verify(), DamageKind::kBadCheckpointSignature, 200);
}

TEST_P(LedgerTest, NonCanonicalEntryWithAValidChainIsMalformed) {
  Build(20, 0,
        [](std::int64_t s) { return s == 7 ? std::string(R"({"v":1, "seq":7})") : EntryText(s); });
  EXPECT_DAMAGE(Verify(), DamageKind::kMalformed, 7);
}

TEST_P(LedgerTest, EntryWithoutSeqWithAValidChainIsMalformed) {
  Build(20, 0, [](std::int64_t s) { return s == 9 ? std::string("not json") : EntryText(s); });
  EXPECT_DAMAGE(Verify(), DamageKind::kMalformed, 9);
}

// The verifier's fast canonical check (for the shapes entries are made of) must agree with the
// reference implementation, core::IsCanonical, on everything: in the subset and outside it.
TEST(CanonicalEntries, VerifierAgreesWithTheReferenceCanonicalizer) {
  const std::vector<std::string> variants = {
      R"({"a":"x\u001f","seq":1})",
      R"({"a":"x\u001F","seq":1})",
      R"({"a":"\/","seq":1})",
      "{\"a\":\"\xC3\xA9\",\"seq\":1}",
      R"({"a":"\u00e9","seq":1})",
      R"({"a":1.5,"seq":1})",
      R"({"a":1.50,"seq":1})",
      R"({"a":1e2,"seq":1})",
      R"({"b":1,"a":2,"seq":1})",
      R"({"a":1,"a":1,"seq":1})",
      "{\"seq\":1,\"\xC3\xA9\":1}",
      R"({"a":9007199254740993,"seq":1})",
      R"({"a":9007199254740992,"seq":1})",
      R"({"a":-0,"seq":1})",
      R"({"a":[true,null,{"z":"\n"}],"seq":1})",
      R"({"a":"\t","seq":1})",
      R"({"a":"\u0009","seq":1})",
      R"({ "seq":1})",
      R"({"A":1,"_":2,"a":3,"seq":1})",
      R"({"a":{},"b":[],"seq":1})",
      R"({"a":"\"\\","seq":1})",
      R"({"a":"\u007f","seq":1})",
      "{\"a\":\"\x7f\",\"seq\":1}",
      R"({"a":[1,2.0],"seq":1})",
  };
  for (const std::string& text : variants) {
    TempDir dir;
    const std::string path = dir.File("bulwark.db");
    {
      auto st = store::testing::MustOpen(store::testing::Options(path));
      ASSERT_NE(st, nullptr);
      ASSERT_TRUE(store::Migrate(*st).ok());
      auto tx = st->Begin(store::TxMode::kWrite);
      ASSERT_TRUE(tx.ok());
      Bytes g = B(Genesis(kLedgerId));
      ASSERT_TRUE((*tx)
                      ->Exec("INSERT INTO audit_ledger_meta VALUES (?, ?)",
                             {Value::Text(kLedgerId), Value::Text(kTime)})
                      .ok());
      ASSERT_TRUE((*tx)
                      ->Exec("INSERT INTO audit_ledger VALUES (1, ?, ?, ?)",
                             {Value::Bytes(crypto::AsBytes(text)), Value::Bytes(g),
                              Value::Bytes(B(Link(g, text)))})
                      .ok());
      ASSERT_TRUE((*tx)->Commit().ok());
    }
    auto r = VerifyDatabase(path, {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->ok, core::IsCanonical(text)) << text << ": " << r->detail;
    if (!r->ok) {
      EXPECT_EQ(r->kind, DamageKind::kMalformed) << text;
    }
  }
}

TEST_P(LedgerTest, ADatabaseWithoutTheLedgerIsAnError) {
  TempDir other;
  store::Opener empty = [&]() -> StatusOr<std::unique_ptr<store::Store>> {
    if (postgres())
      return store::OpenPostgresStore({.url = bulwark::testing::SharedPgServer().NewDatabase()});
    auto created = store::testing::MustOpen(store::testing::Options(other.File("x.db")));  // empty
    return store::OpenSqliteFileAsIs(other.File("x.db"));
  };
  auto r = VerifyStore(empty, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "no_audit_ledger");
}

// ---- Export ---------------------------------------------------------------------------------

TEST_P(LedgerTest, ExportVerifiesLikeTheDatabase) {
  Build(1000, 100);
  std::vector<std::string> lines = ExportLines();
  ASSERT_EQ(lines.size(), 1u + 1000u + 10u);
  auto header = Obj(lines[0]);
  EXPECT_EQ(header["format"].as_string(), "bulwark-audit-export-v1");
  EXPECT_EQ(header["ledger_id"].as_string(), kLedgerId);
  EXPECT_EQ(Obj(lines[1])["entry"].as_string(), EntryText(1));
  EXPECT_EQ(Obj(lines[101])["type"].as_string(), "checkpoint");  // right after entry 100
  VerifyReport r = VerifyFile(WriteLines(lines));
  EXPECT_TRUE(r.ok) << DamageKindName(r.kind) << " " << r.detail;
  EXPECT_EQ(r.entries, 1000);
  EXPECT_EQ(r.checkpoints, 10);
  EXPECT_EQ(r.head_hash, Verify().head_hash);
  EXPECT_NE(r.detail.find("export header"), std::string::npos);
  EXPECT_TRUE(VerifyFile(WriteLines(lines), {key_.public_key}).ok);
  EXPECT_DAMAGE(VerifyFile(WriteLines(lines), {attacker_.public_key}),
                DamageKind::kBadCheckpointSignature, 100);
}

TEST_P(LedgerTest, ExportKeepsNonUtf8BytesExactly) {
  Build(5, 0, [](std::int64_t s) { return s == 3 ? std::string("\xff\xfe") : EntryText(s); });
  std::vector<std::string> lines = ExportLines();
  EXPECT_TRUE(Obj(lines[3]).contains("entry_base64"));
  EXPECT_DAMAGE(VerifyFile(WriteLines(lines)), DamageKind::kMalformed,
                3);  // chain intact, not JSON
  EXPECT_DAMAGE(Verify(), DamageKind::kMalformed, 3);
}

TEST_P(LedgerTest, ExportEditedEntry) {
  Build(1000, 100);
  auto lines = ExportLines();
  std::string& l = lines[LineOf(lines, 500)];
  l.replace(l.find("success"), 7, "denied!");
  EXPECT_DAMAGE(VerifyFile(WriteLines(lines)), DamageKind::kModifiedEntry, 500);
}

TEST_P(LedgerTest, ExportDeletedLine) {
  Build(1000, 100);
  auto lines = ExportLines();
  lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(LineOf(lines, 500)));
  EXPECT_DAMAGE(VerifyFile(WriteLines(lines)), DamageKind::kDeletedEntry, 500);
}

TEST_P(LedgerTest, ExportInsertedLineWithLaterLinesRenumbered) {
  Build(1000, 100);
  auto lines = ExportLines();
  const std::size_t at = LineOf(lines, 500);
  for (std::size_t i = at; i < lines.size(); ++i) {
    auto o = Obj(lines[i]);
    if (o["type"].as_string() != "entry") continue;
    o["seq"] = o["seq"].as_int64() + 1;
    lines[i] = boost::json::serialize(o);
  }
  const std::string forged = EntryText(500, "forged");
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at),
               EntryLine(500, forged, hashes_[499], B(Link(hashes_[499], forged))));
  EXPECT_DAMAGE(VerifyFile(WriteLines(lines)), DamageKind::kInsertedEntry, 500);
}

TEST_P(LedgerTest, ExportInsertedLineWithoutRenumbering) {
  Build(1000, 100);
  auto lines = ExportLines();
  const std::string forged = EntryText(500, "forged");
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(LineOf(lines, 500)),
               EntryLine(500, forged, hashes_[499], B(Link(hashes_[499], forged))));
  EXPECT_DAMAGE(VerifyFile(WriteLines(lines)), DamageKind::kInsertedEntry, 500);
}

TEST_P(LedgerTest, ExportSwappedLines) {
  Build(1000, 100);
  auto lines = ExportLines();
  std::swap(lines[LineOf(lines, 500)], lines[LineOf(lines, 501)]);
  EXPECT_DAMAGE(VerifyFile(WriteLines(lines)), DamageKind::kReorderedEntries, 500);
}

TEST_P(LedgerTest, ExportTruncatedTail) {
  Build(1000, 100);
  auto lines = ExportLines();
  std::vector<std::string> kept;
  for (const auto& l : lines) {
    auto o = Obj(l);
    if (o["type"].as_string() == "entry" && o["seq"].as_int64() > 950) continue;
    kept.push_back(l);
  }
  EXPECT_DAMAGE(VerifyFile(WriteLines(kept)), DamageKind::kTruncatedTail, 951);
}

TEST_P(LedgerTest, ExportBadSignatureAndMismatch) {
  Build(1000, 100);
  auto lines = ExportLines();
  const std::size_t cp = LineOf(lines, 300, "checkpoint");
  auto o = Obj(lines[cp]);
  auto sig = crypto::Base64Decode(std::string(o["signature"].as_string()));
  ASSERT_TRUE(sig.ok());
  (*sig)[0] ^= 0x80;
  auto flipped = o;
  flipped["signature"] = crypto::Base64Encode(*sig);
  auto damaged = lines;
  damaged[cp] = boost::json::serialize(flipped);
  EXPECT_DAMAGE(VerifyFile(WriteLines(damaged)), DamageKind::kBadCheckpointSignature, 300);

  const std::string body = Body(300, hashes_[12]);
  auto resigned = o;
  resigned["body"] = body;
  resigned["signature"] = crypto::Base64Encode(Sign(key_, body));
  damaged = lines;
  damaged[cp] = boost::json::serialize(resigned);
  EXPECT_DAMAGE(VerifyFile(WriteLines(damaged), {key_.public_key}), DamageKind::kCheckpointMismatch,
                300);
}

TEST_P(LedgerTest, ExportGarbageLineIsMalformedAndAForeignFileIsAnError) {
  Build(100, 10);
  auto lines = ExportLines();
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(LineOf(lines, 50)), "{not json");
  EXPECT_DAMAGE(VerifyFile(WriteLines(lines)), DamageKind::kMalformed, 50);
  auto r = VerifyExport(WriteLines({"hello"}, "foreign.txt"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "not_an_export");
}

// ---- The command entry points ----------------------------------------------------------------

store::Opener File(const std::string& path) {
  return [path] { return store::OpenSqliteFileAsIs(path); };
}

TEST_P(LedgerTest, RunAuditVerifyAndExport) {
  Build(300, 100);
  std::ostringstream out, err, verr;
  EXPECT_EQ(RunAuditVerify(Opener(), "", "", out, verr), 0) << verr.str();
  EXPECT_EQ(out.str().rfind("audit verify: OK: 300 entries, 3 checkpoints, head " +
                                crypto::HexEncode(hashes_[300]),
                            0),
            0u)
      << out.str();
  // The warning (no key given) is not the result: it goes to the error stream.
  EXPECT_EQ(out.str().find("warning"), std::string::npos) << out.str();
  EXPECT_NE(verr.str().find("warning"), std::string::npos) << verr.str();

  auto pem = crypto::Ed25519PublicKeyToPem(key_.public_key);
  ASSERT_TRUE(pem.ok());
  const std::string pub = dir_.File("pub.pem");
  std::ofstream(pub) << *pem;
  out.str("");
  EXPECT_EQ(RunAuditVerify(Opener(), "", pub, out, verr), 0) << verr.str();
  EXPECT_EQ(out.str().find("warning"), std::string::npos) << out.str();

  const std::string exported = dir_.File("audit.jsonl");
  EXPECT_EQ(RunAuditExport(Opener(), exported, err), 0) << err.str();
  EXPECT_FALSE(std::ifstream(exported + ".partial").good());
  out.str("");
  EXPECT_EQ(RunAuditVerify(nullptr, exported, pub, out, verr), 0) << verr.str();

  DropTriggers();
  Exec("DELETE FROM audit_ledger WHERE seq = 150");
  out.str("");
  verr.str("");
  EXPECT_EQ(RunAuditVerify(Opener(), "", pub, out, verr), 1);
  // What is wrong goes to the error stream, nothing to the result stream.
  EXPECT_EQ(verr.str().rfind("audit verify: FAILED: deleted_entry at seq 150: ", 0), 0u)
      << verr.str();
  EXPECT_EQ(out.str(), "");

  out.str("");
  verr.str("");
  EXPECT_EQ(RunAuditVerify(File(dir_.File("nowhere")), "", "", out, verr), 2) << verr.str();
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(verr.str().find("audit verify: error: "), std::string::npos);
  out.str("");
  verr.str("");
  EXPECT_EQ(RunAuditVerify(Opener(), exported, "", out, verr), 2) << verr.str();
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(verr.str().find("audit verify: error: "), std::string::npos);
  out.str("");
  verr.str("");
  EXPECT_EQ(RunAuditVerify(Opener(), "", dir_.File("no-such.pem"), out, verr), 2) << verr.str();
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(verr.str().find("audit verify: error: "), std::string::npos);
  err.str("");
  EXPECT_EQ(RunAuditExport(File(dir_.File("nowhere")), dir_.File("x.jsonl"), err), 2);
  EXPECT_FALSE(std::ifstream(dir_.File("x.jsonl")).good());
}

}  // namespace
}  // namespace bulwark::audit
