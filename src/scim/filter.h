#pragma once
// SCIM filters (RFC 7644 section 3.4.2.2): parsed into a typed tree, evaluated in memory over a
// resource in its JSON form (the service lists a tenant's resources and keeps those that match).
//
//   BULWARK_ASSIGN_OR_RETURN(Filter f, ParseFilter(ResourceKind::kUser,
//                                                  R"(emails[type eq "work"].value co "@acme")"));
//   bool keep = f.Matches(user_json);
//
// Grammar: attrPath op value | attrPath "pr" | attrPath "[" filter "]" | "not" "(" filter ")" |
// "(" filter ")" | filter "and" filter | filter "or" filter ("and" binds tighter). Operators
// eq ne co sw ew gt ge lt le pr; attribute names and operators are case-insensitive; a value is
// a JSON string, number, true, false or null. Strings compare case-exactly only for attributes
// RFC 7643 marks caseExact (id, externalId, member values), else ignoring ASCII case. A
// multi-valued complex attribute named without a sub-attribute ("emails co ...") compares its
// "value" sub-attribute. ne is the negation of eq (an absent attribute is "not equal").
//
// Errors: kInvalidArgument "invalid_filter" (rendered scimType invalidFilter) for text that does
// not parse, an attribute no schema defines, an operator that does not fit the attribute's type
// (gt on a boolean, co on a boolean), more than 64 nested levels or over 4096 bytes. Never echoes
// a value of the filter in the message.
//
// A Filter is an immutable value after parsing: Matches is thread-safe.
#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "scim/schema.h"

namespace bulwark::scim {

enum class CompareOp { kEq, kNe, kCo, kSw, kEw, kGt, kGe, kLt, kLe, kPr };

struct FilterNode {
  enum class Kind { kCompare, kAnd, kOr, kNot, kValuePath };
  Kind kind = Kind::kCompare;
  // kCompare: attribute (canonical), its sub-attribute (canonical, may be empty), op, value.
  // kValuePath: `attr` is the multi-valued attribute and children[0] the filter its elements
  // must match (its attributes are sub-attributes of attr).
  const AttrDef* attr = nullptr;
  const AttrDef* sub = nullptr;
  CompareOp op = CompareOp::kEq;
  boost::json::value value;
  std::vector<std::unique_ptr<FilterNode>> children;
};

class Filter {
 public:
  Filter() = default;
  explicit Filter(std::unique_ptr<FilterNode> root) : root_(std::move(root)) {}
  // True if `resource` (a JSON object with canonical attribute names) matches.
  bool Matches(const boost::json::value& resource) const;
  const FilterNode* root() const { return root_.get(); }

 private:
  std::shared_ptr<const FilterNode> root_;
};

StatusOr<Filter> ParseFilter(ResourceKind kind, std::string_view text);

// A filter over the sub-attributes of multi-valued `parent` (the "[...]" of a value path); used
// by the PATCH engine for paths such as members[value eq "..."].
StatusOr<Filter> ParseElementFilter(ResourceKind kind, const AttrDef& parent,
                                    std::string_view text);

// Whether `element` (one value of the multi-valued attribute the filter was parsed for by
// ParseElementFilter) matches.
bool ElementMatches(const Filter& filter, const boost::json::value& element);

// The (sub-attribute, value) pairs of a filter made only of "eq" joined by "and", or empty: what
// a PATCH adds when a value path selects nothing (emails[type eq "work"].value).
std::vector<std::pair<const AttrDef*, boost::json::value>> EqualityTerms(const Filter& filter);

// Compares two values of attribute `def` with `op` (not kPr): strings by def's case-exactness,
// numbers numerically, booleans for eq/ne only. Exposed for the PATCH engine and tests.
bool CompareValues(const AttrDef& def, const boost::json::value& actual, CompareOp op,
                   const boost::json::value& expected);

}  // namespace bulwark::scim
