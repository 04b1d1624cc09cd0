// grammars/expr.cpp — interning, normalising constructors and derivatives of grammar expressions.
#include "grammars/expr.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <unordered_set>

namespace glm::grammar {

int ByteSet::count() const {
  return __builtin_popcountll(w[0]) + __builtin_popcountll(w[1]) + __builtin_popcountll(w[2]) +
         __builtin_popcountll(w[3]);
}
ByteSet ByteSet::operator|(const ByteSet& o) const {
  ByteSet r;
  for (int i = 0; i < 4; ++i) r.w[i] = w[i] | o.w[i];
  return r;
}
ByteSet ByteSet::operator~() const {
  ByteSet r;
  for (int i = 0; i < 4; ++i) r.w[i] = ~w[i];
  return r;
}

ExprPool::ExprPool() {
  intern_.reserve(1024);
  deriv_memo_.reserve(1024);
  intern(ExprNode{ExprKind::empty, false});
  intern(ExprNode{ExprKind::eps, true});
}

namespace {
inline uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h * 0xFF51AFD7ED558CCDull;
}
}  // namespace

ExprId ExprPool::intern(ExprNode n, std::span<const ExprId> kids) {
  // Structural hash; equal nodes are found through a chain of ids with the same hash.
  uint64_t h = mix(0, static_cast<uint64_t>(n.kind));
  if (n.kind == ExprKind::bytes) {
    for (uint64_t w : sets_[n.a].w) h = mix(h, w);
  } else if (n.kind == ExprKind::alt || n.kind == ExprKind::conj) {
    for (ExprId k : kids) h = mix(h, k);
  } else {
    h = mix(mix(h, n.a), n.b);
    if (n.kind == ExprKind::repeat) h = mix(mix(h, n.min), n.max);
  }
  auto same = [&](ExprId id) {
    const ExprNode& m = nodes_[id];
    if (m.kind != n.kind) return false;
    if (n.kind == ExprKind::bytes) return sets_[m.a] == sets_[n.a];
    if (n.kind == ExprKind::alt || n.kind == ExprKind::conj) {
      if (m.b != kids.size()) return false;
      return std::equal(kids.begin(), kids.end(), kids_.begin() + m.a);
    }
    return m.a == n.a && m.b == n.b && (n.kind != ExprKind::repeat || (m.min == n.min && m.max == n.max));
  };
  auto it = intern_.find(h);
  if (it != intern_.end()) {
    for (ExprId id = it->second; id != kInf; id = chain_[id])
      if (same(id)) {
        if (n.kind == ExprKind::bytes) sets_.pop_back();  // the caller pushed a duplicate set
        return id;
      }
  }
  if (n.kind == ExprKind::alt || n.kind == ExprKind::conj) {
    for (ExprId k : kids) { n.boolean |= nodes_[k].boolean; n.has_calls |= nodes_[k].has_calls; }
    n.a = static_cast<uint32_t>(kids_.size());
    n.b = static_cast<uint32_t>(kids.size());
    kids_.insert(kids_.end(), kids.begin(), kids.end());
  }
  if (n.kind == ExprKind::seq) {
    n.boolean = nodes_[n.a].boolean || nodes_[n.b].boolean;
    n.has_calls = nodes_[n.a].has_calls || nodes_[n.b].has_calls;
  } else if (n.kind == ExprKind::repeat || n.kind == ExprKind::neg) {
    n.boolean = n.kind == ExprKind::neg || nodes_[n.a].boolean;
    n.has_calls = nodes_[n.a].has_calls;
  } else if (n.kind == ExprKind::conj) {
    n.boolean = true;
  } else if (n.kind == ExprKind::call || n.kind == ExprKind::token) {
    n.has_calls = true;
  }
  ExprId id = static_cast<ExprId>(nodes_.size());
  nodes_.push_back(n);
  if (it != intern_.end()) {
    chain_.push_back(it->second);
    it->second = id;
  } else {
    chain_.push_back(kInf);
    intern_.emplace(h, id);
  }
  return id;
}

