// grammars/json_values.cpp — bounded numbers on decimal digits, and string formats as regexes.
#include "grammars/json_values.h"

#include <cctype>
#include <vector>

#include "grammars/regex.h"

namespace glm::grammar {

std::optional<DecimalBound> decimal_from_text(const std::string& text, bool strict) {
  DecimalBound b;
  b.strict = strict;
  size_t i = 0;
  if (i < text.size() && text[i] == '-') { b.negative = true; ++i; }
  std::string digits;
  long point = -1;
  for (; i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'); ++i) {
    if (text[i] == '.') point = static_cast<long>(digits.size());
    else digits.push_back(text[i]);
  }
  if (digits.empty()) return std::nullopt;
  if (point < 0) point = static_cast<long>(digits.size());
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) eneg = text[i++] == '-';
    long e = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      e = e * 10 + (text[i] - '0');
      if (e > 400) return std::nullopt;
    }
    point += eneg ? -e : e;
  }
  if (i != text.size()) return std::nullopt;
  while (point <= 0) { digits.insert(digits.begin(), '0'); ++point; }
  while (static_cast<long>(digits.size()) < point) digits.push_back('0');
  std::string ip = digits.substr(0, point), fp = digits.substr(point);
  size_t nz = ip.find_first_not_of('0');
  ip = nz == std::string::npos ? "0" : ip.substr(nz);
  while (!fp.empty() && fp.back() == '0') fp.pop_back();
  b.int_digits = ip;
  b.frac_digits = fp;
  if (ip == "0" && fp.empty()) b.negative = false;  // -0 is 0
  return b;
}

namespace {

ExprId digit(ExprPool& p) { return p.byte_range('0', '9'); }
ExprId digits_n(ExprPool& p, uint32_t lo, uint32_t hi) { return p.repeat(digit(p), lo, hi); }

// Canonical non-negative integers (0 | [1-9][0-9]*) greater than s.
ExprId int_gt(ExprPool& p, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  std::vector<ExprId> alts;
  alts.push_back(p.seq(p.byte_range('1', '9'), digits_n(p, n, kInf)));  // more digits
  for (uint32_t i = 0; i < n; ++i) {
    unsigned d = s[i] - '0';
    if (d == 9) continue;
    ExprId e = p.seq({p.literal(s.substr(0, i)), p.byte_range('0' + d + 1, '9'), digits_n(p, n - 1 - i, n - 1 - i)});
    if (i == 0 && n > 1 && d + 1 > 9) continue;
    alts.push_back(e);
  }
  return p.alt(alts);
}

// Canonical non-negative integers less than s.
ExprId int_lt(ExprPool& p, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  std::vector<ExprId> alts;
  if (n >= 2) {
    alts.push_back(p.byte('0'));
    alts.push_back(p.seq(p.byte_range('1', '9'), digits_n(p, 0, n - 2)));
  }
  for (uint32_t i = 0; i < n; ++i) {
    unsigned d = s[i] - '0';
    unsigned lo = (i == 0 && n > 1) ? 1 : 0;
    if (d == 0 || d - 1 < lo) continue;
    alts.push_back(p.seq({p.literal(s.substr(0, i)), p.byte_range('0' + lo, '0' + d - 1), digits_n(p, n - 1 - i, n - 1 - i)}));
  }
  return p.alt(alts);
}

ExprId frac_any(ExprPool& p, bool integer_only) {
  return integer_only ? ExprPool::kEps : p.opt(p.seq(p.byte('.'), p.plus(digit(p))));
}

// Optional fraction with value >= 0.f (> when strict).
ExprId frac_ge(ExprPool& p, const std::string& f, bool strict, bool integer_only) {
  if (integer_only) return (f.empty() && !strict) ? ExprPool::kEps : ExprPool::kEmpty;
  ExprId any_digits = p.star(digit(p));
  ExprId nonzero_tail = p.seq({any_digits, p.byte_range('1', '9'), any_digits});
  if (f.empty()) return strict ? p.seq(p.byte('.'), nonzero_tail) : frac_any(p, false);
  std::vector<ExprId> alts;
  for (size_t i = 0; i < f.size(); ++i) {
    unsigned d = f[i] - '0';
    if (d == 9) continue;
    alts.push_back(p.seq({p.literal(f.substr(0, i)), p.byte_range('0' + d + 1, '9'), any_digits}));
  }
  alts.push_back(p.seq(p.literal(f), strict ? nonzero_tail : any_digits));
  return p.seq(p.byte('.'), p.alt(alts));
}

// Optional fraction with value <= 0.f (< when strict).
ExprId frac_le(ExprPool& p, const std::string& f, bool strict, bool integer_only) {
  if (integer_only) return (!f.empty() || !strict) ? ExprPool::kEps : ExprPool::kEmpty;
  ExprId zeros = p.star(p.byte('0'));
  if (f.empty()) return strict ? ExprPool::kEmpty : p.opt(p.seq(p.byte('.'), p.plus(p.byte('0'))));
  ExprId any_digits = p.star(digit(p));
  std::vector<ExprId> alts;
  for (size_t i = 0; i < f.size(); ++i) {
    unsigned d = f[i] - '0';
    if (d > 0) alts.push_back(p.seq({p.literal(f.substr(0, i)), p.byte_range('0', '0' + d - 1), any_digits}));
    // A proper prefix followed by zeros (at least one digit in all).
    if (i == 0) alts.push_back(p.plus(p.byte('0')));
    else alts.push_back(p.seq(p.literal(f.substr(0, i)), zeros));
  }
  if (!strict) alts.push_back(p.seq(p.literal(f), zeros));
  return p.opt(p.seq(p.byte('.'), p.alt(alts)));
}

ExprId ge(ExprPool& p, const DecimalBound& b, bool io) {
  return p.alt(p.seq(int_gt(p, b.int_digits), frac_any(p, io)),
               p.seq(p.literal(b.int_digits), frac_ge(p, b.frac_digits, b.strict, io)));
}
ExprId le(ExprPool& p, const DecimalBound& b, bool io) {
  return p.alt(p.seq(int_lt(p, b.int_digits), frac_any(p, io)),
               p.seq(p.literal(b.int_digits), frac_le(p, b.frac_digits, b.strict, io)));
}

bool is_zero(const DecimalBound& b) { return b.int_digits == "0" && b.frac_digits.empty(); }

}  // namespace

