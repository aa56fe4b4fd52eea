#include "core/canonical_json.h"

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <new>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/json_text.h"

namespace bulwark::core {
namespace {

// 2^53: every integer of at most this magnitude is an exact double, and 2^53 + 1 is the first
// that is not. JCS numbers are doubles, so a larger integer would be rounded by a verifier.
constexpr std::uint64_t kMaxExactInteger = std::uint64_t{1} << 53;

Status NonCanonicalizable(std::string message) {
  return Status::InvalidArgument("non_canonicalizable", std::move(message));
}

// ---------------------------------------------------------------------------------------------
// Serialization

// UTF-16 code units of a string already known to be valid UTF-8. RFC 8785 §3.2.3 orders member
// names by these units, which differs from UTF-8 byte order: U+1F600 (surrogates D83D DE00)
// sorts before U+E000, while its UTF-8 bytes (F0 ..) sort after (EE ..).
std::u16string ToUtf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    char32_t cp;
    std::size_t len;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if (b0 < 0xE0) {
      cp = b0 & 0x1Fu;
      len = 2;
    } else if (b0 < 0xF0) {
      cp = b0 & 0x0Fu;
      len = 3;
    } else {
      cp = b0 & 0x07u;
      len = 4;
    }
    for (std::size_t j = 1; j < len; ++j) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + j]) & 0x3Fu);
    }
    i += len;
    if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (v >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (v & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

// JSON.stringify's QuoteJSONString (ECMA-262 §25.5.2.3): only the quote, the backslash and the
// C0 controls are escaped; DEL, U+2028/2029 and all other characters are written as they are.
Status AppendString(std::string& out, std::string_view s) {
  if (!IsValidUtf8(s)) return NonCanonicalizable("string is not valid UTF-8");
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t plain = 0;  // start of the bytes not yet copied: they need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0xF]);
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out.push_back('"');
  return Status::Ok();
}

// ECMAScript Number::toString (ECMA-262 §6.1.6.1.20) for a finite double. std::to_chars without
// a precision yields the shortest digit string that round-trips, nearest to the value, which is
// the (k, s) the specification asks for; only the layout around those digits is ECMAScript's.
void AppendDouble(std::string& out, double d) {
  if (d == 0) {  // both +0 and -0 print as "0"
    out.push_back('0');
    return;
  }
  if (d < 0) {
    out.push_back('-');
    d = -d;
  }
  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::scientific);
  // Cannot fail: the longest shortest-scientific double ("2.2250738585072014e-308") fits.
  const std::string_view sci(buf.data(), static_cast<std::size_t>(res.ptr - buf.data()));
  const std::size_t e_pos = sci.find('e');
  std::string digits;  // s, without leading or trailing zeros
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);

  // The value is 0.digits * 10^n, in the specification's terms s * 10^(n-k).
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(n), std::string::npos);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(n - 1 >= 0 ? n - 1 : 1 - n);
  }
}

template <typename Int>
void AppendInteger(std::string& out, Int i) {
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), i);
  out.append(buf.data(), res.ptr);
}

Status AppendValue(std::string& out, const boost::json::value& v, std::size_t depth) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return Status::Ok();
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return Status::Ok();
    case boost::json::kind::int64:
      return AppendCanonicalInteger(out, v.get_int64());
    case boost::json::kind::uint64: {
      const std::uint64_t u = v.get_uint64();
      if (u > kMaxExactInteger) return NonCanonicalizable("integer beyond +/-2^53");
      AppendInteger(out, u);
      return Status::Ok();
    }
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) return NonCanonicalizable("number is NaN or infinite");
      AppendDouble(out, d);
      return Status::Ok();
    }
    case boost::json::kind::string:
      return AppendString(out, v.get_string());
    case boost::json::kind::array: {
      if (depth >= kCanonicalJsonMaxDepth) return NonCanonicalizable("nesting too deep");
      out.push_back('[');
      bool first = true;
      for (const boost::json::value& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        BULWARK_RETURN_IF_ERROR(AppendValue(out, e, depth + 1));
      }
      out.push_back(']');
      return Status::Ok();
    }
    case boost::json::kind::object: {
      if (depth >= kCanonicalJsonMaxDepth) return NonCanonicalizable("nesting too deep");
      const boost::json::object& obj = v.get_object();
      std::vector<std::pair<std::u16string, const boost::json::key_value_pair*>> members;
      members.reserve(obj.size());
      for (const boost::json::key_value_pair& kv : obj) {
        if (!IsValidUtf8(kv.key())) return NonCanonicalizable("member name is not valid UTF-8");
        members.emplace_back(ToUtf16(kv.key()), &kv);
      }
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      // A boost::json::object keeps unique keys, so equal neighbours cannot occur here; the
      // check is what keeps this function honest if that ever changes.
      for (std::size_t i = 1; i < members.size(); ++i) {
        if (members[i - 1].first == members[i].first) {
          return NonCanonicalizable("duplicate member name");
        }
      }
      out.push_back('{');
      bool first = true;
      for (const auto& [unused, kv] : members) {
        if (!first) out.push_back(',');
        first = false;
        BULWARK_RETURN_IF_ERROR(AppendString(out, kv->key()));
        out.push_back(':');
        BULWARK_RETURN_IF_ERROR(AppendValue(out, kv->value(), depth + 1));
      }
      out.push_back('}');
      return Status::Ok();
    }
  }
  return Status::Internal("unknown JSON kind");
}

