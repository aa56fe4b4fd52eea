#include "identity/api_keys.h"

#include <algorithm>

#include "core/log.h"
#include "core/text_list.h"
#include "core/thread_name.h"
#include "crypto/compare.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "identity/tokens.h"

namespace bulwark::identity {
namespace {

using store::Value;

constexpr std::size_t kIdLength = 16;
constexpr std::size_t kSecretLength = 43;
constexpr std::size_t kChecksumLength = 6;

std::string Checksum(std::string_view body) {
  const crypto::Digest256 d = crypto::Sha256(body);
  return crypto::Base64UrlEncode(d).substr(0, kChecksumLength);
}

bool IsBase64Url(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status Invalid() { return Status::Unauthenticated("invalid_api_key", "the API key is not valid"); }

ApiKeyInfo InfoFromRow(const store::Row& r) {
  ApiKeyInfo i;
  i.id = r[0].as_text();
  i.tenant_id = r[1].as_text();
  i.name = r[2].as_text();
  i.scopes = core::SplitList(r[3].as_text(), ' ');
  i.created_by = r[4].as_text();
  i.created_at = r[5].as_int();
  if (!r[6].is_null()) i.expires_at = r[6].as_int();
  i.cidrs = core::SplitList(r[7].as_text(), ',');
  if (!r[8].is_null()) i.last_used_at = r[8].as_int();
  if (!r[9].is_null()) i.revoked_at = r[9].as_int();
  if (!r[10].is_null()) i.rate_limit = r[10].as_text();
  return i;
}

constexpr std::string_view kInfoColumns =
    "id, tenant_id, name, scopes, created_by, created_at, expires_at, allowed_cidrs, last_used_at, "
    "revoked_at, rate_limit";

}  // namespace

bool ApiKeyChecksumValid(std::string_view text) {
  if (text.size() != kApiKeyLength || !text.starts_with(kApiKeyPrefix)) return false;
  const std::string_view id = text.substr(4, kIdLength);
  const std::string_view secret = text.substr(4 + kIdLength + 1, kSecretLength);
  const std::string_view sum = text.substr(kApiKeyLength - kChecksumLength);
  if (text[4 + kIdLength] != '_' || text[kApiKeyLength - kChecksumLength - 1] != '_') return false;
  if (!IsLowerHex(id) || !IsBase64Url(secret) || !IsBase64Url(sum)) return false;
  return crypto::ConstantTimeEquals(Checksum(text.substr(0, kApiKeyLength - kChecksumLength - 1)),
                                    sum);
}

std::string_view ApiKeyId(std::string_view text) {
  if (!ApiKeyChecksumValid(text)) return {};
  return text.substr(4, kIdLength);
}

ApiKeyService::ApiKeyService(store::Store& store, std::chrono::milliseconds flush_interval)
    : store_(store), flush_interval_(flush_interval), flusher_([this] {
        core::NameThisThread("bw-apikey-flush");
        RunFlusher();
      }) {}

ApiKeyService::~ApiKeyService() { Stop(); }

StatusOr<CreatedApiKey> ApiKeyService::Create(store::Transaction& tx, const ApiKeyRequest& req,
                                              std::int64_t now) {
  if (req.name.empty() || req.name.size() > 64 ||
      !std::all_of(req.name.begin(), req.name.end(),
                   [](char c) { return c >= 0x20 && c < 0x7F; })) {
    return Status::InvalidArgument("invalid_name", "a key name is 1-64 printable ASCII characters");
  }
  if (req.scopes.empty() || req.scopes.size() > 32) {
    return Status::InvalidArgument("invalid_scope",
                                   "name 1-32 permission verbs as the key's scopes");
  }
  std::vector<std::string> scopes = req.scopes;
  std::sort(scopes.begin(), scopes.end());
  scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
  for (const auto& s : scopes) {
    if (!policy::IsKnownVerb(s))
      return Status::InvalidArgument("invalid_scope", "unknown permission verb: " + s);
    if (!policy::RoleGrants(req.creator_role, s)) {
      return Status::PermissionDenied("scope_not_held",
                                      "a key cannot hold a permission its creator lacks: " + s);
    }
  }
  if (req.expires_at && *req.expires_at <= now) {
    return Status::InvalidArgument("invalid_expiry", "the expiry must be in the future");
  }
  if (req.cidrs.size() > 32) return Status::InvalidArgument("invalid_cidr", "at most 32 networks");
  std::vector<std::string> cidrs;
  for (const auto& c : req.cidrs) {
    auto parsed = core::Cidr::Parse(c);
    if (!parsed.ok()) return Status::InvalidArgument("invalid_cidr", "not a CIDR: " + c);
    cidrs.push_back(parsed->ToString());
  }
  CreatedApiKey out;
  BULWARK_ASSIGN_OR_RETURN(out.info.id, crypto::RandomHex(kIdLength / 2));
  BULWARK_ASSIGN_OR_RETURN(std::string secret, crypto::RandomTokenBase64Url(32));
  const std::string body = std::string(kApiKeyPrefix) + out.info.id + "_" + secret;
  out.key = body + "_" + Checksum(body);
  const crypto::Digest256 hash = crypto::Sha256(out.key);
  out.info.tenant_id = req.tenant_id;
  out.info.name = req.name;
  out.info.scopes = scopes;
  out.info.created_by = req.created_by;
  out.info.created_at = now;
  out.info.expires_at = req.expires_at;
  out.info.cidrs = cidrs;
  out.info.rate_limit = req.rate_limit;
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO api_keys(id, tenant_id, name, secret_hash, scopes, created_by, "
              "created_at, expires_at, allowed_cidrs, rate_limit) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              {Value::Text(out.info.id), Value::Text(req.tenant_id), Value::Text(req.name),
               TokenHashValue(hash), Value::Text(core::JoinList(scopes, ' ')),
               Value::Text(req.created_by), Value::Int(now),
               req.expires_at ? Value::Int(*req.expires_at) : Value::Null(),
               Value::Text(core::JoinList(cidrs, ',')),
               req.rate_limit.empty() ? Value::Null() : Value::Text(req.rate_limit)})
          .status());
  return out;
}

