#pragma once
// API keys: long-lived credentials for machines, scoped to a subset of their creator's verbs.
//
// Format (71 characters), easy to scan for when leaked:
//   bwk_<key id: 16 hex>_<secret: 43 base64url = 256 bits>_<checksum: 6 base64url>
// The checksum is the first 6 characters of base64url(SHA-256(everything before it)), so a
// scanner can tell a real key from a look-alike offline. Stored: SHA-256 of the whole text only.
// Verification looks the key up by its id (a primary key, so the cost does not depend on how
// many keys exist), then compares hashes in constant time.
//
// Records are cached in memory by key id (revocation invalidates the entry at once); last-used
// times are collected in memory and written in batches, not once per request.
//
//   auto created = keys.Create(tx, {.tenant_id = t, .name = "ci", .scopes = {"secrets.read"},
//   ...}); auto principal = keys.Authenticate(presented, client_ip, now);   // every request
//
// Thread-safety: all methods may be called from any number of threads at once.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/cidr.h"
#include "core/invalidated_cache.h"
#include "core/principal.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "policy/roles.h"
#include "store/store.h"

namespace bulwark::identity {

inline constexpr std::string_view kApiKeyPrefix = "bwk_";
inline constexpr std::size_t kApiKeyLength = 71;

struct ApiKeyRequest {
  std::string tenant_id;
  std::string name;                 // 1-64 printable characters
  std::vector<std::string> scopes;  // verbs, each granted by creator_role
  policy::Role creator_role = policy::Role::kViewer;
  std::string created_by;                  // user id
  std::optional<std::int64_t> expires_at;  // unix seconds; must be in the future
  std::vector<std::string> cidrs;          // bind the key to these networks; empty: any address
  // The key's own rate limit, canonical text of a rate the caller has validated ("100/1m",
  // stages::ParseRateRule and FormatRateRule); empty: none. Stored with the key, never changed.
  std::string rate_limit;
};

struct ApiKeyInfo {
  std::string id;
  std::string tenant_id;
  std::string name;
  std::vector<std::string> scopes;
  std::string created_by;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
  std::vector<std::string> cidrs;
  std::optional<std::int64_t> last_used_at;
  std::optional<std::int64_t> revoked_at;
  std::string rate_limit;  // empty: none
};

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;  // the whole key: shown once, never stored, logged or recorded
};

// True if `text` has the key shape and its checksum matches (no store access).
bool ApiKeyChecksumValid(std::string_view text);
// The key id of a well-formed key, or empty.
std::string_view ApiKeyId(std::string_view text);

class ApiKeyService {
 public:
  // `flush_interval`: how often batched last-used times are written.
  ApiKeyService(store::Store& store,
                std::chrono::milliseconds flush_interval = std::chrono::seconds(30));
  ~ApiKeyService();  // Stop()
  ApiKeyService(const ApiKeyService&) = delete;
  ApiKeyService& operator=(const ApiKeyService&) = delete;

  // kInvalidArgument ("invalid_name", "invalid_scope", "invalid_expiry", "invalid_cidr") or
  // kPermissionDenied "scope_not_held" for a verb the creator's role does not grant.
  StatusOr<CreatedApiKey> Create(store::Transaction& tx, const ApiKeyRequest& request,
                                 std::int64_t now);
  StatusOr<std::vector<ApiKeyInfo>> List(store::Transaction& tx, std::string_view tenant_id);
  // kNotFound "apikey_not_found" for an unknown id or another tenant's key. Revoking twice is
  // OK: true when this call revoked it, false when it was already revoked.
  StatusOr<bool> Revoke(store::Transaction& tx, std::string_view tenant_id, std::string_view key_id,
                        std::int64_t now);
  // Revokes every key `user_id` created in the tenant (the member is being removed: its keys must
  // not come back to life if it is invited again). Returns how many were revoked.
  StatusOr<std::int64_t> RevokeCreatedBy(store::Transaction& tx, std::string_view tenant_id,
                                         std::string_view user_id, std::int64_t now);
  // Drops the cached record so the next use reloads it. Call after the revocation committed.
  void Invalidate(std::string_view key_id);
  void InvalidateTenant(std::string_view tenant_id);

  // The principal of a presented key. kUnauthenticated with reason "invalid_api_key" (malformed,
  // unknown, wrong secret), "apikey_revoked", "apikey_expired" or "apikey_address_refused" (CIDR
  // binding); kUnavailable when the store cannot be read. `refused_id` is set to the key id
  // whenever one was presented, so refusals are recorded against it.
  StatusOr<core::Principal> Authenticate(std::string_view presented, const core::IpAddress& client,
                                         std::int64_t now, std::string* refused_id = nullptr);

  // Writes pending last-used times now (also done by the flusher thread and at Stop).
  Status Flush();
  void Stop();

 private:
  struct Record {
    bool found = false;
    std::string tenant_id;
    crypto::Digest256 secret_hash{};
    std::vector<std::string> scopes;
    std::optional<std::int64_t> expires_at;
    std::vector<core::Cidr> cidrs;
    bool revoked = false;
    std::string rate_limit;
  };
  StatusOr<Record> Load(std::string_view key_id);
  void RunFlusher();

  store::Store& store_;
  const std::chrono::milliseconds flush_interval_;

  core::InvalidatedCache<Record> cache_{200'000};
  std::mutex mu_;                                            // guards last_used_
  std::unordered_map<std::string, std::int64_t> last_used_;  // pending writes

  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace bulwark::identity