// ---------------------------------------------------------------------------------------------
// Strict parsing

// For a JSON number std::from_chars found out of range: true when it is huge rather than tiny.
// The decimal position of its leading significant digit plus its exponent is far from zero in
// either case, so saturating the arithmetic at +/-10^9 cannot flip the answer.
bool MagnitudeAtLeastOne(std::string_view num) {
  constexpr long long kCap = 1'000'000'000;
  std::size_t i = (!num.empty() && num[0] == '-') ? 1 : 0;
  long long lead = 0;  // 10^lead is the place of the leading significant digit, plus one
  bool seen = false;
  long long int_digits = 0;
  for (; i < num.size() && num[i] >= '0' && num[i] <= '9'; ++i) {
    if (!seen && num[i] != '0') {
      seen = true;
      int_digits = 0;
    }
    if (seen) ++int_digits;
  }
  if (seen) {
    lead = std::min(int_digits, kCap);
  } else if (i < num.size() && num[i] == '.') {
    for (++i; i < num.size() && num[i] >= '0' && num[i] <= '9'; ++i) {
      if (num[i] != '0') {
        seen = true;
        break;
      }
      lead = std::max(lead - 1, -kCap);
    }
  }
  if (!seen) return false;  // all zeros never overflows
  long long exp = 0;
  const std::size_t e = num.find_first_of("eE");
  if (e != std::string_view::npos) {
    std::size_t j = e + 1;
    bool negative = false;
    if (j < num.size() && (num[j] == '+' || num[j] == '-')) negative = num[j++] == '-';
    for (; j < num.size(); ++j) exp = std::min(exp * 10 + (num[j] - '0'), kCap);
    if (negative) exp = -exp;
  }
  return lead + exp > 0;
}

// Why the handler stopped the parser; checked before the parser's own error code, which for a
// handler refusal is only a placeholder.
enum class Refusal { kNone, kDuplicateKey, kInvalidUtf8, kBigInteger, kNumberOverflow };

// Builds the DOM like boost::json::parse does, with three differences that matter for signing:
// duplicate member names are refused (value_stack would silently keep one of them), every
// decoded string is re-checked as UTF-8, and doubles are re-read from their text with
// std::from_chars, which rounds correctly (Boost 1.81's own conversion can be some ulps off:
// it reads "1.1838275821636737e-264" as ...735e-264, so the canonical digits would differ
// from JSON.parse's).
class StrictHandler {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  bool on_document_begin(boost::json::error_code&) {
    stack_.reset();  // value_stack requires this before each top-level value
    return true;
  }
  bool on_document_end(boost::json::error_code&) { return true; }

  bool on_array_begin(boost::json::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::json::error_code&) {
    stack_.push_array(n);
    return true;
  }

