#include "scim/schema.h"

#include "core/ascii.h"

namespace bulwark::scim {
namespace {

using M = Mutability;
using T = AttrType;

constexpr AttrDef kMetaSub[] = {
    {.name = "resourceType", .mutability = M::kReadOnly, .description = "User or Group"},
    {.name = "created", .type = T::kDateTime, .mutability = M::kReadOnly},
    {.name = "lastModified", .type = T::kDateTime, .mutability = M::kReadOnly},
    {.name = "location", .type = T::kReference, .case_exact = true, .mutability = M::kReadOnly},
    {.name = "version", .case_exact = true, .mutability = M::kReadOnly},
};

constexpr AttrDef kNameSub[] = {
    {.name = "formatted"},
    {.name = "familyName"},
    {.name = "givenName"},
};

constexpr AttrDef kEmailSub[] = {
    {.name = "value", .description = "the address"},
    {.name = "type", .description = "work, home or other"},
    {.name = "primary", .type = T::kBoolean},
    {.name = "display"},
};

constexpr AttrDef kUserGroupSub[] = {
    {.name = "value", .case_exact = true, .mutability = M::kReadOnly},
    {.name = "$ref", .type = T::kReference, .case_exact = true, .mutability = M::kReadOnly},
    {.name = "display", .mutability = M::kReadOnly},
    {.name = "type", .mutability = M::kReadOnly},
};

constexpr AttrDef kMemberSub[] = {
    {.name = "value", .case_exact = true, .mutability = M::kImmutable,
     .description = "the SCIM id of a User of this tenant"},
    {.name = "$ref", .type = T::kReference, .case_exact = true, .mutability = M::kImmutable},
    {.name = "display", .mutability = M::kReadOnly},
    {.name = "type", .mutability = M::kImmutable},
};

constexpr AttrDef kUserAttrs[] = {
    {.name = "id", .case_exact = true, .mutability = M::kReadOnly},
    {.name = "externalId", .case_exact = true},
    {.name = "userName", .required = true,
     .description = "the member's email address, unique in the tenant"},
    {.name = "name", .type = T::kComplex, .sub = kNameSub},
    {.name = "displayName"},
    {.name = "emails", .type = T::kComplex, .multi = true, .sub = kEmailSub},
    {.name = "active", .type = T::kBoolean,
     .description = "false suspends the membership: sessions end, API keys are disabled"},
    {.name = "groups", .type = T::kComplex, .multi = true, .mutability = M::kReadOnly,
     .sub = kUserGroupSub},
    {.name = "meta", .type = T::kComplex, .mutability = M::kReadOnly, .sub = kMetaSub},
};

constexpr AttrDef kGroupAttrs[] = {
    {.name = "id", .case_exact = true, .mutability = M::kReadOnly},
    {.name = "externalId", .case_exact = true},
    {.name = "displayName", .required = true},
    {.name = "members", .type = T::kComplex, .multi = true, .sub = kMemberSub},
    {.name = "meta", .type = T::kComplex, .mutability = M::kReadOnly, .sub = kMetaSub},
};

// RFC 7643 4.1 attributes Bulwark accepts and does not keep.
constexpr std::string_view kIgnoredUser[] = {
    "nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale", "timezone",
    "password", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles",
    "x509Certificates", "schemas"};
constexpr std::string_view kIgnoredGroup[] = {"schemas"};

}  // namespace

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (core::AsciiLower(a[i]) != core::AsciiLower(b[i])) return false;
  }
  return true;
}

std::string_view SchemaOf(ResourceKind kind) {
  return kind == ResourceKind::kUser ? kUserSchema : kGroupSchema;
}

std::string_view ResourceTypeName(ResourceKind kind) {
  return kind == ResourceKind::kUser ? "User" : "Group";
}

std::span<const AttrDef> AttributesOf(ResourceKind kind) {
  if (kind == ResourceKind::kUser) return kUserAttrs;
  return kGroupAttrs;
}

std::string_view StripSchemaPrefix(ResourceKind kind, std::string_view name) {
  const std::string_view schema = SchemaOf(kind);
  if (name.size() > schema.size() + 1 && IEquals(name.substr(0, schema.size()), schema) &&
      name[schema.size()] == ':') {
    return name.substr(schema.size() + 1);
  }
  return name;
}

const AttrDef* FindAttr(ResourceKind kind, std::string_view name) {
  name = StripSchemaPrefix(kind, name);
  for (const AttrDef& a : AttributesOf(kind)) {
    if (IEquals(a.name, name)) return &a;
  }
  return nullptr;
}

const AttrDef* FindSub(const AttrDef& parent, std::string_view name) {
  for (const AttrDef& a : parent.sub) {
    if (IEquals(a.name, name)) return &a;
  }
  return nullptr;
}

bool IsIgnoredAttr(ResourceKind kind, std::string_view name) {
  // An extension schema (Entra's and Okta's enterprise attributes) or an attribute under one.
  if (name.size() > 4 && IEquals(name.substr(0, 4), "urn:") &&
      StripSchemaPrefix(kind, name) == name) {
    return true;
  }
  name = StripSchemaPrefix(kind, name);
  name = name.substr(0, name.find_first_of(".["));
  const std::span<const std::string_view> list =
      kind == ResourceKind::kUser ? std::span<const std::string_view>(kIgnoredUser)
                                  : std::span<const std::string_view>(kIgnoredGroup);
  for (std::string_view n : list) {
    if (IEquals(n, name)) return true;
  }
  return false;
}

}  // namespace bulwark::scim
