#pragma once
// Percent-encoding (RFC 3986 section 2.1) for building URLs and application/x-www-form-urlencoded
// bodies: every byte but the unreserved characters (ALPHA, DIGIT, '-', '.', '_', '~') becomes
// "%XX" (upper-case hex), so the result is safe as a query or form value and as a name. Using it
// for form bodies is what RFC 6749 appendix B asks (a space is "%20", which decoders accept).
// Decoding is http/query.h's job. Thread-safety: a pure function.
//
// Example:
//   PercentEncode("a b&c=d/é")  ->  "a%20b%26c%3Dd%2F%C3%A9"
#include <string>
#include <string_view>

namespace bulwark::core {

std::string PercentEncode(std::string_view s);
// The same, appended to `out` (for a caller building a secret in a buffer it reserved and wipes).
void AppendPercentEncoded(std::string& out, std::string_view s);

}  // namespace bulwark::core
