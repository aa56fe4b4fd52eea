#pragma once
// The route table. A route cannot be added without an authentication decision, a method and a
// handler; patterns are checked when added, so a bad table stops the server at startup.
//
//   Router r;
//   BULWARK_RETURN_IF_ERROR(r.Add({.method = Verb::get, .pattern = "/livez",
//                                  .auth = AuthDecision::kPublic, .handler = Livez}));
//   Router::Match m = r.Find(Verb::get, "/livez");   // m.kind == kFound, m.route->label
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/types.h"

namespace bulwark::http {

class Router {
 public:
  struct Match {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed };
    Kind kind = Kind::kNotFound;
    const Route* route = nullptr;
    PathParams params;
    std::string allow;  // for 405: the methods the path accepts, "GET, HEAD"
    // When the path exists but not for this method: one of its routes, and whether every route
    // at this path is operator-only (then only operators may learn that it exists).
    const Route* any_route = nullptr;
    bool all_internal = false;
  };

  // Fails (kInternal, naming the route) on an undeclared auth decision, a missing handler, a bad
  // pattern, TRACE/CONNECT, or a method+pattern that duplicates or is ambiguous with another
  // ("/a/{x}" and "/a/{y}" are the same route).
  Status Add(RouteSpec spec);

  // Mounts `surface` at path prefix `prefix` ("/v1/"): a request whose path starts with it is
  // treated as that surface before its route is known (Vault's LIST method, its error bodies
  // for a 404 or 405), and every route added under it must declare that surface, as every route
  // declaring it must lie under a prefix mounted with it (Add fails otherwise). Call before
  // adding the surface's routes. Fails (kInternal) if a route already added contradicts it.
  Status MountSurface(std::string prefix, Surface surface);

  // The surface mounted at a prefix of `path`, else kApi.
  Surface SurfaceOf(std::string_view path) const;

  // HEAD matches GET routes. Paths with empty, "." or ".." segments never match.
  Match Find(Verb method, std::string_view path) const;

  // The body limit for a request before its body is read, from its route lookup: the route's,
  // else `fallback`.
  static std::size_t BodyLimit(const Match& m, std::size_t fallback);

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, Surface>> mounts_;  // path prefix, surface
  std::vector<std::vector<std::string>> patterns_;  // split pattern per route
  // Heterogeneous lookup: finding a path by string_view allocates nothing.
  struct PathHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<std::size_t>, PathHash, std::equal_to<>> static_routes_;
  std::vector<std::size_t> param_routes_;
};

}  // namespace bulwark::http
