#include "api/secret_ops.h"

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "api/recorded_commit.h"
#include "core/go_duration.h"
#include "core/json_text.h"
#include "core/text_list.h"
#include "stages/ledger_audit_stage.h"

namespace bulwark::api::secret_ops {
namespace {

using http::RequestContext;

// The service built once at wiring time (checked by Ready before any use).
secrets::SecretService& Service(const SecretRouteDeps& d) { return *d.service; }

// Copies what the service says is to be recorded onto the request, for the audit stage.
void CopyRecorded(RequestContext& ctx, secrets::Recorded& recorded) {
  if (!recorded.resource.empty()) ctx.audit_resource = std::move(recorded.resource);
  for (auto& detail : recorded.details) ctx.audit_details.push_back(std::move(detail));
  if (!recorded.reason.empty()) ctx.audit_reason = recorded.reason;
  if (!recorded.alert.empty()) ctx.audit_alert = recorded.alert;
}

// Commits a secret change with the request's record (its resource and details) in one
// transaction: the record stage 8 would write for a 200, written with the change instead.
secrets::CommitFn CommitWith(const SecretRouteDeps& d, RequestContext& ctx) {
  return [&d, &ctx](secrets::Recorded& recorded, const secrets::RecordedChange& change) {
    audit::Event e = stages::LedgerAuditStage::EventFor(ctx, 200, Status::Ok());
    e.resource = recorded.resource;
    e.details.insert(e.details.end(), recorded.details.begin(), recorded.details.end());
    return CommitRecorded(
        *d.writer, ctx,
        [&](store::Transaction& tx, audit::Event& ev) -> Status {
          const std::size_t before = recorded.details.size();
          BULWARK_RETURN_IF_ERROR(change(tx, recorded));
          ev.details.insert(ev.details.end(), recorded.details.begin() + before,
                            recorded.details.end());
          return Status::Ok();
        },
        std::move(e));
  };
}

}  // namespace

Status Ready(const SecretRouteDeps& d) {
  if (d.service == nullptr) return SecretsUnavailable();
  return Status::Ok();
}

StatusOr<secrets::SecretValue> Read(const SecretRouteDeps& d, RequestContext& ctx,
                                    std::string_view path, std::optional<std::int64_t> version) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  // Stage 8 records the read with the path and version, and nothing leaves before that record
  // is durable: if the ledger cannot take it, the value does not leave.
  const secrets::CommitFn commit = CommitWith(d, ctx);
  secrets::Recorded recorded;
  auto value = Service(d).Read({ctx.principal, commit}, path, version, recorded);
  CopyRecorded(ctx, recorded);
  return value;
}

StatusOr<secrets::VersionInfo> Write(const SecretRouteDeps& d, RequestContext& ctx,
                                     std::string_view path, std::string_view json_object,
                                     std::optional<std::int64_t> cas) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const secrets::CommitFn commit = CommitWith(d, ctx);
  return Service(d).Write({ctx.principal, commit}, path, json_object, cas);
}

Status ChangeVersions(const SecretRouteDeps& d, RequestContext& ctx, std::string_view path,
                      VersionAction action, const std::vector<std::int64_t>& versions) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const secrets::CommitFn commit = CommitWith(d, ctx);
  return Service(d).ChangeVersions({ctx.principal, commit}, path, action, versions);
}

Status SoftDeleteCurrent(const SecretRouteDeps& d, RequestContext& ctx, std::string_view path) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const secrets::CommitFn commit = CommitWith(d, ctx);
  return Service(d).SoftDeleteCurrent({ctx.principal, commit}, path);
}

Status DeleteAll(const SecretRouteDeps& d, RequestContext& ctx, std::string_view path) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const secrets::CommitFn commit = CommitWith(d, ctx);
  return Service(d).DeleteAll({ctx.principal, commit}, path);
}

StatusOr<secrets::SecretMetadata> Metadata(const SecretRouteDeps& d, RequestContext& ctx,
                                           std::string_view path) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const secrets::CommitFn commit = CommitWith(d, ctx);
  return Service(d).Metadata({ctx.principal, commit}, path);
}

Status UpdateMetadata(const SecretRouteDeps& d, RequestContext& ctx, std::string_view path,
                      const secrets::MetadataUpdate& update) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const secrets::CommitFn commit = CommitWith(d, ctx);
  return Service(d).UpdateMetadata({ctx.principal, commit}, path, update);
}

StatusOr<std::vector<std::string>> List(const SecretRouteDeps& d, RequestContext& ctx,
                                        std::string_view prefix, bool recursive) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  const secrets::CommitFn commit = CommitWith(d, ctx);
  return Service(d).List({ctx.principal, commit}, prefix, recursive);
}

namespace json = boost::json;

