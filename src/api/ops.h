#pragma once
// Operational endpoints: /livez, /readyz, /healthz (public) and /build-info, /metrics,
// POST /api/v1/ops/keyring/reload (internal: operators only, 404 to anyone else).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "audit/siem/sink_state.h"
#include "core/status.h"
#include "http/metrics.h"
#include "http/router.h"
#include "store/store.h"

namespace bulwark::api {

// What a master key reload left the keyring holding.
struct KeyringReload {
  std::uint32_t kek_version = 0;             // the version new data keys are sealed under
  std::vector<std::uint32_t> held_versions;  // ascending
};

struct OpsDeps {
  store::Store* store = nullptr;  // must outlive the routes
  const http::Metrics* metrics = nullptr;
  std::function<bool()> keys_loaded;     // the keyring holds a verified master key
  std::function<bool()> ledger_healthy;  // the audit writer's last batch committed
  std::string audit_file;                // optional JSON-lines sink that must stay writable
  // SIEM export sinks (audit/siem/audit_export.h); null or empty: none configured. Their lag is
  // shown in /metrics and in the /readyz detail, but never makes the service unready.
  std::function<std::vector<audit::siem::SinkState>()> audit_export;
  // POST /api/v1/ops/keyring/reload: re-reads the configuration and reloads the master key it
  // names (keyring::Keyring::Reload). Null: the route answers 503.
  std::function<StatusOr<KeyringReload>()> reload_keyring;
  bool production = true;
};

// Readiness: each named check with "ok" or why it failed. Shared by /readyz and /healthz.
struct Readiness {
  bool ready = true;
  std::vector<store::HealthCheck> checks;
};
Readiness CheckReadiness(const OpsDeps& deps);

Status AddOpsRoutes(http::Router& router, OpsDeps deps);

}  // namespace bulwark::api
