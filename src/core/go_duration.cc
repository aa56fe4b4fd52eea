#include "core/go_duration.h"

namespace bulwark::core {
namespace {

constexpr std::int64_t kMaxSeconds = std::int64_t{100} * 366 * 24 * 3600;

}  // namespace

std::optional<std::int64_t> ParseDurationSeconds(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  bool any_unit = false;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxSeconds) return std::nullopt;
      ++i;
    }
    if (i == start) return std::nullopt;
    if (i == text.size()) {
      // A bare number is seconds, and only alone ("90", not "1h30").
      if (any_unit) return std::nullopt;
      return n;
    }
    std::int64_t unit = 0;
    switch (text[i]) {
      case 'd': unit = 24 * 3600; break;
      case 'h': unit = 3600; break;
      case 'm': unit = 60; break;
      case 's': unit = 1; break;
      default: return std::nullopt;
    }
    ++i;
    any_unit = true;
    total += n * unit;
    if (total > kMaxSeconds) return std::nullopt;
  }
  return total;
}

std::string FormatGoDuration(std::int64_t seconds) {
  if (seconds <= 0) return "0s";
  const std::int64_t h = seconds / 3600;
  const std::int64_t m = (seconds % 3600) / 60;
  const std::int64_t s = seconds % 60;
  std::string out;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s) + "s";
  return out;
}

}  // namespace bulwark::core
