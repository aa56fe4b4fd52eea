#include "secrets/vault.h"

#include <algorithm>
#include <boost/json/parse.hpp>

#include "core/clock.h"
#include "crypto/hash.h"
#include "secrets/sealer.h"
#include "secrets/vault_store.h"

namespace bulwark::secrets {
namespace {

constexpr std::size_t kMaxCachedDataKeys = 4096;
// Current rows held in memory: at most this many, each sealing at most this many bytes (larger
// values are read from the store every time), so with their keys (tenant and path) and metadata
// the rows take at most ~50 MB.
constexpr std::size_t kMaxCurrentRows = 10'000;
constexpr std::size_t kMaxCurrentRowSealedBytes = 4096;

std::string CurrentRowKey(std::string_view tenant, std::string_view path) {
  std::string key;
  key.reserve(tenant.size() + 1 + path.size());
  key.append(tenant).push_back('\0');
  key.append(path);
  return key;
}

Status NotFound() { return Status::NotFound("secret_not_found", "no such secret or version"); }

}  // namespace

Vault::Vault(const keyring::Keyring& keys, VaultOptions options)
    : keys_(keys), options_(options), current_rows_(kMaxCurrentRows) {}

void Vault::ForgetCurrent(store::Transaction& tx, std::string_view tenant, std::string_view path) {
  if (options_.current_row_ttl.count() <= 0) return;
  tx.OnEnd([this, key = CurrentRowKey(tenant, path)] {
    try {
      current_rows_.Invalidate(key);
    } catch (...) {
      core::CacheGate::Process().Flush();  // out of memory: drop every kept entry instead
    }
  });
}

StatusOr<Vault::DataKey> Vault::ActiveKeyForSealing(store::Transaction& tx, std::string_view tenant,
                                                    std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(const std::optional<DataKeyRecord> newest,
                           vault_store::NewestDataKey(tx, tenant));
  DataKeyChoice choice = ChooseSealingKey(tenant, newest, options_.max_seals_per_key);
  if (choice.create) {
    BULWARK_RETURN_IF_ERROR(
        vault_store::InsertDataKey(tx, tenant, choice.number, choice.key_id, now));
  }
  BULWARK_RETURN_IF_ERROR(vault_store::CountSeals(tx, choice.key_id, 1));
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                           keys_.GetOrCreateKey(tx, choice.key_id, kDataKeyPurpose, kDataKeyBytes));
  return DataKey{.key_id = std::move(choice.key_id), .key = std::move(key)};
}

std::shared_ptr<const crypto::SecretBytes> Vault::HeldKey(std::string_view key_id) {
  std::lock_guard lock(key_cache_mu_);
  auto it = key_cache_.find(std::string(key_id));
  return it == key_cache_.end() ? nullptr : it->second;
}

StatusOr<std::shared_ptr<const crypto::SecretBytes>> Vault::KeyById(store::Transaction& tx,
                                                                    std::string_view key_id) {
  if (auto held = HeldKey(key_id)) return held;
  BULWARK_ASSIGN_OR_RETURN(const std::optional<vault_store::WrappedDataKey> wrapped,
                           vault_store::ReadWrappedDataKey(tx, key_id));
  if (!wrapped) return Status::Integrity("a secret's data key is missing");
  if (wrapped->kek_version > static_cast<std::int64_t>(keys_.kek_version())) {
    // Re-wrapped by a master key rotation this process has not reloaded yet: not damage.
    return Status::Unavailable("master_key_reload_required",
                               "the master key was rotated; this server must reload it");
  }
  BULWARK_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                           keys_.Unwrap(wrapped->wrapped, key_id, kDataKeyPurpose));
  auto shared = std::make_shared<const crypto::SecretBytes>(std::move(key));
  std::lock_guard lock(key_cache_mu_);
  if (key_cache_.size() >= kMaxCachedDataKeys) key_cache_.clear();
  key_cache_.emplace(std::string(key_id), shared);
  return shared;
}

// ---- Put, in its named steps ----

Status Vault::ValidateValue(std::string_view json_object) const {
  if (json_object.size() > options_.max_value_bytes) {
    return Status::InvalidArgument("invalid_value", "the secret value is larger than the limit");
  }
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(json_object, ec);
  if (ec || !parsed.is_object())
    return Status::InvalidArgument("invalid_value", "a secret value is a JSON object");
  return Status::Ok();
}

