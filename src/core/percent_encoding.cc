#include "core/percent_encoding.h"

namespace bulwark::core {

void AppendPercentEncoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendPercentEncoded(out, s);
  return out;
}

}  // namespace bulwark::core