  bool on_object_begin(boost::json::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t n, boost::json::error_code&) {
    keys_.pop_back();
    stack_.push_object(n);
    return true;
  }

  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code& ec) {
    text_.append(s.data(), s.size());
    if (!IsValidUtf8(text_)) return Refuse(Refusal::kInvalidUtf8, ec);
    stack_.push_string(text_);
    text_.clear();
    return true;
  }

  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code& ec) {
    text_.append(s.data(), s.size());
    if (!IsValidUtf8(text_)) return Refuse(Refusal::kInvalidUtf8, ec);
    // Names are compared after unescaping, so "a" and "\u0061" are the same member.
    if (!keys_.back().insert(text_).second) return Refuse(Refusal::kDuplicateKey, ec);
    stack_.push_key(text_);
    text_.clear();
    return true;
  }

  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, boost::json::string_view s, boost::json::error_code& ec) {
    text_.append(s.data(), s.size());
    const std::uint64_t mag =
        i < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i);
    if (mag > kMaxExactInteger) return PushBigInteger(ec);
    text_.clear();
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, boost::json::string_view s, boost::json::error_code& ec) {
    text_.append(s.data(), s.size());
    if (u > kMaxExactInteger) return PushBigInteger(ec);
    text_.clear();
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double, boost::json::string_view s, boost::json::error_code& ec) {
    text_.append(s.data(), s.size());
    // An integer literal lands here when it does not fit in 64 bits.
    if (text_.find_first_of(".eE") == std::string::npos) return PushBigInteger(ec);
    double d = 0;
    if (!ReadDouble(d)) return Refuse(Refusal::kNumberOverflow, ec);
    text_.clear();
    stack_.push_double(d);
    return true;
  }

  bool on_bool(bool b, boost::json::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(boost::json::error_code&) {
    stack_.push_null();
    return true;
  }
  // Comments are disabled in the parse options; the parser never calls these.
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return false; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return false; }

  Refusal refusal() const { return refusal_; }
  boost::json::value Release() { return stack_.release(); }

 private:
  // Reads text_ into `d` with correct rounding. False when the number overflows a double.
  bool ReadDouble(double& d) const {
    const char* first = text_.data();
    const char* last = text_.data() + text_.size();
    const auto res = std::from_chars(first, last, d);  // accepts the leading '-' of JSON
    if (res.ec == std::errc::result_out_of_range) {
      // Overflow (JSON.parse gives Infinity, which JCS cannot print) or underflow (JSON.parse
      // gives zero).
      if (MagnitudeAtLeastOne(text_)) return false;
      d = 0;
      return true;
    }
    return res.ec == std::errc() && res.ptr == last && std::isfinite(d);
  }

  // An integer literal beyond 2^53 (text_) names a value a double may not hold. It is taken
  // only when it is already the canonical spelling of its double: canonical output such as
  // 1e20's "100000000000000000000" must canonicalize to itself, but "9007199254740993", which
  // JSON.parse would silently turn into ...992, is refused rather than rewritten.
  bool PushBigInteger(boost::json::error_code& ec) {
    double d = 0;
    if (!ReadDouble(d)) return Refuse(Refusal::kBigInteger, ec);
    std::string spelled;
    AppendDouble(spelled, d);
    if (spelled != text_) return Refuse(Refusal::kBigInteger, ec);
    text_.clear();
    stack_.push_double(d);
    return true;
  }

  bool Refuse(Refusal why, boost::json::error_code& ec) {
    refusal_ = why;
    ec = boost::json::error::syntax;  // placeholder; refusal_ carries the reason
    return false;
  }

  boost::json::value_stack stack_;
  // Names seen so far in each open object. An ordered set keeps the cost O(n log n) whatever
  // names an attacker picks (no hash flooding).
  std::vector<std::set<std::string>> keys_;
  std::string text_;  // the string, key or number being assembled from parts
  Refusal refusal_ = Refusal::kNone;
};

// After Boost has refused `text`: whether a \u escape inside a string is a surrogate without
// its partner, so the refusal can say "invalid_utf8" rather than "malformed_json" (Boost 1.81
// reports some of these as plain syntax errors). Only picks the reason; never accepts text.
bool HasLoneSurrogateEscape(std::string_view text) {
  auto hex4 = [&text](std::size_t at, unsigned& out) {
    if (at + 4 > text.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
      const char c = text[i];
      unsigned digit;
      if (c >= '0' && c <= '9') {
        digit = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return false;
      }
      out = out * 16 + digit;
    }
    return true;
  };
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_string) {
      in_string = c == '"';
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\' && i + 1 < text.size()) {
      if (text[i + 1] != 'u') {
        ++i;
        continue;
      }
      unsigned unit = 0;
      if (!hex4(i + 2, unit)) continue;
      i += 5;
      if (unit >= 0xDC00 && unit <= 0xDFFF) return true;  // trailing half first
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        unsigned low = 0;
        if (i + 2 >= text.size() || text[i + 1] != '\\' || text[i + 2] != 'u' || !hex4(i + 3, low) ||
            low < 0xDC00 || low > 0xDFFF) {
          return true;
        }
        i += 6;
      }
    }
  }
  return false;
}

