#pragma once
// Durations as Vault reads and writes them (Go's time.Duration text, whole seconds):
//   ParseDurationSeconds("1h30m") == 5400, ParseDurationSeconds("90") == 90
//   FormatGoDuration(5400) == "1h30m0s", FormatGoDuration(0) == "0s"
// Accepted: a non-negative integer (seconds), or one or more <integer><unit> with the units d, h,
// m, s (Vault also takes "d"); at most 100 years. Anything else: nullopt.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::core {

std::optional<std::int64_t> ParseDurationSeconds(std::string_view text);
std::string FormatGoDuration(std::int64_t seconds);

}  // namespace bulwark::core
