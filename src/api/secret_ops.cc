#include "api/secret_ops.h"

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "core/clock.h"
#include "core/go_duration.h"
#include "core/json_text.h"
#include "core/text_list.h"
#include "stages/ledger_audit_stage.h"
#include "secrets/path.h"

namespace bulwark::api::secret_ops {
namespace {

using http::RequestContext;
using policy::kCapCreate;
using policy::kCapDelete;
using policy::kCapList;
using policy::kCapRead;
using policy::kCapUpdate;

// What the refusal says grants the access: the capability at this path, and the two policy calls
// that give it to this credential. It names only what the caller sent and its own id.
Status PathDenied(const RequestContext& ctx, std::string_view path, std::uint8_t wanted) {
  std::string caps;
  std::string quoted_caps;
  for (const std::string& c : policy::CapabilityNames(wanted)) {
    caps += (caps.empty() ? "" : " or ") + c;
    quoted_caps += (quoted_caps.empty() ? "\"" : ",\"") + c + "\"";
  }
  const bool key = ctx.principal.kind == core::Principal::Kind::kApiKey;
  return Status::PermissionDenied(
      "path_denied",
      "no path policy attached to this credential grants " + caps + " on " + std::string(path) +
          " (roles give verbs; path policies say which paths); an owner or admin grants it with "
          "PUT /api/v1/policies/NAME {\"rules\":[{\"path\":\"" +
          std::string(path) + "\",\"capabilities\":[" + quoted_caps +
          "]}]} and PUT /api/v1/policies/NAME/attachments/" + (key ? "api_key/" : "user/") +
          ctx.principal.id +
          " (a session with an MFA step-up); in dev, `bulwark dev quickstart --dev` grants dev/*");
}

// The capability bits the principal holds on `path` (already validated).
StatusOr<std::uint8_t> CapsAt(const IdentityRouteDeps& d, const RequestContext& ctx,
                              std::string_view path) {
  return d.path_access->Capabilities(ctx.principal, path);
}

Status Require(const IdentityRouteDeps& d, const RequestContext& ctx, std::string_view path,
               std::uint8_t any_of) {
  BULWARK_ASSIGN_OR_RETURN(std::uint8_t caps, CapsAt(d, ctx, path));
  if ((caps & any_of) == 0) return PathDenied(ctx, path, any_of);
  return Status::Ok();
}

audit::Event EventOf(const RequestContext& ctx, std::string_view path, unsigned status) {
  audit::Event e = stages::LedgerAuditStage::EventFor(ctx, status, Status::Ok());
  e.resource = SecretResource(path);
  return e;
}

// Runs a change of the secret at `path` with its record, in one transaction.
Status CommitChange(const IdentityRouteDeps& d, RequestContext& ctx, std::string_view path,
                    audit::AuditWriter::AmendingChange change) {
  BULWARK_RETURN_IF_ERROR(d.writer->CommitAmending(std::move(change), EventOf(ctx, path, 200)));
  ctx.audited = true;
  return Status::Ok();
}

std::string VersionsText(const std::vector<std::int64_t>& versions) {
  std::vector<std::string> parts;
  for (auto v : versions) parts.push_back(std::to_string(v));
  return core::JoinList(parts, ',');
}

}  // namespace

std::string SecretResource(std::string_view path) { return "secret:" + std::string(path); }

Status Ready(const IdentityRouteDeps& d) {
  if (d.vault == nullptr || d.path_access == nullptr || d.store == nullptr || d.writer == nullptr) {
    return Status::Unavailable("secrets_unavailable", "the secrets vault is not available");
  }
  return Status::Ok();
}

StatusOr<secrets::SecretValue> Read(const IdentityRouteDeps& d, RequestContext& ctx,
                                    std::string_view path, std::optional<std::int64_t> version) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(secrets::ValidateSecretPath(path));
  BULWARK_RETURN_IF_ERROR(Require(d, ctx, path, kCapRead));
  StatusOr<secrets::SecretValue> value =
      d.vault->Read(*d.store, ctx.principal.tenant_id, path, version);
  // Stage 8 records the read with the path and version, and nothing leaves before that record
  // is durable: if the ledger cannot take it, the value does not leave.
  if (!value.ok()) {
    if (value.status().code() == ErrorCode::kIntegrity) {
      // Recorded and alerted; no plaintext.
      ctx.audit_resource = SecretResource(path);
      if (version) ctx.audit_details.emplace_back("version", *version);
      ctx.audit_alert = "secret_integrity";
    }
    return value.status();
  }
  ctx.audit_resource = SecretResource(path);
  ctx.audit_details.emplace_back("version", value->version.version);
  return value;
}

