#include "secrets/secret_service.h"

#include <algorithm>

#include "core/clock.h"
#include "core/text_list.h"
#include "policy/secret_path.h"

namespace bulwark::secrets {
namespace {

using policy::kCapCreate;
using policy::kCapDelete;
using policy::kCapList;
using policy::kCapRead;
using policy::kCapUpdate;

// What the refusal says grants the access: the capability at this path, and the two policy calls
// that give it to this credential. It names only what the caller sent and its own id.
Status PathDenied(const Caller& caller, std::string_view path, std::uint8_t wanted) {
  std::string caps;
  std::string quoted_caps;
  for (const std::string& c : policy::CapabilityNames(wanted)) {
    caps += (caps.empty() ? "" : " or ") + c;
    quoted_caps += (quoted_caps.empty() ? "\"" : ",\"") + c + "\"";
  }
  const bool key = caller.principal.kind == core::Principal::Kind::kApiKey;
  return Status::PermissionDenied(
      "path_denied",
      "no path policy attached to this credential grants " + caps + " on " + std::string(path) +
          " (roles give verbs; path policies say which paths); an owner or admin grants it with "
          "PUT /api/v1/policies/NAME {\"rules\":[{\"path\":\"" +
          std::string(path) + "\",\"capabilities\":[" + quoted_caps +
          "]}]} and PUT /api/v1/policies/NAME/attachments/" + (key ? "api_key/" : "user/") +
          caller.principal.id +
          " (a session with an MFA step-up); in dev, `bulwark dev quickstart --dev` grants dev/*");
}

// Runs a change of the secret at `path` with its record, through the caller's commit function.
Status CommitChange(const Caller& caller, std::string_view path, const RecordedChange& change) {
  Recorded recorded{.resource = SecretResource(path)};
  return caller.commit(recorded, change);
}

std::string VersionsText(const std::vector<std::int64_t>& versions) {
  std::vector<std::string> parts;
  for (auto v : versions) parts.push_back(std::to_string(v));
  return core::JoinList(parts, ',');
}

}  // namespace

std::string SecretResource(std::string_view path) { return "secret:" + std::string(path); }

Status SecretService::Require(const Caller& caller, std::string_view path, std::uint8_t any_of) {
  BULWARK_ASSIGN_OR_RETURN(std::uint8_t caps, access_.Capabilities(caller.principal, path));
  if ((caps & any_of) == 0) return PathDenied(caller, path, any_of);
  return Status::Ok();
}

StatusOr<SecretValue> SecretService::Read(const Caller& caller, std::string_view path,
                                          std::optional<std::int64_t> version,
                                          Recorded& recorded) {
  BULWARK_RETURN_IF_ERROR(policy::ValidateSecretPath(path));
  BULWARK_RETURN_IF_ERROR(Require(caller, path, kCapRead));
  StatusOr<SecretValue> value = vault_.Read(store_, caller.principal.tenant_id, path, version);
  if (!value.ok()) {
    if (value.status().code() == ErrorCode::kIntegrity) {
      // Recorded and alerted; no plaintext.
      recorded.resource = SecretResource(path);
      if (version) recorded.details.emplace_back("version", *version);
      recorded.alert = "secret_integrity";
    }
    return value.status();
  }
  recorded.resource = SecretResource(path);
  recorded.details.emplace_back("version", value->version.version);
  return value;
}

StatusOr<VersionInfo> SecretService::Write(const Caller& caller, std::string_view path,
                                           std::string_view json_object,
                                           std::optional<std::int64_t> cas) {
  BULWARK_RETURN_IF_ERROR(policy::ValidateSecretPath(path));
  BULWARK_ASSIGN_OR_RETURN(std::uint8_t caps, access_.Capabilities(caller.principal, path));
  if ((caps & (kCapCreate | kCapUpdate)) == 0)
    return PathDenied(caller, path, kCapCreate | kCapUpdate);
  if (cas && *cas < 0) return Status::InvalidArgument("invalid_cas", "cas is 0 or a version");
  VersionInfo written;
  const std::int64_t now = core::NowUnixSeconds();
  const std::string& tenant = caller.principal.tenant_id;
  BULWARK_RETURN_IF_ERROR(CommitChange(
      caller, path, [&](store::Transaction& tx, Recorded& recorded) -> Status {
        // Create or update: which one depends on whether a version exists now.
        BULWARK_ASSIGN_OR_RETURN(const auto head, vault_.Head(tx, tenant, path));
        const bool exists = head && head->current_version > 0;
        const std::uint8_t wanted = exists ? kCapUpdate : kCapCreate;
        if ((caps & wanted) == 0) return PathDenied(caller, path, wanted);
        BULWARK_ASSIGN_OR_RETURN(
            written, vault_.Put(tx, tenant, path, json_object, cas, caller.principal.id, now));
        recorded.details.emplace_back("version", written.version);
        return Status::Ok();
      }));
  return written;
}

// Soft-deletes, undeletes or destroys `versions` (empty: the current one, for a soft delete) of a
// valid path.
Status SecretService::ApplyVersions(const Caller& caller, std::string_view path,
                                    VersionAction action,
                                    const std::vector<std::int64_t>& versions) {
  BULWARK_RETURN_IF_ERROR(
      Require(caller, path, action == VersionAction::kUndelete ? kCapUpdate : kCapDelete));
  const std::int64_t now = core::NowUnixSeconds();
  return CommitChange(caller, path, [&](store::Transaction& tx, Recorded& recorded) -> Status {
    const std::string& tenant = caller.principal.tenant_id;
    recorded.details.emplace_back("versions",
                                  versions.empty() ? "current" : VersionsText(versions));
    switch (action) {
      case VersionAction::kSoftDelete:
        return vault_.SoftDelete(tx, tenant, path, versions, now);
      case VersionAction::kUndelete:
        return vault_.Undelete(tx, tenant, path, versions);
      case VersionAction::kDestroy:
        return vault_.Destroy(tx, tenant, path, versions, now);
    }
    return Status::Internal("unknown version action");
  });
}

Status SecretService::ChangeVersions(const Caller& caller, std::string_view path,
                                     VersionAction action,
                                     const std::vector<std::int64_t>& versions) {
  BULWARK_RETURN_IF_ERROR(policy::ValidateSecretPath(path));
  if (versions.empty()) {
    return Status::InvalidArgument("invalid_versions", "name at least one version");
  }
  return ApplyVersions(caller, path, action, versions);
}

Status SecretService::SoftDeleteCurrent(const Caller& caller, std::string_view path) {
  BULWARK_RETURN_IF_ERROR(policy::ValidateSecretPath(path));
  return ApplyVersions(caller, path, VersionAction::kSoftDelete, {});
}

Status SecretService::DeleteAll(const Caller& caller, std::string_view path) {
  BULWARK_RETURN_IF_ERROR(policy::ValidateSecretPath(path));
  BULWARK_RETURN_IF_ERROR(Require(caller, path, kCapDelete));
  return CommitChange(caller, path, [&](store::Transaction& tx, Recorded&) -> Status {
    return vault_.DeleteAll(tx, caller.principal.tenant_id, path);
  });
}

StatusOr<SecretMetadata> SecretService::Metadata(const Caller& caller, std::string_view path) {
  BULWARK_RETURN_IF_ERROR(policy::ValidateSecretPath(path));
  BULWARK_RETURN_IF_ERROR(Require(caller, path, kCapRead));
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  return vault_.Metadata(*tx, caller.principal.tenant_id, path);
}

Status SecretService::UpdateMetadata(const Caller& caller, std::string_view path,
                                     const MetadataUpdate& update) {
  BULWARK_RETURN_IF_ERROR(policy::ValidateSecretPath(path));
  BULWARK_ASSIGN_OR_RETURN(std::uint8_t caps, access_.Capabilities(caller.principal, path));
  if ((caps & (kCapCreate | kCapUpdate)) == 0)
    return PathDenied(caller, path, kCapCreate | kCapUpdate);
  const std::int64_t now = core::NowUnixSeconds();
  const std::string& tenant = caller.principal.tenant_id;
  return CommitChange(caller, path, [&](store::Transaction& tx, Recorded& recorded) -> Status {
    BULWARK_ASSIGN_OR_RETURN(const auto head, vault_.Head(tx, tenant, path));
    const std::uint8_t wanted = head ? kCapUpdate : kCapCreate;
    if ((caps & wanted) == 0) return PathDenied(caller, path, wanted);
    // Lowering max_versions removes old versions for good: that is a delete. So is 0, the
    // server default, below a secret's own higher setting.
    if (head && vault_.LowersMaxVersions(*head, update) && (caps & kCapDelete) == 0) {
      return PathDenied(caller, path, kCapDelete);
    }
    // So is an expiry set or shortened: the versions it reaches read as deleted at once.
    if (head && head->current_version > 0 && Vault::ShortensExpiry(*head, update) &&
        (caps & kCapDelete) == 0) {
      return PathDenied(caller, path, kCapDelete);
    }
    if (update.max_versions) recorded.details.emplace_back("max_versions", *update.max_versions);
    if (update.cas_required) recorded.details.emplace_back("cas_required", *update.cas_required);
    if (update.delete_version_after)
      recorded.details.emplace_back("delete_version_after", *update.delete_version_after);
    return vault_.UpdateMetadata(tx, tenant, path, update, caller.principal.id, now);
  });
}

StatusOr<std::vector<std::string>> SecretService::List(const Caller& caller,
                                                       std::string_view prefix, bool recursive) {
  // A prefix names a folder: "dev" is "dev/" (never the raw string prefix of "development").
  std::string folder(prefix);
  if (!folder.empty() && folder.back() != '/') folder += '/';
  prefix = folder;
  BULWARK_RETURN_IF_ERROR(policy::ValidateListPrefix(prefix));
  BULWARK_ASSIGN_OR_RETURN(auto rules, access_.Rules(caller.principal));
  std::vector<std::string> all;
  {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
    BULWARK_ASSIGN_OR_RETURN(all, vault_.List(*tx, caller.principal.tenant_id, prefix));
  }
  // Filter whole paths first: a folder shows only when some path below it may be seen.
  std::erase_if(all, [&](const std::string& rest) {
    return (policy::CapabilitiesOf(*rules, caller.principal, std::string(prefix) + rest) &
            (kCapRead | kCapList)) == 0;
  });
  return recursive ? all : NextLevel(all);
}

}  // namespace bulwark::secrets
