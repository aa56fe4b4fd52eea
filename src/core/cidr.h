#pragma once
// IP addresses and CIDR ranges (IPv4 and IPv6), for trusted proxies, operator allowlists and
// tenant IP allowlists. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 ranges.
//
//   auto range = Cidr::Parse("10.0.0.0/8");          // or "2001:db8::/32", or "127.0.0.1"
//   auto ip = IpAddress::Parse("10.1.2.3");
//   if (range.ok() && ip.ok() && range->Contains(*ip)) { ... }
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark::core {

class IpAddress {
 public:
  // Accepts dotted IPv4 or RFC 4291 IPv6 text (no zone ids, no brackets).
  static StatusOr<IpAddress> Parse(std::string_view text);
  bool is_v4() const { return v4_; }
  std::string ToString() const;
  // The network a client is counted as: the IPv4 address itself, or the IPv6 /64 it is in
  // ("2001:0db8:0000:0001::/64"). One IPv6 host usually holds a whole /64, so limits kept per
  // address would give it 2^64 of them. Used by per-client rate limits and connection caps.
  std::string ClientNetwork() const;
  // 16 bytes; IPv4 is stored as IPv4-mapped IPv6.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }

 private:
  std::array<std::uint8_t, 16> bytes_{};
  bool v4_ = false;
};

class Cidr {
 public:
  // "a.b.c.d/n" (n 0..32), "v6/n" (n 0..128), or a bare address (a single host).
  // Host bits set below the prefix are an error, so "10.0.0.1/8" is refused as ambiguous.
  static StatusOr<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& ip) const;
  const IpAddress& base() const { return base_; }  // the range's first address
  std::string ToString() const;

 private:
  IpAddress base_;
  int prefix_ = 0;  // in the 128-bit space (IPv4 /n is stored as /96+n)
};

// Parses every entry; the first bad one is the error (its text is included: CIDRs are not secret).
StatusOr<std::vector<Cidr>> ParseCidrList(const std::vector<std::string>& entries);
bool AnyContains(const std::vector<Cidr>& ranges, const IpAddress& ip);

}  // namespace bulwark::core
