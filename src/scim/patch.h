#pragma once
// The SCIM PATCH engine (RFC 7644 section 3.5.2) and the normalisation of resource bodies, over
// a resource in its JSON form with canonical attribute names (schema.h).
//
//   BULWARK_ASSIGN_OR_RETURN(auto ops, ParsePatchRequest(body));
//   BULWARK_RETURN_IF_ERROR(ApplyPatch(ResourceKind::kUser, user_json, ops));
//
// What the engine accepts, as the identity providers send it:
//   - op "add", "replace", "remove" in any case (Entra ID sends "Add", "Replace", "Remove");
//   - a path (attr, attr.sub, attr[filter], attr[filter].sub, with or without the schema URN),
//     or none: then the value is an object of attributes, each applied as if it were the path
//     (Okta's {"op":"replace","value":{"active":false}}; keys may be "name.givenName");
//   - booleans as JSON booleans or the strings "True"/"False" in any case (Entra ID);
//   - remove on a multi-valued attribute with a value array removes the listed values
//     (Entra ID's {"op":"Remove","path":"members","value":[{"value":"<id>"}]});
//   - replace/add through a value path that selects nothing, when the filter is equalities only
//     (emails[type eq "work"].value), adds the element those equalities describe.
// Attributes Bulwark ignores (schema.h IsIgnoredAttr) are accepted and change nothing.
//
// Errors (kInvalidArgument, the reason naming the scimType): "invalid_syntax" (not a PatchOp,
// no Operations, an unknown op), "invalid_path" (a path naming no attribute, or that does not
// parse), "no_target" (remove without a path; replace through a value path that selects
// nothing and cannot add), "invalid_value" (a value of the wrong type, a required attribute
// removed), "mutability" (a read-only attribute: id, meta, groups). On error the resource may be
// partly changed: the caller applies to a copy and keeps it only on success.
//
// Pure functions: thread-safe.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "scim/schema.h"

namespace bulwark::scim {

struct PatchOp {
  enum class Kind { kAdd, kReplace, kRemove };
  Kind kind = Kind::kAdd;
  bool has_path = false;
  std::string path;
  boost::json::value value;  // null when absent
};

// The operations of a PatchOp request body ({"schemas":[PatchOp URN],"Operations":[...]}).
// At most 1000 operations.
StatusOr<std::vector<PatchOp>> ParsePatchRequest(const boost::json::value& body);

Status ApplyPatch(ResourceKind kind, boost::json::object& resource,
                  const std::vector<PatchOp>& ops);

// A value of attribute `def` as stored: booleans from "True"/"False" strings, a single complex
// value of a multi-valued attribute wrapped in an array, sub-attribute names made canonical
// (unknown ones refused: "invalid_value").
StatusOr<boost::json::value> NormalizeValue(const AttrDef& def, const boost::json::value& value);

// The writable attributes of a POST or PUT body, normalised: read-only ones (id, meta, groups)
// and ignored ones dropped, an unknown attribute refused ("invalid_syntax"), a missing required
// one refused ("invalid_value").
StatusOr<boost::json::object> NormalizeResource(ResourceKind kind,
                                                const boost::json::value& body);

// Checks the required attributes are present ("invalid_value" otherwise).
Status CheckRequired(ResourceKind kind, const boost::json::object& resource);

}  // namespace bulwark::scim