StatusOr<std::vector<ApiKeyInfo>> ApiKeyService::List(store::Transaction& tx,
                                                      std::string_view tenant_id) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT " + std::string(kInfoColumns) +
                              " FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id",
                          {Value::Text(std::string(tenant_id))}));
  std::vector<ApiKeyInfo> out;
  for (const auto& r : rows) out.push_back(InfoFromRow(r));
  std::lock_guard lock(mu_);
  for (auto& i : out) {
    if (auto it = last_used_.find(i.id); it != last_used_.end())
      i.last_used_at = it->second;  // not yet flushed
  }
  return out;
}

StatusOr<bool> ApiKeyService::Revoke(store::Transaction& tx, std::string_view tenant_id,
                                     std::string_view key_id, std::int64_t now) {
  BULWARK_ASSIGN_OR_RETURN(
      auto rows, tx.Query("SELECT revoked_at FROM api_keys WHERE id = ? AND tenant_id = ?",
                          {Value::Text(std::string(key_id)), Value::Text(std::string(tenant_id))}));
  if (rows.empty()) return Status::NotFound("apikey_not_found", "no such API key");
  if (!rows[0][0].is_null()) return false;
  BULWARK_RETURN_IF_ERROR(
      tx.Exec("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ?",
              {Value::Int(now), Value::Text(std::string(key_id)),
               Value::Text(std::string(tenant_id))})
          .status());
  return true;
}

StatusOr<std::int64_t> ApiKeyService::RevokeCreatedBy(store::Transaction& tx,
                                                      std::string_view tenant_id,
                                                      std::string_view user_id, std::int64_t now) {
  return tx.Exec(
      "UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND created_by = ? AND "
      "revoked_at IS NULL",
      {Value::Int(now), Value::Text(std::string(tenant_id)), Value::Text(std::string(user_id))});
}

void ApiKeyService::Invalidate(std::string_view key_id) { cache_.Invalidate(key_id); }

void ApiKeyService::InvalidateTenant(std::string_view tenant_id) {
  cache_.InvalidateIf([&](const Record& r) { return r.tenant_id == tenant_id; });
}

StatusOr<ApiKeyService::Record> ApiKeyService::Load(std::string_view key_id) {
  BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kRead));
  BULWARK_ASSIGN_OR_RETURN(
      auto rows,
      tx->Query("SELECT k.tenant_id, k.secret_hash, k.scopes, k.expires_at, k.allowed_cidrs, "
                "k.revoked_at, m.role, t.deleted_at, k.rate_limit FROM api_keys k "
                "JOIN tenants t ON t.id = k.tenant_id "
                "LEFT JOIN memberships m ON m.tenant_id = k.tenant_id AND m.user_id = k.created_by "
                "WHERE k.id = ?",
                {Value::Text(std::string(key_id))}));
  Record rec;
  if (rows.empty()) return rec;
  const auto& r = rows[0];
  rec.found = true;
  rec.tenant_id = r[0].as_text();
  const auto& hash = r[1].as_bytes();
  if (hash.size() != rec.secret_hash.size())
    return Status::Integrity("an API key hash has the wrong size");
  std::copy(hash.begin(), hash.end(), rec.secret_hash.begin());
  // A key speaks for its creator: it holds only the verbs the creator's role grants now, and
  // nothing once the creator has left the tenant or the tenant is deleted.
  const auto creator_role = r[6].is_null() ? std::nullopt : policy::ParseRole(r[6].as_text());
  for (auto& scope : core::SplitList(r[2].as_text(), ' ')) {
    if (creator_role && policy::RoleGrants(*creator_role, scope))
      rec.scopes.push_back(std::move(scope));
  }
  if (!r[3].is_null()) rec.expires_at = r[3].as_int();
  for (const auto& c : core::SplitList(r[4].as_text(), ',')) {
    auto parsed = core::Cidr::Parse(c);
    if (!parsed.ok()) return Status::Integrity("an API key has a malformed network binding");
    rec.cidrs.push_back(*parsed);
  }
  rec.revoked = !r[5].is_null() || !creator_role || !r[7].is_null();
  if (!r[8].is_null()) rec.rate_limit = r[8].as_text();
  return rec;
}