ExprId ExprPool::bytes(const ByteSet& set) {
  if (set.empty()) return kEmpty;
  sets_.push_back(set);
  return intern(ExprNode{ExprKind::bytes, false, static_cast<uint32_t>(sets_.size() - 1)});
}
ExprId ExprPool::byte(unsigned b) {
  ByteSet s;
  s.set(b);
  return bytes(s);
}
ExprId ExprPool::byte_range(unsigned lo, unsigned hi) {
  ByteSet s;
  s.set_range(lo, hi);
  return bytes(s);
}
ExprId ExprPool::literal(std::string_view s) {
  ExprId r = kEps;
  for (size_t i = s.size(); i-- > 0;) r = seq(byte(static_cast<unsigned char>(s[i])), r);
  return r;
}
ExprId ExprPool::call(uint32_t rule) { return intern(ExprNode{ExprKind::call, false, rule}); }
ExprId ExprPool::token(uint32_t id) { return intern(ExprNode{ExprKind::token, false, id}); }

ExprId ExprPool::seq(ExprId a, ExprId b) {
  if (a == kEmpty || b == kEmpty) return kEmpty;
  if (a == kEps) return b;
  if (b == kEps) return a;
  const ExprNode& na = nodes_[a];
  if (na.kind == ExprKind::seq) {
    ExprId head = na.a, tail = na.b;
    return seq(head, seq(tail, b));
  }
  return intern(ExprNode{ExprKind::seq, nodes_[a].nullable && nodes_[b].nullable, a, b});
}

ExprId ExprPool::seq(std::span<const ExprId> parts) {
  ExprId r = kEps;
  for (size_t i = parts.size(); i-- > 0;) r = seq(parts[i], r);
  return r;
}

ExprId ExprPool::alt(ExprId a, ExprId b) {
  ExprId p[2] = {a, b};
  return alt(std::span<const ExprId>(p, 2));
}

ExprId ExprPool::alt(std::span<const ExprId> parts) {
  std::vector<ExprId> flat;
  flat.reserve(parts.size());
  ByteSet merged;
  bool have_bytes = false;
  bool any_nullable = false;
  bool has_eps = false;
  std::function<void(ExprId)> add = [&](ExprId e) {
    const ExprNode& n = nodes_[e];
    if (n.kind == ExprKind::empty) return;
    if (n.kind == ExprKind::alt) {
      for (uint32_t i = 0; i < n.b; ++i) add(kids_[n.a + i]);
      return;
    }
    if (n.kind == ExprKind::bytes) {
      merged = merged | sets_[n.a];
      have_bytes = true;
      return;
    }
    if (n.kind == ExprKind::eps) { has_eps = true; return; }
    if (n.nullable) any_nullable = true;
    flat.push_back(e);
  };
  for (ExprId e : parts) add(e);
  if (have_bytes) flat.push_back(bytes(merged));
  if (has_eps && !any_nullable) flat.push_back(kEps);
  std::sort(flat.begin(), flat.end());
  flat.erase(std::unique(flat.begin(), flat.end()), flat.end());
  if (flat.empty()) return kEmpty;
  if (flat.size() == 1) return flat[0];
  bool nullable = false;
  for (ExprId e : flat) nullable |= nodes_[e].nullable;
  return intern(ExprNode{ExprKind::alt, nullable}, flat);
}

ExprId ExprPool::repeat(ExprId e, uint32_t min, uint32_t max) {
  if (max == 0) return kEps;
  if (e == kEmpty) return min == 0 ? kEps : kEmpty;
  if (e == kEps) return kEps;
  if (min == 1 && max == 1) return e;
  if (min > max) return kEmpty;
  const ExprNode& n = nodes_[e];
  if (n.nullable) min = 0;
  // (x*){0,n} = x* and (x*)* = x*.
  if (n.kind == ExprKind::repeat && n.min == 0 && n.max == kInf && min == 0) return e;
  return intern(ExprNode{ExprKind::repeat, min == 0, e, 0, min, max});
}

ExprId ExprPool::conj(ExprId a, ExprId b) {
  ExprId p[2] = {a, b};
  return conj(std::span<const ExprId>(p, 2));
}

ExprId ExprPool::conj(std::span<const ExprId> parts) {
  std::vector<ExprId> flat;
  bool empty = false;
  std::function<void(ExprId)> add = [&](ExprId e) {
    const ExprNode& n = nodes_[e];
    if (n.kind == ExprKind::empty) { empty = true; return; }
    if (n.kind == ExprKind::conj) {
      for (uint32_t i = 0; i < n.b; ++i) add(kids_[n.a + i]);
      return;
    }
    if (n.kind == ExprKind::neg && n.a == kEmpty) return;  // the universal language
    flat.push_back(e);
  };
  for (ExprId e : parts) add(e);
  if (empty) return kEmpty;
  std::sort(flat.begin(), flat.end());
  flat.erase(std::unique(flat.begin(), flat.end()), flat.end());
  if (flat.empty()) return neg(kEmpty);
  if (flat.size() == 1) return flat[0];
  // eps & x = eps if x nullable else empty.
  bool nullable = true;
  for (ExprId e : flat) nullable &= nodes_[e].nullable;
  for (ExprId e : flat)
    if (e == kEps) return nullable ? kEps : kEmpty;
  // A byte set & (a byte set) = intersection.
  return intern(ExprNode{ExprKind::conj, nullable}, flat);
}

