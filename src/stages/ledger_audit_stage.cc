#include "stages/ledger_audit_stage.h"

#include <atomic>
#include <memory>
#include <new>
#include <optional>

namespace bulwark::stages {
namespace {

audit::ActorKind ActorKindFor(core::Principal::Kind k) {
  switch (k) {
    case core::Principal::Kind::kAnonymous: return audit::ActorKind::kAnonymous;
    case core::Principal::Kind::kOperator: return audit::ActorKind::kOperator;
    case core::Principal::Kind::kUser: return audit::ActorKind::kUser;
    case core::Principal::Kind::kApiKey: return audit::ActorKind::kApiKey;
    case core::Principal::Kind::kSystem: return audit::ActorKind::kSystem;
    case core::Principal::Kind::kScimToken: return audit::ActorKind::kScimToken;
  }
  return audit::ActorKind::kAnonymous;
}

// A request's record and its alert: the request completes, with the record's outcome, once
// both have been written (or have failed), in whichever order their outcomes arrive.
struct BothWritten {
  explicit BothWritten(http::AuditRecorder::Done d) : done(std::move(d)) {}
  void Arrive() {
    if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) done(std::move(record));
  }
  http::AuditRecorder::Done done;
  Status record = Status::Internal("no outcome");
  std::atomic<int> left{2};
};

}  // namespace

audit::Event LedgerAuditStage::EventFor(const http::RequestContext& ctx, unsigned http_status, const Status& outcome) {
  audit::Event e;
  e.actor = {ActorKindFor(ctx.principal.kind), ctx.principal.id};
  e.tenant = ctx.principal.tenant_id;
  e.action = ctx.route != nullptr && !ctx.route->audit_action.empty() ? ctx.route->audit_action
             : http::IsRefusal(http_status, ctx)                               ? "http.denied"
                                                                         : "http.failed";
  e.resource = std::string(ctx.req.method_string()) + " " + std::string(ctx.path);
  e.result = http_status < 400 ? audit::Result::kSuccess
             : http_status < 500 ? audit::Result::kDenied
                                 : audit::Result::kError;
  e.reason = outcome.ok() ? std::string(ctx.audit_reason) : outcome.reason();
  e.request_id = ctx.request_id;
  e.client = ctx.client.ToString();
  e.user_agent = std::string(ctx.req[http::bhttp::field::user_agent]);
  e.auth_method = ctx.principal.auth_method;
  e.break_glass = ctx.principal.break_glass;
  e.details.emplace_back("status", static_cast<int>(http_status));
  if (!ctx.audit_resource.empty()) e.resource = ctx.audit_resource;
  e.details.insert(e.details.end(), ctx.audit_details.begin(), ctx.audit_details.end());
  return e;
}

void LedgerAuditStage::Record(http::RequestContext& ctx, unsigned http_status, const Status& outcome,
                              Done done) noexcept {
  if (ctx.audited) return done(Status::Ok());
  const bool declared = ctx.route != nullptr && !ctx.route->audit_action.empty();
  // A failure is an error the request ran into, not a handler's deliberate answer (a /readyz 503).
  const bool failed = !outcome.ok() && http_status >= 500;
  if (!declared && !http::IsRefusal(http_status, ctx) && !failed) return done(Status::Ok());
  audit::Event event;
  std::optional<audit::Event> alert;
  try {
    event = EventFor(ctx, http_status, outcome);
    if (!ctx.audit_alert.empty()) {
      alert = audit::AlertFor(ctx.audit_alert, event);
    } else if (alerts_ != nullptr) {
      // An operator route's 404 is a failed operator authentication: it counts like a 401.
      const unsigned observed =
          http::IsRefusal(http_status, ctx) && http_status == 404 ? 401 : http_status;
      alert = alerts_->Observe(observed);
      if (alert) alert->request_id = ctx.request_id;  // the request that tipped it over
    }
    if (summaries_ != nullptr && ctx.route != nullptr && http::IsRefusal(http_status, ctx) &&
        (!ctx.authenticated || http_status == 429)) {
      audit::Event keyed = event;
      if (!ctx.authenticated) {
        // Who a refused credential claimed to be is no key: made-up ids would multiply them.
        keyed.actor = {};
        keyed.tenant.clear();
        keyed.auth_method.clear();
      }
      if (!summaries_->Admit(ctx.client.ClientNetwork(), ctx.route->label, http_status, keyed)) {
        // Counted into its summary. A refusal has no effect to hold back: it is answered now,
        // once the alert it tipped over, if any, is durable.
        if (!alert) return done(Status::Ok());
        return writer_.Submit(std::move(*alert), [done = std::move(done)](const Status&) {
          done(Status::Ok());
        });
      }
    }
  } catch (const std::bad_alloc&) {
    return done(audit::Unqueued());
  } catch (...) {
    return done(Status::Internal("the audit record could not be built"));
  }
  if (!alert) return writer_.Submit(std::move(event), std::move(done));
  // The alert is queued after the request's record, so the ledger holds the cause first, and
  // the response waits for both: whoever reads the ledger after the answer finds the alert too.
  // The record's outcome decides the response; an alert that cannot be written is logged by the
  // writer and does not change it.
  // Everything that allocates happens before either is queued: out of memory, neither is, and
  // the request fails closed.
  std::shared_ptr<BothWritten> both;
  audit::AuditWriter::Done record_done;
  audit::AuditWriter::Done alert_done;
  try {
    both = std::make_shared<BothWritten>(std::move(done));
    record_done = [both](Status s) {
      both->record = std::move(s);
      both->Arrive();
    };
    alert_done = [both](const Status&) { both->Arrive(); };
  } catch (...) {                            // only std::bad_alloc can come from these
    if (both) done = std::move(both->done);  // else make_shared failed before taking it
    return done(audit::Unqueued());
  }
  writer_.Submit(std::move(event), std::move(record_done));
  writer_.Submit(std::move(*alert), std::move(alert_done));
}

}  // namespace bulwark::stages
