#include "policy/secret_path.h"

#include <algorithm>

namespace bulwark::policy {
namespace {

Status Invalid(std::string message) {
  return Status::InvalidArgument("invalid_path", std::move(message));
}

}  // namespace

bool IsSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

Status ValidateSecretPath(std::string_view path) {
  if (path.empty()) return Invalid("a secret path is not empty");
  if (path.size() > kMaxPathBytes) return Invalid("a secret path is at most 512 bytes");
  std::string_view rest = path;
  for (;;) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment.empty())
      return Invalid("a secret path has no empty segment and no leading or trailing '/'");
    if (segment == "." || segment == "..")
      return Invalid("a secret path has no '.' or '..' segment");
    if (!std::all_of(segment.begin(), segment.end(), IsSegmentChar)) {
      return Invalid("a path segment is made of A-Z, a-z, 0-9, '.', '_' and '-'");
    }
    if (slash == std::string_view::npos) return Status::Ok();
    rest.remove_prefix(slash + 1);
  }
}

Status ValidateListPrefix(std::string_view prefix) {
  if (prefix.empty()) return Status::Ok();
  if (prefix.back() == '/') prefix.remove_suffix(1);
  return ValidateSecretPath(prefix);
}

}  // namespace bulwark::policy
