#include "audit/query.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <regex>

#include "core/log.h"
#include "crypto/encoding.h"

namespace bulwark::audit {
namespace {

using store::Value;

// Cursor: base64url("v1:" + seq). Opaque to clients; checked strictly here.
std::string EncodeCursor(std::int64_t seq) {
  const std::string raw = "v1:" + std::to_string(seq);
  return crypto::Base64UrlEncode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
}

StatusOr<std::int64_t> DecodeCursor(const std::string& cursor) {
  auto bad = Status::InvalidArgument("invalid_cursor", "the cursor is not one this server issued");
  if (cursor.size() > 64) return bad;
  auto raw = crypto::Base64UrlDecode(cursor);
  if (!raw.ok()) return bad;
  const std::string text(raw->begin(), raw->end());
  if (!text.starts_with("v1:")) return bad;
  std::int64_t seq = 0;
  auto [end, ec] = std::from_chars(text.data() + 3, text.data() + text.size(), seq);
  if (ec != std::errc() || end != text.data() + text.size() || seq < 1) return bad;
  return seq;
}

bool IsIsoTime(const std::string& t) {
  static const std::regex kIso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z)");
  return std::regex_match(t, kIso);
}

// Stored times always carry six fractional digits; compare like with like.
std::string NormalizeTime(const std::string& t) {
  if (t.empty()) return t;
  const auto dot = t.find('.');
  const std::string base = t.substr(0, dot == std::string::npos ? t.size() - 1 : dot);
  std::string frac = dot == std::string::npos ? std::string() : t.substr(dot + 1, t.size() - dot - 2);
  frac.resize(6, '0');
  return base + "." + frac + "Z";
}

std::string TextOf(const boost::json::value* v) {
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string().data(), v->get_string().size());
}

std::string TextOf(const store::Value& v) {
  if (v.is_text()) return v.as_text();
  if (v.is_bytes()) return std::string(v.as_bytes().begin(), v.as_bytes().end());
  if (v.is_int()) return std::to_string(v.as_int());
  return {};
}

}  // namespace

std::optional<IndexColumns> IndexColumnsOfEntry(std::string_view entry) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(entry, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const boost::json::object& o = v.get_object();
  const boost::json::value* actor = o.if_contains("actor");
  const boost::json::object* a = actor != nullptr ? actor->if_object() : nullptr;
  return IndexColumns{.time = TextOf(o.if_contains("time")),
                      .tenant = TextOf(o.if_contains("tenant")),
                      .actor_kind = a != nullptr ? TextOf(a->if_contains("kind")) : std::string(),
                      .actor_id = a != nullptr ? TextOf(a->if_contains("id")) : std::string(),
                      .action = TextOf(o.if_contains("action")),
                      .result = TextOf(o.if_contains("result"))};
}

IndexColumns IndexColumnsOfRow(const store::Row& row, std::size_t first) {
  return IndexColumns{.time = TextOf(row[first]),
                      .tenant = TextOf(row[first + 1]),
                      .actor_kind = TextOf(row[first + 2]),
                      .actor_id = TextOf(row[first + 3]),
                      .action = TextOf(row[first + 4]),
                      .result = TextOf(row[first + 5])};
}

std::string IndexColumnList(std::string_view alias) {
  std::string out;
  for (const char* c : {"time", "tenant", "actor_kind", "actor_id", "action", "result"}) {
    if (!out.empty()) out += ", ";
    out += std::string(alias) + "." + c;
  }
  return out;
}

StatusOr<EventPage> QueryEvents(store::Store& store, const EventQuery& q) {
  if (q.tenant.empty()) {
    return Status::PermissionDenied("tenant_unknown", "audit events are readable only within a tenant");
  }
  if (q.limit < 1 || q.limit > kMaxQueryLimit) {
    return Status::InvalidArgument("invalid_limit", "limit must be 1.." + std::to_string(kMaxQueryLimit));
  }
  if (!q.result.empty() && q.result != "success" && q.result != "denied" && q.result != "error") {
    return Status::InvalidArgument("invalid_result", "result must be success, denied or error");
  }
  for (const std::string* t : {&q.since, &q.until}) {
    if (!t->empty() && !IsIsoTime(*t)) {
      return Status::InvalidArgument("invalid_time", "times must be UTC ISO-8601, e.g. 2026-11-22T23:30:00Z");
    }
  }
  const std::string since = NormalizeTime(q.since);
  const std::string until = NormalizeTime(q.until);
  std::int64_t before = INT64_MAX;
  if (!q.cursor.empty()) {
    BULWARK_ASSIGN_OR_RETURN(before, DecodeCursor(q.cursor));
  }
  // Optional filters as "(? = '' OR col = ?)": one prepared statement for every combination.
  const bool prefix = q.action.size() > 2 && q.action.ends_with(".*");
  const std::string action = prefix ? q.action.substr(0, q.action.size() - 1) : q.action;  // "auth."
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx->Query("SELECT i.seq, l.entry, " + IndexColumnList("i") +
                " FROM audit_index i JOIN audit_ledger l ON l.seq = i.seq "
                "WHERE i.tenant = ? AND i.seq < ? "
                "AND (? = '' OR i.actor_id = ?) "
                "AND (? = '' OR (? = 1 AND substr(i.action, 1, length(?)) = ?) OR (? = 0 AND i.action = ?)) "
                "AND (? = '' OR i.result = ?) "
                "AND (? = '' OR i.time >= ?) AND (? = '' OR i.time < ?) "
                "ORDER BY i.seq DESC LIMIT ?",
                {Value::Text(q.tenant), Value::Int(before), Value::Text(q.actor_id), Value::Text(q.actor_id),
                 Value::Text(action), Value::Int(prefix ? 1 : 0), Value::Text(action), Value::Text(action),
                 Value::Int(prefix ? 1 : 0), Value::Text(action), Value::Text(q.result), Value::Text(q.result),
                 Value::Text(since), Value::Text(since), Value::Text(until), Value::Text(until),
                 Value::Int(q.limit + 1)}));
  EventPage page;
  for (std::size_t i = 0; i < rows.size() && i < static_cast<std::size_t>(q.limit); ++i) {
    if (!rows[i][1].is_bytes()) return Status::Integrity("an audit entry is malformed");
    const auto& b = rows[i][1].as_bytes();
    std::string entry(b.begin(), b.end());
    // The index chose this row; the entry (hash-chained, verified) is what it must describe.
    const std::optional<IndexColumns> want = IndexColumnsOfEntry(entry);
    if (!want || *want != IndexColumnsOfRow(rows[i], 2)) {
      const std::int64_t seq = rows[i][0].is_int() ? rows[i][0].as_int() : 0;
      log::Error("audit.alert", {{"alert", "audit_index_mismatch"}, {"seq", seq}});
      return Status::Integrity("the audit index disagrees with the ledger at seq " +
                               std::to_string(seq));
    }
    page.entries.push_back(std::move(entry));
  }
  if (rows.size() > static_cast<std::size_t>(q.limit)) {
    page.next_cursor = EncodeCursor(rows[static_cast<std::size_t>(q.limit) - 1][0].as_int());
  }
  return page;
}

}  // namespace bulwark::audit
