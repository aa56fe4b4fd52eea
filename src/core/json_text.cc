#include "core/json_text.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <unordered_set>
#include <vector>

namespace bulwark::core {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<std::uint8_t>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t len;
  std::uint32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<std::uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {  // ASCII, the usual case: one byte each
      ++i;
      continue;
    }
    const std::size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string_view Utf8Prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  for (int back = 0; back < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80;
       ++back) {
    --n;
  }
  return s.substr(0, n);
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

namespace {

// A boost::json::basic_parser handler that builds nothing and only remembers, for each object
// open on the way down, the names seen so far.
struct DuplicateKeyHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<std::unordered_set<std::string>> objects;
  std::string key;
  bool duplicate = false;

  using ec_t = boost::system::error_code;
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) {
    objects.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, ec_t&) {
    objects.pop_back();
    return true;
  }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t, ec_t&) { return true; }
  bool on_key_part(std::string_view s, std::size_t, ec_t&) {
    key.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, ec_t& ec) {
    key.append(s);
    if (!objects.back().insert(key).second) {
      duplicate = true;
      ec = boost::json::error::syntax;  // stop here: the answer is known
      return false;
    }
    key.clear();
    return true;
  }
  bool on_string_part(std::string_view, std::size_t, ec_t&) { return true; }
  bool on_string(std::string_view, std::size_t, ec_t&) { return true; }
  bool on_number_part(std::string_view, ec_t&) { return true; }
  bool on_int64(std::int64_t, std::string_view, ec_t&) { return true; }
  bool on_uint64(std::uint64_t, std::string_view, ec_t&) { return true; }
  bool on_double(double, std::string_view, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(std::string_view, ec_t&) { return true; }
  bool on_comment(std::string_view, ec_t&) { return true; }
};

// A basic_parser handler that writes compact JSON text of one member of the top-level object,
// copying number literals as they were written.
class MemberTextHandler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = boost::system::error_code;

  explicit MemberTextHandler(std::string_view name) : name_(name) {}

  bool found() const { return done_; }
  std::string take() { return std::move(out_); }

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t& ec) { return Open('{', ec); }
  bool on_object_end(std::size_t, ec_t& ec) { return Close('}', ec); }
  bool on_array_begin(ec_t& ec) { return Open('[', ec); }
  bool on_array_end(std::size_t, ec_t& ec) { return Close(']', ec); }
  bool on_key_part(std::string_view s, std::size_t, ec_t&) {
    text_.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, ec_t&) {
    text_.append(s);
    if (depth_ == 1) {
      capturing_ = !done_ && text_ == name_;
    } else if (capturing_) {
      Separate();
      AppendJsonString(out_, text_);
      out_.push_back(':');
      first_.back() = true;  // the member's value takes no comma of its own
    }
    text_.clear();
    return true;
  }
  bool on_string_part(std::string_view s, std::size_t, ec_t&) {
    text_.append(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, ec_t& ec) {
    text_.append(s);
    if (Capturing()) {
      Separate();
      AppendJsonString(out_, text_);
    }
    text_.clear();
    return Scalar(ec);
  }
  bool on_number_part(std::string_view s, ec_t&) {
    text_.append(s);
    return true;
  }
  bool on_int64(std::int64_t, std::string_view s, ec_t& ec) { return Number(s, ec); }
  bool on_uint64(std::uint64_t, std::string_view s, ec_t& ec) { return Number(s, ec); }
  bool on_double(double, std::string_view s, ec_t& ec) { return Number(s, ec); }
  bool on_bool(bool b, ec_t& ec) { return Literal(b ? "true" : "false", ec); }
  bool on_null(ec_t& ec) { return Literal("null", ec); }
  bool on_comment_part(std::string_view, ec_t&) { return true; }
  bool on_comment(std::string_view, ec_t&) { return true; }

 private:
  // Inside the wanted member's value (depth_ counts containers open, the top-level object is 1).
  bool Capturing() const { return capturing_ && depth_ >= 1; }
  void Separate() {
    if (first_.empty()) return;
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
  bool Open(char c, ec_t&) {
    ++depth_;
    if (depth_ > 1 && capturing_) {
      Separate();
      out_.push_back(c);
      first_.push_back(true);
    }
    return true;
  }
  bool Close(char c, ec_t& ec) {
    --depth_;
    if (depth_ >= 1 && capturing_) {
      out_.push_back(c);
      first_.pop_back();
    }
    return depth_ == 1 ? Scalar(ec) : true;
  }
  // A value ended: when it was the wanted member's whole value, the text is complete.
  bool Scalar(ec_t&) {
    if (depth_ == 1 && capturing_) {
      capturing_ = false;
      done_ = true;
    }
    return true;
  }
  bool Number(std::string_view s, ec_t& ec) {
    text_.append(s);
    if (Capturing()) {
      Separate();
      out_ += text_;
    }
    text_.clear();
    return Scalar(ec);
  }
  bool Literal(std::string_view s, ec_t& ec) {
    if (Capturing()) {
      Separate();
      out_ += s;
    }
    return Scalar(ec);
  }

  std::string_view name_;
  std::string text_;         // the key, string or number being read
  std::string out_;          // the member's value so far
  std::vector<bool> first_;  // per open container of the value: nothing written in it yet
  std::size_t depth_ = 0;
  bool capturing_ = false;
  bool done_ = false;
};

}  // namespace

std::optional<std::string> MemberTextExact(std::string_view json, std::string_view name,
                                           std::size_t max_depth) {
  boost::json::parse_options opts;
  opts.max_depth = max_depth;
  boost::json::basic_parser<MemberTextHandler> parser(opts, name);
  boost::system::error_code ec;
  parser.write_some(false, json.data(), json.size(), ec);
  if (ec || !parser.handler().found()) return std::nullopt;
  return parser.handler().take();
}

bool HasDuplicateKeys(std::string_view json, std::size_t max_depth) {
  boost::json::parse_options opts;
  opts.max_depth = max_depth;
  boost::json::basic_parser<DuplicateKeyHandler> parser(opts);
  boost::system::error_code ec;
  parser.write_some(false, json.data(), json.size(), ec);
  return parser.handler().duplicate;
}

}  // namespace bulwark::core
