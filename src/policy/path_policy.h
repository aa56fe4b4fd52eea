#pragma once
// Path policies: what a principal may do with secret data, separate from role verbs. Both must
// allow: a role verb says "may read secrets at all", a path policy says "which ones".
//
// A policy is a list of rules, each a path pattern with capabilities:
//   "prod/db/password"   exactly that path
//   "prod/+/password"    '+' stands for exactly one segment
//   "dev/*"              a trailing '*' matches any remaining characters (dev/a, dev/a/b, dev/x*)
// Capabilities: create, read, update, delete, list, and deny (which removes all of them).
//
// Deciding for a path, over every rule of every policy attached to the principal:
//   1. only rules whose pattern matches the path count; with none, nothing is allowed;
//   2. the most specific matching pattern decides (see MoreSpecific); rules with that same
//      pattern, from different policies, are combined;
//   3. if any of those deciding rules says deny, nothing is allowed (deny wins).
// So "prod/*: deny" with "prod/app/*: read" lets the holder read prod/app/x but nothing else
// under prod, and a policy attached on top that says "prod/app/*: deny" takes that away again.
//
//   auto rule = policy::ParsePathRule("dev/*", {"read", "list"});
//   Capabilities c = policy::Decide(rules, "dev/api/token");   // c.read == true
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark::policy {

enum Capability : std::uint8_t {
  kCapCreate = 1 << 0,
  kCapRead = 1 << 1,
  kCapUpdate = 1 << 2,
  kCapDelete = 1 << 3,
  kCapList = 1 << 4,
  kCapDeny = 1 << 5,
};

struct PathRule {
  std::string pattern;
  std::uint8_t capabilities = 0;  // Capability bits
};

// kInvalidArgument "invalid_pattern" (segments as in secret paths, or "+"; '*' only as the last
// character; at most 512 bytes) or "invalid_capability" (unknown name, or none).
StatusOr<PathRule> ParsePathRule(std::string_view pattern,
                                 const std::vector<std::string>& capabilities);

// True if `pattern` matches `path` (a valid secret path).
bool PatternMatches(std::string_view pattern, std::string_view path);

// True if pattern `a` is more specific than `b`, the order the most specific match is chosen by:
// the one whose first wildcard ('+' or '*') comes later; then the one not ending in '*'; then the
// one with fewer '+' segments; then the longer; then the lexicographically greater (so the order
// is total and a decision never depends on the order rules were attached in).
bool MoreSpecific(std::string_view a, std::string_view b);

// The capabilities `rules` grant on `path` (0 when none match or the deciding rules deny).
std::uint8_t Decide(std::span<const PathRule> rules, std::string_view path);

// True if every path `pattern` matches is matched by `cover` too ("dev/*" covers "dev/app/*",
// "dev/+/x" and "dev/a"; "dev/+" does not cover "dev/*"). Exact for this pattern language.
bool PatternCovers(std::string_view cover, std::string_view pattern);

// False only if no path matches both patterns ("dev/*" and "prod/*"; "a/+" and "a/b/c").
bool PatternsOverlap(std::string_view a, std::string_view b);

// True if `rules` give every capability in `capabilities` on every path `pattern` matches, so
// that granting (pattern, capabilities) hands out nothing the holder of `rules` lacks. Sound, not
// complete: it looks for one pattern of `rules` that covers `pattern` and checks it and every
// more specific pattern of `rules` that overlaps `pattern` (one of these decides each path), so
// it can answer false where a mix of patterns would in fact suffice. A deny among them: false.
//   HoldsOver({{"dev/*", read|list}}, "dev/app/*", read)                    == true
//   HoldsOver({{"dev/*", read}, {"dev/app/key", deny}}, "dev/app/*", read)  == false
bool HoldsOver(std::span<const PathRule> rules, std::string_view pattern,
               std::uint8_t capabilities);

// HoldsOver for many patterns against one rule set, which it prepares once. `rules` must outlive
// it.
class HeldAccess {
 public:
  explicit HeldAccess(std::span<const PathRule> rules);
  explicit HeldAccess(std::vector<PathRule>&&) = delete;  // it would outlive the rules
  bool Holds(std::string_view pattern, std::uint8_t capabilities) const;

  struct Shape;  // a pattern taken apart (path_policy.cc)

 private:
  struct Pattern {
    std::string_view text;
    std::uint8_t caps = 0;
    std::shared_ptr<const Shape> shape;
  };
  std::vector<Pattern> held_;  // each pattern once, its rules' capabilities combined
};

// What a holder of `after` may do that a holder of `before` could not, as rules: on every path,
// the capabilities Decide(after) gives and Decide(before) did not are among those of the
// returned rules whose pattern matches the path (an over-approximation: a returned rule may
// cover paths that did not change). Both additions and removals count: lifting a deny, widening
// a rule, or removing a more specific rule that held back a broader one ("*: read" with
// "prod/*: deny"; remove the deny and "prod/*: read" is gained). Capabilities added beside a deny
// at the same pattern count as gained although the deny hides them today: they show the day the
// deny is narrowed. Narrowing and denying gain nothing. Sorted by pattern, one per pattern.
//   Gained({{"*", read}, {"prod/*", deny}}, {{"*", read}})  == {{"prod/*", read}}
std::vector<PathRule> Gained(std::span<const PathRule> before, std::span<const PathRule> after);

// The capability names of a bit set, in a fixed order ("create", "read", ...).
std::vector<std::string> CapabilityNames(std::uint8_t capabilities);

}  // namespace bulwark::policy
