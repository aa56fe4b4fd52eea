#pragma once
// The SCIM 2.0 attributes Bulwark serves (RFC 7643 sections 4.1 and 4.2): their types,
// case-exactness, plurality and mutability, looked up case-insensitively as RFC 7643 section 2.1
// requires, for the filter parser (filter.h), the PATCH engine (patch.h) and the service.
//
//   const AttrDef* a = FindAttr(ResourceKind::kUser, "USERNAME");   // a->name == "userName"
//   const AttrDef* v = FindSub(*FindAttr(ResourceKind::kUser, "emails"), "Value");
//
// Attributes RFC 7643 defines that Bulwark does not keep (title, phoneNumbers, addresses, the
// enterprise extension, ...) are "ignored": IsIgnoredAttr says so, and a request that sets them
// is accepted without storing them (RFC 7644 section 3.3 lets a service provider ignore what it
// does not support; Entra ID and Okta send them in their default mappings). A name defined by
// no schema is unknown: 400 invalidSyntax / invalidFilter / invalidPath, by where it appears.
//
// Pure data and pure functions: thread-safe.
#include <span>
#include <string>
#include <string_view>

namespace bulwark::scim {

enum class ResourceKind { kUser, kGroup };

enum class AttrType { kString, kBoolean, kComplex, kDateTime, kReference };
enum class Mutability { kReadWrite, kReadOnly, kImmutable };

struct AttrDef {
  std::string_view name;  // canonical spelling ("userName")
  AttrType type = AttrType::kString;
  bool multi = false;
  bool case_exact = false;  // string comparison per RFC 7643 2.3.1
  Mutability mutability = Mutability::kReadWrite;
  bool required = false;
  std::span<const AttrDef> sub;  // complex: its sub-attributes
  std::string_view description;
};

inline constexpr std::string_view kUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr std::string_view kGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr std::string_view kEnterpriseSchema =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
inline constexpr std::string_view kListSchema =
    "urn:ietf:params:scim:api:messages:2.0:ListResponse";
inline constexpr std::string_view kPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
inline constexpr std::string_view kErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";

std::string_view SchemaOf(ResourceKind kind);
std::string_view ResourceTypeName(ResourceKind kind);  // "User", "Group"

// Every top-level attribute of the kind (id, externalId, meta and the schema's own).
std::span<const AttrDef> AttributesOf(ResourceKind kind);

// The attribute named `name` (case-insensitive; a "urn:...:User:" prefix of the kind's schema
// is accepted), or null.
const AttrDef* FindAttr(ResourceKind kind, std::string_view name);
// The sub-attribute of complex `parent` named `name` (case-insensitive), or null.
const AttrDef* FindSub(const AttrDef& parent, std::string_view name);
// True for a name RFC 7643 defines for the kind that Bulwark does not keep (or an extension
// schema's URN, or an attribute under one): accepted and ignored.
bool IsIgnoredAttr(ResourceKind kind, std::string_view name);

// Strips a leading "<schema URN>:" of the kind's schema from `name`, case-insensitively.
std::string_view StripSchemaPrefix(ResourceKind kind, std::string_view name);

// Case-insensitive ASCII equality (attribute names, operators, op names).
bool IEquals(std::string_view a, std::string_view b);

}  // namespace bulwark::scim