ExprId json_number_expr(ExprPool& p, const std::optional<DecimalBound>& lo, const std::optional<DecimalBound>& hi,
                        bool io) {
  ExprId int_part = p.alt(p.byte('0'), p.seq(p.byte_range('1', '9'), p.star(digit(p))));
  if (!lo && !hi) {
    if (io) return p.alt(p.byte('0'), p.seq({p.opt(p.byte('-')), p.byte_range('1', '9'), p.star(digit(p))}));
    ExprId exp = p.opt(p.seq({p.alt(p.byte('e'), p.byte('E')), p.opt(p.alt(p.byte('+'), p.byte('-'))), p.plus(digit(p))}));
    return p.seq({p.opt(p.byte('-')), int_part, frac_any(p, false), exp});
  }
  ExprId d = p.seq(int_part, frac_any(p, io));
  std::vector<ExprId> branches;
  // x >= 0, written without '-'.
  bool nonneg_possible = !hi || (!hi->negative && !(is_zero(*hi) && hi->strict));
  if (nonneg_possible) {
    std::vector<ExprId> parts{d};
    if (lo && !lo->negative) parts.push_back(ge(p, *lo, io));
    if (hi) parts.push_back(le(p, *hi, io));
    branches.push_back(p.conj(parts));
  }
  // x < 0: x = -y with y > 0.
  bool neg_possible = !lo || lo->negative;
  if (neg_possible) {
    DecimalBound zero;
    zero.strict = true;
    std::vector<ExprId> parts{d, ge(p, zero, io)};
    if (lo) { DecimalBound m = *lo; m.negative = false; parts.push_back(le(p, m, io)); }
    if (hi && hi->negative) { DecimalBound m = *hi; m.negative = false; parts.push_back(ge(p, m, io)); }
    branches.push_back(p.seq(p.byte('-'), p.conj(parts)));
  }
  return p.alt(branches);
}

