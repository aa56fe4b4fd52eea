#include "core/cidr.h"

#include <arpa/inet.h>

#include <charconv>

namespace bulwark::core {
namespace {
constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

StatusOr<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) {
    return Status::InvalidArgument("invalid_ip", "not an IP address");
  }
  const std::string s(text);
  IpAddress ip;
  std::array<std::uint8_t, 4> v4{};
  if (inet_pton(AF_INET, s.c_str(), v4.data()) == 1) {
    std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), ip.bytes_.begin());
    std::copy(v4.begin(), v4.end(), ip.bytes_.begin() + 12);
    ip.v4_ = true;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes_.data()) == 1) {
    ip.v4_ = std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), ip.bytes_.begin());
    return ip;
  }
  return Status::InvalidArgument("invalid_ip", "not an IP address");
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (v4_) {
    inet_ntop(AF_INET, bytes_.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  }
  return buf;
}

std::string IpAddress::ClientNetwork() const {
  if (v4_) return ToString();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) {
    out.push_back(kHex[bytes_[i] >> 4]);
    out.push_back(kHex[bytes_[i] & 0xF]);
    if (i % 2 == 1) out.push_back(':');
  }
  return out + ":/64";
}

StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  const auto slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip.ok()) {
    return Status::InvalidArgument("invalid_cidr", "not a CIDR range: " + std::string(text));
  }
  Cidr c;
  c.base_ = *ip;
  const int max_len = ip->is_v4() ? 32 : 128;
  int len = max_len;
  if (slash != std::string_view::npos) {
    std::string_view n = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), len);
    if (n.empty() || ec != std::errc() || end != n.data() + n.size() || len < 0 || len > max_len) {
      return Status::InvalidArgument("invalid_cidr", "bad prefix length in " + std::string(text));
    }
  }
  c.prefix_ = ip->is_v4() ? 96 + len : len;
  // Refuse host bits below the prefix: "10.0.0.1/8" is probably a mistake.
  const auto& b = c.base_.bytes();
  for (int bit = c.prefix_; bit < 128; ++bit) {
    if (b[static_cast<std::size_t>(bit / 8)] & (0x80 >> (bit % 8))) {
      return Status::InvalidArgument("invalid_cidr",
                                     "host bits set below the prefix in " + std::string(text));
    }
  }
  return c;
}

bool Cidr::Contains(const IpAddress& ip) const {
  if (ip.is_v4() != base_.is_v4()) return false;
  const auto& a = ip.bytes();
  const auto& b = base_.bytes();
  const int full = prefix_ / 8;
  for (int i = 0; i < full; ++i) {
    if (a[static_cast<std::size_t>(i)] != b[static_cast<std::size_t>(i)]) return false;
  }
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[static_cast<std::size_t>(full)] & mask) == (b[static_cast<std::size_t>(full)] & mask);
}

std::string Cidr::ToString() const {
  return base_.ToString() + "/" + std::to_string(base_.is_v4() ? prefix_ - 96 : prefix_);
}

StatusOr<std::vector<Cidr>> ParseCidrList(const std::vector<std::string>& entries) {
  std::vector<Cidr> out;
  for (const std::string& e : entries) {
    auto c = Cidr::Parse(e);
    if (!c.ok()) return c.status();
    out.push_back(*c);
  }
  return out;
}

bool AnyContains(const std::vector<Cidr>& ranges, const IpAddress& ip) {
  for (const Cidr& c : ranges) {
    if (c.Contains(ip)) return true;
  }
  return false;
}

}  // namespace bulwark::core
