#include "crypto/encoding.h"

#include <array>

namespace bulwark::crypto {
namespace {

constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Status Malformed(std::string_view what) {
  return Status::InvalidArgument("malformed_encoding",
                                 std::string("malformed ") + std::string(what));
}

constexpr std::array<std::int8_t, 256> MakeReverse(const char* alphabet) {
  std::array<std::int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (int i = 0; i < 64; ++i)
    r[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return r;
}
constexpr auto kStdReverse = MakeReverse(kStdAlphabet);
constexpr auto kUrlReverse = MakeReverse(kUrlAlphabet);

std::string Encode64(std::span<const std::uint8_t> in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Returns the decoded length for `text`, or -1 if its shape is impossible. On success `body` is
// the text without padding.
long DecodedLength(std::string_view text, bool padded, std::string_view* body) {
  std::string_view b = text;
  if (padded) {
    if (b.size() % 4 != 0) return -1;
    if (!b.empty() && b.back() == '=') b.remove_suffix(1);
    if (!b.empty() && b.back() == '=') b.remove_suffix(1);
  }
  if (b.size() % 4 == 1) return -1;
  *body = b;
  return static_cast<long>(b.size() / 4 * 3 + (b.size() % 4 == 0 ? 0 : b.size() % 4 - 1));
}

// Decodes `body` (no padding) into `out`, which has exactly the decoded length.
bool Decode64Into(std::string_view body, const std::array<std::int8_t, 256>& rev,
                  std::span<std::uint8_t> out) {
  std::size_t o = 0;
  std::size_t i = 0;
  for (; i + 4 <= body.size(); i += 4) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const std::int8_t d = rev[static_cast<unsigned char>(body[i + k])];
      if (d < 0) return false;
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out[o++] = static_cast<std::uint8_t>(v >> 16);
    out[o++] = static_cast<std::uint8_t>(v >> 8);
    out[o++] = static_cast<std::uint8_t>(v);
  }
  const std::size_t rest = body.size() - i;
  if (rest == 0) return true;
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < rest; ++k) {
    const std::int8_t d = rev[static_cast<unsigned char>(body[i + k])];
    if (d < 0) return false;
    v = (v << 6) | static_cast<std::uint32_t>(d);
  }
  if (rest == 2) {
    if ((v & 0xF) != 0) return false;  // non-canonical: unused bits set
    out[o++] = static_cast<std::uint8_t>(v >> 4);
  } else {  // rest == 3
    if ((v & 0x3) != 0) return false;
    out[o++] = static_cast<std::uint8_t>(v >> 10);
    out[o++] = static_cast<std::uint8_t>(v >> 2);
  }
  return true;
}

StatusOr<std::vector<std::uint8_t>> Decode64(std::string_view text, bool url) {
  std::string_view body;
  const long n = DecodedLength(text, !url, &body);
  if (n < 0) return Malformed(url ? "base64url" : "base64");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(n));
  if (!Decode64Into(body, url ? kUrlReverse : kStdReverse, out)) {
    return Malformed(url ? "base64url" : "base64");
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Base64Encode(std::span<const std::uint8_t> bytes) {
  return Encode64(bytes, kStdAlphabet, true);
}

StatusOr<std::vector<std::uint8_t>> Base64Decode(std::string_view text) {
  return Decode64(text, false);
}

StatusOr<SecretBytes> Base64DecodeSecret(std::string_view text) {
  std::string_view body;
  const long n = DecodedLength(text, true, &body);
  if (n < 0) return Malformed("base64");
  SecretBytes out(static_cast<std::size_t>(n));
  if (!Decode64Into(body, kStdReverse, out.reveal_mutable_span())) return Malformed("base64");
  return out;
}

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes) {
  return Encode64(bytes, kUrlAlphabet, false);
}

StatusOr<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view text) {
  return Decode64(text, true);
}

std::string Base32Encode(std::span<const std::uint8_t> bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1F]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1F]);
  return out;
}

std::string HexEncode(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return out;
}

StatusOr<std::vector<std::uint8_t>> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return Malformed("hex");
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = HexDigit(text[2 * i]);
    const int lo = HexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return Malformed("hex");
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

}  // namespace bulwark::crypto
