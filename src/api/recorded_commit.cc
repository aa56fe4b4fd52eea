#include "api/recorded_commit.h"

#include <utility>

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

}  // namespace bulwark::api
