#include "tools/http/address_policy.h"

#include <gtest/gtest.h>

namespace glm::tools::http {
namespace {

AddressClass cls(const std::string& s) {
  auto r = parse_ip_literal(s);
  EXPECT_TRUE(r.ok()) << s;
  EXPECT_TRUE(r.ok() && r->has_value()) << s;
  return classify(**r);
}
std::string canon(const std::string& s) { return (**parse_ip_literal(s)).to_string(); }

TEST(AddressPolicy, Ipv4Spellings) {
  for (const char* s : {"127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0x7F.1", "0177.0.0.1",
                        "0177.1", "017700000001", "0x7f.0.0.0x1", "127.0.0.1.", "127.000.000.001", "0x7f.0x0.0x0.0x1"})
    EXPECT_EQ(canon(s), "127.0.0.1") << s;
  EXPECT_EQ(canon("0"), "0.0.0.0");
  EXPECT_EQ(canon("10.1"), "10.0.0.1");
  EXPECT_EQ(canon("192.168.257"), "192.168.1.1");
  EXPECT_EQ(canon("3232235777"), "192.168.1.1");
  EXPECT_EQ(canon("0xA9FEA9FE"), "169.254.169.254");
  EXPECT_EQ(canon("0251.0376.0251.0376"), "169.254.169.254");
}

TEST(AddressPolicy, NumericLookingHostsThatAreInvalidAreRefused) {
  for (const char* s : {"256.0.0.1", "1.2.3.4.5", "08.0.0.1", "0x1g.1", "4294967296", "1.16777216", "1.2.65536",
                        "1..1", "09", "fe80::1%eth0", "[::1%25lo]", "1:2:3"})
    EXPECT_FALSE(parse_ip_literal(s).ok()) << s;
}

TEST(AddressPolicy, HostNamesAreNotLiterals) {
  for (const char* s : {"example.com", "localhost", "0x7f.example", "1.2.3.example", "a1", "deadbeef.com"}) {
    auto r = parse_ip_literal(s);
    ASSERT_TRUE(r.ok()) << s;
    EXPECT_FALSE(r->has_value()) << s;
  }
}

TEST(AddressPolicy, Ipv4Classes) {
  EXPECT_EQ(cls("8.8.8.8"), AddressClass::global);
  EXPECT_EQ(cls("1.1.1.1"), AddressClass::global);
  EXPECT_EQ(cls("0.0.0.0"), AddressClass::unspecified);
  EXPECT_EQ(cls("0.1.2.3"), AddressClass::unspecified);
  EXPECT_EQ(cls("127.255.255.254"), AddressClass::loopback);
  EXPECT_EQ(cls("10.0.0.1"), AddressClass::private_use);
  EXPECT_EQ(cls("172.16.0.1"), AddressClass::private_use);
  EXPECT_EQ(cls("172.31.255.255"), AddressClass::private_use);
  EXPECT_EQ(cls("172.32.0.1"), AddressClass::global);
  EXPECT_EQ(cls("192.168.0.1"), AddressClass::private_use);
  EXPECT_EQ(cls("169.254.1.1"), AddressClass::link_local);
  EXPECT_EQ(cls("169.254.169.254"), AddressClass::metadata);
  EXPECT_EQ(cls("100.100.100.200"), AddressClass::metadata);
  EXPECT_EQ(cls("100.64.0.1"), AddressClass::cgnat);
  EXPECT_EQ(cls("100.127.255.255"), AddressClass::cgnat);
  EXPECT_EQ(cls("100.128.0.1"), AddressClass::global);
  EXPECT_EQ(cls("224.0.0.1"), AddressClass::multicast);
  EXPECT_EQ(cls("239.255.255.255"), AddressClass::multicast);
  EXPECT_EQ(cls("255.255.255.255"), AddressClass::broadcast);
  EXPECT_EQ(cls("240.0.0.1"), AddressClass::reserved);
  for (const char* s : {"192.0.0.8", "192.0.2.1", "192.88.99.1", "198.18.0.1", "198.19.255.1", "198.51.100.1", "203.0.113.9"})
    EXPECT_EQ(cls(s), AddressClass::reserved) << s;
}

TEST(AddressPolicy, Ipv6Classes) {
  EXPECT_EQ(cls("2606:4700:4700::1111"), AddressClass::global);
  EXPECT_EQ(cls("::"), AddressClass::unspecified);
  EXPECT_EQ(cls("[::]"), AddressClass::unspecified);
  EXPECT_EQ(cls("::1"), AddressClass::loopback);
  EXPECT_EQ(cls("[0:0:0:0:0:0:0:1]"), AddressClass::loopback);
  EXPECT_EQ(cls("fc00::1"), AddressClass::private_use);
  EXPECT_EQ(cls("fd12:3456::1"), AddressClass::private_use);
  EXPECT_EQ(cls("fec0::1"), AddressClass::private_use);
  EXPECT_EQ(cls("fe80::1"), AddressClass::link_local);
  EXPECT_EQ(cls("febf::1"), AddressClass::link_local);
  EXPECT_EQ(cls("ff02::1"), AddressClass::multicast);
  EXPECT_EQ(cls("2001:db8::1"), AddressClass::reserved);
  EXPECT_EQ(cls("fd00:ec2::254"), AddressClass::metadata);
  EXPECT_EQ(cls("[fd00:0ec2:0000::0254]"), AddressClass::metadata);
}

TEST(AddressPolicy, EmbeddedIpv4IsClassifiedAsIpv4) {
  EXPECT_EQ(cls("::ffff:127.0.0.1"), AddressClass::loopback);
  EXPECT_EQ(cls("[::ffff:7f00:1]"), AddressClass::loopback);
  EXPECT_EQ(cls("::ffff:169.254.169.254"), AddressClass::metadata);
  EXPECT_EQ(cls("::ffff:10.0.0.1"), AddressClass::private_use);
  EXPECT_EQ(cls("::ffff:8.8.8.8"), AddressClass::global);
  EXPECT_EQ(cls("::127.0.0.1"), AddressClass::loopback);      // IPv4-compatible
  EXPECT_EQ(cls("::a9fe:a9fe"), AddressClass::metadata);
  EXPECT_EQ(cls("64:ff9b::127.0.0.1"), AddressClass::loopback);  // NAT64
  EXPECT_EQ(cls("64:ff9b::a9fe:a9fe"), AddressClass::metadata);
  EXPECT_EQ(cls("64:ff9b::808:808"), AddressClass::global);
  EXPECT_EQ(cls("64:ff9b:1::1"), AddressClass::private_use);
  EXPECT_EQ(cls("2002:7f00:1::"), AddressClass::loopback);     // 6to4
  EXPECT_EQ(cls("2002:c0a8:101::1"), AddressClass::private_use);
  EXPECT_EQ(cls("::ffff:0:127.0.0.1"), AddressClass::reserved);  // SIIT
  EXPECT_EQ(cls("2001::1"), AddressClass::reserved);            // Teredo
}

TEST(AddressPolicy, DefaultPolicyDeniesEveryNonGlobalSpelling) {
  AddressPolicy p;
  for (const char* s : {"127.0.0.1", "127.1", "2130706433", "0x7f.1", "0177.0.0.1", "0", "0.0.0.0", "10.1", "::1",
                        "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "169.254.169.254",
                        "0xA9FEA9FE", "fd00:ec2::254", "100.64.1.1", "224.0.0.251", "fe80::1", "ff02::1", "::",
                        "192.168.1.1", "172.16.0.1", "255.255.255.255"}) {
    auto ip = parse_ip_literal(s);
    ASSERT_TRUE(ip.ok() && ip->has_value()) << s;
    auto st = p.check_address(**ip);
    EXPECT_FALSE(st.ok()) << s;
    if (!st.ok()) { EXPECT_EQ(st.error().code, ErrorCode::forbidden) << s; }
  }
  EXPECT_TRUE(p.check_address(**parse_ip_literal("8.8.8.8")).ok());
}

TEST(AddressPolicy, AllowPrivateOptIn) {
  AddressPolicy p{.allow_private = {"127.0.0.1", "10.0.0.0/8", "::1"}};
  ASSERT_TRUE(p.validate().ok());
  EXPECT_TRUE(p.check_address(**parse_ip_literal("127.1")).ok());
  EXPECT_TRUE(p.check_address(**parse_ip_literal("::ffff:127.0.0.1")).ok());
  EXPECT_TRUE(p.check_address(**parse_ip_literal("::1")).ok());
  EXPECT_TRUE(p.check_address(**parse_ip_literal("10.200.3.4")).ok());
  EXPECT_FALSE(p.check_address(**parse_ip_literal("127.0.0.2")).ok());
  EXPECT_FALSE(p.check_address(**parse_ip_literal("169.254.169.254")).ok());
  EXPECT_FALSE(p.check_address(**parse_ip_literal("192.168.1.1")).ok());

  AddressPolicy all{.allow_all_private = true};
  EXPECT_TRUE(all.check_address(**parse_ip_literal("192.168.1.1")).ok());
  EXPECT_FALSE(all.check_address(**parse_ip_literal("169.254.169.254")).ok());  // metadata needs naming
  EXPECT_FALSE(all.check_address(**parse_ip_literal("fd00:ec2::254")).ok());
  AddressPolicy meta{.allow_private = {"169.254.169.254"}};
  EXPECT_TRUE(meta.check_address(**parse_ip_literal("169.254.169.254")).ok());

  for (const char* bad : {"localhost", "10.0.0.0/33", "::1/129", "1.2.3.4/", "1.2.3.4/x"}) {
    AddressPolicy q{.allow_private = {bad}};
    EXPECT_FALSE(q.validate().ok()) << bad;
  }
}

TEST(AddressPolicy, HostAllowlistOnDotBoundary) {
  EXPECT_TRUE(host_matches("example.com", "example.com"));
  EXPECT_TRUE(host_matches("api.example.com", "example.com"));
  EXPECT_TRUE(host_matches("API.EXAMPLE.COM.", "example.com"));
  EXPECT_TRUE(host_matches("a.b.example.com", "Example.com."));
  EXPECT_FALSE(host_matches("evilexample.com", "example.com"));
  EXPECT_FALSE(host_matches("api.example.com.evil.test", "api.example.com"));
  EXPECT_FALSE(host_matches("example.com", "api.example.com"));
  EXPECT_FALSE(host_matches("", "example.com"));
  EXPECT_FALSE(host_matches("exämple.com", "example.com"));
  EXPECT_TRUE(host_matches("127.0.0.1", "127.0.0.1"));
  EXPECT_TRUE(host_matches("2130706433", "127.0.0.1"));  // same address
  EXPECT_FALSE(host_matches("1.127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(host_matches("127.0.0.2", "127.0.0.1"));
  EXPECT_TRUE(host_matches("[::1]", "::1"));

  AddressPolicy p{.allow_hosts = {"example.com"}};
  EXPECT_TRUE(p.check_host("docs.example.com").ok());
  EXPECT_EQ(p.check_host("evilexample.com").error().code, ErrorCode::forbidden);
  EXPECT_EQ(p.check_host("127.0.0.1").error().code, ErrorCode::forbidden);
  EXPECT_FALSE(p.check_host("api.example.com@127.0.0.1").ok());
  EXPECT_FALSE(p.check_host("256.1.1.1").ok());
  AddressPolicy any;
  EXPECT_TRUE(any.check_host("anything.test").ok());
  EXPECT_FALSE(any.check_host("").ok());
  EXPECT_FALSE(any.check_host("a b").ok());
}

}  // namespace
}  // namespace glm::tools::http