ExprId ExprPool::neg(ExprId a) {
  if (nodes_[a].kind == ExprKind::neg) return nodes_[a].a;
  return intern(ExprNode{ExprKind::neg, !nodes_[a].nullable, a});
}

// UTF-8 encoding of [lo, hi], split so that each piece is a sequence of byte ranges.
ExprId ExprPool::utf8_range(uint32_t lo, uint32_t hi) {
  static const uint32_t kMax[4] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
  std::vector<ExprId> alts;
  for (int n = 1; n <= 4; ++n) {
    uint32_t nlo = n == 1 ? 0 : kMax[n - 2] + 1, nhi = kMax[n - 1];
    uint32_t a = std::max(lo, nlo), b = std::min(hi, nhi);
    if (a > b) continue;
    if (n == 1) { alts.push_back(byte_range(a, b)); continue; }
    // Enumerate maximal aligned blocks.
    std::vector<ExprId> pieces;
    uint32_t x = a;
    while (x <= b) {
      // Largest k such that x is aligned to 2^(6k) and x + 2^(6k) - 1 <= b, k < n.
      int k = 0;
      while (k + 1 < n) {
        uint32_t size = uint32_t{1} << (6 * (k + 1));
        if ((x & (size - 1)) != 0 || x + size - 1 > b) break;
        ++k;
      }
      // The block [x, x + 2^(6k) - 1]: fixed leading bytes, then k free continuation bytes. Extend the
      // last fixed byte to a range when consecutive blocks share the earlier bytes.
      uint32_t block = uint32_t{1} << (6 * k);
      uint32_t count = 1;
      uint32_t parent = uint32_t{1} << (6 * (k + 1));
      while (x + (count + 1) * block - 1 <= b && ((x + count * block) & (parent - 1)) != 0) ++count;
      uint32_t last = x + count * block - 1;
      // bytes for x (first) and last differ only in the byte at position k (from the right).
      std::vector<ExprId> seqv;
      for (int pos = n - 1; pos >= 0; --pos) {
        int sh = 6 * pos;
        auto enc = [&](uint32_t v) -> unsigned {
          if (pos == n - 1) {
            unsigned prefix = n == 2 ? 0xC0 : n == 3 ? 0xE0 : 0xF0;
            return prefix | (v >> sh);
          }
          return 0x80 | ((v >> sh) & 0x3F);
        };
        if (pos > k) seqv.push_back(byte(enc(x)));
        else if (pos == k) seqv.push_back(byte_range(enc(x), enc(last)));
        else seqv.push_back(byte_range(0x80, 0xBF));
      }
      pieces.push_back(seq(seqv));
      x = last + 1;
      if (last == 0xFFFFFFFF) break;
    }
    alts.push_back(alt(pieces));
  }
  return alt(alts);
}

ExprId ExprPool::code_points(uint32_t lo, uint32_t hi) {
  if (hi > 0x10FFFF) hi = 0x10FFFF;
  if (lo > hi) return kEmpty;
  if (lo <= 0xDFFF && hi >= 0xD800) {
    ExprId a = lo < 0xD800 ? utf8_range(lo, 0xD7FF) : kEmpty;
    ExprId b = hi > 0xDFFF ? utf8_range(0xE000, hi) : kEmpty;
    return alt(a, b);
  }
  return utf8_range(lo, hi);
}

ExprId ExprPool::code_point_set(const std::vector<std::pair<uint32_t, uint32_t>>& ranges) {
  std::vector<ExprId> parts;
  for (auto [lo, hi] : ranges) parts.push_back(code_points(lo, hi));
  return alt(parts);
}

