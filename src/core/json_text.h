#pragma once
// Writing JSON text by hand on hot paths (log lines, error bodies) without a DOM.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::core {

// Appends `s` as a quoted JSON string. Control characters, quotes and backslashes are escaped
// (so a value can never start a new log line), and invalid UTF-8 is replaced by U+FFFD, so the
// output is always valid JSON whatever bytes a client sent.
void AppendJsonString(std::string& out, std::string_view s);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// The longest prefix of `s` of at most `max` bytes that does not cut a UTF-8 sequence in two (it
// backs off over at most three continuation bytes, so a prefix of valid UTF-8 stays valid).
std::string_view Utf8Prefix(std::string_view s, std::size_t max);

// True when `json` is JSON text in which some object names one member twice (at any depth,
// compared after unescaping, so "a" and "\u0061" are the same name). A body like
// {"email":"a@x","email":"b@x"} means one thing to a parser that keeps the first and another to
// one that keeps the last; request bodies with duplicates are refused. False for text that is
// not JSON (the caller's parser reports that) and for text nested deeper than `max_depth`.
bool HasDuplicateKeys(std::string_view json, std::size_t max_depth = 32);

// The member `name` of the JSON object `json`, as compact JSON text in which every number literal
// is kept exactly as it was written: 12345678901234567890123 and 1e400 stay those digits, never a
// double's rounding of them (the way Go's json.Number keeps them for Vault). Strings are written
// again by AppendJsonString; whitespace outside strings is dropped. Empty when `json` is not an
// object nested at most `max_depth` deep, or has no such member; when `json` names it twice, the
// first (callers refuse duplicates first, HasDuplicateKeys).
//
//   MemberTextExact(R"({"data": {"n": 1.50, "big": 12345678901234567890123}})", "data")
//     -> R"({"n":1.50,"big":12345678901234567890123})"
std::optional<std::string> MemberTextExact(std::string_view json, std::string_view name,
                                           std::size_t max_depth = 32);

}  // namespace bulwark::core
