#include "store/migrate.h"

#include <cctype>
#include <string>

#include "core/clock.h"
#include "store/migrations.h"
#include "store/postgres/dialect.h"

namespace bulwark::store {
namespace {

constexpr std::string_view kCreateSchemaMigrations =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

bool IsWordStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string UpperWord(std::string_view w) {
  std::string out(w);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Status CheckMigrationList(std::span<const Migration> all) {
  if (all.empty()) return Status::Internal("migration list is empty");
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].version != static_cast<int>(i) + 1) {
      return Status::Internal("migration versions are not 1..N without gaps");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<std::string>> SplitSqlStatements(std::string_view sql) {
  std::vector<std::string> out;
  const std::size_t n = sql.size();
  std::size_t start = 0;
  std::vector<std::string> head;  // first three words of the current statement, upper case
  bool in_trigger = false;
  int depth = 0;  // open BEGIN/CASE blocks inside a trigger body

  // Called only when the statement has a token outside comments, so comment-only text is dropped.
  auto emit = [&](std::size_t end) {
    std::string_view stmt = Trim(sql.substr(start, end - start));
    if (!stmt.empty()) out.emplace_back(stmt);
  };

  std::size_t i = 0;
  bool has_token = false;
  while (i < n) {
    const char c = sql[i];
    const char next = i + 1 < n ? sql[i + 1] : '\0';
    if (c == '\'' || c == '"') {
      std::size_t j = i + 1;
      for (;;) {
        if (j >= n) return Status::Internal("unterminated quote in SQL");
        if (sql[j] == c) {
          if (j + 1 < n && sql[j + 1] == c) {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      i = j + 1;
      has_token = true;
      continue;
    }
    if (c == '-' && next == '-') {
      std::size_t nl = sql.find('\n', i);
      i = nl == std::string_view::npos ? n : nl + 1;
      continue;
    }
    if (c == '/' && next == '*') {
      std::size_t close = sql.find("*/", i + 2);
      if (close == std::string_view::npos) return Status::Internal("unterminated comment in SQL");
      i = close + 2;
      continue;
    }
    if (c == '$' && (next == '$' || IsWordStart(next))) {
      std::size_t j = i + 1;
      while (j < n && IsWordChar(sql[j])) ++j;
      if (j < n && sql[j] == '$') {
        std::string_view tag = sql.substr(i, j - i + 1);
        std::size_t close = sql.find(tag, j + 1);
        if (close == std::string_view::npos) {
          return Status::Internal("unterminated dollar-quoted body in SQL");
        }
        i = close + tag.size();
        has_token = true;
        continue;
      }
    }
    if (IsWordStart(c)) {
      std::size_t j = i;
      while (j < n && IsWordChar(sql[j])) ++j;
      std::string word = UpperWord(sql.substr(i, j - i));
      if (head.size() < 3) {
        head.push_back(word);
        in_trigger = head[0] == "CREATE" && head.size() >= 2 &&
                     (head[1] == "TRIGGER" ||
                      (head.size() == 3 && (head[1] == "TEMP" || head[1] == "TEMPORARY") &&
                       head[2] == "TRIGGER"));
      } else if (in_trigger) {
        if (word == "BEGIN" || word == "CASE") {
          ++depth;
        } else if (word == "END" && depth > 0) {
          --depth;
        }
      }
      i = j;
      has_token = true;
      continue;
    }
    if (c == ';' && depth == 0) {
      if (has_token) emit(i);
      start = i + 1;
      head.clear();
      in_trigger = false;
      has_token = false;
      ++i;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) has_token = true;
    ++i;
  }
  if (depth != 0) return Status::Internal("unterminated trigger body in SQL");
  if (has_token) emit(n);
  return out;
}

namespace {

// Every applied migration must be this binary's migration of that version.
Status CheckHistory(Transaction& tx, std::span<const Migration> all) {
  const int latest = all.back().version;
  BULWARK_ASSIGN_OR_RETURN(Rows applied, tx.Query("SELECT version, name FROM schema_migrations"));
  for (const Row& r : applied) {
    if (!r[0].is_int() || !r[1].is_text()) {
      return Status::FailedPrecondition("schema_mismatch", "malformed schema_migrations row");
    }
    std::int64_t v = r[0].as_int();
    if (v < 1 || v > latest || all[static_cast<std::size_t>(v - 1)].name != r[1].as_text()) {
      return Status::FailedPrecondition(
          "schema_mismatch", "database schema version " + std::to_string(v) +
                                 " does not match this binary's migration of that version");
    }
  }
  return Status::Ok();
}

}  // namespace

Status Migrate(Store& store) {
  const std::span<const Migration> all = AllMigrations();
  BULWARK_RETURN_IF_ERROR(CheckMigrationList(all));
  const int latest = all.back().version;
  // Up to date: read only, no DDL at all, so a role that may not create tables (PostgreSQL: the
  // application role of docs/operations.md, migrated by `bulwark db migrate` as the owner) runs.
  if (auto version = store.SchemaVersion(); version.ok() && *version == latest) {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(TxMode::kRead));
    return CheckHistory(*tx, all);
  }
  bool checked_history = false;
  const bool postgres = store.backend() == Backend::kPostgresql;
  for (;;) {
    // The version is read inside the write transaction: under the write lock no other process
    // can apply the same migration between our read and our commit. Returning early destroys
    // the transaction, which rolls back, so the IF NOT EXISTS below never outlives a refusal.
    BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(TxMode::kWrite));
    BULWARK_ASSIGN_OR_RETURN(const std::string create_history,
                             postgres
                                 ? TranslateForPostgres(kCreateSchemaMigrations)
                                 : StatusOr<std::string>(std::string(kCreateSchemaMigrations)));
    BULWARK_RETURN_IF_ERROR(tx->Exec(create_history).status());
    BULWARK_ASSIGN_OR_RETURN(Rows max_rows,
                             tx->Query("SELECT MAX(version) FROM schema_migrations"));
    int current = 0;
    if (!max_rows.empty() && !max_rows[0].empty() && max_rows[0][0].is_int()) {
      current = static_cast<int>(max_rows[0][0].as_int());
    }
    if (current > latest) {
      return Status::FailedPrecondition("schema_too_new",
                                        "database schema version " + std::to_string(current) +
                                            " is newer than this binary's schema version " +
                                            std::to_string(latest) + "; run a newer Bulwark");
    }
    if (!checked_history) {
      BULWARK_RETURN_IF_ERROR(CheckHistory(*tx, all));
      checked_history = true;
    }
    if (current == latest) return Status::Ok();  // nothing to do; the tx rolls back

    const Migration& m = all[static_cast<std::size_t>(current)];
    BULWARK_ASSIGN_OR_RETURN(std::vector<std::string> statements, SplitSqlStatements(m.sql));
    if (postgres) BULWARK_RETURN_IF_ERROR(tx->Exec(kPostgresRefuseFunction).status());
    for (const std::string& s : statements) {
      if (postgres) {
        BULWARK_ASSIGN_OR_RETURN(std::string translated, TranslateForPostgres(s));
        BULWARK_RETURN_IF_ERROR(tx->Exec(translated).status());
        continue;
      }
      BULWARK_RETURN_IF_ERROR(tx->Exec(s).status());
    }
    if (postgres) {
      for (std::string_view s : m.postgres_only) BULWARK_RETURN_IF_ERROR(tx->Exec(s).status());
    }
    BULWARK_RETURN_IF_ERROR(
        tx->Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                 {Value::Int(m.version), Value::Text(std::string(m.name)),
                  Value::Text(core::NowIso8601Micros())})
            .status());
    BULWARK_RETURN_IF_ERROR(tx->Commit());
  }
}

}  // namespace bulwark::store
