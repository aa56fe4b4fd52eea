#pragma once
// ASCII case folding, the one place it is written: names, schemes, host names, media types,
// e-mail addresses and setting values compare without case in ASCII only. Bytes outside
// 'A'..'Z' (UTF-8 included) are kept as they are; the C library's locale plays no part.
//
//   AsciiLower("Application/JSON; Charset=UTF-8") == "application/json; charset=utf-8"
//
// Pure functions, thread-safe.
#include <string>
#include <string_view>

namespace bulwark::core {

constexpr char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

}  // namespace bulwark::core
