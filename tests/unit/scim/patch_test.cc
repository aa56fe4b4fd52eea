#include "scim/patch.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <string>

namespace bulwark::scim {
namespace {

namespace json = boost::json;

json::object User() {
  return json::parse(R"({"userName": "ada@acme.test", "displayName": "Ada", "active": true,
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"value": "ada@acme.test", "type": "work", "primary": true}]})")
      .as_object();
}

// Applies a PatchOp body's Operations; returns the reason of a refusal, or "" when applied.
std::string Apply(json::object& resource, const char* operations,
                  ResourceKind kind = ResourceKind::kUser) {
  const json::value body = json::parse(
      std::string(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)") +
      operations + "}");
  auto ops = ParsePatchRequest(body);
  if (!ops.ok()) return ops.status().reason();
  Status st = ApplyPatch(kind, resource, *ops);
  return st.ok() ? "" : st.reason();
}

TEST(ScimPatch, EntraCapitalisedOpsAndStringBooleans) {
  json::object u = User();
  ASSERT_EQ(Apply(u, R"([{"op":"Replace","path":"active","value":"False"}])"), "");
  EXPECT_EQ(u["active"], json::value(false));
  ASSERT_EQ(Apply(u, R"([{"op":"Add","path":"displayName","value":"Ada L"},
                        {"op":"Replace","path":"name.familyName","value":"King"}])"), "");
  EXPECT_EQ(u["displayName"], json::value("Ada L"));
  EXPECT_EQ(u["name"].as_object()["familyName"], json::value("King"));
  EXPECT_EQ(u["name"].as_object()["givenName"], json::value("Ada"));
  ASSERT_EQ(Apply(u, R"([{"op":"replace","path":"active","value":"TRUE"}])"), "");
  EXPECT_EQ(u["active"], json::value(true));
}

TEST(ScimPatch, OktaNoPathValueObject) {
  json::object u = User();
  ASSERT_EQ(Apply(u, R"([{"op":"replace","value":{"active":false,"name.givenName":"Augusta"}}])"), "");
  EXPECT_EQ(u["active"], json::value(false));
  EXPECT_EQ(u["name"].as_object()["givenName"], json::value("Augusta"));
  EXPECT_EQ(u["name"].as_object()["familyName"], json::value("Lovelace"));
}

TEST(ScimPatch, ValuePathsSelectAndAdd) {
  json::object u = User();
  ASSERT_EQ(Apply(u, R"([{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@acme.test"}])"), "");
  EXPECT_EQ(u["emails"].as_array().size(), 1u);
  EXPECT_EQ(u["emails"].as_array()[0].as_object()["value"], json::value("a@acme.test"));
  // Nothing matches "home" yet: the equality describes the element to add (as Entra expects).
  ASSERT_EQ(Apply(u, R"([{"op":"Add","path":"emails[type eq \"home\"].value","value":"a@home.test"}])"), "");
  ASSERT_EQ(u["emails"].as_array().size(), 2u);
  EXPECT_EQ(u["emails"].as_array()[1], json::parse(R"({"type":"home","value":"a@home.test"})"));
  ASSERT_EQ(Apply(u, R"([{"op":"remove","path":"emails[type eq \"home\"]"}])"), "");
  EXPECT_EQ(u["emails"].as_array().size(), 1u);
  // A non-equality filter that selects nothing has no target.
  EXPECT_EQ(Apply(u, R"([{"op":"replace","path":"emails[value co \"zzz\"].type","value":"x"}])"),
            "no_target");
}

