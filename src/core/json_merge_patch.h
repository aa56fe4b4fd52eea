#pragma once
// JSON Merge Patch (RFC 7396): `patch` applied to `target`. An object patch merges member by
// member (a null member removes that member, an object member merges into the target's member);
// any other patch replaces the target whole.
//
//   boost::json::value v = boost::json::parse(R"({"a":"1","b":{"c":"2"}})");
//   core::ApplyMergePatch(v, boost::json::parse(R"({"a":null,"b":{"d":"3"}})"));
//   // v == {"b":{"c":"2","d":"3"}}
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::core {

void ApplyMergePatch(boost::json::value& target, const boost::json::value& patch);

// The same on JSON text, every number kept exactly as written in `target` or `patch` (as
// MemberTextExact keeps them: 12345678901234567890123 stays those digits). Compact text out;
// nullopt when either is not JSON nested at most 32 deep.
std::optional<std::string> MergePatchText(std::string_view target, std::string_view patch);

}  // namespace bulwark::core
