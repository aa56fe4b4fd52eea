#pragma once
// Several nodes on one PostgreSQL database: every node's caches follow every other node's
// changes within the notification latency (milliseconds), and never trust a cache while they
// might have missed one.
//
// Triggers on the cached tables (store/migrations.cc, migration 11) notify channel
// bulwark_invalidate on commit with "<kind>:<id>". Each node listens (store::PgListener) and
// drops what a message names:
//   t:<tenant>   everything cached for the tenant (settings, members, roles, keys, sessions)
//   p:<tenant>   the tenant's path-policy decisions
//   s:<session>  one session        k:<key id>  one API key        u:<user>  the user's sessions
//   g:<kind>     a signing key of that kind was rotated or retired: reload the signing keys
// Anything else drops every cache. The fallback when notifications may have dropped: while the
// listener is not connected, or its heartbeat goes unanswered for 600 ms, the process cache gate
// is closed (core/invalidated_cache.h: every lookup reads the database), and it reopens empty
// once LISTEN is back. A node therefore serves a revoked credential for at most the heartbeat
// window after losing the channel silently, and never after that.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/postgres/pg_listener.h"

namespace bulwark::identity {
class SessionService;
class ApiKeyService;
}  // namespace bulwark::identity
namespace bulwark::policy {
class TenantPolicies;
class PathAccess;
}  // namespace bulwark::policy

namespace bulwark::app {

struct ClusterCaches {
  identity::SessionService* sessions = nullptr;
  identity::ApiKeyService* api_keys = nullptr;
  policy::TenantPolicies* tenant_policies = nullptr;
  policy::PathAccess* path_access = nullptr;
  // A node rotated or retired a signing key ("g:<kind>"): must not block (the listener's thread
  // calls it); the reload itself runs elsewhere.
  std::function<void()> signing_keys_changed;
};

inline constexpr std::string_view kInvalidationChannel = "bulwark_invalidate";

// Drops what one notification names (see above).
void ApplyInvalidation(std::string_view payload, const ClusterCaches& caches);

// Closes the cache gate and starts listening on `url`; the gate opens once LISTEN is in force.
// Keep the listener for as long as the caches live.
StatusOr<std::unique_ptr<store::PgListener>> StartClusterSync(const std::string& url,
                                                              ClusterCaches caches);

}  // namespace bulwark::app