TEST(ScimPatch, GroupMembersAddRemove) {
  json::object g = json::parse(R"({"displayName":"Eng","members":[{"value":"u1"}]})").as_object();
  const auto kGroup = ResourceKind::kGroup;
  ASSERT_EQ(Apply(g, R"([{"op":"Add","path":"members","value":[{"value":"u2"},{"value":"u1"}]}])", kGroup), "");
  EXPECT_EQ(g["members"].as_array().size(), 2u);  // u1 is not added twice
  ASSERT_EQ(Apply(g, R"([{"op":"Remove","path":"members","value":[{"value":"u1"}]}])", kGroup), "");
  EXPECT_EQ(g["members"], json::parse(R"([{"value":"u2"}])"));
  ASSERT_EQ(Apply(g, R"([{"op":"remove","path":"members[value eq \"u2\"]"}])", kGroup), "");
  EXPECT_FALSE(g.contains("members"));  // no value left: unassigned (RFC 7644 3.5.2.2)
  ASSERT_EQ(Apply(g, R"([{"op":"replace","path":"members","value":[{"value":"u3"}]}])", kGroup), "");
  EXPECT_EQ(g["members"], json::parse(R"([{"value":"u3"}])"));
}

TEST(ScimPatch, RefusalsNameTheScimType) {
  json::object u = User();
  const json::object before = u;
  EXPECT_EQ(Apply(u, R"([{"op":"replace","path":"id","value":"x"}])"), "mutability");
  EXPECT_EQ(Apply(u, R"([{"op":"replace","path":"meta.created","value":"x"}])"), "mutability");
  EXPECT_EQ(Apply(u, R"([{"op":"add","path":"groups","value":[{"value":"g"}]}])"), "mutability");
  EXPECT_EQ(Apply(u, R"([{"op":"replace","path":"nosuch","value":"x"}])"), "invalid_path");
  EXPECT_EQ(Apply(u, R"([{"op":"replace","path":"emails[type eq","value":"x"}])"), "invalid_path");
  EXPECT_EQ(Apply(u, R"([{"op":"replace","path":"active","value":"maybe"}])"), "invalid_value");
  EXPECT_EQ(Apply(u, R"([{"op":"replace","path":"displayName","value":7}])"), "invalid_value");
  EXPECT_EQ(Apply(u, R"([{"op":"remove","path":"userName"}])"), "invalid_value");
  EXPECT_EQ(Apply(u, R"([{"op":"remove"}])"), "no_target");
  EXPECT_EQ(Apply(u, R"([{"op":"move","path":"displayName"}])"), "invalid_syntax");
  EXPECT_EQ(Apply(u, R"([])"), "invalid_syntax");
  EXPECT_EQ(Apply(u, R"([{"op":"replace","value":{"nosuch":1}}])"), "invalid_path");
  (void)before;
}

TEST(ScimPatch, IgnoredAttributesChangeNothing) {
  json::object u = User();
  const json::object before = u;
  ASSERT_EQ(Apply(u, R"([{"op":"Add","path":"title","value":"Countess"},
    {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"R&D"},
    {"op":"replace","value":{"preferredLanguage":"en","id":"other","meta":{}}}])"), "");
  EXPECT_EQ(u, before);
}

TEST(ScimPatch, NotAPatchOpIsInvalidSyntax) {
  EXPECT_EQ(ParsePatchRequest(json::parse(R"({"Operations":[{"op":"add"}]})")).status().reason(),
            "invalid_syntax");
}

TEST(ScimResource, NormalizeRefusesUnknownAndDropsReadOnly) {
  auto ok = NormalizeResource(ResourceKind::kUser, json::parse(R"({
    "schemas":["urn:ietf:params:scim:schemas:core:2.0:User"], "id":"client-chosen",
    "UserName":"a@acme.test", "Active":"True", "title":"x",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"},
    "emails":{"Value":"a@acme.test","Primary":"true"}})"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(json::value(*ok), json::parse(R"({"userName":"a@acme.test","active":true,
    "emails":[{"value":"a@acme.test","primary":true}]})"));
  EXPECT_EQ(NormalizeResource(ResourceKind::kUser, json::parse(R"({"userName":"a","color":"red"})"))
                .status().reason(), "invalid_syntax");
  EXPECT_EQ(NormalizeResource(ResourceKind::kUser, json::parse(R"({"displayName":"a"})"))
                .status().reason(), "invalid_value");
}

}  // namespace
}  // namespace bulwark::scim
