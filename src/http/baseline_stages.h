#pragma once
// The stage implementations in force until identity, policy and audit replace them. Each denies
// what it cannot decide: a route that needs a session or an API key is refused with 401 until an
// authenticator that understands those credentials is plugged in.
#include <mutex>
#include <optional>
#include <vector>

#include "core/cidr.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"
#include "http/stages.h"

namespace bulwark::http {

// Public routes: anonymous. Internal routes: an operator, recognised by a peer address inside
// `operator_cidrs` or by `Authorization: Bearer <operator token>`; anyone else gets 404, so the
// route's existence is not disclosed. Session / API-key routes: 401.
class BaselineAuthenticator : public Authenticator {
 public:
  BaselineAuthenticator(std::vector<core::Cidr> operator_cidrs,
                        const std::optional<crypto::SecretBytes>& operator_token);
  Status Authenticate(RequestContext& ctx) override;

  // Replaces the operator token (operator.token_file re-read on SIGHUP); nullopt or empty: no
  // token is accepted any more. Requests already past authentication are not affected. Returns
  // whether it changed (compared as digests, in constant time).
  bool SetOperatorToken(const std::optional<crypto::SecretBytes>& operator_token);

 private:
  std::optional<crypto::Digest256> TokenDigest() const;

  std::vector<core::Cidr> operator_cidrs_;
  mutable std::mutex token_mu_;                    // guards token_digest_
  std::optional<crypto::Digest256> token_digest_;  // only the digest is kept
};

// No limits yet: every request passes. (Issue: identity adds token buckets.)
class NoRateLimits : public RateLimiter {
 public:
  Status Check(RequestContext&) override { return Status::Ok(); }
};

// Unknown tenant ownership is denied: with no tenant model loaded, a tenant-scoped route fails.
class DenyTenantGuard : public TenantGuard {
 public:
  Status Check(RequestContext&) override {
    return Status::PermissionDenied("tenant_unknown", "tenant ownership cannot be established");
  }
};

// A route that names a permission is denied until roles exist; a route that names none passes.
class DenyByDefaultAuthorizer : public Authorizer {
 public:
  Status Authorize(RequestContext& ctx) override;
};

// No ledger yet: records nothing and never fails. (Issue: audit ledger replaces it.)
class NoAudit : public AuditRecorder {
 public:
  void Record(RequestContext&, unsigned, const Status&, Done done) noexcept override {
    done(Status::Ok());
  }
};

}  // namespace bulwark::http
