// Secret paths and path policies: the grammar, pattern matching, the most-specific order and
// deny-wins, including the tenant admin bound to dev/* who must not read prod/*.
#include "policy/secret_path.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "policy/path_policy.h"

namespace bulwark {
namespace {

using policy::Decide;
using policy::MoreSpecific;
using policy::ParsePathRule;
using policy::PathRule;
using policy::PatternMatches;

TEST(SecretPathTest, GoodPathsPass) {
  for (const char* p : {"a", "prod/db/password", "A-Z_a.z-0.9/x", "x/.env", "a/..b/c"}) {
    EXPECT_TRUE(policy::ValidateSecretPath(p).ok()) << p;
  }
  EXPECT_TRUE(policy::ValidateSecretPath(std::string(512, 'a')).ok());
}

TEST(SecretPathTest, TricksAreRefusedWithOneReason) {
  for (const std::string& p :
       {std::string(""), std::string("/a"), std::string("a/"), std::string("a//b"),
        std::string("."), std::string(".."), std::string("a/../b"), std::string("a/./b"),
        std::string("a b"), std::string("a%2e%2e"), std::string("a\\b"), std::string("a\0b", 3),
        std::string("caf\xC3\xA9"), std::string("*"), std::string("a/+"), std::string(513, 'a')}) {
    EXPECT_EQ(policy::ValidateSecretPath(p).reason(), "invalid_path") << p;
  }
  EXPECT_TRUE(policy::ValidateListPrefix("").ok());
  EXPECT_TRUE(policy::ValidateListPrefix("prod/").ok());
  EXPECT_TRUE(policy::ValidateListPrefix("prod").ok());
  EXPECT_FALSE(policy::ValidateListPrefix("prod//").ok());
  EXPECT_FALSE(policy::ValidateListPrefix("../").ok());
}

TEST(PathPolicyTest, PatternsParseOrAreRefused) {
  for (const char* p : {"*", "dev/*", "dev*", "dev/x*", "prod/+/password", "+/db", "+", "a/+/b/*",
                        "x/.env*", "x/.*"}) {
    EXPECT_TRUE(ParsePathRule(p, {"read"}).ok()) << p;
  }
  for (const char* p : {"", "/dev", "dev/", "dev//x", "dev/*/x", "d*v", "**", "dev/+*", "dev+",
                        "a/../b", "a b/*"}) {
    EXPECT_EQ(ParsePathRule(p, {"read"}).status().reason(), "invalid_pattern") << p;
  }
  EXPECT_EQ(ParsePathRule("dev/*", {}).status().reason(), "invalid_capability");
  EXPECT_EQ(ParsePathRule("dev/*", {"sudo"}).status().reason(), "invalid_capability");
  EXPECT_EQ(policy::CapabilityNames(ParsePathRule("a", {"list", "read"})->capabilities),
            (std::vector<std::string>{"read", "list"}));
}

TEST(PathPolicyTest, MatchingFollowsTheGlobAndSegmentRules) {
  EXPECT_TRUE(PatternMatches("prod/db/password", "prod/db/password"));
  EXPECT_FALSE(PatternMatches("prod/db/password", "prod/db/password2"));
  EXPECT_TRUE(PatternMatches("dev/*", "dev/a"));
  EXPECT_TRUE(PatternMatches("dev/*", "dev/a/b/c"));
  EXPECT_FALSE(PatternMatches("dev/*", "dev"));
  EXPECT_FALSE(PatternMatches("dev/*", "devx/a"));
  EXPECT_TRUE(PatternMatches("dev*", "dev"));
  EXPECT_TRUE(PatternMatches("dev*", "devops/x"));
  EXPECT_TRUE(PatternMatches("*", "anything/at/all"));
  EXPECT_TRUE(PatternMatches("prod/+/password", "prod/db/password"));
  EXPECT_FALSE(PatternMatches("prod/+/password", "prod/db/x/password"));
  EXPECT_FALSE(PatternMatches("prod/+/password", "prod/password"));
  EXPECT_TRUE(PatternMatches("+/db", "prod/db"));
  EXPECT_TRUE(PatternMatches("a/+/b/*", "a/x/b/c/d"));
  EXPECT_FALSE(PatternMatches("a/+/b/*", "a/x/y/b/c"));
}

TEST(PathPolicyTest, TheMostSpecificPatternIsChosenInATotalOrder) {
  EXPECT_TRUE(MoreSpecific("prod/db/password", "prod/db/*"));  // wildcard later (none)
  EXPECT_TRUE(MoreSpecific("prod/db/*", "prod/*"));            // first wildcard later
  EXPECT_TRUE(MoreSpecific("prod/+/password", "prod/+/*"));    // not ending in '*'
  EXPECT_TRUE(MoreSpecific("a/+/b", "a/+/+"));                 // fewer '+' segments
  EXPECT_TRUE(MoreSpecific("prod/dbx*", "prod/db*"));          // its '*' comes later
  EXPECT_FALSE(MoreSpecific("prod/*", "prod/*"));
  // Total: exactly one of two different patterns is more specific.
  const char* ps[] = {"*", "a*", "a/*", "a/+", "a/+/b", "a/b", "+/b", "a/b*", "b/*"};
  for (const char* x : ps) {
    for (const char* y : ps) {
      if (std::string_view(x) != y) {
        EXPECT_NE(MoreSpecific(x, y), MoreSpecific(y, x)) << x << " " << y;
      }
    }
  }
}

std::vector<PathRule> Rules(
    std::initializer_list<std::pair<const char*, std::vector<std::string>>> spec) {
  std::vector<PathRule> out;
  for (const auto& [p, caps] : spec) out.push_back(*ParsePathRule(p, caps));
  return out;
}

TEST(PathPolicyTest, AnAdminBoundToDevCannotReadProd) {
  // Whatever its role verbs, a principal whose only policy is dev/* has no capability on prod.
  const auto dev_only = Rules({{"dev/*", {"create", "read", "update", "delete", "list"}}});
  EXPECT_EQ(Decide(dev_only, "dev/api/token"), policy::kCapCreate | policy::kCapRead |
                                                   policy::kCapUpdate | policy::kCapDelete |
                                                   policy::kCapList);
  EXPECT_EQ(Decide(dev_only, "prod/db/password"), 0);
  EXPECT_EQ(Decide({}, "dev/api/token"), 0);  // no policy: nothing
}

TEST(PathPolicyTest, MostSpecificDecidesAndDenyWinsAmongEquals) {
  const auto rules = Rules({{"prod/*", {"deny"}}, {"prod/app/*", {"read", "list"}}});
  EXPECT_EQ(Decide(rules, "prod/app/key"), policy::kCapRead | policy::kCapList);
  EXPECT_EQ(Decide(rules, "prod/db/password"), 0);
  // A second policy with the same pattern: capabilities combine, and a deny there wins.
  auto more = rules;
  more.push_back(*ParsePathRule("prod/app/*", {"update"}));
  EXPECT_EQ(Decide(more, "prod/app/key"), policy::kCapRead | policy::kCapList | policy::kCapUpdate);
  more.push_back(*ParsePathRule("prod/app/*", {"deny"}));
  EXPECT_EQ(Decide(more, "prod/app/key"), 0);
  // The order rules come in never changes the decision.
  std::reverse(more.begin(), more.end());
  EXPECT_EQ(Decide(more, "prod/app/key"), 0);
  const auto exact = Rules({{"prod/+/password", {"read"}}, {"prod/db/password", {"deny"}}});
  EXPECT_EQ(Decide(exact, "prod/db/password"), 0);
  EXPECT_EQ(Decide(exact, "prod/cache/password"), policy::kCapRead);
}

// Small universes of patterns and paths, so that what the pattern algebra answers can be checked
// against matching itself: every pattern of up to three segments over {a, ab, +}, with or without
// a trailing "*" after a prefix from {"", a, ab}; every path of up to four segments over
// {a, ab, abc, b}, enough to tell any two of those patterns apart.
struct Universe {
  std::vector<std::string> patterns;
  std::vector<std::string> paths;
  std::vector<std::vector<bool>> matches;  // [pattern][path]