StatusOr<secrets::VersionInfo> Write(const IdentityRouteDeps& d, RequestContext& ctx,
                                     std::string_view path, std::string_view json_object,
                                     std::optional<std::int64_t> cas) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(secrets::ValidateSecretPath(path));
  BULWARK_ASSIGN_OR_RETURN(std::uint8_t caps, CapsAt(d, ctx, path));
  if ((caps & (kCapCreate | kCapUpdate)) == 0)
    return PathDenied(ctx, path, kCapCreate | kCapUpdate);
  if (cas && *cas < 0) return Status::InvalidArgument("invalid_cas", "cas is 0 or a version");
  secrets::VersionInfo written;
  const std::int64_t now = core::NowUnixSeconds();
  BULWARK_RETURN_IF_ERROR(
      CommitChange(d, ctx, path, [&](store::Transaction& tx, audit::Event& ev) -> Status {
        // Create or update: which one depends on whether a version exists now.
        BULWARK_ASSIGN_OR_RETURN(const auto head, d.vault->Head(tx, ctx.principal.tenant_id, path));
        const bool exists = head && head->current_version > 0;
        const std::uint8_t wanted = exists ? kCapUpdate : kCapCreate;
        if ((caps & wanted) == 0) return PathDenied(ctx, path, wanted);
        BULWARK_ASSIGN_OR_RETURN(written, d.vault->Put(tx, ctx.principal.tenant_id, path,
                                                       json_object, cas, ctx.principal.id, now));
        ev.details.emplace_back("version", written.version);
        return Status::Ok();
      }));
  return written;
}

namespace {

// Soft-deletes, undeletes or destroys `versions` (empty: the current one, for a soft delete) of a
// valid path. Callers check Ready and the path first.
Status ApplyVersions(const IdentityRouteDeps& d, RequestContext& ctx, std::string_view path,
                     VersionAction action, const std::vector<std::int64_t>& versions) {
  BULWARK_RETURN_IF_ERROR(
      Require(d, ctx, path, action == VersionAction::kUndelete ? kCapUpdate : kCapDelete));
  const std::int64_t now = core::NowUnixSeconds();
  return CommitChange(d, ctx, path, [&](store::Transaction& tx, audit::Event& ev) -> Status {
    const std::string& tenant = ctx.principal.tenant_id;
    ev.details.emplace_back("versions", versions.empty() ? "current" : VersionsText(versions));
    switch (action) {
      case VersionAction::kSoftDelete:
        return d.vault->SoftDelete(tx, tenant, path, versions, now);
      case VersionAction::kUndelete:
        return d.vault->Undelete(tx, tenant, path, versions);
      case VersionAction::kDestroy:
        return d.vault->Destroy(tx, tenant, path, versions, now);
    }
    return Status::Internal("unknown version action");
  });
}

}  // namespace

Status ChangeVersions(const IdentityRouteDeps& d, RequestContext& ctx, std::string_view path,
                      VersionAction action, const std::vector<std::int64_t>& versions) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(secrets::ValidateSecretPath(path));
  if (versions.empty()) {
    return Status::InvalidArgument("invalid_versions", "name at least one version");
  }
  return ApplyVersions(d, ctx, path, action, versions);
}

Status SoftDeleteCurrent(const IdentityRouteDeps& d, RequestContext& ctx, std::string_view path) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(secrets::ValidateSecretPath(path));
  return ApplyVersions(d, ctx, path, VersionAction::kSoftDelete, {});
}

