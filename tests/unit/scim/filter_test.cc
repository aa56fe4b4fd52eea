#include "scim/filter.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace bulwark::scim {
namespace {

namespace json = boost::json;

const json::value kAda = json::parse(R"({
  "id": "2819c223-7f76-453a-919d-413861904646", "externalId": "Ext-1",
  "userName": "Ada@Acme.test", "displayName": "Ada Lovelace", "active": true,
  "name": {"givenName": "Ada", "familyName": "Lovelace"},
  "emails": [{"value": "ada@acme.test", "type": "work", "primary": true},
             {"value": "ada@home.test", "type": "home"}],
  "meta": {"created": "2026-01-02T00:00:00Z", "lastModified": "2026-02-01T00:00:00Z"}})");

bool Match(const char* text, const json::value& resource = kAda) {
  auto f = ParseFilter(ResourceKind::kUser, text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().ToString();
  return f.ok() && f->Matches(resource);
}

std::string Refusal(const char* text) {
  auto f = ParseFilter(ResourceKind::kUser, text);
  return f.ok() ? "parsed" : f.status().reason();
}

TEST(ScimFilter, EveryOperatorOnStrings) {
  EXPECT_TRUE(Match(R"(userName eq "ada@acme.test")"));  // userName is not caseExact
  EXPECT_FALSE(Match(R"(userName ne "ADA@ACME.TEST")"));
  EXPECT_TRUE(Match(R"(displayName co "love")"));
  EXPECT_TRUE(Match(R"(displayName sw "ada ")"));
  EXPECT_TRUE(Match(R"(displayName ew "LACE")"));
  EXPECT_TRUE(Match(R"(meta.lastModified gt "2026-01-15T00:00:00Z")"));
  EXPECT_TRUE(Match(R"(meta.created ge "2026-01-02T00:00:00Z")"));
  EXPECT_FALSE(Match(R"(meta.created lt "2026-01-02T00:00:00Z")"));
  EXPECT_TRUE(Match(R"(meta.created le "2026-01-02T00:00:00Z")"));
  EXPECT_TRUE(Match("name.givenName pr"));
}

TEST(ScimFilter, CaseExactAttributesCompareExactly) {
  EXPECT_TRUE(Match(R"(externalId eq "Ext-1")"));
  EXPECT_FALSE(Match(R"(externalId eq "ext-1")"));
  EXPECT_FALSE(Match(R"(id eq "2819C223-7F76-453A-919D-413861904646")"));
}

TEST(ScimFilter, NamesAndOperatorsAreCaseInsensitive) {
  EXPECT_TRUE(Match(R"(USERNAME EQ "ada@acme.test")"));
  EXPECT_TRUE(Match(R"(urn:ietf:params:scim:schemas:core:2.0:User:userName Eq "ada@acme.test")"));
  EXPECT_TRUE(Match(R"(Name.GivenName sw "a")"));
}

TEST(ScimFilter, LogicPrecedenceAndParentheses) {
  EXPECT_TRUE(Match(R"(userName eq "x" or displayName co "Ada" and active eq true)"));
  EXPECT_FALSE(Match(R"((userName eq "x" or displayName co "Ada") and active eq false)"));
  EXPECT_TRUE(Match(R"(not (active eq false))"));
  EXPECT_FALSE(Match(R"(not (userName pr))"));
}

TEST(ScimFilter, MultiValuedAndValuePaths) {
  EXPECT_TRUE(Match(R"(emails co "home.test")"));  // compares emails.value
  EXPECT_TRUE(Match(R"(emails.type eq "work")"));
  EXPECT_TRUE(Match(R"(emails[type eq "work" and value co "acme"])"));
  EXPECT_FALSE(Match(R"(emails[type eq "home" and value co "acme"])"));
  EXPECT_TRUE(Match(R"(emails[primary eq true])"));
}

TEST(ScimFilter, AbsentAttributes) {
  const json::value bare = json::parse(R"({"userName": "bo@acme.test"})");
  EXPECT_FALSE(Match(R"(displayName eq "x")", bare));
  EXPECT_TRUE(Match(R"(displayName ne "x")", bare));
  EXPECT_FALSE(Match("emails pr", bare));
  EXPECT_TRUE(Match("displayName eq null", bare));
}

TEST(ScimFilter, BadFiltersAreInvalidFilter) {
  for (const char* bad :
       {"", "userName", R"(userName eq)", R"(userName xx "a")", R"(userName eq "a)",
        R"(nosuch eq "a")", R"(name eq "a")", R"(emails[type eq "work")", R"((userName pr)",
        R"(userName pr and)", R"(active gt true)", R"(active eq "yes")", R"(userName eq 12)",
        R"(emails[type eq "a"][value eq "b"])", R"(userName eq "a" extra)",
        R"(emails[nosub eq "a"])", R"(userName co null)"}) {
    EXPECT_EQ(Refusal(bad), "invalid_filter") << bad;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "(";
  deep += "userName pr";
  for (int i = 0; i < 100; ++i) deep += ")";
  EXPECT_EQ(Refusal(deep.c_str()), "invalid_filter");
  EXPECT_EQ(Refusal(std::string(5000, 'a').c_str()), "invalid_filter");
}

TEST(ScimFilter, GroupFilters) {
  const json::value g = json::parse(
      R"({"displayName": "Engineering", "members": [{"value": "u-1"}, {"value": "u-2"}]})");
  auto f = ParseFilter(ResourceKind::kGroup, R"(displayName eq "engineering" and members[value eq "u-2"])");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->Matches(g));
  auto exact = ParseFilter(ResourceKind::kGroup, R"(members.value eq "U-2")");
  ASSERT_TRUE(exact.ok());
  EXPECT_FALSE(exact->Matches(g));  // member values are caseExact ids
  EXPECT_FALSE(ParseFilter(ResourceKind::kGroup, R"(userName eq "a")").ok());
}

}  // namespace
}  // namespace bulwark::scim
