#pragma once
// Stage 8 backed by the audit ledger: what the request did, durable before the response leaves.
#include "audit/alerts.h"
#include "audit/writer.h"
#include "http/stages.h"

namespace bulwark::http {

// Records a request when its route declares an audit action, or when it was refused (401, 403,
// 429, a 404 from an operator-only route) or failed (an error Status mapped to 5xx; a handler's
// deliberate 503, such as /readyz reporting not ready, is not a failure). A handler that recorded its own
// change sets ctx.audited and is not recorded twice. Returns the writer's failure, which the
// pipeline turns into 503: no audit, no response.
class LedgerAuditStage : public AuditRecorder {
 public:
  // `alerts` may be null (no alert rules).
  LedgerAuditStage(audit::AuditWriter& writer, audit::AlertMonitor* alerts) : writer_(writer), alerts_(alerts) {}
  // Queues the record (and any alert it raises, right after it) with the writer; `done` runs on
  // the writer's thread once both have been committed, with the record's outcome.
  void Record(RequestContext& ctx, unsigned http_status, const Status& outcome,
              Done done) noexcept override;

  // The event the stage would record for this request (exposed for handlers and tests).
  static audit::Event EventFor(const RequestContext& ctx, unsigned http_status, const Status& outcome);

 private:
  audit::AuditWriter& writer_;
  audit::AlertMonitor* alerts_;
};

}  // namespace bulwark::http