ExprId ExprPool::literal_set(std::vector<std::string> strings) {
  std::sort(strings.begin(), strings.end());
  strings.erase(std::unique(strings.begin(), strings.end()), strings.end());
  // Recursive factoring on the first byte over the sorted range [lo, hi) at depth d.
  std::function<ExprId(size_t, size_t, size_t)> build = [&](size_t lo, size_t hi, size_t d) -> ExprId {
    std::vector<ExprId> parts;
    size_t i = lo;
    if (i < hi && strings[i].size() == d) { parts.push_back(kEps); ++i; }
    while (i < hi) {
      unsigned char c = static_cast<unsigned char>(strings[i][d]);
      size_t j = i;
      while (j < hi && static_cast<unsigned char>(strings[j][d]) == c) ++j;
      parts.push_back(seq(byte(c), build(i, j, d + 1)));
      i = j;
    }
    return alt(parts);
  };
  return build(0, strings.size(), 0);
}

ExprId ExprPool::substitute_calls(ExprId e, const std::vector<ExprId>& inline_body) {
  std::unordered_map<ExprId, ExprId> memo;
  std::function<ExprId(ExprId)> go = [&](ExprId x) -> ExprId {
    auto it = memo.find(x);
    if (it != memo.end()) return it->second;
    ExprNode n = nodes_[x];
    ExprId r = x;
    switch (n.kind) {
      case ExprKind::call:
        if (n.a < inline_body.size() && inline_body[n.a] != kInf) r = inline_body[n.a];
        break;
      case ExprKind::seq: {
        ExprId h = go(n.a), t = go(n.b);
        r = seq(h, t);
        break;
      }
      case ExprKind::alt: {
        std::vector<ExprId> ks(kids(x).begin(), kids(x).end());
        for (auto& k : ks) k = go(k);
        r = alt(ks);
        break;
      }
      case ExprKind::repeat: r = repeat(go(n.a), n.min, n.max); break;
      case ExprKind::conj: {
        std::vector<ExprId> ks(kids(x).begin(), kids(x).end());
        for (auto& k : ks) k = go(k);
        r = conj(ks);
        break;
      }
      case ExprKind::neg: r = neg(go(n.a)); break;
      default: break;
    }
    memo[x] = r;
    return r;
  };
  return go(e);
}

ExprId ExprPool::deriv(ExprId e, uint32_t sym) {
  const ExprNode n = nodes_[e];
  switch (n.kind) {
    case ExprKind::empty:
    case ExprKind::eps: return kEmpty;
    case ExprKind::bytes: return sym < 256 && sets_[n.a].test(sym) ? kEps : kEmpty;
    case ExprKind::call: return sym == sym_call(n.a) ? kEps : kEmpty;
    case ExprKind::token: return sym == sym_token(n.a) ? kEps : kEmpty;
    default: break;
  }
  uint64_t key = (uint64_t{e} << 32) | sym;
  auto it = deriv_memo_.find(key);
  if (it != deriv_memo_.end()) return it->second;
  ExprId r = kEmpty;
  if (n.kind == ExprKind::seq) {
    ExprId d1 = seq(deriv(n.a, sym), n.b);
    r = nodes_[n.a].nullable ? alt(d1, deriv(n.b, sym)) : d1;
  } else if (n.kind == ExprKind::alt) {
    std::vector<ExprId> ds;
    for (uint32_t i = 0; i < n.b; ++i) ds.push_back(deriv(kids_[n.a + i], sym));
    r = alt(ds);
  } else if (n.kind == ExprKind::conj) {
    std::vector<ExprId> ds;
    for (uint32_t i = 0; i < n.b; ++i) {
      ds.push_back(deriv(kids_[n.a + i], sym));
      if (ds.back() == kEmpty) break;
    }
    r = conj(ds);
  } else if (n.kind == ExprKind::neg) {
    r = sym < 256 ? neg(deriv(n.a, sym)) : kEmpty;
  } else if (n.kind == ExprKind::repeat) {
    ExprId d = deriv(n.a, sym);
    if (d != kEmpty) {
      uint32_t mn = n.min > 0 ? n.min - 1 : 0;
      uint32_t mx = n.max == kInf ? kInf : n.max - 1;
      r = seq(d, repeat(n.a, mn, mx));
    }
  }
  deriv_memo_[key] = r;
  return r;
}

