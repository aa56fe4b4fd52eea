#pragma once
// Binding a route adapter to the dependencies of its surface. Every surface (identity_routes.h,
// apikey_routes.h, settings_routes.h, breakglass_routes.h, policy_routes.h, secret_routes.h)
// declares a deps struct of its own, holding only what its handlers use, with a
// `Status Ready() const` that says whether those are wired; its handlers are plain functions of
// the deps and the request, bound here. The route table is also built without services (for
// `bulwark routes`): a bound handler then answers what Ready() returns (503) and never runs.
//
// The deps are copied into the handler: pointers to services the caller owns, which must outlive
// the router. Thread-safe as the services the deps point at are; the binding adds no state.
#include <type_traits>

#include "core/status.h"
#include "http/router.h"
#include "http/types.h"

namespace bulwark::api {

// A route adapter of the surface whose dependencies are `Deps`.
template <typename Deps>
using RouteFn = StatusOr<http::Reply> (*)(const Deps&, http::RequestContext&);

// `fn` bound to `deps`: answers deps.Ready()'s error while the surface is not wired.
template <typename Deps>
http::Handler Bind(const Deps& deps, std::type_identity_t<RouteFn<Deps>> fn) {
  return [deps, fn](http::RequestContext& ctx) -> StatusOr<http::Reply> {
    BULWARK_RETURN_IF_ERROR(deps.Ready());
    return fn(deps, ctx);
  };
}

// 503 identity_unavailable: the identity services are not wired.
inline Status IdentityUnavailable() {
  return Status::Unavailable("identity_unavailable", "the identity service is not available");
}

// 503 secrets_unavailable: the secrets vault is not wired.
inline Status SecretsUnavailable() {
  return Status::Unavailable("secrets_unavailable", "the secrets vault is not available");
}

}  // namespace bulwark::api