StatusOr<secrets::MetadataUpdate> ParseMetadataUpdate(
    const json::object& o, std::initializer_list<std::string_view> ignored) {
  secrets::MetadataUpdate u;
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    const json::value& v = kv.value();
    if (k == "max_versions") {
      if (!v.is_int64())
        return Status::InvalidArgument("invalid_metadata", "max_versions is an integer");
      u.max_versions = v.as_int64();
    } else if (k == "cas_required") {
      if (!v.is_bool())
        return Status::InvalidArgument("invalid_metadata", "cas_required is a boolean");
      u.cas_required = v.as_bool();
    } else if (k == "delete_version_after") {
      // Vault's form: a duration ("30m", "1h30m", "48h") or whole seconds, as text or a number.
      std::optional<std::int64_t> seconds;
      if (v.is_string()) seconds = core::ParseDurationSeconds(v.as_string());
      if (v.is_int64() && v.as_int64() >= 0)
        seconds = core::ParseDurationSeconds(std::to_string(v.as_int64()));
      if (!seconds) {
        return Status::InvalidArgument("invalid_metadata",
                                       "delete_version_after is a duration (\"0s\", \"30m\", "
                                       "\"48h\") or whole seconds");
      }
      u.delete_version_after = *seconds;
    } else if (k == "custom_metadata") {
      if (v.is_null()) continue;
      if (!v.is_object())
        return Status::InvalidArgument("invalid_metadata", "custom_metadata is a JSON object");
      u.custom_metadata = json::serialize(v);
    } else if (std::find(ignored.begin(), ignored.end(), k) == ignored.end()) {
      return Status::InvalidArgument("invalid_body", "unknown member \"" + std::string(k) + "\"");
    }
  }
  return u;
}

StatusOr<const json::object*> BodyObject(const RequestContext& ctx) {
  const json::object* o = ctx.json.if_object();
  if (o == nullptr) return Status::InvalidArgument("invalid_body", "the body is a JSON object");
  return o;
}

StatusOr<std::string> ValueText(const RequestContext& ctx) {
  std::optional<std::string> text = core::MemberTextExact(ctx.req.body(), "data");
  if (!text) return Status::InvalidArgument("invalid_value", "\"data\" is a JSON object");
  return std::move(*text);
}

StatusOr<std::vector<std::int64_t>> VersionsBody(const json::value& body) {
  const json::object* o = body.if_object();
  if (o == nullptr) return Status::InvalidArgument("invalid_body", "the body is a JSON object");
  std::vector<std::int64_t> out;
  for (const auto& kv : *o) {
    if (kv.key() != "versions") {
      return Status::InvalidArgument("invalid_body",
                                     "unknown member \"" + std::string(kv.key()) + "\"");
    }
    const json::array* a = kv.value().if_array();
    if (a == nullptr || a->size() > 1000) {
      return Status::InvalidArgument("invalid_versions", "versions is an array of integers");
    }
    for (const json::value& v : *a) {
      if (!v.is_int64() || v.as_int64() < 1 || v.as_int64() > kMaxVersionNumber)
        return Status::InvalidArgument("invalid_versions", "versions are 1 to 2^53");
      out.push_back(v.as_int64());
    }
  }
  return out;
}

namespace {

std::size_t MaxBodyBytes(Body body, std::size_t max_value_bytes) {
  constexpr std::size_t kSmallBody = 16 * 1024;
  // Custom metadata at every limit the vault sets (64 members, keys of 128 bytes, values of 512,
  // counted decoded) must not be refused as too large first. That is about 41 KiB of JSON, and up
  // to six times as much escaped: clients that send ASCII-only JSON write a two-byte character
  // as a six-byte escape, and a one-byte control character as one too.
  constexpr std::size_t kMetadataBody = 256 * 1024;
  static_assert(
      secrets::kMaxCustomMetadataKeys *
          (6 * (secrets::kMaxCustomMetadataKeyBytes + secrets::kMaxCustomMetadataValueBytes) + 4) <
      kMetadataBody - 1024);
  switch (body) {
    case Body::kNone:
      return 0;
    case Body::kSmall:
      return kSmallBody;
    case Body::kValue:
      return max_value_bytes + kSmallBody;
    case Body::kMetadata:
      return kMetadataBody;
  }
  return 0;
}

}  // namespace

Status AddRouteTable(http::Router& router, const SecretRouteDeps& deps,
                     std::span<const RouteDef> defs, http::Surface surface) {
  for (const RouteDef& def : defs) {
    BULWARK_RETURN_IF_ERROR(router.Add({
        .method = def.method,
        .pattern = def.pattern,
        .auth = http::AuthDecision::kEither,
        .permission = def.permission,
        .tenant_scoped = true,
        .mfa_step_up = def.mfa_step_up,
        .body = def.body == Body::kNone ? http::BodyKind::kNone : http::BodyKind::kJson,
        .max_body_bytes = MaxBodyBytes(def.body, deps.max_value_bytes),
        .audit_action = def.action,
        .reads_only = def.reads_only,
        .surface = surface,
        .accepts_list = def.accepts_list,
        .summary = def.summary,
        .handler = Bind(deps, def.handler),
    }));
  }
  return Status::Ok();
}

StatusOr<std::vector<std::int64_t>> ParseVersions(std::string_view comma_separated) {
  std::vector<std::int64_t> out;
  for (const std::string& part : core::SplitList(comma_separated, ',')) {
    std::int64_t v = 0;
    if (part.empty() || part.size() > 16 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::InvalidArgument("invalid_versions", "versions are positive integers");
    }
    v = std::stoll(part);
    if (v < 1 || v > kMaxVersionNumber) {
      return Status::InvalidArgument("invalid_versions", "versions are 1 to 2^53");
    }
    out.push_back(v);
  }
  if (out.empty()) return Status::InvalidArgument("invalid_versions", "name at least one version");
  return out;
}

}  // namespace bulwark::api::secret_ops
