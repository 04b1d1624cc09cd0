#include "tools/http/address_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace glm::tools::http {

namespace {

IpAddress v4(uint32_t x) {
  IpAddress a;
  a.bytes[0] = x >> 24; a.bytes[1] = (x >> 16) & 255; a.bytes[2] = (x >> 8) & 255; a.bytes[3] = x & 255;
  return a;
}
uint32_t v4_value(const IpAddress& a) {
  return (uint32_t(a.bytes[0]) << 24) | (uint32_t(a.bytes[1]) << 16) | (uint32_t(a.bytes[2]) << 8) | a.bytes[3];
}
bool in4(uint32_t x, uint32_t net, int bits) {
  return bits == 0 || (x >> (32 - bits)) == (net >> (32 - bits));
}
// True when the first `bits` bits of a and b agree.
bool prefix_eq(const uint8_t* a, const uint8_t* b, int bits) {
  int full = bits / 8, rest = bits % 8;
  if (!std::equal(a, a + full, b)) return false;
  if (rest == 0) return true;
  uint8_t m = uint8_t(0xFF << (8 - rest));
  return (a[full] & m) == (b[full] & m);
}
std::optional<IpAddress> pton6(const std::string& s) {
  IpAddress a;
  a.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  return a;
}
bool in6(const IpAddress& a, const char* prefix, int bits) {
  auto p = pton6(prefix);
  return p && prefix_eq(a.bytes.data(), p->bytes.data(), bits);
}

// One IPv4 part: decimal, 0-prefixed octal, 0x-prefixed hex. nullopt when not a number.
std::optional<uint64_t> parse_part(std::string_view s) {
  int base = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) { base = 16; s.remove_prefix(2); if (s.empty()) return 0; }
  else if (s.size() >= 2 && s[0] == '0') { base = 8; s.remove_prefix(1); }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && std::isxdigit(static_cast<unsigned char>(c))) d = std::tolower(c) - 'a' + 10;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > 0xFFFFFFFFull) return UINT64_MAX;  // out of range, still "numeric"
  }
  return v;
}

bool looks_numeric(std::string_view label) {
  if (label.empty()) return false;
  if (label.size() >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X'))
    return std::all_of(label.begin() + 2, label.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  return std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string_view class_name(AddressClass c) {
  switch (c) {
    case AddressClass::global: return "global";
    case AddressClass::unspecified: return "unspecified";
    case AddressClass::loopback: return "loopback";
    case AddressClass::private_use: return "private";
    case AddressClass::link_local: return "link-local";
    case AddressClass::cgnat: return "carrier-grade NAT";
    case AddressClass::multicast: return "multicast";
    case AddressClass::broadcast: return "broadcast";
    case AddressClass::reserved: return "reserved";
    case AddressClass::metadata: return "cloud metadata";
  }
  return "?";
}

Result<std::optional<IpAddress>> parse_ip_literal(std::string_view host) {
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.find(':') != std::string::npos) {
    if (h.find('%') != std::string::npos) return make_error(ErrorCode::invalid_argument, "IPv6 zone ids are refused: " + h);
    auto a = pton6(h);
    if (!a) return make_error(ErrorCode::invalid_argument, "malformed IPv6 address: " + h);
    return std::optional<IpAddress>(*a);
  }
  std::string_view s = h;
  if (s.size() > 1 && s.back() == '.') s.remove_suffix(1);
  std::vector<std::string_view> parts;
  for (size_t at = 0;;) {
    size_t dot = s.find('.', at);
    parts.push_back(s.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at));
    if (dot == std::string_view::npos) break;
    at = dot + 1;
  }
  if (!looks_numeric(parts.back())) return std::optional<IpAddress>();  // a host name
  auto bad = [&] { return make_error(ErrorCode::invalid_argument, "host looks numeric but is no valid IPv4 address: " + h); };
  if (parts.size() > 4) return bad();
  std::vector<uint64_t> vals;
  for (auto p : parts) {
    auto v = parse_part(p);
    if (!v) return bad();
    vals.push_back(*v);
  }
  uint64_t x = 0;
  for (size_t i = 0; i + 1 < vals.size(); ++i) {
    if (vals[i] > 255) return bad();
    x |= vals[i] << (8 * (3 - i));
  }
  uint64_t last = vals.back();
  size_t rest_bytes = 4 - (vals.size() - 1);
  if (rest_bytes < 4 && last >= (1ull << (8 * rest_bytes))) return bad();
  if (last > 0xFFFFFFFFull) return bad();
  x |= last;
  return std::optional<IpAddress>(v4(static_cast<uint32_t>(x)));
}

std::optional<IpAddress> embedded_ipv4(const IpAddress& a) {
  if (!a.v6) return std::nullopt;
  const auto& b = a.bytes;
  auto tail = [&](int at) { return v4((uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | b[at + 3]); };
  static const uint8_t zero[12] = {};
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::equal(b.begin(), b.begin() + 12, mapped)) return tail(12);
  if (std::equal(b.begin(), b.begin() + 12, zero)) {
    uint32_t x = v4_value(tail(12));
    if (x <= 1) return std::nullopt;  // :: and ::1 are themselves
    return tail(12);
  }
  if (in6(a, "64:ff9b::", 96)) return tail(12);
  if (in6(a, "2002::", 16)) return tail(2);
  return std::nullopt;
}

AddressClass classify(const IpAddress& a) {
  if (auto e = embedded_ipv4(a)) return classify(*e);
  if (!a.v6) {
    uint32_t x = v4_value(a);
    if (x == 0xA9FEA9FE || x == 0x646464C8) return AddressClass::metadata;
    if (in4(x, 0x00000000, 8)) return AddressClass::unspecified;
    if (in4(x, 0x7F000000, 8)) return AddressClass::loopback;
    if (in4(x, 0x0A000000, 8) || in4(x, 0xAC100000, 12) || in4(x, 0xC0A80000, 16)) return AddressClass::private_use;
    if (in4(x, 0xA9FE0000, 16)) return AddressClass::link_local;
    if (in4(x, 0x64400000, 10)) return AddressClass::cgnat;
    if (in4(x, 0xE0000000, 4)) return AddressClass::multicast;
    if (x == 0xFFFFFFFF) return AddressClass::broadcast;
    if (in4(x, 0xF0000000, 4) || in4(x, 0xC0000000, 24) || in4(x, 0xC0000200, 24) || in4(x, 0xC0586300, 24) ||
        in4(x, 0xC6120000, 15) || in4(x, 0xC6336400, 24) || in4(x, 0xCB007100, 24))
      return AddressClass::reserved;
    return AddressClass::global;
  }
  if (in6(a, "fd00:ec2::254", 128)) return AddressClass::metadata;
  if (in6(a, "::", 128)) return AddressClass::unspecified;
  if (in6(a, "::1", 128)) return AddressClass::loopback;
  if (in6(a, "::", 96)) return AddressClass::reserved;  // remaining IPv4-compatible forms
  if (in6(a, "fc00::", 7) || in6(a, "fec0::", 10) || in6(a, "64:ff9b:1::", 48)) return AddressClass::private_use;
  if (in6(a, "fe80::", 10)) return AddressClass::link_local;
  if (in6(a, "ff00::", 8)) return AddressClass::multicast;
  if (in6(a, "2001:db8::", 32) || in6(a, "2001::", 32) || in6(a, "100::", 64) || in6(a, "2001:10::", 28) ||
      in6(a, "2001:20::", 28) || in6(a, "::ffff:0:0:0", 96))
    return AddressClass::reserved;
  return AddressClass::global;
}

Result<std::string> normalize_host(std::string_view host) {
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty()) return make_error(ErrorCode::invalid_argument, "empty host");
  for (char& c : h) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) return make_error(ErrorCode::invalid_argument, "non-ASCII host (write it in punycode): " + std::string(host));
    if (!(std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == ':'))
      return make_error(ErrorCode::invalid_argument, "invalid character in host: " + std::string(host));
    c = static_cast<char>(std::tolower(u));
  }
  return h;
}

