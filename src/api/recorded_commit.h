#pragma once
// Commit-and-record for route handlers: a change of the store committed in one transaction with
// the record of the request that made it (audit::AuditWriter), after which the request is marked
// recorded so the audit stage does not record it again. The only place a handler's request is
// marked recorded: no handler sets RequestContext::audited itself. docs/design.md ("where an
// audit record is written") shows where this sits.
//
// Errors: the change's own Status when it fails (nothing of it or its record is kept, and the
// request is left for the audit stage to record as refused or failed), else the writer's
// (kUnavailable when the ledger cannot take the record: no effect either). Runs on the calling
// request's thread; blocks until the record is durable.
#include <functional>
#include <string_view>

#include "audit/event.h"
#include "audit/writer.h"
#include "core/status.h"
#include "http/types.h"

namespace bulwark::api {

// Runs `commit`, which commits a change together with the request's record (a service's own
// recorded commit, such as ReceiptService::IssueRecorded), and marks the request recorded when
// it succeeds. Returns what `commit` returns.
Status CommitRecorded(http::RequestContext& ctx, const std::function<Status()>& commit);
// `change` may amend `event` (details it learns, such as an id it created).
Status CommitRecorded(audit::AuditWriter& writer, http::RequestContext& ctx,
                      audit::AuditWriter::AmendingChange change, audit::Event event);
Status CommitRecorded(audit::AuditWriter& writer, http::RequestContext& ctx,
                      audit::AuditWriter::Change change, audit::Event event);
// Records `event` alone (no change) in place of the audit stage's record of the request.
Status RecordNow(audit::AuditWriter& writer, http::RequestContext& ctx, audit::Event event);

// Records alert.<name> caused by `cause` (tenant, resource, request id) and logs a warning. A
// lost alert does not undo its cause, which is durable already.
void RaiseAlert(audit::AuditWriter& writer, std::string_view name, const audit::Event& cause);

}  // namespace bulwark::api