StatusOr<core::Principal> ApiKeyService::Authenticate(std::string_view presented,
                                                      const core::IpAddress& client,
                                                      std::int64_t now, std::string* refused_id) {
  const std::string_view id = ApiKeyId(presented);
  if (id.empty()) return Invalid();
  if (refused_id != nullptr) *refused_id = std::string(id);
  const std::uint64_t epoch = cache_.Epoch();
  std::optional<Record> cached = cache_.Find(id);
  if (!cached) {
    BULWARK_ASSIGN_OR_RETURN(Record loaded, Load(id));
    // Unknown ids are not cached: a flood of made-up ids must not push real keys out.
    if (loaded.found) cache_.Insert(id, loaded, epoch);
    cached = std::move(loaded);
  }
  const Record& rec = *cached;
  // Hash first, whatever the record says, so an unknown id costs what a known one does.
  const crypto::Digest256 presented_hash = crypto::Sha256(presented);
  if (!rec.found || !crypto::ConstantTimeEquals(presented_hash, rec.secret_hash)) return Invalid();
  if (rec.revoked) return Status::Unauthenticated("apikey_revoked", "the API key has been revoked");
  if (rec.expires_at && now >= *rec.expires_at)
    return Status::Unauthenticated("apikey_expired", "the API key has expired");
  if (!rec.cidrs.empty() && !core::AnyContains(rec.cidrs, client)) {
    return Status::Unauthenticated("apikey_address_refused",
                                   "the API key is not valid from this address");
  }
  {
    std::lock_guard lock(mu_);
    last_used_[std::string(id)] = now;
  }
  return core::Principal{.kind = core::Principal::Kind::kApiKey,
                         .id = std::string(id),
                         .tenant_id = rec.tenant_id,
                         .auth_method = "api_key",
                         .scopes = rec.scopes,
                         .rate_limit = rec.rate_limit};
}

Status ApiKeyService::Flush() {
  std::unordered_map<std::string, std::int64_t> pending;
  {
    std::lock_guard lock(mu_);
    pending.swap(last_used_);
  }
  if (pending.empty()) return Status::Ok();
  Status s = [&]() -> Status {
    BULWARK_ASSIGN_OR_RETURN(auto tx, store_.Begin(store::TxMode::kWrite));
    for (const auto& [id, at] : pending) {
      BULWARK_RETURN_IF_ERROR(tx->Exec("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND "
                                       "(last_used_at IS NULL OR last_used_at < ?)",
                                       {Value::Int(at), Value::Text(id), Value::Int(at)})
                                  .status());
    }
    return tx->Commit();
  }();
  if (!s.ok()) {
    // Keep them for the next attempt (newer times win).
    std::lock_guard lock(mu_);
    for (const auto& [id, at] : pending) {
      auto& slot = last_used_[id];
      slot = std::max(slot, at);
    }
  }
  return s;
}

void ApiKeyService::RunFlusher() {
  std::unique_lock lock(flush_mu_);
  while (!stopping_) {
    flush_cv_.wait_for(lock, flush_interval_, [&] { return stopping_; });
    lock.unlock();
    try {
      if (Status s = Flush(); !s.ok())
        log::Warn("apikeys.last_used_flush_failed", {{"reason", s.reason()}});
    } catch (const std::exception& ex) {
      log::Error("apikeys.last_used_flush_threw", {{"what", ex.what()}});
    }
    lock.lock();
  }
}

void ApiKeyService::Stop() {
  {
    std::lock_guard lock(flush_mu_);
    if (stopping_ && !flusher_.joinable()) return;
    stopping_ = true;
  }
  flush_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

}  // namespace bulwark::identity
