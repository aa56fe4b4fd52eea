#pragma once
// Query strings: "a=1&b=x%20y" → {{"a","1"},{"b","x y"}}, strictly.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace bulwark::http {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Percent-decodes names and values ('+' is a space). Fails with InvalidArgument "invalid_query"
// on a bad escape, invalid UTF-8, a repeated name, or a name not in `allowed` (when non-empty),
// naming the parameter (never echoing a value).
StatusOr<QueryParams> ParseQuery(std::string_view query, const std::vector<std::string_view>& allowed);

// The value of `name`, or empty.
std::string_view QueryValue(const QueryParams& params, std::string_view name);
// Whether `name` was given at all (with a value or without one).
bool QueryHas(const QueryParams& params, std::string_view name);

}  // namespace bulwark::http