Status DeleteAll(const IdentityRouteDeps& d, RequestContext& ctx, std::string_view path) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(secrets::ValidateSecretPath(path));
  BULWARK_RETURN_IF_ERROR(Require(d, ctx, path, kCapDelete));
  return CommitChange(d, ctx, path, [&](store::Transaction& tx, audit::Event&) -> Status {
    return d.vault->DeleteAll(tx, ctx.principal.tenant_id, path);
  });
}

StatusOr<secrets::SecretMetadata> Metadata(const IdentityRouteDeps& d, RequestContext& ctx,
                                           std::string_view path) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(secrets::ValidateSecretPath(path));
  BULWARK_RETURN_IF_ERROR(Require(d, ctx, path, kCapRead));
  BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
  return d.vault->Metadata(*tx, ctx.principal.tenant_id, path);
}

Status UpdateMetadata(const IdentityRouteDeps& d, RequestContext& ctx, std::string_view path,
                      const secrets::MetadataUpdate& update) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  BULWARK_RETURN_IF_ERROR(secrets::ValidateSecretPath(path));
  BULWARK_ASSIGN_OR_RETURN(std::uint8_t caps, CapsAt(d, ctx, path));
  if ((caps & (kCapCreate | kCapUpdate)) == 0)
    return PathDenied(ctx, path, kCapCreate | kCapUpdate);
  const std::int64_t now = core::NowUnixSeconds();
  return CommitChange(d, ctx, path, [&](store::Transaction& tx, audit::Event& ev) -> Status {
    BULWARK_ASSIGN_OR_RETURN(const auto head, d.vault->Head(tx, ctx.principal.tenant_id, path));
    const std::uint8_t wanted = head ? kCapUpdate : kCapCreate;
    if ((caps & wanted) == 0) return PathDenied(ctx, path, wanted);
    // Lowering max_versions removes old versions for good: that is a delete. So is 0, the
    // server default, below a secret's own higher setting.
    if (head && d.vault->LowersMaxVersions(*head, update) && (caps & kCapDelete) == 0) {
      return PathDenied(ctx, path, kCapDelete);
    }
    // So is an expiry set or shortened: the versions it reaches read as deleted at once.
    if (head && head->current_version > 0 && secrets::Vault::ShortensExpiry(*head, update) &&
        (caps & kCapDelete) == 0) {
      return PathDenied(ctx, path, kCapDelete);
    }
    if (update.max_versions) ev.details.emplace_back("max_versions", *update.max_versions);
    if (update.cas_required) ev.details.emplace_back("cas_required", *update.cas_required);
    if (update.delete_version_after)
      ev.details.emplace_back("delete_version_after", *update.delete_version_after);
    return d.vault->UpdateMetadata(tx, ctx.principal.tenant_id, path, update, ctx.principal.id,
                                   now);
  });
}

StatusOr<std::vector<std::string>> List(const IdentityRouteDeps& d, RequestContext& ctx,
                                        std::string_view prefix, bool recursive) {
  BULWARK_RETURN_IF_ERROR(Ready(d));
  // A prefix names a folder: "dev" is "dev/" (never the raw string prefix of "development").
  std::string folder(prefix);
  if (!folder.empty() && folder.back() != '/') folder += '/';
  prefix = folder;
  BULWARK_RETURN_IF_ERROR(secrets::ValidateListPrefix(prefix));
  BULWARK_ASSIGN_OR_RETURN(auto rules, d.path_access->Rules(ctx.principal));
  std::vector<std::string> all;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, d.store->Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(all, d.vault->List(*tx, ctx.principal.tenant_id, prefix));
  }
  // Filter whole paths first: a folder shows only when some path below it may be seen.
  std::erase_if(all, [&](const std::string& rest) {
    return (policy::CapabilitiesOf(*rules, ctx.principal, std::string(prefix) + rest) &
            (kCapRead | kCapList)) == 0;
  });
  return recursive ? all : secrets::NextLevel(all);
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

Status AddRouteTable(http::Router& router, const IdentityRouteDeps& deps,
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
        .max_body_bytes = MaxBodyBytes(def.body, deps.secret_max_value_bytes),
        .audit_action = def.action,
        .reads_only = def.reads_only,
        .surface = surface,
        .accepts_list = def.accepts_list,
        .summary = def.summary,
        .handler = BindIdentity(deps, def.handler),
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
