// The SCIM discovery documents (RFC 7644 section 4, RFC 7643 sections 5-7), built from the
// attribute table in scim/schema.h so they cannot disagree with what the service does.
#include <boost/json/serialize.hpp>

#include "api/scim_routes.h"
#include "scim/schema.h"

namespace bulwark::api {
namespace {

namespace json = boost::json;
using scim::AttrDef;

std::string_view TypeName(scim::AttrType t) {
  switch (t) {
    case scim::AttrType::kString: return "string";
    case scim::AttrType::kBoolean: return "boolean";
    case scim::AttrType::kComplex: return "complex";
    case scim::AttrType::kDateTime: return "dateTime";
    case scim::AttrType::kReference: return "reference";
  }
  return "string";
}

std::string_view MutabilityName(scim::Mutability m) {
  switch (m) {
    case scim::Mutability::kReadWrite: return "readWrite";
    case scim::Mutability::kReadOnly: return "readOnly";
    case scim::Mutability::kImmutable: return "immutable";
  }
  return "readWrite";
}

json::object AttributeJson(const AttrDef& a) {
  json::object o{{"name", a.name},
                 {"type", TypeName(a.type)},
                 {"multiValued", a.multi},
                 {"description", a.description},
                 {"required", a.required},
                 {"caseExact", a.case_exact},
                 {"mutability", MutabilityName(a.mutability)},
                 {"returned", a.name == "id" ? "always" : "default"},
                 {"uniqueness", a.name == "userName" ? "server" : a.name == "id" ? "global" : "none"}};
  if (!a.sub.empty()) {
    json::array subs;
    for (const AttrDef& s : a.sub) subs.push_back(AttributeJson(s));
    o["subAttributes"] = std::move(subs);
  }
  return o;
}

json::object SchemaJson(scim::ResourceKind kind) {
  json::array attrs;
  for (const AttrDef& a : scim::AttributesOf(kind)) {
    if (a.name == "id" || a.name == "meta") continue;  // common attributes (RFC 7643 3.1)
    attrs.push_back(AttributeJson(a));
  }
  const std::string id(scim::SchemaOf(kind));
  return json::object{{"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:Schema"}},
                      {"id", id},
                      {"name", scim::ResourceTypeName(kind)},
                      {"description", kind == scim::ResourceKind::kUser ? "A tenant member"
                                                                        : "A group of members"},
                      {"attributes", std::move(attrs)},
                      {"meta", json::object{{"resourceType", "Schema"},
                                            {"location", "/scim/v2/Schemas/" + id}}}};
}

json::object ResourceTypeJson(scim::ResourceKind kind, std::string_view base_url) {
  const std::string name(scim::ResourceTypeName(kind));
  return json::object{
      {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}},
      {"id", name},
      {"name", name},
      {"endpoint", "/" + name + "s"},
      {"schema", scim::SchemaOf(kind)},
      {"meta", json::object{{"resourceType", "ResourceType"},
                            {"location", std::string(base_url) + "/scim/v2/ResourceTypes/" + name}}}};
}

json::object ListOf(json::array resources) {
  const auto n = static_cast<std::int64_t>(resources.size());
  return json::object{{"schemas", json::array{scim::kListSchema}},
                      {"totalResults", n},
                      {"startIndex", 1},
                      {"itemsPerPage", n},
                      {"Resources", std::move(resources)}};
}

}  // namespace

std::string ScimServiceProviderConfig(std::string_view base_url) {
  const auto unsupported = json::object{{"supported", false}};
  return json::serialize(json::object{
      {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"}},
      {"patch", json::object{{"supported", true}}},
      {"bulk", json::object{{"supported", false}, {"maxOperations", 0}, {"maxPayloadSize", 0}}},
      {"filter", json::object{{"supported", true}, {"maxResults", 200}}},
      {"changePassword", unsupported},
      {"sort", unsupported},
      {"etag", unsupported},
      {"authenticationSchemes",
       json::array{json::object{{"type", "oauthbearertoken"},
                                {"name", "SCIM bearer token"},
                                {"description", "The tenant's SCIM token, made by its owner at "
                                                "POST /api/v1/scim/token"},
                                {"primary", true}}}},
      {"meta", json::object{{"resourceType", "ServiceProviderConfig"},
                            {"location",
                             std::string(base_url) + "/scim/v2/ServiceProviderConfig"}}}});
}

std::string ScimSchemas() {
  return json::serialize(ListOf(json::array{SchemaJson(scim::ResourceKind::kUser),
                                            SchemaJson(scim::ResourceKind::kGroup)}));
}

std::string ScimResourceTypes(std::string_view base_url) {
  return json::serialize(ListOf(json::array{ResourceTypeJson(scim::ResourceKind::kUser, base_url),
                                            ResourceTypeJson(scim::ResourceKind::kGroup, base_url)}));
}

}  // namespace bulwark::api
