// tools/http/address_policy.h — which hosts and addresses an HTTP tool may reach (the SSRF policy, in one place).
//
//   auto ip = parse_ip_literal("0x7f.1");          // every spelling inet_aton and URL parsers accept
//   classify(*ip) == AddressClass::loopback;
//   AddressPolicy p{.allow_hosts = {"example.com"}, .allow_private = {"127.0.0.1"}};
//   p.check_host("api.example.com");               // ok: dot boundary
//   p.check_address(*ip);                          // ok only because 127.0.0.1 is allowed explicitly
//
// IPv4 spellings: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x), the last part filling the remaining
// bytes (127.1, 2130706433, 0x7f000001, 0177.0.0.1), one trailing dot tolerated. IPv6: with or without brackets,
// embedded dotted quads; zone ids are refused. Embedded IPv4 (::ffff:0:0/96 mapped, ::/96 compatible,
// 64:ff9b::/96 NAT64, 2002::/16 6to4) is classified as the IPv4 address it carries.
// Denied unless allowed: unspecified, loopback, private (RFC 1918, ULA fc00::/7, site-local), link-local, CGNAT
// 100.64/10, multicast, broadcast, reserved/documentation/benchmark ranges, and cloud metadata (169.254.169.254,
// 100.100.100.200, fd00:ec2::254). `allow_private` entries are addresses or CIDR prefixes; a metadata address is
// reachable only when an entry names it (never through allow_all_private).
// Threads: plain values, const members callable concurrently. Errors: forbidden (policy), invalid_argument (a
// host that looks numeric but is no valid address, a malformed allow entry).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace glm::tools::http {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4: the first 4 bytes
  std::string to_string() const;    // canonical (inet_ntop)
  bool operator==(const IpAddress&) const = default;
};

enum class AddressClass { global, unspecified, loopback, private_use, link_local, cgnat, multicast, broadcast,
                          reserved, metadata };
std::string_view class_name(AddressClass c);

// nullopt: not an IP literal (a host name). An error: looks numeric (its last label is a number) but is not a
// valid IPv4 address, or has an IPv6 zone id — such hosts are refused rather than handed to a resolver.
Result<std::optional<IpAddress>> parse_ip_literal(std::string_view host);

// The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any.
std::optional<IpAddress> embedded_ipv4(const IpAddress& a);
AddressClass classify(const IpAddress& a);

// Lower-cased, trailing dot and IPv6 brackets removed; invalid_argument for empty or non-ASCII names or bytes
// outside [A-Za-z0-9.-_:].
Result<std::string> normalize_host(std::string_view host);
// `pattern` matches host exactly or on a dot boundary ("example.com" matches "api.example.com", not
// "evilexample.com"); IP literals match only the same address. Both sides normalized.
bool host_matches(std::string_view host, std::string_view pattern);

struct AddressPolicy {
  std::vector<std::string> allow_hosts;    // empty: any host name (addresses are still vetted)
  std::vector<std::string> allow_private;  // addresses or CIDR prefixes ("127.0.0.1", "10.0.0.0/8", "::1")
  bool allow_all_private = false;          // config "allow_private": true — every class but metadata

  Status validate() const;                 // invalid_argument for a malformed allow_private entry
  Status check_host(std::string_view host) const;        // forbidden when not in allow_hosts
  Status check_address(const IpAddress& a) const;        // forbidden with the class, e.g. "loopback"
};

}  // namespace glm::tools::http
