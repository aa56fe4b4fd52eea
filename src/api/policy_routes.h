#pragma once
// Path policies and groups over HTTP: create, replace, list, delete, attach, detach
// (policy_routes.cc). Each change is committed with its record and drops the tenant's
// PathAccess cache once committed. 503 identity_unavailable while the store or the writer is not
// wired; a change answers 503 secrets_unavailable while the path access is not.
#include "api/route_binding.h"
#include "audit/writer.h"
#include "http/router.h"
#include "policy/path_policy_store.h"
#include "store/store.h"

namespace bulwark::api {

// What the policy routes use; each pointer must outlive the router.
struct PolicyRouteDeps {
  store::Store* store = nullptr;
  audit::AuditWriter* writer = nullptr;
  policy::PathAccess* path_access = nullptr;  // its cache, dropped after a change

  Status Ready() const {
    if (store == nullptr || writer == nullptr) return IdentityUnavailable();
    return Status::Ok();
  }
};

Status AddPolicyRoutes(http::Router& router, PolicyRouteDeps deps);

}  // namespace bulwark::api
