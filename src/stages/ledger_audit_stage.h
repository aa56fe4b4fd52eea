#pragma once
// Stage 8 backed by the audit ledger: what the request did, durable before the response leaves.
#include "audit/alerts.h"
#include "audit/refusal_summary.h"
#include "audit/writer.h"
#include "http/stages.h"

namespace bulwark::stages {

// Records a request when its route declares an audit action, or when it was refused (401, 403,
// 429, a 404 from an operator-only route) or failed (an error Status mapped to 5xx; a handler's
// deliberate 503, such as /readyz reporting not ready, is not a failure). A handler that recorded its own
// change sets ctx.audited and is not recorded twice. Returns the writer's failure, which the
// pipeline turns into 503: no audit, no response.
//
// Refusals of requests that did not authenticate, and every 429, go through `summaries` first
// (audit/refusal_summary.h): beyond its threshold per (client network, reason, route[,
// principal]) and window they are counted into one summary entry instead of one entry each, so
// an anonymous flood cannot grow the ledger without bound. They still count towards the alert
// rules. An authenticated principal's other refusals (403 path_denied, tenant_mismatch, ...) are
// always recorded one by one.
class LedgerAuditStage : public http::AuditRecorder {
 public:
  // `alerts` and `summaries` may be null (no alert rules; every refusal recorded one by one).
  LedgerAuditStage(audit::AuditWriter& writer, audit::AlertMonitor* alerts,
                   audit::RefusalSummaries* summaries = nullptr)
      : writer_(writer), alerts_(alerts), summaries_(summaries) {}
  // Queues the record (and any alert it raises, right after it) with the writer; `done` runs on
  // the writer's thread once both have been committed, with the record's outcome.
  void Record(http::RequestContext& ctx, unsigned http_status, const Status& outcome,
              Done done) noexcept override;

  // The event the stage would record for this request (exposed for handlers and tests).
  static audit::Event EventFor(const http::RequestContext& ctx, unsigned http_status, const Status& outcome);

 private:
  audit::AuditWriter& writer_;
  audit::AlertMonitor* alerts_;
  audit::RefusalSummaries* summaries_;
};

}  // namespace bulwark::stages
