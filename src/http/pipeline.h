#pragma once
// The request pipeline: every request, whatever its route, walks these stages in this order.
//
//   1. request id      X-Request-ID if well-formed (1-128 of [A-Za-z0-9._:-]), else a new one
//   2. client address  the peer, or X-Forwarded-For when the peer is a trusted proxy
//   3. route lookup    404 / 405 with Allow; CORS preflight; then the rate limiter
//   4. authenticate    the route's declared decision; then the limits keyed by what it
//                      established (API key, tenant); a refusal before it is counted to the address
//   5. tenant guard    tenant-scoped routes only
//   6. authorize       permission verb, path policy, MFA step-up, IP allowlist
//   7. decode + handle body decoded (415 / 400), then the handler
//   8. audit           durable before the response leaves; failure → 503, no effect
//   9. headers         content type, nosniff, referrer, permissions, frames, cache, HSTS, CORS
//
// The server (server.cc) parses with limits and calls Handle(); failures it detects before a
// request is whole (431, 413, a malformed request line) come back through Reject() so they
// get the same headers, error shape, request id and metrics.
#include <functional>
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
  // Reads are local and quick (SQLite): reads_only routes may run on the io thread.
  bool local_reads = false;
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

  // Runs `f` where the request's connection lives (its io thread).
  using Resume = std::function<void(std::function<void()>)>;
  // Takes the finished response; called exactly once, on the calling thread or through Resume.
  using Respond = std::function<void(Response)>;

  // Runs every stage, then hands the response to `respond` once the request's record is durable
  // (stage 8). No thread waits for the ledger: the writer's completion comes back through
  // `resume`. `req` must stay alive until `respond` has been called. Never throws: an escaped
  // exception becomes a 500 with the request id and one log line.
  void HandleAsync(const Request& req, const core::IpAddress& peer, bool tls, Resume resume,
                   Respond respond) noexcept;

  // A response for a request refused before it was whole. `req` may hold only the header (or
  // nothing parsed yet: pass nullptr). The connection is closed after it.
  void RejectAsync(const Request* req, const core::IpAddress& peer, const Status& status,
                   Resume resume, Respond respond) noexcept;

  // The same, waiting for the response on this thread (tests and tools).
  Response Handle(const Request& req, const core::IpAddress& peer, bool tls) noexcept;
  Response Reject(const Request* req, const core::IpAddress& peer, const Status& status) noexcept;

  // What the connection decides from a request's header alone, with one route lookup: the body
  // limit of its route (else `fallback`), and whether the route may run on the io thread
  // (RouteSpec::inline_io, or reads_only where reads are local); everything else goes to the
  // worker pool, where waiting on the store is allowed.
  struct Admission {
    std::size_t body_limit = 0;
    bool runs_inline = false;
  };
  Admission Admit(const Request& header_only, std::size_t fallback) const;

 private:
  struct InFlight;
  void Audit(const std::shared_ptr<InFlight>& f, unsigned http_status, const Status& outcome);
  void Complete(const std::shared_ptr<InFlight>& f) noexcept;
  void Deliver(InFlight& f, Response res) noexcept;
  StatusOr<Reply> RunStages(RequestContext& ctx);
  bool Disclosable(RequestContext& ctx, const Router::Match& m);
  bool HostAllowed(const RequestContext& ctx) const;
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