bool host_matches(std::string_view host, std::string_view pattern) {
  auto h = normalize_host(host), p = normalize_host(pattern);
  if (!h || !p) return false;
  auto hip = parse_ip_literal(*h), pip = parse_ip_literal(*p);
  if (!hip || !pip) return false;
  if (hip->has_value() || pip->has_value()) return hip->has_value() && pip->has_value() && **hip == **pip;
  const std::string& hs = *h;
  const std::string& ps = *p;
  if (hs == ps) return true;
  return hs.size() > ps.size() && hs.compare(hs.size() - ps.size(), ps.size(), ps) == 0 &&
         hs[hs.size() - ps.size() - 1] == '.';
}

namespace {

struct Prefix { IpAddress addr; int bits; };

Result<Prefix> parse_prefix(const std::string& entry) {
  std::string a = entry;
  int bits = -1;
  if (auto slash = entry.find('/'); slash != std::string::npos) {
    a = entry.substr(0, slash);
    std::string b = entry.substr(slash + 1);
    if (b.empty() || b.size() > 3 || !std::all_of(b.begin(), b.end(), ::isdigit))
      return make_error(ErrorCode::invalid_argument, "malformed prefix length in allow_private entry \"" + entry + "\"");
    bits = std::stoi(b);
  }
  auto ip = parse_ip_literal(a);
  if (!ip || !ip->has_value())
    return make_error(ErrorCode::invalid_argument, "allow_private entry \"" + entry + "\" is not an address or CIDR prefix");
  IpAddress addr = **ip;
  int maxbits = addr.v6 ? 128 : 32;
  if (bits < 0) bits = maxbits;
  if (bits > maxbits) return make_error(ErrorCode::invalid_argument, "prefix too long in allow_private entry \"" + entry + "\"");
  return Prefix{addr, bits};
}

bool prefix_contains(const Prefix& p, const IpAddress& a) {
  if (p.addr.v6 != a.v6) return false;
  return prefix_eq(p.addr.bytes.data(), a.bytes.data(), p.bits);
}

}  // namespace

Status AddressPolicy::validate() const {
  for (const auto& e : allow_private) GLM_TRY(parse_prefix(e));
  for (const auto& h : allow_hosts) GLM_TRY(normalize_host(h));
  return {};
}

Status AddressPolicy::check_host(std::string_view host) const {
  GLM_TRY(normalize_host(host));
  GLM_TRY(parse_ip_literal(host));
  if (allow_hosts.empty()) return {};
  for (const auto& p : allow_hosts)
    if (host_matches(host, p)) return {};
  return make_error(ErrorCode::forbidden, "host \"" + std::string(host) + "\" is not in allow_hosts");
}

Status AddressPolicy::check_address(const IpAddress& a) const {
  AddressClass c = classify(a);
  if (c == AddressClass::global) return {};
  std::optional<IpAddress> inner = embedded_ipv4(a);
  for (const auto& e : allow_private) {
    auto p = parse_prefix(e);
    if (!p) continue;
    if (prefix_contains(*p, a) || (inner && prefix_contains(*p, *inner))) return {};
  }
  if (allow_all_private && c != AddressClass::metadata) return {};
  return make_error(ErrorCode::forbidden, "address " + a.to_string() + " is " + std::string(class_name(c)) +
                                              " and not allowed (allow_private)");
}

}  // namespace glm::tools::http
