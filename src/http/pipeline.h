#pragma once
// The request pipeline: every request, whatever its route, walks these stages in this order.
//
//   1. request id      X-Request-ID if well-formed (1-128 of [A-Za-z0-9._:-]), else a new one
//   2. client address  the peer, or X-Forwarded-For when the peer is a trusted proxy
//   3. route lookup    404 / 405 with Allow; CORS preflight; then the rate limiter
//   4. authenticate    the route's declared decision
//   5. tenant guard    tenant-scoped routes only
//   6. authorize       permission verb, path policy, MFA step-up, IP allowlist
//   7. decode + handle body decoded (415 / 400), then the handler
//   8. audit           durable before the response leaves; failure → 503, no effect
//   9. headers         content type, nosniff, referrer, permissions, frames, cache, HSTS, CORS
//
// The server (server.cc) parses with limits and calls Handle(); failures it detects before a
// request is whole (431, 413, 411, a malformed request line) come back through Reject() so they
// get the same headers, error shape, request id and metrics.
#include <memory>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/stages.h"
#include "http/types.h"

namespace bulwark::http {

struct PipelineOptions {
  bool production = true;                  // HSTS
  std::vector<core::Cidr> trusted_proxies;
  std::vector<std::string> cors_allowed_origins;
  // Host names (without port) that operator and dev-overlay routes answer to, besides IP
  // literals and "localhost": a DNS-rebinding page reaches them only under its own name.
  std::vector<std::string> allowed_hosts;
};

struct PipelineStages {
  std::shared_ptr<RateLimiter> rate_limiter;
  std::shared_ptr<Authenticator> authenticator;
  std::shared_ptr<TenantGuard> tenant_guard;
  std::shared_ptr<Authorizer> authorizer;
  std::shared_ptr<AuditRecorder> audit;
};

class Pipeline {
 public:
  // `router` and `metrics` must outlive the pipeline; every stage must be set.
  Pipeline(PipelineOptions options, const Router& router, Metrics& metrics, PipelineStages stages);

  // Runs every stage. Never throws: an escaped exception becomes a 500 with the request id and
  // one log line.
  Response Handle(const Request& req, const core::IpAddress& peer, bool tls) noexcept;

  // A response for a request refused before it was whole. `req` may hold only the header (or
  // nothing parsed yet: pass nullptr). The connection is closed after it.
  Response Reject(const Request* req, const core::IpAddress& peer, const Status& status) noexcept;

  std::size_t BodyLimit(const Request& header_only, std::size_t fallback) const;

  // True when the request's route may run on the io thread (see RouteSpec::inline_io);
  // everything else goes to the worker pool, where waiting on the store is allowed.
  bool RunsInline(const Request& req) const;

 private:
  StatusOr<Reply> RunStages(RequestContext& ctx);
  bool Disclosable(RequestContext& ctx, const Router::Match& m);
  bool HostAllowed(const RequestContext& ctx) const;
  Response FailUnhandled(RequestContext& ctx) noexcept;
  Status DecodeBody(RequestContext& ctx);
  Response Finish(RequestContext& ctx, Reply reply);
  Response Finish(RequestContext& ctx, const Status& error);
  void ApplyHeaders(const RequestContext& ctx, Response& res, bool cacheable) const;
  bool HandlePreflight(RequestContext& ctx, Response* out);
  std::string RequestIdFor(const Request& req) const;
  core::IpAddress ClientAddress(const Request& req, const core::IpAddress& peer) const;

  PipelineOptions options_;
  const Router& router_;
  Metrics& metrics_;
  PipelineStages stages_;
};

}  // namespace bulwark::http
