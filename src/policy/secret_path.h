#pragma once
// Secret paths (the grammar both the vault and path policies use, so it lives below both): "prod/db/password". One grammar for both API surfaces, checked before anything
// else touches a path, so no path trick ("..", "//", "%2e") can reach storage or a policy match.
//
//   BULWARK_RETURN_IF_ERROR(policy::ValidateSecretPath(path));
//
// A path is 1..512 bytes of segments separated by '/'; a segment is one or more of
// [A-Za-z0-9._-] and is never "." or "..". No leading or trailing '/', no empty segment.
#include <string_view>

#include "core/status.h"

namespace bulwark::policy {

inline constexpr std::size_t kMaxPathBytes = 512;

// True for the characters a path segment is made of: [A-Za-z0-9._-].
bool IsSegmentChar(char c);

// kInvalidArgument "invalid_path" with the rule that failed (the path itself is not echoed).
Status ValidateSecretPath(std::string_view path);

// Like ValidateSecretPath, but also accepts "" (the root) and one trailing '/': a LIST prefix.
Status ValidateListPrefix(std::string_view prefix);

}  // namespace bulwark::policy
