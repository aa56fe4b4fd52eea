#include "app/cluster_sync.h"

#include "core/invalidated_cache.h"
#include "identity/api_keys.h"
#include "identity/sessions.h"
#include "policy/path_policy_store.h"
#include "policy/tenant_policy.h"

namespace bulwark::app {

void ApplyInvalidation(std::string_view payload, const ClusterCaches& c) {
  const auto colon = payload.find(':');
  const std::string_view kind = payload.substr(0, colon);
  const std::string_view id =
      colon == std::string_view::npos ? std::string_view() : payload.substr(colon + 1);
  if (id.empty()) {
    core::CacheGate::Process().Flush();
  } else if (kind == "t") {
    c.sessions->InvalidateTenant(id);
    c.api_keys->InvalidateTenant(id);
    c.tenant_policies->Invalidate(id);
    c.path_access->InvalidateTenant(id);
  } else if (kind == "p") {
    c.path_access->InvalidateTenant(id);
  } else if (kind == "s") {
    c.sessions->InvalidateSession(id);
  } else if (kind == "k") {
    c.api_keys->Invalidate(id);
  } else if (kind == "u") {
    c.sessions->InvalidateUser(id);
  } else if (kind == "g") {
    if (c.signing_keys_changed) c.signing_keys_changed();
  } else {
    core::CacheGate::Process().Flush();
  }
}

StatusOr<std::unique_ptr<store::PgListener>> StartClusterSync(const std::string& url,
                                                              ClusterCaches caches) {
  core::CacheGate& gate = core::CacheGate::Process();
  gate.Close();
  return store::PgListener::Start(
      {.url = url, .channel = std::string(kInvalidationChannel)},
      [caches](std::string_view payload) { ApplyInvalidation(payload, caches); },
      [&gate](bool up) {
        if (up) {
          gate.Open();
        } else {
          gate.Close();
        }
      });
}

}  // namespace bulwark::app
