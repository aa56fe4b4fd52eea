#pragma once
// A tenant's own access settings: the IP allowlist that every credential of the tenant must come
// from, and whether break-glass may be used there.
//
// The authorizer consults them on every request through a per-process cache, loaded from the
// store on a miss and invalidated when a setting changes (call Invalidate after the change has
// committed), so a tightened allowlist applies from the next request on.
//
//   BULWARK_ASSIGN_OR_RETURN(auto p, policies.Get(tenant_id));
//   if (!p->allowlist.empty() && !core::AnyContains(p->allowlist, client)) -> 403 ip_not_allowed
//
// Thread-safety: all methods may be called from any number of threads at once.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/cidr.h"
#include "core/invalidated_cache.h"
#include "core/status.h"
#include "store/store.h"

namespace bulwark::policy {

inline constexpr std::size_t kMaxAllowlistEntries = 64;

struct TenantPolicy {
  std::vector<core::Cidr> allowlist;  // empty: any address
  bool breakglass_enabled = false;
  std::string name;  // the tenant's unique name (X-Vault-Namespace may give it)
};

// Parses and canonicalizes an allowlist. kInvalidArgument "invalid_cidr" naming the bad entry, or
// "too_many_networks".
StatusOr<std::vector<core::Cidr>> ParseAllowlist(const std::vector<std::string>& entries);

// Store access, inside the caller's transaction. kNotFound "tenant_not_found".
StatusOr<TenantPolicy> LoadTenantPolicy(store::Transaction& tx, std::string_view tenant_id);
Status SetIpAllowlist(store::Transaction& tx, std::string_view tenant_id,
                      const std::vector<core::Cidr>& allowlist);
Status SetBreakglassEnabled(store::Transaction& tx, std::string_view tenant_id, bool enabled);

// kPermissionDenied "ip_not_allowed" when the tenant has an allowlist and `client` is outside it.
// For the routes that issue a tenant's credentials (sign-in, invitation, refresh), which are
// public and so never reach the authorizer: a refused address gets no tokens.
Status CheckClientAllowed(store::Transaction& tx, std::string_view tenant_id,
                          const core::IpAddress& client);

class TenantPolicies {
 public:
  explicit TenantPolicies(store::Store& store) : store_(store) {}
  // The tenant's policy; kUnavailable when the store cannot be read (never "no allowlist").
  StatusOr<std::shared_ptr<const TenantPolicy>> Get(std::string_view tenant_id);
  void Invalidate(std::string_view tenant_id);

 private:
  store::Store& store_;
  core::InvalidatedCache<std::shared_ptr<const TenantPolicy>> cache_{100'000};
};

}  // namespace bulwark::policy
