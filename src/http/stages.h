#pragma once
// The stage points of the request pipeline (docs/design.md "One request, one path"). Each is an
// interface so the adapters in src/stages/ (identity, policy, audit, rate limits) plug in without
// reshaping the pipeline; the defaults here deny whatever they cannot decide.
#include <functional>

#include "core/status.h"
#include "http/types.h"

namespace bulwark::http {

// Stage 3b, and 4b once a request has authenticated. Each returns kRateLimited (and adds
// Retry-After to ctx.extra_headers) to refuse.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Before authentication: limits keyed by what the request shows (its client address).
  virtual Status Check(RequestContext& ctx) = 0;
  // After authentication succeeded: limits keyed by what it established (ctx.principal's API key
  // and tenant), whichever header carried the credential.
  virtual Status CheckAuthenticated(RequestContext&) { return Status::Ok(); }
  // A request refused before it authenticated (IsUnauthenticatedRefusal): charged to its address.
  virtual void NoteRefused(RequestContext&) {}
};

// A refusal the ledger records (401, 403, 429, or a 404 from an operator-only route).
inline bool IsRefusal(unsigned http_status, const RequestContext& ctx) {
  if (http_status == 401 || http_status == 403 || http_status == 429) return true;
  return http_status == 404 && ctx.route != nullptr && ctx.route->auth == AuthDecision::kInternal;
}

// A refusal of a request that did not authenticate (no credential, a bad one, a failed operator
// check): what the per-address `refused` rate limit counts. A 429 is not one: it is the limit.
inline bool IsUnauthenticatedRefusal(unsigned http_status, const RequestContext& ctx) {
  return !ctx.authenticated && http_status != 429 && IsRefusal(http_status, ctx);
}

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
