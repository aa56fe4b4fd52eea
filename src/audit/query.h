#pragma once
// Reading a tenant's audit trail: newest first, filtered, in pages with an opaque cursor.
// The tenant comes from the caller's principal and nowhere else; an empty tenant sees nothing.
//
//   EventQuery q{.tenant = principal.tenant_id, .action = "auth.verify", .limit = 50};
//   BULWARK_ASSIGN_OR_RETURN(EventPage page, QueryEvents(store, q));
//   // page.entries: canonical entry texts; page.next_cursor: pass back as q.cursor, empty at the end
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace bulwark::audit {

inline constexpr int kMaxQueryLimit = 500;

struct EventQuery {
  std::string tenant;     // required
  std::string actor_id;   // exact, optional
  std::string action;     // exact, or a prefix ending in ".*" ("auth.*"), optional
  std::string result;     // success | denied | error, optional
  std::string since;      // ISO-8601 UTC, inclusive, optional
  std::string until;      // ISO-8601 UTC, exclusive, optional
  std::string cursor;     // from a previous page, optional
  int limit = 100;        // 1..kMaxQueryLimit
};

struct EventPage {
  std::vector<std::string> entries;  // canonical JSON entries, newest first
  std::string next_cursor;           // empty when there is nothing older
};

// InvalidArgument with a stable reason ("invalid_cursor", "invalid_limit", "invalid_result",
// "invalid_time") for bad filters; PermissionDenied "tenant_unknown" for an empty tenant.
// The index (audit_index) only selects rows: each row served is checked against its entry in
// the hash-chained ledger, and a row that disagrees fails the whole query with kIntegrity (and
// logs audit.alert audit_index_mismatch) rather than serve a re-attributed event. An index row
// altered so that an event no longer matches is found by the background verifier.
StatusOr<EventPage> QueryEvents(store::Store& store, const EventQuery& query);

// The audit_index columns of an entry as the ledger writes them (a null column as "").
struct IndexColumns {
  std::string time, tenant, actor_kind, actor_id, action, result;
  bool operator==(const IndexColumns&) const = default;
};
// What the index must hold for the canonical entry `entry`; nullopt if it is not an entry.
std::optional<IndexColumns> IndexColumnsOfEntry(std::string_view entry);
// Columns time, tenant, actor_kind, actor_id, action, result of `row`, from `first` on.
IndexColumns IndexColumnsOfRow(const store::Row& row, std::size_t first);
// The select list IndexColumnsOfRow reads, for a table aliased `alias`.
std::string IndexColumnList(std::string_view alias);

}  // namespace bulwark::audit