void ExprPool::first_symbols(ExprId e, std::vector<uint32_t>* byte_sets, std::vector<uint32_t>* calls,
                             std::vector<uint32_t>* tokens, bool* any_byte) {
  *any_byte = false;
  // Visited marks by epoch: no allocation per call.
  if (visit_mark_.size() < nodes_.size()) visit_mark_.resize(nodes_.size() + nodes_.size() / 2, 0);
  if (++visit_epoch_ == 0) {
    std::fill(visit_mark_.begin(), visit_mark_.end(), 0);
    visit_epoch_ = 1;
  }
  std::vector<ExprId>& stack = visit_stack_;
  stack.clear();
  stack.push_back(e);
  while (!stack.empty()) {
    ExprId x = stack.back();
    stack.pop_back();
    if (visit_mark_[x] == visit_epoch_) continue;
    visit_mark_[x] = visit_epoch_;
    const ExprNode& n = nodes_[x];
    switch (n.kind) {
      case ExprKind::bytes: byte_sets->push_back(n.a); break;
      case ExprKind::call: calls->push_back(n.a); break;
      case ExprKind::token: tokens->push_back(n.a); break;
      case ExprKind::seq:
        stack.push_back(n.a);
        if (nodes_[n.a].nullable) stack.push_back(n.b);
        break;
      case ExprKind::alt:
      case ExprKind::conj:
        for (uint32_t i = 0; i < n.b; ++i) stack.push_back(kids_[n.a + i]);
        break;
      case ExprKind::repeat: stack.push_back(n.a); break;
      case ExprKind::neg: *any_byte = true; stack.push_back(n.a); break;
      default: break;
    }
  }
  std::sort(calls->begin(), calls->end());
  calls->erase(std::unique(calls->begin(), calls->end()), calls->end());
  std::sort(tokens->begin(), tokens->end());
  tokens->erase(std::unique(tokens->begin(), tokens->end()), tokens->end());
}

size_t ExprPool::reach_size(ExprId e, size_t cap) const {
  std::unordered_set<ExprId> seen;
  std::vector<ExprId> stack{e};
  while (!stack.empty() && seen.size() < cap) {
    ExprId x = stack.back();
    stack.pop_back();
    if (!seen.insert(x).second) continue;
    const ExprNode& n = nodes_[x];
    if (n.kind == ExprKind::seq) { stack.push_back(n.a); stack.push_back(n.b); }
    if (n.kind == ExprKind::alt || n.kind == ExprKind::conj)
      for (uint32_t i = 0; i < n.b; ++i) stack.push_back(kids_[n.a + i]);
    if (n.kind == ExprKind::repeat || n.kind == ExprKind::neg) stack.push_back(n.a);
  }
  return seen.size();
}

namespace {
void append_byte(std::string& out, unsigned b) {
  static const char* hex = "0123456789ABCDEF";
  if (b >= 0x20 && b < 0x7F && b != '"' && b != '\\' && b != ']' && b != '[' && b != '-' && b != '^') {
    out.push_back(static_cast<char>(b));
  } else {
    out += "\\x";
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
}
}  // namespace

std::string ExprPool::to_string(ExprId e) const {
  const ExprNode& n = nodes_[e];
  switch (n.kind) {
    case ExprKind::empty: return "[]";
    case ExprKind::eps: return "\"\"";
    case ExprKind::bytes: {
      std::string s = "[";
      const ByteSet& set = sets_[n.a];
      for (unsigned b = 0; b < 256; ++b) {
        if (!set.test(b)) continue;
        unsigned c = b;
        while (c + 1 < 256 && set.test(c + 1)) ++c;
        append_byte(s, b);
        if (c > b) { s.push_back('-'); append_byte(s, c); }
        b = c;
      }
      return s + "]";
    }
    case ExprKind::call: return "r" + std::to_string(n.a);
    case ExprKind::token: return "<[" + std::to_string(n.a) + "]>";
    case ExprKind::seq: return "(" + to_string(n.a) + " " + to_string(n.b) + ")";
    case ExprKind::alt: {
      std::string s = "(";
      for (uint32_t i = 0; i < n.b; ++i) s += (i ? " | " : "") + to_string(kids_[n.a + i]);
      return s + ")";
    }
    case ExprKind::conj: {
      std::string s = "(";
      for (uint32_t i = 0; i < n.b; ++i) s += (i ? " & " : "") + to_string(kids_[n.a + i]);
      return s + ")";
    }
    case ExprKind::neg: return "!(" + to_string(n.a) + ")";
    case ExprKind::repeat:
      return "(" + to_string(n.a) + "){" + std::to_string(n.min) + "," +
             (n.max == kInf ? std::string() : std::to_string(n.max)) + "}";
  }
  return "?";
}

}  // namespace glm::grammar
