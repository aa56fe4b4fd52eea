#include "api/ops.h"

#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <mutex>
#include <optional>

#include "core/build_info.h"
#include "core/invalidated_cache.h"
#include "http/errors.h"
#include "http/process_metrics.h"

namespace bulwark::api {
namespace {

namespace json = boost::json;
using http::AuthDecision;
using http::Reply;
using http::RequestContext;
using http::Verb;

const auto kStarted = std::chrono::steady_clock::now();

store::HealthCheck AuditFileCheck(const std::string& path) {
  store::HealthCheck c{.name = "audit_file", .ok = true, .detail = "ok"};
  const std::filesystem::path p(path);
  const bool exists = std::filesystem::exists(p);
  const std::string target = exists ? path : p.parent_path().string();
  if (::access(target.empty() ? "." : target.c_str(), W_OK) != 0) {
    c.ok = false;
    c.detail = "audit file is not writable";
  }
  return c;
}

// Informational only: a SIEM outage must not take the service out of rotation.
store::HealthCheck AuditExportCheck(const std::vector<audit::siem::SinkState>& sinks) {
  std::string detail;
  for (const auto& s : sinks) {
    detail += (detail.empty() ? "" : ", ") + s.sink + " lag " + std::to_string(s.lag);
    if (!s.active) {
      detail += " standby";  // another node exports this sink; the lag is that node's
    } else if (!s.connected) {
      detail += " disconnected";
    }
  }
  return {.name = "audit_export", .ok = true, .detail = "ok (" + detail + ")"};
}

std::string AuditExportMetrics(const std::vector<audit::siem::SinkState>& sinks) {
  std::string out =
      "# HELP bulwark_audit_export_lag_entries Ledger entries not yet confirmed delivered to the "
      "sink.\n"
      "# TYPE bulwark_audit_export_lag_entries gauge\n";
  for (const auto& s : sinks) {
    out +=
        "bulwark_audit_export_lag_entries{sink=\"" + s.sink + "\"} " + std::to_string(s.lag) + "\n";
  }
  out +=
      "# HELP bulwark_audit_export_connected 1 while the sink's connection or file is open.\n"
      "# TYPE bulwark_audit_export_connected gauge\n";
  for (const auto& s : sinks) {
    out += "bulwark_audit_export_connected{sink=\"" + s.sink + "\"} " + (s.connected ? "1" : "0") +
           "\n";
  }
  out +=
      "# HELP bulwark_audit_export_active 1 on the node that holds the sink's lease and exports "
      "it; 0 on the nodes standing by.\n"
      "# TYPE bulwark_audit_export_active gauge\n";
  for (const auto& s : sinks) {
    out += "bulwark_audit_export_active{sink=\"" + s.sink + "\"} " + (s.active ? "1" : "0") + "\n";
  }
  return out;
}

json::object ChecksJson(const Readiness& r) {
  json::object checks;
  for (const auto& c : r.checks) {
    // A passing check shows its detail only when that is a note on an "ok" (audit_export lag).
    checks[c.name] =
        c.ok ? (c.detail.starts_with("ok (") ? c.detail : "ok") : "failed: " + c.detail;
  }
  return checks;
}

}  // namespace

namespace {
// /readyz and /healthz are public: each check opens a database connection and takes the write
// lock for a moment, so the result is shared for a second and computed by one caller at a time.
constexpr auto kReadinessTtl = std::chrono::seconds(1);
std::mutex g_readiness_mu;
std::optional<std::pair<std::chrono::steady_clock::time_point, Readiness>> g_readiness;
}  // namespace

Readiness CachedReadiness(const OpsDeps& deps) {
  std::lock_guard<std::mutex> lock(g_readiness_mu);
  const auto now = std::chrono::steady_clock::now();
  if (!g_readiness || now - g_readiness->first >= kReadinessTtl)
    g_readiness.emplace(now, CheckReadiness(deps));
  return g_readiness->second;
}

Readiness CheckReadiness(const OpsDeps& deps) {
  Readiness r;
  // "store" (reachable, strict) and "store_writable" (the ledger can take a write).
  for (auto& c : deps.store->CheckHealth()) {
    if (c.name == "store_writable") c.name = "audit";
    r.checks.push_back(std::move(c));
  }
  if (deps.ledger_healthy && !deps.ledger_healthy()) {
    for (auto& c : r.checks) {
      if (c.name == "audit") {
        c.ok = false;
        c.detail = "the last ledger write failed";
      }
    }
  }
  const bool keys = deps.keys_loaded && deps.keys_loaded();
  r.checks.push_back({.name = "keys", .ok = keys, .detail = keys ? "ok" : "master key not loaded"});
  if (!deps.audit_file.empty()) r.checks.push_back(AuditFileCheck(deps.audit_file));
  if (deps.audit_export) {
    if (auto sinks = deps.audit_export(); !sinks.empty())
      r.checks.push_back(AuditExportCheck(sinks));
  }
  for (const auto& c : r.checks) r.ready = r.ready && c.ok;
  return r;
}

Status AddOpsRoutes(http::Router& router, OpsDeps deps) {
  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/livez",
      .auth = AuthDecision::kPublic,
      .inline_io = true,
      .summary = "Liveness: the process is up and serving.",
      .handler = [](RequestContext&) -> StatusOr<Reply> {
        return Reply{.body = R"({"status":"ok"})"};
      },
  }));

  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/readyz",
      .auth = AuthDecision::kPublic,
      .summary =
          "Readiness: store reachable, keys loaded, audit writable; 503 names the failed check.",
      .handler = [deps](RequestContext& ctx) -> StatusOr<Reply> {
        const Readiness r = CachedReadiness(deps);
        json::object body{{"status", r.ready ? "ready" : "not_ready"}, {"checks", ChecksJson(r)}};
        if (!r.ready) {
          json::array failed;
          std::string names;
          for (const auto& c : r.checks) {
            if (c.ok) continue;
            failed.push_back(json::string(c.name));
            names += (names.empty() ? "" : ", ") + c.name;
          }
          body["failed"] = std::move(failed);
          body["error"] = json::object{{"code", "not_ready"},
                                       {"message", "failed checks: " + names},
                                       {"request_id", ctx.request_id}};
        }
        return Reply{.status = r.ready ? 200u : 503u, .body = json::serialize(body)};
      },
  }));

  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/healthz",
      .auth = AuthDecision::kPublic,
      .summary = "Health summary: live, ready, and each readiness check.",
      .handler = [deps](RequestContext&) -> StatusOr<Reply> {
        const Readiness r = CachedReadiness(deps);
        json::object body{{"status", r.ready ? "ok" : "degraded"},
                          {"live", true},
                          {"ready", r.ready},
                          {"checks", ChecksJson(r)}};
        return Reply{.status = r.ready ? 200u : 503u, .body = json::serialize(body)};
      },
  }));

  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/build-info",
      .auth = AuthDecision::kInternal,
      .summary = "Version, commit and build time (operators only).",
      .handler = [deps](RequestContext&) -> StatusOr<Reply> {
        const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now() - kStarted)
                                .count();
        json::object body{{"version", build::kVersion},
                          {"commit", build::kCommit},
                          {"build_time", build::kBuildTime},
                          {"store", std::string(store::BackendName(deps.store->backend()))},
                          {"mode", deps.production ? "production" : "dev"},
                          {"uptime_seconds", uptime}};
        return Reply{.body = json::serialize(body)};
      },
  }));

  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::get,
      .pattern = "/metrics",
      .auth = AuthDecision::kInternal,
      .summary = "Prometheus metrics (operators only).",
      .handler = [deps](RequestContext&) -> StatusOr<Reply> {
        std::string body = deps.metrics->Render();
        // app/cluster_sync.h: 0 while a node on shared PostgreSQL may have missed a change.
        body +=
            "# HELP bulwark_cache_trusted 1 while this node trusts its caches of the store\n"
            "# TYPE bulwark_cache_trusted gauge\nbulwark_cache_trusted ";
        body += core::CacheGate::Process().open() ? "1\n" : "0\n";
        if (deps.audit_export) {
          if (auto sinks = deps.audit_export(); !sinks.empty()) body += AuditExportMetrics(sinks);
        }
        body += http::ProcessMetricsText();
        body += http::BuildInfoMetricText(build::kVersion, build::kCommit);
        return Reply{.body = std::move(body),
                     .content_type = "text/plain; version=0.0.4; charset=utf-8"};
      },
  }));

  BULWARK_RETURN_IF_ERROR(router.Add({
      .method = Verb::post,
      .pattern = "/api/v1/ops/keyring/reload",
      .auth = AuthDecision::kInternal,
      .audit_action = "keyring.reload",
      .summary = "Re-read the configuration and load the master key it names (after `bulwark key "
                 "rotate`), keeping the versions already held (operators only).",
      .handler = [deps](RequestContext&) -> StatusOr<Reply> {
        if (!deps.reload_keyring) {
          return Status::Unavailable("keyring_unavailable", "the keyring cannot be reloaded");
        }
        BULWARK_ASSIGN_OR_RETURN(KeyringReload r, deps.reload_keyring());
        json::array held;
        for (std::uint32_t v : r.held_versions) held.push_back(v);
        json::object body{{"status", "reloaded"},
                          {"kek_version", r.kek_version},
                          {"held_versions", std::move(held)}};
        return Reply{.body = json::serialize(body)};
      },
  }));
  return Status::Ok();
}

}  // namespace bulwark::api
