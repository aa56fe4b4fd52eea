#include "core/text_list.h"

namespace bulwark::core {

std::vector<std::string> SplitList(std::string_view text, char sep) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  for (;;) {
    const auto p = text.find(sep);
    out.emplace_back(text.substr(0, p));
    if (p == std::string_view::npos) return out;
    text.remove_prefix(p + 1);
  }
}

std::string JoinList(const std::vector<std::string>& items, char sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out.push_back(sep);
    out += item;
  }
  return out;
}

}  // namespace bulwark::core
