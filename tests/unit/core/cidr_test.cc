#include "core/cidr.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bulwark::core {
namespace {

IpAddress Ip(std::string_view text) {
  auto ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << text << ": " << ip.status().ToString();
  return ip.ok() ? *ip : IpAddress();
}

Cidr Range(std::string_view text) {
  auto c = Cidr::Parse(text);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status().ToString();
  return c.ok() ? *c : Cidr();
}

TEST(CoreCidrTest, ParsesIpv4Address) {
  auto ip = IpAddress::Parse("10.1.2.3");
  ASSERT_TRUE(ip.ok());
  EXPECT_TRUE(ip->is_v4());
  EXPECT_EQ(ip->ToString(), "10.1.2.3");
  const auto& b = ip->bytes();
  EXPECT_EQ(b[10], 0xff);
  EXPECT_EQ(b[11], 0xff);
  EXPECT_EQ(b[12], 10);
  EXPECT_EQ(b[15], 3);
}

TEST(CoreCidrTest, ParsesIpv6Address) {
  auto ip = IpAddress::Parse("2001:db8::1");
  ASSERT_TRUE(ip.ok());
  EXPECT_FALSE(ip->is_v4());
  EXPECT_EQ(ip->ToString(), "2001:db8::1");
  EXPECT_EQ(ip->bytes()[0], 0x20);
  EXPECT_EQ(ip->bytes()[1], 0x01);
  EXPECT_EQ(ip->bytes()[15], 0x01);
}

TEST(CoreCidrTest, RejectsNonAddresses) {
  for (std::string_view bad : {"", "10.0.0", "10.0.0.256", "1.2.3.4.5", "fe80::1%eth0", "[::1]",
                               "localhost", "::g", " 10.0.0.1"}) {
    auto ip = IpAddress::Parse(bad);
    EXPECT_FALSE(ip.ok()) << bad;
    if (!ip.ok()) {
      EXPECT_EQ(ip.status().code(), ErrorCode::kInvalidArgument);
      EXPECT_EQ(ip.status().reason(), "invalid_ip");
    }
  }
  EXPECT_FALSE(IpAddress::Parse(std::string(46, '1')).ok());
}

TEST(CoreCidrTest, Ipv4Range) {
  const Cidr c = Range("10.0.0.0/8");
  EXPECT_EQ(c.ToString(), "10.0.0.0/8");
  EXPECT_TRUE(c.Contains(Ip("10.0.0.0")));
  EXPECT_TRUE(c.Contains(Ip("10.255.255.255")));
  EXPECT_FALSE(c.Contains(Ip("11.0.0.0")));
  EXPECT_FALSE(c.Contains(Ip("9.255.255.255")));
}

TEST(CoreCidrTest, NonByteAlignedPrefix) {
  const Cidr c = Range("172.16.0.0/12");
  EXPECT_TRUE(c.Contains(Ip("172.16.0.1")));
  EXPECT_TRUE(c.Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(c.Contains(Ip("172.32.0.0")));
  EXPECT_FALSE(c.Contains(Ip("172.15.255.255")));
}

TEST(CoreCidrTest, Ipv6Range) {
  const Cidr c = Range("2001:db8::/32");
  EXPECT_EQ(c.ToString(), "2001:db8::/32");
  EXPECT_TRUE(c.Contains(Ip("2001:db8::1")));
  EXPECT_TRUE(c.Contains(Ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(c.Contains(Ip("2001:db9::")));
}

TEST(CoreCidrTest, BareHostIsASingleAddress) {
  const Cidr v4 = Range("127.0.0.1");
  EXPECT_EQ(v4.ToString(), "127.0.0.1/32");
  EXPECT_TRUE(v4.Contains(Ip("127.0.0.1")));
  EXPECT_FALSE(v4.Contains(Ip("127.0.0.2")));
  const Cidr v6 = Range("::1");
  EXPECT_EQ(v6.ToString(), "::1/128");
  EXPECT_TRUE(v6.Contains(Ip("::1")));
  EXPECT_FALSE(v6.Contains(Ip("::2")));
}

TEST(CoreCidrTest, ExplicitHostPrefixes) {
  const Cidr v4 = Range("192.168.1.7/32");
  EXPECT_TRUE(v4.Contains(Ip("192.168.1.7")));
  EXPECT_FALSE(v4.Contains(Ip("192.168.1.6")));
  const Cidr v6 = Range("2001:db8::7/128");
  EXPECT_TRUE(v6.Contains(Ip("2001:db8::7")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db8::6")));
}

TEST(CoreCidrTest, ZeroPrefixMatchesItsWholeFamilyOnly) {
  const Cidr any4 = Range("0.0.0.0/0");
  EXPECT_TRUE(any4.Contains(Ip("1.2.3.4")));
  EXPECT_TRUE(any4.Contains(Ip("255.255.255.255")));
  EXPECT_FALSE(any4.Contains(Ip("2001:db8::1")));
  const Cidr any6 = Range("::/0");
  EXPECT_TRUE(any6.Contains(Ip("2001:db8::1")));
  EXPECT_TRUE(any6.Contains(Ip("::")));
}

TEST(CoreCidrTest, HostBitsSetAreRefused) {
  for (std::string_view bad : {"10.0.0.1/8", "192.168.1.1/24", "2001:db8::1/32", "172.16.0.0/11"}) {
    auto c = Cidr::Parse(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().reason(), "invalid_cidr");
    EXPECT_NE(c.status().message().find("host bits"), std::string::npos) << c.status().message();
  }
}

TEST(CoreCidrTest, BadPrefixIsRefused) {
  for (std::string_view bad : {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/a",
                               "::/129", "10.0.0.0/8/8", "10.0.0.0/ 8"}) {
    auto c = Cidr::Parse(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().reason(), "invalid_cidr") << bad;
    }
  }
  EXPECT_FALSE(Cidr::Parse("").ok());
  EXPECT_FALSE(Cidr::Parse("/8").ok());
  EXPECT_FALSE(Cidr::Parse("host.example/8").ok());
}

TEST(CoreCidrTest, Ipv4MappedIpv6MatchesIpv4Range) {
  const Cidr c = Range("10.0.0.0/8");
  const IpAddress mapped = Ip("::ffff:10.1.2.3");
  EXPECT_TRUE(mapped.is_v4());
  EXPECT_TRUE(c.Contains(mapped));
  EXPECT_FALSE(c.Contains(Ip("::ffff:11.1.2.3")));
}

TEST(CoreCidrTest, Ipv4DoesNotMatchIpv6Range) {
  // ::/0 covers the bytes of a v4-mapped address; only the family check keeps v4 out.
  const Cidr v6 = Range("::/0");
  EXPECT_FALSE(v6.Contains(Ip("10.1.2.3")));
  EXPECT_FALSE(Range("2001:db8::/32").Contains(Ip("32.1.13.184")));
  // And the other way round: a v4 range never matches a native v6 address.
  EXPECT_FALSE(Range("0.0.0.0/0").Contains(Ip("::1")));
}

TEST(CoreCidrTest, ParseCidrListNamesTheBadEntry) {
  auto ok = ParseCidrList({"10.0.0.0/8", "::1", "192.168.0.0/16"});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_TRUE(AnyContains(*ok, Ip("192.168.4.4")));
  EXPECT_TRUE(AnyContains(*ok, Ip("::1")));
  EXPECT_FALSE(AnyContains(*ok, Ip("8.8.8.8")));

  auto bad = ParseCidrList({"10.0.0.0/8", "300.1.1.0/24", "::1"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("300.1.1.0/24"), std::string::npos) << bad.status().message();

  auto empty = ParseCidrList({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(AnyContains(*empty, Ip("127.0.0.1")));
}

TEST(IpAddressTest, ClientNetworkIsTheIpv4AddressOrTheIpv6Slash64) {
  EXPECT_EQ(Ip("203.0.113.9").ClientNetwork(), "203.0.113.9");
  EXPECT_EQ(Ip("::ffff:203.0.113.9").ClientNetwork(), "203.0.113.9");  // mapped: the IPv4 client
  // Every address of one /64 is one client; the next /64 is another.
  EXPECT_EQ(Ip("2001:db8:0:1::1").ClientNetwork(), "2001:0db8:0000:0001::/64");
  EXPECT_EQ(Ip("2001:db8:0:1:ffff:ffff:ffff:ffff").ClientNetwork(), "2001:0db8:0000:0001::/64");
  EXPECT_NE(Ip("2001:db8:0:2::1").ClientNetwork(), Ip("2001:db8:0:1::1").ClientNetwork());
}

}  // namespace
}  // namespace bulwark::core
