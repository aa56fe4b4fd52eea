#pragma once
// Operational endpoints: /livez, /readyz, /healthz (public) and /build-info, /metrics (internal:
// operators only, 404 to anyone else).
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "audit/siem/sink_state.h"
#include "core/status.h"
#include "http/metrics.h"
#include "http/router.h"
#include "store/store.h"

namespace bulwark::api {

struct OpsDeps {
  store::Store* store = nullptr;  // must outlive the routes
  const http::Metrics* metrics = nullptr;
  std::function<bool()> keys_loaded;     // the keyring holds a verified master key
  std::function<bool()> ledger_healthy;  // the audit writer's last batch committed
  std::string audit_file;                // optional JSON-lines sink that must stay writable
  // SIEM export sinks (audit/siem/audit_export.h); null or empty: none configured. Their lag is
  // shown in /metrics and in the /readyz detail, but never makes the service unready.
  std::function<std::vector<audit::siem::SinkState>()> audit_export;
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
