#pragma once
// Writing JSON text by hand on hot paths (log lines, error bodies) without a DOM.
#include <string>
#include <string_view>

namespace bulwark::core {

// Appends `s` as a quoted JSON string. Control characters, quotes and backslashes are escaped
// (so a value can never start a new log line), and invalid UTF-8 is replaced by U+FFFD, so the
// output is always valid JSON whatever bytes a client sent.
void AppendJsonString(std::string& out, std::string_view s);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace bulwark::core
