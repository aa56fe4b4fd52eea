#pragma once
// Reading a JSON request body into fields, with one error for every shape problem: the body is
// an object, every required member is present with the right type, and no unknown member is
// there (a typo must not be silently ignored).
//
//   BULWARK_ASSIGN_OR_RETURN(auto body, api::JsonBody(ctx, {"email"}, {}));
//   std::string_view email = body.String("email");
#include <boost/json/object.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/types.h"

namespace bulwark::api {

class JsonFields {
 public:
  explicit JsonFields(const boost::json::object& o) : o_(o) {}
  // The string member `name`, or empty when absent (optional members).
  std::string_view String(std::string_view name) const;
  // The string-array member `name`, or empty when absent.
  std::vector<std::string> Strings(std::string_view name) const;
  // The integer member `name`, or nullopt when absent.
  std::optional<std::int64_t> Int(std::string_view name) const;
  // The boolean member `name`, or nullopt when absent.
  std::optional<bool> Bool(std::string_view name) const;
  bool Has(std::string_view name) const { return o_.contains(name); }

 private:
  const boost::json::object& o_;
};

// Required and optional members are all strings. kInvalidArgument "invalid_body" naming what is
// expected.
StatusOr<JsonFields> JsonBody(const http::RequestContext& ctx,
                              std::initializer_list<std::string_view> required,
                              std::initializer_list<std::string_view> optional);

// The general form: each member with its type and whether it is required. String arrays hold at
// most 256 strings (services set their own, smaller limits).
//   JsonBody(ctx, {{.name = "name"}, {.name = "scopes", .kind = FieldSpec::Kind::kStringArray}})
struct FieldSpec {
  enum class Kind { kString, kStringArray, kInt, kBool };
  std::string_view name;
  Kind kind = Kind::kString;
  bool required = true;
};
StatusOr<JsonFields> JsonBody(const http::RequestContext& ctx,
                              std::initializer_list<FieldSpec> fields);

}  // namespace bulwark::api