namespace {

std::string ipv6_regex() {
  const std::string h = "[0-9a-fA-F]{1,4}";
  const std::string v4o = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  const std::string v4 = v4o + "\\." + v4o + "\\." + v4o + "\\." + v4o;
  auto groups = [&](int n, bool trailing_colon) -> std::string {
    if (n == 0) return "";
    if (trailing_colon) return "(" + h + ":){" + std::to_string(n) + "}";
    return h + "(:" + h + "){" + std::to_string(n - 1) + "}";
  };
  std::vector<std::string> alts;
  alts.push_back(groups(7, true) + h);
  alts.push_back(groups(6, true) + v4);
  for (int a = 0; a <= 7; ++a)
    for (int b = 0; a + b <= 7; ++b) alts.push_back(groups(a, false) + "::" + groups(b, false));
  for (int a = 0; a <= 5; ++a)
    for (int b = 0; a + b <= 5; ++b) alts.push_back(groups(a, false) + "::" + groups(b, true) + v4);
  std::string r;
  for (size_t i = 0; i < alts.size(); ++i) r += (i ? "|" : "") + std::string("(") + alts[i] + ")";
  return r;
}

// RFC 3986. absolute: URI (scheme required); otherwise URI-reference (a URI or a relative reference).
std::string uri_regex(bool reference) {
  const std::string unreserved = "A-Za-z0-9\\-._~";
  const std::string sub = "!$&'()*+,;=";
  const std::string pct = "%[0-9A-Fa-f]{2}";
  const std::string pchar = "([" + unreserved + sub + ":@]|" + pct + ")";
  const std::string v4o = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  const std::string v4 = v4o + "\\." + v4o + "\\." + v4o + "\\." + v4o;
  const std::string ip_literal = "\\[((" + ipv6_regex() + ")|v[0-9A-Fa-f]+\\.[" + unreserved + sub + ":]+)\\]";
  const std::string reg_name = "([" + unreserved + sub + "]|" + pct + ")*";
  const std::string host = "(" + ip_literal + "|" + v4 + "|" + reg_name + ")";
  const std::string userinfo = "([" + unreserved + sub + ":]|" + pct + ")*";
  const std::string authority = "(" + userinfo + "@)?" + host + "(:[0-9]*)?";
  const std::string segment = pchar + "*";
  const std::string segment_nz = pchar + "+";
  const std::string segment_nz_nc = "([" + unreserved + sub + "@]|" + pct + ")+";
  const std::string hier = "(//" + authority + "(/" + segment + ")*|/(" + segment_nz + "(/" + segment + ")*)?|" +
                           segment_nz + "(/" + segment + ")*|)";
  const std::string qf = "(" + pchar + "|[/?])*";
  const std::string uri = "[A-Za-z][A-Za-z0-9+.\\-]*:" + hier + "(\\?" + qf + ")?(#" + qf + ")?";
  if (!reference) return uri;
  const std::string relative = "(//" + authority + "(/" + segment + ")*|/(" + segment_nz + "(/" + segment + ")*)?|" +
                               segment_nz_nc + "(/" + segment + ")*|)";
  return "(" + uri + ")|(" + relative + "(\\?" + qf + ")?(#" + qf + ")?)";
}

const char* kDate =
    "([0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
    "|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)";
// Leap seconds (:60) are left out: whether one is valid depends on the offset (narrowing, never a false accept).
const char* kTime = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?([Zz]|[+\\-]([01][0-9]|2[0-3]):[0-5][0-9])";
// Labels of 1..63 letters, digits and inner hyphens, never "--" at positions 3-4 (that marks IDNA labels,
// whose validity is not checked: left out), 1..253 characters in all.
#define GLM_A "[A-Za-z0-9]"
#define GLM_M "[A-Za-z0-9\\-]"
const char* kLabel = "(" GLM_A "|" GLM_A GLM_A "|" GLM_A GLM_M GLM_A "|" GLM_A GLM_M GLM_M GLM_A "|" GLM_A GLM_M "(" GLM_A GLM_M
                     "|" GLM_M GLM_A ")" GLM_M "{0,58}" GLM_A ")";
#undef GLM_A
#undef GLM_M

}  // namespace

Result<ExprId> json_format_expr(ExprPool& p, const std::string& format) {
  auto re = [&](const std::string& pattern) -> Result<ExprId> {
    return regex_to_expr(p, pattern, RegexMode::json_string, false);
  };
  auto hostname = [&]() -> Result<ExprId> {
    auto label = re(kLabel);
    if (!label) return make_error(ErrorCode::internal, "format regex: " + label.error().message);
    ExprId l = *label;
    ExprId host = p.seq(l, p.star(p.seq(p.byte('.'), l)));
    auto len = re(".{1,253}");
    return p.conj(host, *len);
  };
  if (format == "date") return re(kDate);
  if (format == "time") return re(kTime);
  if (format == "date-time") return re(std::string(kDate) + "[Tt]" + kTime);
  if (format == "uuid") return re("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  if (format == "ipv4") {
    const std::string o = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    return re(o + "\\." + o + "\\." + o + "\\." + o);
  }
  if (format == "ipv6") return re(ipv6_regex());
  if (format == "hostname") return hostname();
  if (format == "email") {
    auto local = re("[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-]+)*");
    auto host = hostname();
    if (!local || !host) return make_error(ErrorCode::internal, "format regex");
    return p.seq({*local, p.byte('@'), *host});
  }
  // IRIs are checked as URIs (every URI is an IRI): non-ASCII IRIs are refused, never a false accept.
  if (format == "uri" || format == "iri") return re(uri_regex(false));
  if (format == "uri-reference" || format == "iri-reference") return re(uri_regex(true));
  if (format == "json-pointer") return re("(/([^/~]|~[01])*)*");
  // Without the index-manipulation extension (narrower than the draft: never a false accept).
  if (format == "relative-json-pointer") return re("(0|[1-9][0-9]*)(#|(/([^/~]|~[01])*)*)");
  if (format == "duration") {
    const std::string t = "T([0-9]+H([0-9]+M([0-9]+S)?)?|[0-9]+M([0-9]+S)?|[0-9]+S)";
    return re("P((([0-9]+D|[0-9]+M([0-9]+D)?|[0-9]+Y([0-9]+M([0-9]+D)?)?)(" + t + ")?)|" + t + "|[0-9]+W)");
  }
  if (format == "uri-template") {
    const std::string lit = "([!#$&()*+,\\-./0-9:;=?@A-Z\\[\\]_a-z~]|%[0-9A-Fa-f]{2})";
    const std::string varchar = "([A-Za-z0-9_]|%[0-9A-Fa-f]{2})";
    const std::string varspec = varchar + "(\\.?" + varchar + ")*(:[1-9][0-9]{0,3}|\\*)?";
    const std::string expr = "\\{[+#./;?&=,!@|]?" + varspec + "(," + varspec + ")*\\}";
    return re("(" + lit + "|" + expr + ")*");
  }
  return make_error(ErrorCode::unsupported, "format '" + format + "' is not supported");
}

}  // namespace glm::grammar
