#pragma once
// The stage points of the request pipeline (DESIGN.md "One request, one path"). Each is an
// interface so identity, policy and audit plug in without reshaping the pipeline; the defaults
// here deny whatever they cannot decide.
#include <functional>

#include "core/status.h"
#include "http/types.h"

namespace bulwark::http {

// Stage 3b. Returns kRateLimited (and adds Retry-After to ctx.extra_headers) to refuse.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual Status Check(RequestContext& ctx) = 0;
};

// Stage 4. Sets ctx.principal, or fails: kUnauthenticated (401), kUnavailable (503) when the
// credential cannot be checked — never a fallback to "allow".
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual Status Authenticate(RequestContext& ctx) = 0;
};

// Stage 5. For tenant-scoped routes: the credential's tenant against X-Tenant-ID.
class TenantGuard {
 public:
  virtual ~TenantGuard() = default;
  virtual Status Check(RequestContext& ctx) = 0;
};

// Stage 6. Role verb, path policy, MFA step-up, tenant IP allowlist.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Status Authorize(RequestContext& ctx) = 0;
};

// Stage 8. Makes the request's record durable before the response leaves. A non-OK Status
// turns the response into 503: no audit, no effect.
class AuditRecorder {
 public:
  using Done = std::function<void(Status)>;
  virtual ~AuditRecorder() = default;
  // Records the request when it must be, and calls `done` exactly once: OK when the record is
  // durable or there is nothing to record, else why it cannot be made durable. `done` runs
  // either before Record returns, on this thread, or later on another thread (the ledger's
  // writer): it must only hand the outcome on. The pipeline sends nothing until then.
  // Never throws: an implementation turns its own failure into `done`'s Status.
  virtual void Record(RequestContext& ctx, unsigned http_status, const Status& outcome,
                      Done done) noexcept = 0;
};

}  // namespace bulwark::http
