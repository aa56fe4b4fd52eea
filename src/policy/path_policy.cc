#include "policy/path_policy.h"

#include <algorithm>
#include <map>
#include <utility>

#include "policy/secret_path.h"

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
  if (pattern.empty() || pattern.size() > policy::kMaxPathBytes) return bad();
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
  if (!std::all_of(partial.begin(), partial.end(), policy::IsSegmentChar)) {
    return bad();
  }
  std::string_view rest = body;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment != "+" && !policy::ValidateSecretPath(segment).ok()) return bad();
    if (segment.empty()) return bad();
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
    if (rest.empty()) return bad();  // a trailing '/' without '*'
  }
  return Status::Ok();
}

}  // namespace

// A pattern's parts: its whole segments (each a literal or "+"), then, if it ends in '*', the
// characters between the last '/' and the '*' ("dev/ap*": segments {"dev"}, prefix "ap").
struct HeldAccess::Shape {
  std::vector<std::string_view> segments;
  bool star = false;
  std::string_view prefix;
};

namespace {

using Shape = HeldAccess::Shape;

Shape ShapeOf(std::string_view pattern) {
  Shape s;
  std::string_view body = pattern;
  if (!body.empty() && body.back() == '*') {
    s.star = true;
    body.remove_suffix(1);
    const auto slash = body.rfind('/');
    s.prefix = slash == std::string_view::npos ? body : body.substr(slash + 1);
    body = slash == std::string_view::npos ? std::string_view() : body.substr(0, slash);
  }
  while (!body.empty()) {
    const auto slash = body.find('/');
    s.segments.push_back(body.substr(0, slash));
    if (slash == std::string_view::npos) break;
    body.remove_prefix(slash + 1);
  }
  return s;
}

// Each pattern once, with the capabilities of all its rules combined.
std::map<std::string_view, std::uint8_t> Combined(std::span<const PathRule> rules) {
  std::map<std::string_view, std::uint8_t> out;
  for (const PathRule& r : rules) out[r.pattern] |= r.capabilities;
  return out;
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

namespace {

bool Covers(const Shape& q, const Shape& p) {
  const std::size_t k = q.segments.size();
  if (p.segments.size() < k) return false;
  for (std::size_t i = 0; i < k; ++i) {
    // "+" covers any one segment; a literal covers only itself (not a "+", which matches others).
    if (q.segments[i] != "+" && q.segments[i] != p.segments[i]) return false;
  }
  if (!q.star) return !p.star && p.segments.size() == k;
  // `cover` goes on with `prefix` and anything: what `pattern` has there must begin with it.
  if (p.segments.size() > k) {
    const std::string_view next = p.segments[k];
    return next == "+" ? q.prefix.empty() : next.starts_with(q.prefix);
  }
  return p.star && p.prefix.starts_with(q.prefix);
}

bool Overlap(const Shape& a, const Shape& b) {
  const bool a_shorter = a.segments.size() <= b.segments.size();
  const Shape& x = a_shorter ? a : b;
  const Shape& y = a_shorter ? b : a;
  const std::size_t n = x.segments.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view s = x.segments[i], t = y.segments[i];
    if (s != "+" && t != "+" && s != t) return false;
  }
  if (n == y.segments.size()) {
    if (x.star != y.star) return false;  // one ends after n segments, the other needs more
    return !x.star || x.prefix.starts_with(y.prefix) || y.prefix.starts_with(x.prefix);
  }
  // `x` has fewer whole segments: only its '*' reaches `y`'s next one, which must fit its prefix.
  if (!x.star) return false;
  const std::string_view next = y.segments[n];
  return next == "+" || next.starts_with(x.prefix);
}

}  // namespace

bool PatternCovers(std::string_view cover, std::string_view pattern) {
  return Covers(ShapeOf(cover), ShapeOf(pattern));
}

bool PatternsOverlap(std::string_view a, std::string_view b) {
  return Overlap(ShapeOf(a), ShapeOf(b));
}

HeldAccess::HeldAccess(std::span<const PathRule> rules) {
  for (const auto& [text, caps] : Combined(rules)) {
    held_.push_back({text, caps, std::make_shared<const Shape>(ShapeOf(text))});
  }
}

bool HeldAccess::Holds(std::string_view pattern, std::uint8_t capabilities) const {
  capabilities &= static_cast<std::uint8_t>(~kCapDeny);
  if (capabilities == 0) return true;
  const Shape target = ShapeOf(pattern);
  const auto gives = [&](std::uint8_t caps) {
    return (caps & kCapDeny) == 0 && (caps & capabilities) == capabilities;
  };
  for (const Pattern& cover : held_) {
    if (!gives(cover.caps) || !Covers(*cover.shape, target)) continue;
    // `cover` matches every path of `pattern`, so on each of them it or a more specific pattern
    // decides: all those that can match one of them must give the capabilities too.
    const bool holds = std::all_of(held_.begin(), held_.end(), [&](const Pattern& other) {
      return other.text == cover.text || !MoreSpecific(other.text, cover.text) ||
             !Overlap(*other.shape, target) || gives(other.caps);
    });
    if (holds) return true;
  }
  return false;
}

bool HoldsOver(std::span<const PathRule> rules, std::string_view pattern,
               std::uint8_t capabilities) {
  return HeldAccess(rules).Holds(pattern, capabilities);
}

std::vector<PathRule> Gained(std::span<const PathRule> before, std::span<const PathRule> after) {
  const auto b = Combined(before), a = Combined(after);
  // What a pattern's rules give where it decides: nothing if one of them denies.
  const auto gives = [](const std::map<std::string_view, std::uint8_t>& m, std::string_view p) {
    const auto it = m.find(p);
    return it == m.end() || (it->second & kCapDeny) != 0 ? std::uint8_t{0} : it->second;
  };
  // What a pattern's rules would give without their deny: a grant staged under a deny shows the
  // day the deny goes, by an owner's hand as much as anyone's.
  const auto latent = [](const std::map<std::string_view, std::uint8_t>& m, std::string_view p) {
    const auto it = m.find(p);
    return it == m.end() ? std::uint8_t{0} : static_cast<std::uint8_t>(it->second & ~kCapDeny);
  };
  std::map<std::string_view, std::uint8_t> gained;
  // A path gains only where its deciding pattern changed: a pattern still in `after` (new, or its
  // rules changed) gives what it gives now, and counts what it holds under a deny too; where a
  // pattern was removed, the paths it decided fall to the less specific patterns of `after` that
  // can match them.
  const auto consider = [&](std::string_view p) {
    const auto in_b = b.find(p), in_a = a.find(p);
    if (in_b != b.end() && in_a != a.end() && in_b->second == in_a->second) return;
    std::uint8_t added = 0;
    if (in_a != a.end()) {
      added =
          static_cast<std::uint8_t>((gives(a, p) & ~gives(b, p)) | (latent(a, p) & ~latent(b, p)));
    } else {
      std::uint8_t now = 0;
      for (const auto& entry : a) {
        if (MoreSpecific(p, entry.first) && PatternsOverlap(entry.first, p)) {
          now |= gives(a, entry.first);
        }
      }
      added = static_cast<std::uint8_t>(now & ~gives(b, p));
    }
    if (added != 0) gained[p] |= added;
  };
  for (const auto& entry : b) consider(entry.first);
  for (const auto& entry : a) consider(entry.first);
  std::vector<PathRule> out;
  for (const auto& [pattern, caps] : gained) out.push_back({std::string(pattern), caps});
  return out;
}

std::vector<std::string> CapabilityNames(std::uint8_t capabilities) {
  std::vector<std::string> out;
  for (const auto& [name, bit] : kNames) {
    if ((capabilities & bit) != 0) out.emplace_back(name);
  }
  return out;
}

}  // namespace bulwark::policy
