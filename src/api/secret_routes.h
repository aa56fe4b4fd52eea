#pragma once
// The secrets surfaces over HTTP: the native one under /api/v1/secrets... (secret_routes.cc) and
// the Vault KV v2-compatible one under /v1/... (vault_routes.cc, vault_mount_routes.cc). Both are
// adapters over one secrets::SecretService (secrets/secret_service.h) through api/secret_ops.h.
// 503 identity_unavailable while the store or the writer is not wired; an operation on secrets
// answers 503 secrets_unavailable while the service is not.
#include <cstddef>

#include "api/route_binding.h"
#include "audit/writer.h"
#include "http/router.h"
#include "secrets/secret_service.h"
#include "secrets/vault.h"
#include "store/store.h"

namespace bulwark::api {

// What the secrets routes use; each pointer must outlive the router. The service is built once
// at wiring time and shared by every request (it holds no state of its own).
struct SecretRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  secrets::SecretService* service = nullptr;
  const secrets::Vault* vault = nullptr;  // its default max_versions, for the engine config
  std::size_t max_value_bytes = 512 * 1024;

  Status Ready() const {
    if (store == nullptr || writer == nullptr) return IdentityUnavailable();
    return Status::Ok();
  }
};

// Secrets, native surface under /api/v1/secrets... (secret_routes.cc).
Status AddSecretRoutes(http::Router& router, SecretRouteDeps deps);

// Secrets, Vault KV v2-compatible surface under /v1/..., with its mount discovery
// (vault_routes.cc, vault_mount_routes.cc).
Status AddVaultRoutes(http::Router& router, SecretRouteDeps deps);

}  // namespace bulwark::api
