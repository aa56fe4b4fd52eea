// Secret paths and path policies: the grammar, pattern matching, the most-specific order and
// deny-wins, including the tenant admin bound to dev/* who must not read prod/*.
#include "secrets/path.h"

#include <gtest/gtest.h>

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
    EXPECT_TRUE(secrets::ValidateSecretPath(p).ok()) << p;
  }
  EXPECT_TRUE(secrets::ValidateSecretPath(std::string(512, 'a')).ok());
}

TEST(SecretPathTest, TricksAreRefusedWithOneReason) {
  for (const std::string& p :
       {std::string(""), std::string("/a"), std::string("a/"), std::string("a//b"),
        std::string("."), std::string(".."), std::string("a/../b"), std::string("a/./b"),
        std::string("a b"), std::string("a%2e%2e"), std::string("a\\b"), std::string("a\0b", 3),
        std::string("caf\xC3\xA9"), std::string("*"), std::string("a/+"), std::string(513, 'a')}) {
    EXPECT_EQ(secrets::ValidateSecretPath(p).reason(), "invalid_path") << p;
  }
  EXPECT_TRUE(secrets::ValidateListPrefix("").ok());
  EXPECT_TRUE(secrets::ValidateListPrefix("prod/").ok());
  EXPECT_TRUE(secrets::ValidateListPrefix("prod").ok());
  EXPECT_FALSE(secrets::ValidateListPrefix("prod//").ok());
  EXPECT_FALSE(secrets::ValidateListPrefix("../").ok());
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

}  // namespace
}  // namespace bulwark