StatusOr<boost::json::value> ParseStrict(std::string_view text) {
  // RFC 8259 §8.1: JSON text is UTF-8. Checking the whole text first gives a stable reason for
  // any stray byte, inside a string or not.
  if (!IsValidUtf8(text)) return Status::InvalidArgument("invalid_utf8", "JSON text is not valid UTF-8");

  boost::json::parse_options opts;
  opts.max_depth = kCanonicalJsonMaxDepth;
  opts.allow_comments = false;
  opts.allow_trailing_commas = false;
  opts.allow_invalid_utf8 = false;
  boost::json::basic_parser<StrictHandler> parser(opts);
  boost::json::error_code ec;
  std::size_t used = 0;
  try {
    used = parser.write_some(false, text.data(), text.size(), ec);
  } catch (const std::bad_alloc&) {
    throw;  // out of memory is not the client's fault; let the process policy handle it
  } catch (const std::exception&) {
    // Boost.JSON throws past its size limits (a string, array or object over its max_size).
    return Status::InvalidArgument("malformed_json", "JSON value exceeds size limits");
  }

  switch (parser.handler().refusal()) {
    case Refusal::kNone:
      break;
    case Refusal::kDuplicateKey:
      return Status::InvalidArgument("duplicate_key", "an object names the same member twice");
    case Refusal::kInvalidUtf8:
      return Status::InvalidArgument("invalid_utf8", "a string is not valid Unicode");
    case Refusal::kBigInteger:
      return NonCanonicalizable("integer literal beyond +/-2^53 that a double cannot hold");
    case Refusal::kNumberOverflow:
      return NonCanonicalizable("number is too large for a double");
  }
  if (ec && (ec == boost::json::error::illegal_leading_surrogate ||
             ec == boost::json::error::illegal_trailing_surrogate ||
             ec == boost::json::error::expected_utf16_escape || HasLoneSurrogateEscape(text))) {
    return Status::InvalidArgument("invalid_utf8", "a \\u escape encodes a lone surrogate");
  }
  if (ec == boost::json::error::exponent_overflow) {
    return NonCanonicalizable("number exponent out of range");
  }
  if (ec == boost::json::error::too_deep) {
    return Status::InvalidArgument("malformed_json", "JSON nests too deeply");
  }
  if (ec) return Status::InvalidArgument("malformed_json", "not valid JSON");
  if (used != text.size()) {
    return Status::InvalidArgument("malformed_json", "unexpected data after the JSON value");
  }
  return parser.handler().Release();
}

}  // namespace

StatusOr<std::string> CanonicalJson(const boost::json::value& v) {
  std::string out;
  BULWARK_RETURN_IF_ERROR(AppendValue(out, v, 0));
  return out;
}

StatusOr<std::string> CanonicalizeText(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(boost::json::value v, ParseStrict(text));
  return CanonicalJson(v);
}

StatusOr<boost::json::value> ParseStrictJson(std::string_view text) {
  BULWARK_RETURN_IF_ERROR(CanonicalizeText(text).status());
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return Status::InvalidArgument("malformed_json", "not valid JSON");
  return v;
}

bool IsCanonical(std::string_view text) {
  StatusOr<std::string> c = CanonicalizeText(text);
  return c.ok() && *c == text;
}

bool CanonicalNameLess(std::string_view a, std::string_view b) {
  // ASCII sorts the same in UTF-8 bytes and UTF-16 units; only other names need converting.
  const auto ascii = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  };
  if (ascii(a) && ascii(b)) return a < b;
  return ToUtf16(a) < ToUtf16(b);
}

Status AppendCanonicalString(std::string& out, std::string_view s) { return AppendString(out, s); }

Status AppendCanonicalInteger(std::string& out, std::int64_t i) {
  // Compare magnitudes as unsigned: -INT64_MIN does not fit in int64.
  const std::uint64_t mag =
      i < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i);
  if (mag > kMaxExactInteger) return NonCanonicalizable("integer beyond +/-2^53");
  AppendInteger(out, i);
  return Status::Ok();
}

}  // namespace bulwark::core