  Universe() {
    // Heads: "" and every sequence of 1..3 tokens; a star may follow a head of up to 2.
    std::vector<std::string> heads = {""}, layer = {""};
    for (int len = 1; len <= 3; ++len) {
      std::vector<std::string> next;
      for (const auto& l : layer) {
        for (const std::string t : {"a", "ab", "+"}) next.push_back(l.empty() ? t : l + "/" + t);
      }
      heads.insert(heads.end(), next.begin(), next.end());
      layer = std::move(next);
    }
    for (const auto& h : heads) {
      if (!h.empty()) patterns.push_back(h);
      if (std::count(h.begin(), h.end(), '/') >= 2) continue;
      for (const std::string prefix : {"", "a", "ab"}) {
        patterns.push_back((h.empty() ? "" : h + "/") + prefix + "*");
      }
    }
    layer = {""};
    for (int len = 1; len <= 4; ++len) {
      std::vector<std::string> next;
      for (const auto& l : layer) {
        for (const std::string seg : {"a", "ab", "abc", "b"}) {
          next.push_back(l.empty() ? seg : l + "/" + seg);
        }
      }
      paths.insert(paths.end(), next.begin(), next.end());
      layer = std::move(next);
    }
    for (const auto& p : patterns) {
      EXPECT_TRUE(ParsePathRule(p, {"read"}).ok()) << p;
      std::vector<bool> row;
      for (const auto& path : paths) row.push_back(PatternMatches(p, path));
      matches.push_back(std::move(row));
    }
  }
};

TEST(PathPolicyTest, CoversAndOverlapAgreeWithMatchingOnEveryPair) {
  const Universe u;
  ASSERT_GT(u.patterns.size(), 70u);
  ASSERT_EQ(u.paths.size(), 340u);
  int covers = 0, overlaps = 0;
  for (std::size_t i = 0; i < u.patterns.size(); ++i) {
    for (std::size_t j = 0; j < u.patterns.size(); ++j) {
      bool covered = true, met = false;
      for (std::size_t k = 0; k < u.paths.size(); ++k) {
        if (u.matches[j][k] && !u.matches[i][k]) covered = false;
        if (u.matches[j][k] && u.matches[i][k]) met = true;
      }
      EXPECT_EQ(policy::PatternCovers(u.patterns[i], u.patterns[j]), covered)
          << u.patterns[i] << " covers " << u.patterns[j];
      EXPECT_EQ(policy::PatternsOverlap(u.patterns[i], u.patterns[j]), met)
          << u.patterns[i] << " meets " << u.patterns[j];
      covers += covered;
      overlaps += met;
    }
  }
  // Both answers occur often, so neither function passes by answering one way.
  EXPECT_GT(covers, 300);
  EXPECT_GT(overlaps, 1000);
  EXPECT_LT(overlaps, static_cast<int>(u.patterns.size() * u.patterns.size()) - 1000);
}

TEST(PathPolicyTest, HoldsOverNeverClaimsACapabilityAPathLacks) {
  const Universe u;
  std::mt19937 rng(20261124);
  const std::uint8_t kCaps[] = {policy::kCapRead, policy::kCapList,
                                policy::kCapRead | policy::kCapList, policy::kCapDeny};
  int held = 0, trials = 0;
  for (; trials < 3000; ++trials) {
    std::vector<PathRule> rules;
    const std::size_t n = 1 + rng() % 4;
    for (std::size_t i = 0; i < n; ++i) {
      rules.push_back({u.patterns[rng() % u.patterns.size()], kCaps[rng() % 4]});
    }
    const std::size_t target = rng() % u.patterns.size();
    const std::uint8_t want = kCaps[rng() % 3];
    if (!policy::HoldsOver(rules, u.patterns[target], want)) continue;
    ++held;
    for (std::size_t k = 0; k < u.paths.size(); ++k) {
      if (!u.matches[target][k]) continue;
      ASSERT_EQ(Decide(rules, u.paths[k]) & want, want)
          << u.patterns[target] << " at " << u.paths[k] << " (rule 0: " << rules[0].pattern << ")";
    }
  }
  EXPECT_GT(held, 100);  // the check is exercised, not vacuously passed
}

TEST(PathPolicyTest, HoldsOverAnswersTheDocumentedCases) {
  const std::uint8_t read = policy::kCapRead, list = policy::kCapList;
  const auto dev = Rules({{"dev/*", {"read", "list"}}, {"prod/*", {"deny"}}});
  EXPECT_TRUE(policy::HoldsOver(dev, "dev/app/*", read));
  EXPECT_TRUE(policy::HoldsOver(dev, "dev/+/key", read | list));
  EXPECT_TRUE(policy::HoldsOver(dev, "dev/*", read));
  EXPECT_FALSE(policy::HoldsOver(dev, "dev/*", policy::kCapUpdate));  // not held at all
  EXPECT_FALSE(policy::HoldsOver(dev, "*", read));                    // wider than dev/*
  EXPECT_FALSE(policy::HoldsOver(dev, "prod/db/password", read));     // denied
  EXPECT_FALSE(policy::HoldsOver(dev, "+/key", read));                // prod/key too
  EXPECT_FALSE(policy::HoldsOver(dev, "dev*", read));                 // "devops" too
  EXPECT_TRUE(policy::HoldsOver(dev, "dev/x", policy::kCapDeny));     // a deny grants nothing
  // A more specific rule inside the pattern that withholds the capability.
  const auto holes = Rules({{"dev/*", {"read"}}, {"dev/app/key", {"deny"}}});
  EXPECT_FALSE(policy::HoldsOver(holes, "dev/app/*", read));
  EXPECT_TRUE(policy::HoldsOver(holes, "dev/db/*", read));
  const auto narrower = Rules({{"dev/*", {"read"}}, {"dev/app/*", {"list"}}});
  EXPECT_FALSE(policy::HoldsOver(narrower, "dev/*", read));
  EXPECT_TRUE(policy::HoldsOver(narrower, "dev/app/*", list));
  EXPECT_FALSE(policy::HoldsOver({}, "dev/x", read));
}

TEST(PathPolicyTest, GainedIsWhatAdditionsAndRemovalsGive) {
  const std::uint8_t read = policy::kCapRead, list = policy::kCapList;
  const auto guarded = Rules({{"*", {"read"}}, {"prod/*", {"deny"}}});
  // Removing the deny gives prod/* read, though no rule was added or widened.
  auto gained = policy::Gained(guarded, Rules({{"*", {"read"}}}));
  ASSERT_EQ(gained.size(), 1u);
  EXPECT_EQ(gained[0].pattern, "prod/*");
  EXPECT_EQ(gained[0].capabilities, read);
  // So does removing a narrower rule that held back a broader one.
  gained = policy::Gained(Rules({{"dev/*", {"read", "list"}}, {"dev/app/*", {"list"}}}),
                          Rules({{"dev/*", {"read", "list"}}}));
  ASSERT_EQ(gained.size(), 1u);
  EXPECT_EQ(gained[0].pattern, "dev/app/*");
  EXPECT_EQ(gained[0].capabilities, read);
  // Widening, lifting a deny at the same pattern, a new pattern: what each newly gives.
  gained = policy::Gained(Rules({{"dev/*", {"read"}}, {"prod/*", {"deny"}}, {"ops/*", {"list"}}}),
                          Rules({{"dev/*", {"read", "list"}},
                                 {"prod/*", {"read"}},
                                 {"ops/*", {"list"}},
                                 {"qa/*", {"deny", "read"}},
                                 {"new/*", {"create"}}}));
  ASSERT_EQ(gained.size(), 4u);
  EXPECT_EQ(gained[0].pattern, "dev/*");
  EXPECT_EQ(gained[0].capabilities, list);
  EXPECT_EQ(gained[1].pattern, "new/*");
  EXPECT_EQ(gained[1].capabilities, policy::kCapCreate);
  EXPECT_EQ(gained[2].pattern, "prod/*");
  EXPECT_EQ(gained[2].capabilities, read);
  EXPECT_EQ(gained[3].pattern, "qa/*");  // read beside a deny: see below
  EXPECT_EQ(gained[3].capabilities, read);
  // Added beside a deny at the same pattern: hidden today, gained the day the deny goes.
  gained = policy::Gained(
      guarded, Rules({{"*", {"read"}}, {"prod/*", {"deny"}}, {"prod/*", {"read", "update"}}}));
  ASSERT_EQ(gained.size(), 1u);
  EXPECT_EQ(gained[0].pattern, "prod/*");
  EXPECT_EQ(gained[0].capabilities, read | policy::kCapUpdate);
  // Narrowing, denying, removing a rule nothing broader stands behind: nothing gained.
  EXPECT_TRUE(policy::Gained(Rules({{"dev/*", {"read", "list"}}}),
                             Rules({{"dev/*", {"read"}}, {"dev/app/*", {"deny"}}}))
                  .empty());
  EXPECT_TRUE(policy::Gained(Rules({{"dev/*", {"read"}}, {"prod/x", {"read"}}}),
                             Rules({{"dev/*", {"read"}}}))
                  .empty());
  EXPECT_TRUE(policy::Gained(guarded, guarded).empty());
}

TEST(PathPolicyTest, GainedCoversEveryPathThatGainsACapability) {
  const Universe u;
  std::mt19937 rng(1124);
  const std::uint8_t kCaps[] = {policy::kCapRead, policy::kCapList,
                                policy::kCapRead | policy::kCapList, policy::kCapDeny};
  const auto some_rules = [&] {
    std::vector<PathRule> rules;
    for (std::size_t i = 0, n = rng() % 5; i < n; ++i) {
      rules.push_back({u.patterns[rng() % u.patterns.size()], kCaps[rng() % 4]});
    }
    return rules;
  };
  int paths_gaining = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    const auto before = some_rules();
    // After: some of the rules kept, some new ones.
    std::vector<PathRule> after;
    for (const auto& r : before) {
      if (rng() % 2 == 0) after.push_back(r);
    }
    for (const auto& r : some_rules()) after.push_back(r);
    const auto gained = policy::Gained(before, after);
    for (const auto& path : u.paths) {
      const auto added = static_cast<std::uint8_t>(Decide(after, path) & ~Decide(before, path));
      if (added == 0) continue;
      ++paths_gaining;
      std::uint8_t covered = 0;
      for (const auto& g : gained) {
        if (PatternMatches(g.pattern, path)) covered |= g.capabilities;
      }
      ASSERT_EQ(added & covered, added) << path << " trial " << trial;
    }
  }
  EXPECT_GT(paths_gaining, 10000);  // changes that give something are common, not vacuous
}

}  // namespace
}  // namespace bulwark
