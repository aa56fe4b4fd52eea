#pragma once
// JSON Merge Patch (RFC 7396) on JSON text: `patch` applied to `target`. An object patch merges
// member by member (a null member removes that member, an object member merges into the target's
// member); any other patch replaces the target whole. Every number stays exactly as written in
// `target` or `patch` (as MemberTextExact keeps them: 12345678901234567890123 stays those
// digits), so a patched secret keeps the values it did not touch byte for byte.
//
//   MergePatchText(R"({"a":"1","b":{"c":2.50}})", R"({"a":null,"b":{"d":"3"}})")
//     -> R"({"b":{"c":2.50,"d":"3"}})"
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::core {

// Compact text out; nullopt when either is not JSON nested at most 32 deep.
std::optional<std::string> MergePatchText(std::string_view target, std::string_view patch);

}  // namespace bulwark::core