StatusOr<Vault::NextVersion> Vault::CheckAndSet(store::Transaction& tx, std::string_view tenant,
                                                std::string_view path,
                                                std::optional<std::int64_t> cas) {
  BULWARK_ASSIGN_OR_RETURN(const std::optional<SecretHead> head, Head(tx, tenant, path));
  const std::int64_t current = head ? head->current_version : 0;
  if (head && head->cas_required && !cas) {
    return Status::Conflict("cas_required", "this secret requires check-and-set (cas)");
  }
  if (cas && *cas != current) {
    return Status::Conflict("cas_mismatch",
                            "check-and-set version does not match the current version");
  }
  return NextVersion{.version = current + 1,
                     .max_versions = head ? head->max_versions : options_.default_max_versions,
                     .first = !head};
}

StatusOr<Vault::SealedValue> Vault::SealNew(store::Transaction& tx, std::string_view tenant,
                                             std::string_view path, std::int64_t version,
                                             std::string_view json_object, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(DataKey key, ActiveKeyForSealing(tx, tenant, now));
  BULWARK_ASSIGN_OR_RETURN(
      store::Value::Blob sealed,
      SealVersion(key.key, {tenant, path, version, key.key_id}, crypto::AsBytes(json_object)));
  return SealedValue{.key_id = std::move(key.key_id), .sealed = std::move(sealed)};
}

StatusOr<VersionInfo> Vault::Put(store::Transaction& tx, std::string_view tenant,
                                 std::string_view path, std::string_view json_object,
                                 std::optional<std::int64_t> cas, std::string_view actor,
                                 std::int64_t now) {
  ForgetCurrent(tx, tenant, path);
  BULWARK_RETURN_IF_ERROR(ValidateValue(json_object));
  BULWARK_ASSIGN_OR_RETURN(const NextVersion next, CheckAndSet(tx, tenant, path, cas));
  const std::int64_t version = next.version;
  // The head first, then the data key and the sealed row, in the order the store has always
  // seen them written.
  BULWARK_RETURN_IF_ERROR(
      next.first
          ? vault_store::InsertSecret(tx, tenant, path, version, next.max_versions, actor, now)
          : vault_store::AdvanceSecret(tx, tenant, path, version, actor, now));
  BULWARK_ASSIGN_OR_RETURN(SealedValue sealed,
                           SealNew(tx, tenant, path, version, json_object, now));
  BULWARK_RETURN_IF_ERROR(vault_store::InsertVersion(tx, tenant, path,
                                                     {.version = version,
                                                      .key_id = sealed.key_id,
                                                      .sealed = std::move(sealed.sealed),
                                                      .actor = actor,
                                                      .now = now}));
  // Keep at most max_versions: older ones go for good, as in Vault.
  BULWARK_RETURN_IF_ERROR(
      vault_store::PruneVersions(tx, tenant, path, version - next.max_versions));
  return VersionInfo{.version = version, .created_at = now, .created_by = std::string(actor)};
}

// ---- Reading ----

StatusOr<std::shared_ptr<const Vault::StoredVersion>> Vault::Load(
    store::Transaction& tx, std::string_view tenant, std::string_view path,
    std::optional<std::int64_t> version) {
  if (version && *version <= 0) version.reset();  // 0 or less: the current version
  BULWARK_ASSIGN_OR_RETURN(std::optional<vault_store::VersionRow> row,
                           vault_store::ReadVersion(tx, tenant, path, version));
  if (!row || row->deleted || row->destroyed || !row->sealed) return NotFound();
  const std::int64_t after = row->delete_version_after;
  auto stored = std::make_shared<const StoredVersion>(
      StoredVersion{.version = row->version,
                    .key_id = std::move(row->key_id),
                    .sealed = std::move(*row->sealed),
                    .created_at = row->created_at,
                    .created_by = std::move(row->created_by),
                    .expires_at = after > 0 ? row->created_at + after : 0,
                    .read_at = std::chrono::steady_clock::now()});
  if (Expired(*stored)) return NotFound();
  return stored;
}

bool Vault::Expired(const StoredVersion& stored) {
  return stored.expires_at != 0 && stored.expires_at <= core::NowUnixSeconds();
}

StatusOr<SecretValue> Vault::Open(const crypto::SecretBytes& key, std::string_view tenant,
                                  std::string_view path, const StoredVersion& stored) {
  BULWARK_ASSIGN_OR_RETURN(
      crypto::SecretBytes plain,
      OpenVersion(key, {tenant, path, stored.version, stored.key_id}, stored.sealed));
  return SecretValue{.data = std::move(plain),
                     .version = {.version = stored.version,
                                 .created_at = stored.created_at,
                                 .created_by = stored.created_by}};
}

