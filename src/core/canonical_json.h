#pragma once
// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON value that the audit
// ledger hashes and receipts sign. Two parties holding the same JSON value always derive the same
// bytes, so a signature or hash made by one is checked by the other without trusting its encoder.
//
// The form (RFC 8785 §3.2): no whitespace; object members sorted by name compared as UTF-16 code
// units; strings escaped exactly as ECMAScript JSON.stringify does (only \" \\ \b \f \n \r \t and
// \u00xx for the other controls; everything else literal UTF-8); numbers as ECMAScript
// Number.prototype.toString prints an IEEE-754 double.
//
// Anything that would make two parties disagree about the value is refused rather than guessed:
// duplicate names, invalid UTF-8 or lone surrogates, numbers that are not finite doubles, and
// integers a double cannot hold exactly.
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace bulwark::core {

// Arrays and objects nested deeper than this are refused by every function here, so neither
// parsing nor serialization can exhaust the stack.
inline constexpr std::size_t kCanonicalJsonMaxDepth = 128;

// Canonical bytes of a Boost.JSON value per RFC 8785.
//
// Fails with InvalidArgument, reason "non_canonicalizable", for a double that is NaN or infinite,
// a string or object name that is not valid UTF-8, an int64/uint64 with |i| > 2^53 (JCS numbers
// are doubles: 2^53 + 1 would silently become 2^53 for a verifier), or nesting deeper than
// kCanonicalJsonMaxDepth. Nothing is written on failure.
//
// Example:
//   boost::json::value v = {{"b", 1.0}, {"a", {true, nullptr, "\xE2\x82\xAC"}}, {"c", 1e21}};
//   StatusOr<std::string> c = CanonicalJson(v);
//   // *c == R"({"a":[true,null,"€"],"b":1,"c":1e+21})"
StatusOr<std::string> CanonicalJson(const boost::json::value& v);

// Parses `text` as one strict RFC 8259 JSON value (no comments, no trailing commas, whitespace
// only around tokens) and returns its canonical bytes.
//
// Fails with InvalidArgument and reason:
//   "invalid_utf8"         `text` is not valid UTF-8, or a \u escape encodes a lone surrogate;
//   "duplicate_key"        an object names the same member twice (after unescaping, so "a" and
//                          "\u0061" collide) — refused so that no two parsers can pick different
//                          values from one signed text;
//   "non_canonicalizable"  a number overflows a double (1e400), or an integer literal (no
//                          fraction or exponent) above 2^53 in magnitude is not exactly the
//                          canonical spelling of its double: "9007199254740993" is refused,
//                          not rounded, while "100000000000000000000" (1e20's canonical form)
//                          is taken, so canonical output always canonicalizes to itself;
//   "malformed_json"       anything else, including nesting deeper than kCanonicalJsonMaxDepth.
// Numbers are converted with correct rounding (the decimal nearest double), as ECMAScript
// JSON.parse does; a number that underflows becomes 0.
//
// Example:
//   CanonicalizeText("{ \"b\": 2, \"a\": [1.50, 1E2] }")  ->  R"({"a":[1.5,100],"b":2})"
//   CanonicalizeText(R"({"a":1,"a":2})")                 ->  InvalidArgument "duplicate_key"
StatusOr<std::string> CanonicalizeText(std::string_view text);

// Parses `text` as strictly as CanonicalizeText does (same refusals, same reasons) and returns the
// value itself: for reading JSON that others signed (JWS headers and payloads, receipts), where
// a duplicate member or an inexact integer must be refused, not resolved one way by Boost.JSON.
//
// Example:
//   ParseStrictJson(R"({"alg":"RS256"})")          -> the object
//   ParseStrictJson(R"({"alg":"a","\u0061lg":"b"})")  -> InvalidArgument "duplicate_key"
StatusOr<boost::json::value> ParseStrictJson(std::string_view text);

// True when `text` is exactly its own canonical form: what a verifier checks of a stored ledger
// entry or receipt before trusting its hash. Any text CanonicalizeText refuses is not canonical.
//
// Example:
//   IsCanonical(R"({"a":1,"b":[true]})")  -> true
//   IsCanonical(R"({"b":1,"a":2})")       -> false (members out of order)
//   IsCanonical(R"({"a":1.0})")           -> false (canonical number is 1)
bool IsCanonical(std::string_view text);

// True when member name `a` sorts before `b` in RFC 8785 order (UTF-16 code units, §3.2.3), for
// a writer that emits an object's members itself. Both must be valid UTF-8.
bool CanonicalNameLess(std::string_view a, std::string_view b);

// Appends `s` as an RFC 8785 string, quotes included. Fails (InvalidArgument
// "non_canonicalizable") when `s` is not valid UTF-8; `out` may then hold a partial string.
Status AppendCanonicalString(std::string& out, std::string_view s);

// Appends `i` as an RFC 8785 number. Fails (InvalidArgument "non_canonicalizable") when
// |i| > 2^53, which a verifier reading doubles would see as another number; nothing is written
// then.
Status AppendCanonicalInteger(std::string& out, std::int64_t i);

}  // namespace bulwark::core
