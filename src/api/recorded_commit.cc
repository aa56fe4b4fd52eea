#include "api/recorded_commit.h"

#include <utility>

#include "audit/alerts.h"

namespace bulwark::api {

Status CommitRecorded(http::RequestContext& ctx, const std::function<Status()>& commit) {
  BULWARK_RETURN_IF_ERROR(commit());
  ctx.audited = true;
  return Status::Ok();
}

Status CommitRecorded(audit::AuditWriter& writer, http::RequestContext& ctx,
                      audit::AuditWriter::AmendingChange change, audit::Event event) {
  BULWARK_RETURN_IF_ERROR(writer.CommitAmending(std::move(change), std::move(event)));
  ctx.audited = true;
  return Status::Ok();
}

Status CommitRecorded(audit::AuditWriter& writer, http::RequestContext& ctx,
                      audit::AuditWriter::Change change, audit::Event event) {
  BULWARK_RETURN_IF_ERROR(writer.Commit(std::move(change), std::move(event)));
  ctx.audited = true;
  return Status::Ok();
}

Status RecordNow(audit::AuditWriter& writer, http::RequestContext& ctx, audit::Event event) {
  BULWARK_RETURN_IF_ERROR(writer.Record(std::move(event)));
  ctx.audited = true;
  return Status::Ok();
}

void RaiseAlert(audit::AuditWriter& writer, std::string_view name, const audit::Event& cause) {
  // The cause is durable; a lost alert is logged by the writer.
  (void)writer.Record(audit::AlertFor(name, cause));
}

}  // namespace bulwark::api