StatusOr<SecretValue> Vault::Get(store::Transaction& tx, std::string_view tenant,
                                 std::string_view path, std::optional<std::int64_t> version) {
  BULWARK_ASSIGN_OR_RETURN(auto stored, Load(tx, tenant, path, version));
  BULWARK_ASSIGN_OR_RETURN(auto key, KeyById(tx, stored->key_id));
  return Open(*key, tenant, path, *stored);
}

StatusOr<SecretValue> Vault::Read(store::Store& store, std::string_view tenant,
                                  std::string_view path, std::optional<std::int64_t> version) {
  if ((version && *version > 0) || options_.current_row_ttl.count() <= 0) {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
    return Get(*tx, tenant, path, version);
  }
  const std::string row_key = CurrentRowKey(tenant, path);
  // Taken before the transaction below reads anything: its snapshot then holds every change
  // whose drop this epoch has counted, so a row it loads from before a later change is refused.
  const std::uint64_t epoch = current_rows_.Epoch();
  if (auto kept = current_rows_.Find(row_key);
      kept && std::chrono::steady_clock::now() - (*kept)->read_at < options_.current_row_ttl) {
    if (Expired(**kept)) return NotFound();
    // No transaction unless the data key is not held yet.
    auto key = HeldKey((*kept)->key_id);
    if (!key) {
      BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
      BULWARK_ASSIGN_OR_RETURN(key, KeyById(*tx, (*kept)->key_id));
    }
    return Open(*key, tenant, path, **kept);
  }
  BULWARK_ASSIGN_OR_RETURN(auto tx, store.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(auto stored, Load(*tx, tenant, path, version));
  BULWARK_ASSIGN_OR_RETURN(auto key, KeyById(*tx, stored->key_id));
  BULWARK_ASSIGN_OR_RETURN(SecretValue value, Open(*key, tenant, path, *stored));
  // Kept only once it has opened: a row that fails is read, and fails, every time.
  if (stored->sealed.size() <= kMaxCurrentRowSealedBytes) {
    current_rows_.Insert(row_key, stored, epoch);
  }
  return value;
}

StatusOr<SecretMetadata> Vault::Metadata(store::Transaction& tx, std::string_view tenant,
                                         std::string_view path) {
  BULWARK_ASSIGN_OR_RETURN(std::optional<SecretMetadata> found,
                           vault_store::ReadMetadata(tx, tenant, path));
  if (!found) return NotFound();
  SecretMetadata m = std::move(*found);
  const std::int64_t now = core::NowUnixSeconds();
  BULWARK_ASSIGN_OR_RETURN(m.versions, vault_store::ReadVersions(tx, tenant, path));
  for (VersionInfo& info : m.versions) {
    // A version past delete_version_after is deleted since the moment it expired.
    if (const std::int64_t expires = info.created_at + m.delete_version_after;
        !info.deleted_at && !info.destroyed && m.delete_version_after > 0 && expires <= now) {
      info.deleted_at = expires;
    }
  }
  m.oldest_version = m.versions.empty() ? 0 : m.versions.front().version;
  return m;
}

// ---- Deleting ----

Status Vault::SoftDelete(store::Transaction& tx, std::string_view tenant, std::string_view path,
                         std::vector<std::int64_t> versions, std::int64_t now) {
  ForgetCurrent(tx, tenant, path);
  if (versions.empty()) {
    BULWARK_ASSIGN_OR_RETURN(const std::optional<SecretHead> head, Head(tx, tenant, path));
    if (!head) return NotFound();
    versions.push_back(head->current_version);
  }
  for (std::int64_t v : versions) {
    BULWARK_RETURN_IF_ERROR(vault_store::SoftDeleteVersion(tx, tenant, path, v, now));
  }
  return Status::Ok();
}

Status Vault::Undelete(store::Transaction& tx, std::string_view tenant, std::string_view path,
                       const std::vector<std::int64_t>& versions) {
  ForgetCurrent(tx, tenant, path);
  for (std::int64_t v : versions) {
    BULWARK_RETURN_IF_ERROR(vault_store::UndeleteVersion(tx, tenant, path, v));
  }
  return Status::Ok();
}

Status Vault::Destroy(store::Transaction& tx, std::string_view tenant, std::string_view path,
                      const std::vector<std::int64_t>& versions, std::int64_t now) {
  ForgetCurrent(tx, tenant, path);
  for (std::int64_t v : versions) {
    BULWARK_RETURN_IF_ERROR(vault_store::DestroyVersion(tx, tenant, path, v, now));
  }
  return Status::Ok();
}

// ---- Data-key rotation ----

StatusOr<std::string> Vault::StartDataRotation(store::Transaction& tx, std::string_view tenant,
                                               std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(std::optional<std::string> open,
                           vault_store::UnfinishedRotation(tx, tenant));
  if (open) return std::move(*open);  // resume
  BULWARK_ASSIGN_OR_RETURN(const std::int64_t highest,
                           vault_store::HighestDataKeyNumber(tx, tenant));
  const std::int64_t number = highest + 1;
  const std::string key_id = DataKeyId(tenant, number);
  BULWARK_RETURN_IF_ERROR(vault_store::InsertDataKey(tx, tenant, number, key_id, now));
  BULWARK_RETURN_IF_ERROR(
      keys_.GetOrCreateKey(tx, key_id, kDataKeyPurpose, kDataKeyBytes).status());
  BULWARK_RETURN_IF_ERROR(vault_store::InsertRotation(tx, tenant, key_id, now));
  return key_id;
}

StatusOr<std::int64_t> Vault::ResealBatch(store::Transaction& tx, std::string_view tenant,
                                          std::string_view target_key_id, std::int64_t limit) {
  BULWARK_ASSIGN_OR_RETURN(std::vector<vault_store::ResealRow> rows,
                           vault_store::VersionsToReseal(tx, tenant, target_key_id, limit));
  if (rows.empty()) return std::int64_t{0};
  BULWARK_ASSIGN_OR_RETURN(auto target, KeyById(tx, target_key_id));
  std::string old_id;
  std::shared_ptr<const crypto::SecretBytes> old_key;
  const std::string* forgotten = nullptr;  // rows come by path: one drop per path, not version
  for (auto& r : rows) {
    if (forgotten == nullptr || *forgotten != r.path) {
      ForgetCurrent(tx, tenant, r.path);
      forgotten = &r.path;
    }
    if (r.key_id != old_id) {
      BULWARK_ASSIGN_OR_RETURN(old_key, KeyById(tx, r.key_id));
      old_id = r.key_id;
    }
    BULWARK_ASSIGN_OR_RETURN(
        store::Value::Blob sealed,
        ResealVersion(*old_key, {tenant, r.path, r.version, old_id}, *target, target_key_id,
                      r.sealed));
    BULWARK_RETURN_IF_ERROR(vault_store::ReplaceSealed(tx, tenant, r.path, r.version, old_id,
                                                       target_key_id, std::move(sealed)));
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  BULWARK_RETURN_IF_ERROR(vault_store::CountSeals(tx, target_key_id, n));
  BULWARK_RETURN_IF_ERROR(vault_store::CountResealed(tx, tenant, target_key_id, n));
  return n;
}

StatusOr<std::int64_t> Vault::FinishDataRotation(store::Transaction& tx, std::string_view tenant,
                                                 std::string_view target_key_id, std::int64_t now) {
  BULWARK_RETURN_IF_ERROR(vault_store::FinishRotation(tx, tenant, target_key_id, now));
  BULWARK_ASSIGN_OR_RETURN(const std::optional<std::int64_t> resealed,
                           vault_store::ResealedCount(tx, tenant, target_key_id));
  if (!resealed) return Status::NotFound("rotation_not_found", "no such data-key rotation");
  return *resealed;
}

// ---- Settings ----

Status Vault::UpdateMetadata(store::Transaction& tx, std::string_view tenant, std::string_view path,
                             const MetadataUpdate& update, std::string_view actor,
                             std::int64_t now) {
  ForgetCurrent(tx, tenant, path);
  const auto invalid = [](std::string_view why) {
    return Status::InvalidArgument("invalid_metadata", std::string(why));
  };
  if (update.max_versions && (*update.max_versions < 0 || *update.max_versions > kMaxVersionsLimit))
    return invalid("max_versions is between 0 (the default) and 1000");
  if (update.delete_version_after && *update.delete_version_after < 0)
    return invalid("delete_version_after is a duration of 0 (never) or more");
  if (update.custom_metadata) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(*update.custom_metadata, ec);
    if (ec || !v.is_object()) return invalid("custom_metadata is a JSON object");
    if (v.as_object().size() > kMaxCustomMetadataKeys)
      return invalid("custom_metadata has at most 64 members");
    for (const auto& kv : v.as_object()) {
      if (kv.key().empty() || kv.key().size() > kMaxCustomMetadataKeyBytes ||
          !kv.value().is_string() || kv.value().as_string().size() > kMaxCustomMetadataValueBytes) {
        return invalid(
            "custom_metadata members are strings; keys of 1-128 bytes, values up to 512 bytes");
      }
    }
  }
  BULWARK_ASSIGN_OR_RETURN(const std::optional<SecretHead> head, Head(tx, tenant, path));
  const std::int64_t max_versions = EffectiveMaxVersions(update);
  if (!head) {
    return vault_store::InsertSettings(tx, tenant, path, max_versions,
                                       update.cas_required.value_or(false),
                                       update.delete_version_after.value_or(0),
                                       update.custom_metadata.value_or("{}"), actor, now);
  }
  if (update.max_versions) {
    BULWARK_RETURN_IF_ERROR(vault_store::SetMaxVersions(tx, tenant, path, max_versions));
    BULWARK_RETURN_IF_ERROR(
        vault_store::PruneVersions(tx, tenant, path, head->current_version - max_versions));
  }
  if (update.cas_required) {
    BULWARK_RETURN_IF_ERROR(vault_store::SetCasRequired(tx, tenant, path, *update.cas_required));
  }
  if (update.delete_version_after) {
    BULWARK_RETURN_IF_ERROR(
        vault_store::SetDeleteVersionAfter(tx, tenant, path, *update.delete_version_after));
  }
  if (update.custom_metadata) {
    BULWARK_RETURN_IF_ERROR(
        vault_store::SetCustomMetadata(tx, tenant, path, *update.custom_metadata));
  }
  return vault_store::SetUpdated(tx, tenant, path, actor, now);
}

Status Vault::DeleteAll(store::Transaction& tx, std::string_view tenant, std::string_view path) {
  ForgetCurrent(tx, tenant, path);
  BULWARK_RETURN_IF_ERROR(vault_store::DeleteVersions(tx, tenant, path));
  BULWARK_ASSIGN_OR_RETURN(std::int64_t n, vault_store::DeleteSecret(tx, tenant, path));
  if (n == 0) return NotFound();
  return Status::Ok();
}

std::int64_t Vault::EffectiveMaxVersions(const MetadataUpdate& update) const {
  return update.max_versions.value_or(0) > 0 ? *update.max_versions : options_.default_max_versions;
}

bool Vault::LowersMaxVersions(const SecretHead& head, const MetadataUpdate& update) const {
  if (!update.max_versions || *update.max_versions < 0 ||
      *update.max_versions > kMaxVersionsLimit) {
    return false;
  }
  return EffectiveMaxVersions(update) < head.max_versions;
}

bool Vault::ShortensExpiry(const SecretHead& head, const MetadataUpdate& update) {
  if (!update.delete_version_after || *update.delete_version_after <= 0) return false;
  return head.delete_version_after == 0 || *update.delete_version_after < head.delete_version_after;
}

StatusOr<std::optional<SecretHead>> Vault::Head(store::Transaction& tx, std::string_view tenant,
                                                std::string_view path) {
  return vault_store::ReadHead(tx, tenant, path);
}

StatusOr<std::vector<std::string>> Vault::List(store::Transaction& tx, std::string_view tenant,
                                               std::string_view prefix) {
  // The prefix is matched, and the paths sorted, byte by byte, whatever the database's collation
  // (BytewiseRange). Paths are ASCII ([A-Za-z0-9._-] and '/', ValidateSecretPath), so the range
  // holds exactly the paths that start with the prefix; starts_with below keeps anything else out
  // all the same.
  auto [lower, upper] = store::AsciiPrefixBounds(prefix);
  BULWARK_ASSIGN_OR_RETURN(
      std::vector<std::string> paths,
      vault_store::PathsInRange(tx, tenant, std::move(lower), std::move(upper)));
  std::vector<std::string> out;
  out.reserve(paths.size());
  for (const std::string& path : paths) {
    if (path.starts_with(prefix)) out.push_back(path.substr(prefix.size()));
  }
  std::sort(out.begin(), out.end());  // std::string compares as unsigned bytes
  return out;
}

std::vector<std::string> NextLevel(const std::vector<std::string>& relative_paths) {
  std::vector<std::string> out;
  for (const std::string& p : relative_paths) {
    const auto slash = p.find('/');
    std::string shown = slash == std::string::npos ? p : p.substr(0, slash + 1);  // a folder
    // Sorted input keeps a folder's paths together (nothing sorts between "db/a" and "db/b"
    // that does not start with "db/"), so one look back removes its repeats.
    if (out.empty() || out.back() != shown) out.push_back(std::move(shown));
  }
  return out;
}

}  // namespace bulwark::secrets
