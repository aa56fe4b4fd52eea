#include "policy/path_policy.h"

#include <algorithm>
#include <utility>

#include "secrets/path.h"

namespace bulwark::policy {
namespace {

constexpr std::pair<std::string_view, Capability> kNames[] = {
    {"create", kCapCreate}, {"read", kCapRead}, {"update", kCapUpdate},
    {"delete", kCapDelete}, {"list", kCapList}, {"deny", kCapDeny},
};

std::size_t FirstWildcard(std::string_view p) {
  std::size_t best = p.size();
  const auto star = p.find('*');
  if (star != std::string_view::npos) best = star;
  // A '+' counts only as a whole segment.
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '+' && (i == 0 || p[i - 1] == '/') && (i + 1 == p.size() || p[i + 1] == '/')) {
      best = std::min(best, i);
      break;
    }
  }
  return best;
}

int PlusSegments(std::string_view p) {
  int n = 0;
  std::string_view rest = p;
  for (;;) {
    const auto slash = rest.find('/');
    if (rest.substr(0, slash) == "+") ++n;
    if (slash == std::string_view::npos) return n;
    rest.remove_prefix(slash + 1);
  }
}

Status ValidatePattern(std::string_view pattern) {
  const auto bad = [] {
    return Status::InvalidArgument(
        "invalid_pattern",
        "a pattern is a secret path whose segments may be '+', ending in an optional '*'");
  };
  if (pattern.empty() || pattern.size() > secrets::kMaxPathBytes) return bad();
  const auto star = pattern.find('*');
  if (star != std::string_view::npos && star + 1 != pattern.size()) return bad();
  std::string_view body = star == std::string_view::npos ? pattern : pattern.substr(0, star);
  if (body.empty()) return Status::Ok();  // "*": everything
  // "dev/*" leaves "dev/", "dev*" leaves "dev": check the whole segments before the star, and
  // the partial segment the star completes.
  std::string_view partial;
  if (star != std::string_view::npos) {
    const auto slash = body.rfind('/');
    partial = slash == std::string_view::npos ? body : body.substr(slash + 1);
    body = slash == std::string_view::npos ? std::string_view() : body.substr(0, slash);
  }
  // The characters before the '*' in its segment begin a segment, so they are segment
  // characters ('+' only ever stands for a whole segment).
  if (!std::all_of(partial.begin(), partial.end(), secrets::IsSegmentChar)) {
    return bad();
  }
  std::string_view rest = body;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment != "+" && !secrets::ValidateSecretPath(segment).ok()) return bad();
    if (segment.empty()) return bad();
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
    if (rest.empty()) return bad();  // a trailing '/' without '*'
  }
  return Status::Ok();
}

}  // namespace

StatusOr<PathRule> ParsePathRule(std::string_view pattern,
                                 const std::vector<std::string>& capabilities) {
  BULWARK_RETURN_IF_ERROR(ValidatePattern(pattern));
  PathRule rule{.pattern = std::string(pattern)};
  for (const auto& c : capabilities) {
    const auto it = std::find_if(std::begin(kNames), std::end(kNames),
                                 [&](const auto& n) { return n.first == c; });
    if (it == std::end(kNames)) {
      return Status::InvalidArgument("invalid_capability",
                                     "capabilities are create, read, update, delete, list, deny");
    }
    rule.capabilities |= it->second;
  }
  if (rule.capabilities == 0)
    return Status::InvalidArgument("invalid_capability", "name at least one capability");
  return rule;
}

bool PatternMatches(std::string_view pattern, std::string_view path) {
  std::size_t pi = 0, si = 0;
  while (pi < pattern.size()) {
    const char c = pattern[pi];
    if (c == '*') return pi + 1 == pattern.size();  // matches whatever remains (also nothing)
    const bool plus = c == '+' && (pi == 0 || pattern[pi - 1] == '/') &&
                      (pi + 1 == pattern.size() || pattern[pi + 1] == '/');
    if (plus) {
      // One whole, non-empty segment of the path.
      const auto end = path.find('/', si);
      const std::size_t seg_end = end == std::string_view::npos ? path.size() : end;
      if (seg_end == si) return false;
      si = seg_end;
      ++pi;
      continue;
    }
    if (si >= path.size() || path[si] != c) return false;
    ++pi;
    ++si;
  }
  return si == path.size();
}

bool MoreSpecific(std::string_view a, std::string_view b) {
  const std::size_t wa = FirstWildcard(a), wb = FirstWildcard(b);
  if (wa != wb) return wa > wb;
  const bool sa = !a.empty() && a.back() == '*', sb = !b.empty() && b.back() == '*';
  if (sa != sb) return !sa;
  const int pa = PlusSegments(a), pb = PlusSegments(b);
  if (pa != pb) return pa < pb;
  if (a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

std::uint8_t Decide(std::span<const PathRule> rules, std::string_view path) {
  const PathRule* best = nullptr;
  for (const PathRule& r : rules) {
    if (!PatternMatches(r.pattern, path)) continue;
    if (best == nullptr || MoreSpecific(r.pattern, best->pattern)) best = &r;
  }
  if (best == nullptr) return 0;
  std::uint8_t caps = 0;
  for (const PathRule& r : rules) {
    if (r.pattern == best->pattern) caps |= r.capabilities;
  }
  return (caps & kCapDeny) != 0 ? 0 : caps;
}

std::vector<std::string> CapabilityNames(std::uint8_t capabilities) {
  std::vector<std::string> out;
  for (const auto& [name, bit] : kNames) {
    if ((capabilities & bit) != 0) out.emplace_back(name);
  }
  return out;
}

}  // namespace bulwark::policy
