#include "http/router.h"

#include <algorithm>

namespace bulwark::http {
namespace {

// Splits "/a/b/c" into {"a","b","c"}. Returns false for paths that cannot name a route: not
// starting with '/', or with an empty, "." or ".." segment (so "//x", "/a/../b" never match).
bool SplitPath(std::string_view path, std::vector<std::string_view>* out) {
  out->clear();
  if (path.empty() || path[0] != '/') return false;
  if (path == "/") return true;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    const std::size_t next = std::min(path.find('/', pos), path.size());
    std::string_view seg = path.substr(pos, next - pos);
    if (seg.empty() || seg == "." || seg == "..") return false;
    out->push_back(seg);
    pos = next + 1;
  }
  return true;
}

bool IsParam(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
bool IsRestParam(std::string_view seg) { return IsParam(seg) && seg[seg.size() - 2] == '*'; }

// Whether `segs` fits the pattern, checked before any parameter is copied out: most routes fail
// on a literal segment. A final {name*} takes one or more segments.
bool PatternMatches(const std::vector<std::string>& pat,
                    const std::vector<std::string_view>& segs) {
  for (std::size_t i = 0; i < pat.size(); ++i) {
    if (IsRestParam(pat[i])) return i < segs.size();
    if (i >= segs.size()) return false;
    if (!IsParam(pat[i]) && pat[i] != segs[i]) return false;
  }
  return segs.size() == pat.size();
}

// The parameters of a path that PatternMatches `pat` (none for a static route's pattern).
PathParams ParamsOf(const std::vector<std::string>& pat,
                    const std::vector<std::string_view>& segs) {
  PathParams params;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    const std::string& p = pat[i];
    if (IsRestParam(p)) {
      // The rest of the path, segments rejoined: "prod/db/password".
      const char* begin = segs[i].data();
      const char* end = segs.back().data() + segs.back().size();
      params.emplace_back(p.substr(1, p.size() - 3),
                          std::string(begin, static_cast<std::size_t>(end - begin)));
      break;
    }
    if (IsParam(p)) params.emplace_back(p.substr(1, p.size() - 2), std::string(segs[i]));
  }
  return params;
}

}  // namespace

std::string_view AuthDecisionName(AuthDecision d) {
  switch (d) {
    case AuthDecision::kUndeclared: return "undeclared";
    case AuthDecision::kPublic: return "public";
    case AuthDecision::kSession: return "session";
    case AuthDecision::kApiKey: return "api_key";
    case AuthDecision::kEither: return "either";
    case AuthDecision::kInternal: return "internal";
    case AuthDecision::kScim: return "scim";
  }
  return "undeclared";
}

std::string_view RequestContext::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

Status Router::Add(RouteSpec spec) {
  const std::string label = std::string(bhttp::to_string(spec.method)) + " " + spec.pattern;
  auto bad = [&](const std::string& why) { return Status::Internal("route " + label + ": " + why); };
  if (spec.auth == AuthDecision::kUndeclared) return bad("declares no authentication decision");
  if (!spec.handler) return bad("has no handler");
  if (spec.method == Verb::unknown || spec.method == Verb::trace || spec.method == Verb::connect) {
    return bad("method not allowed in the route table");
  }
  if (spec.inline_io && (spec.auth != AuthDecision::kPublic || !spec.audit_action.empty())) {
    return bad("only a public, unaudited route may run on the io thread");
  }
  if (spec.auth == AuthDecision::kPublic && !spec.permission.empty()) {
    return bad("a public route cannot require a permission");
  }
  if (spec.surface != SurfaceOf(spec.pattern)) {
    return bad("declares a surface other than the one mounted at its path");
  }
  std::vector<std::string_view> segs;
  if (!SplitPath(spec.pattern, &segs)) return bad("malformed pattern");
  std::vector<std::string> owned;
  bool has_param = false;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (segs[i].find_first_of("{}") != std::string_view::npos && !IsParam(segs[i])) {
      return bad("malformed parameter segment");
    }
    if (IsRestParam(segs[i]) && i + 1 != segs.size()) return bad("{name*} must be last");
    has_param = has_param || IsParam(segs[i]);
    owned.emplace_back(segs[i]);
  }
  // Parameter names do not make routes different: compare shapes.
  auto shape = [](const std::vector<std::string>& pattern_segs) {
    std::string out;
    for (const auto& seg : pattern_segs) out += "/" + (IsRestParam(seg) ? std::string("{*}") : IsParam(seg) ? std::string("{}") : seg);
    return out;
  };
  const std::string new_shape = shape(owned);
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i].method == spec.method && shape(patterns_[i]) == new_shape) {
      return bad(routes_[i].pattern == spec.pattern ? "declared twice" : "ambiguous with " + routes_[i].pattern);
    }
  }
  Route route;
  static_cast<RouteSpec&>(route) = std::move(spec);
  route.index = routes_.size();
  route.label = label;
  if (has_param) {
    param_routes_.push_back(route.index);
  } else {
    static_routes_[route.pattern].push_back(route.index);
  }
  routes_.push_back(std::move(route));
  patterns_.push_back(std::move(owned));
  return Status::Ok();
}

