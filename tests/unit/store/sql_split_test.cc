#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/migrate.h"
#include "store_test_util.h"

namespace bulwark::store {
namespace {

using Stmts = std::vector<std::string>;

Stmts Split(std::string_view sql) {
  auto r = SplitSqlStatements(sql);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Stmts{};
}

TEST(SplitSqlStatements, SplitsAtSemicolonsAndTrims) {
  EXPECT_EQ(Split("CREATE TABLE a (x TEXT);\n  CREATE TABLE b (y TEXT) ;\n"),
            (Stmts{"CREATE TABLE a (x TEXT)", "CREATE TABLE b (y TEXT)"}));
  EXPECT_EQ(Split("SELECT 1"), (Stmts{"SELECT 1"}));  // last ';' optional
}

TEST(SplitSqlStatements, EmptyAndCommentOnlyTextYieldsNothing) {
  EXPECT_EQ(Split(""), Stmts{});
  EXPECT_EQ(Split(" ;\n; -- a comment; still comment\n/* block; */"), Stmts{});
}

TEST(SplitSqlStatements, IgnoresSemicolonsInQuotesAndComments) {
  EXPECT_EQ(Split("INSERT INTO a VALUES ('x;y', 'it''s;');\n"
                  "-- note; not a split\n"
                  "CREATE TABLE \"we;ird\" (v TEXT); /* c; */ SELECT 2;"),
            (Stmts{"INSERT INTO a VALUES ('x;y', 'it''s;')",
                   "-- note; not a split\nCREATE TABLE \"we;ird\" (v TEXT)", "/* c; */ SELECT 2"}));
}

TEST(SplitSqlStatements, KeepsTriggerBodiesWhole) {
  const std::string trigger =
      "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit\n"
      "BEGIN\n"
      "  SELECT CASE WHEN 1 THEN RAISE(ABORT, 'append-only; no updates') END;\n"
      "  SELECT RAISE(ABORT, 'append-only');\n"
      "END";
  EXPECT_EQ(Split("CREATE TABLE audit (x TEXT);\n" + trigger + ";\nSELECT 3;"),
            (Stmts{"CREATE TABLE audit (x TEXT)", trigger, "SELECT 3"}));
  const std::string temp = "create temp trigger t after insert on a begin delete from a; end";
  EXPECT_EQ(Split(temp + ";"), (Stmts{temp}));
}

TEST(SplitSqlStatements, KeepsDollarQuotedBodiesWhole) {
  const std::string fn =
      "CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RAISE; END; $body$ LANGUAGE plpgsql";
  EXPECT_EQ(Split(fn + "; SELECT $$a;b$$;"), (Stmts{fn, "SELECT $$a;b$$"}));
}

TEST(SplitSqlStatements, RejectsUnterminatedText) {
  for (std::string_view bad : {"SELECT 'abc;", "SELECT \"x", "/* open", "SELECT $q$ x",
                               "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM a;"}) {
    auto r = SplitSqlStatements(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  }
}

// The splitter and SQLite agree: a split trigger runs and enforces append-only.
TEST(SplitSqlStatements, SplitTriggerRunsOnSqlite) {
  testing::TempDir dir;
  auto store = testing::MustOpen(testing::Options(dir.File("db.sqlite")));
  ASSERT_NE(store, nullptr);
  auto stmts = Split(
      "CREATE TABLE ledger (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
      "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger\n"
      "BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;\n"
      "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger\n"
      "BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;\n");
  ASSERT_EQ(stmts.size(), 3u);
  {
    auto tx = store->Begin(TxMode::kWrite);
    ASSERT_TRUE(tx.ok());
    for (const auto& s : stmts) ASSERT_TRUE((*tx)->Exec(s).ok()) << s;
    ASSERT_TRUE((*tx)->Exec("INSERT INTO ledger (seq, body) VALUES (1, 'a')").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto tx = store->Begin(TxMode::kWrite);
  ASSERT_TRUE(tx.ok());
  auto upd = (*tx)->Exec("UPDATE ledger SET body = 'b'");
  EXPECT_EQ(upd.status().code(), ErrorCode::kConflict);
  auto del = (*tx)->Exec("DELETE FROM ledger");
  EXPECT_EQ(del.status().code(), ErrorCode::kConflict);
}

}  // namespace
}  // namespace bulwark::store