Status Router::MountSurface(std::string prefix, Surface surface) {
  if (prefix.empty() || prefix.front() != '/' || prefix.back() != '/' ||
      SurfaceOf(prefix) != Surface::kApi) {
    return Status::Internal("surface mount " + prefix + ": not a fresh \"/.../\" prefix");
  }
  for (const Route& r : routes_) {
    if (r.pattern.starts_with(prefix) && r.surface != surface) {
      return Status::Internal("surface mount " + prefix + ": route " + r.label +
                              " is already added");
    }
  }
  mounts_.emplace_back(std::move(prefix), surface);
  return Status::Ok();
}

Surface Router::SurfaceOf(std::string_view path) const {
  for (const auto& [prefix, surface] : mounts_) {
    if (path.starts_with(prefix)) return surface;
  }
  return Surface::kApi;
}

Router::Match Router::Find(Verb method, std::string_view path) const {
  Match m;
  const Verb want = method == Verb::head ? Verb::get : method;
  // Fast path: a static route with this method. Static routes win over parameterised ones.
  if (auto it = static_routes_.find(path); it != static_routes_.end()) {
    for (std::size_t idx : it->second) {
      if (routes_[idx].method == want) {
        m.kind = Match::Kind::kFound;
        m.route = &routes_[idx];
        return m;
      }
    }
  }
  std::vector<std::size_t> candidates;
  if (auto it = static_routes_.find(path); it != static_routes_.end()) {
    candidates.assign(it->second.begin(), it->second.end());
  }
  std::vector<std::string_view> segs;
  if (!param_routes_.empty() && SplitPath(path, &segs)) {
    for (std::size_t idx : param_routes_) {
      if (PatternMatches(patterns_[idx], segs)) candidates.push_back(idx);
    }
  }
  if (candidates.empty()) return m;  // kNotFound

  m.all_internal = true;
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    const Route& r = routes_[candidates[k]];
    if (m.any_route == nullptr) m.any_route = &r;
    m.all_internal = m.all_internal && r.auth == AuthDecision::kInternal;
    if (r.method == want && m.route == nullptr) {
      m.kind = Match::Kind::kFound;
      m.route = &r;
      m.params = ParamsOf(patterns_[candidates[k]], segs);
    }
  }
  if (m.route != nullptr) return m;
  std::vector<std::string> allow;
  for (std::size_t idx : candidates) {
    allow.emplace_back(bhttp::to_string(routes_[idx].method));
    if (routes_[idx].method == Verb::get) allow.emplace_back("HEAD");
  }
  std::sort(allow.begin(), allow.end());
  allow.erase(std::unique(allow.begin(), allow.end()), allow.end());
  m.kind = Match::Kind::kMethodNotAllowed;
  for (const std::string& a : allow) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += a;
  }
  return m;
}

std::size_t Router::BodyLimit(const Match& m, std::size_t fallback) {
  if (m.route != nullptr && m.route->max_body_bytes != 0) return m.route->max_body_bytes;
  return fallback;
}

}  // namespace bulwark::http
