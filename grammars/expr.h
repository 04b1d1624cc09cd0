// grammars/expr.h — byte-level grammar expressions, hash-consed, with Brzozowski derivatives.
//
// An expression is a regular expression over three kinds of symbols: bytes, calls of grammar rules (a
// rule reference, resolved by the Earley layer) and special tokens (matched by id, never by spelling).
// Nodes are interned in an ExprPool: structurally equal expressions get the same ExprId, and the smart
// constructors normalise (seq is right-nested, alt is flattened / sorted / deduplicated with its byte
// sets merged, counted repetition x{m,n} stays one node), so derivatives reach finitely many states.
// Counted repetition is never unrolled: d(x{m,n}) = d(x) x{m-1,n-1}, so `maxLength: 100000` costs
// states only as far as the text actually goes.
//
// Owns: all its nodes. Threads: one thread at a time (CompiledGrammar serialises access).
// Errors: none; the pool only grows.
#pragma once

#include <array>
#include <initializer_list>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace glm::grammar {

using ExprId = uint32_t;
inline constexpr uint32_t kInf = UINT32_MAX;  // unbounded repetition

// A set of bytes (256 bits).
struct ByteSet {
  std::array<uint64_t, 4> w{};
  bool test(unsigned b) const { return (w[b >> 6] >> (b & 63)) & 1; }
  void set(unsigned b) { w[b >> 6] |= uint64_t{1} << (b & 63); }
  void set_range(unsigned lo, unsigned hi) { for (unsigned b = lo; b <= hi; ++b) set(b); }
  bool empty() const { return !(w[0] | w[1] | w[2] | w[3]); }
  int count() const;
  ByteSet operator|(const ByteSet& o) const;
  ByteSet operator~() const;
  bool operator==(const ByteSet& o) const { return w == o.w; }
};

enum class ExprKind : uint8_t {
  empty,   // matches nothing
  eps,     // matches the empty string
  bytes,   // one byte from a ByteSet (a = index of the set)
  call,    // a call of rule a
  token,   // the special token with id a
  seq,     // a then b
  alt,     // one of children (kids_[a .. a+b))
  repeat,  // a repeated min..max times (max may be kInf)
  conj,    // all of children (kids_[a .. a+b)); only over call-free expressions
  neg,     // any byte string that a does not match; only over call-free expressions
};

struct ExprNode {
  ExprKind kind;
  bool nullable;
  uint32_t a = 0, b = 0;
  uint32_t min = 0, max = 0;
  bool boolean = false;    // contains conj or neg (its language may be empty although it is not kEmpty)
  bool has_calls = false;  // contains a call or a token
};

// A derivative symbol: a byte (0..255), a rule call, or a special token.
inline uint32_t sym_byte(unsigned b) { return b; }
inline uint32_t sym_call(uint32_t rule) { return 256 + 2 * rule; }
inline uint32_t sym_token(uint32_t id) { return 257 + 2 * id; }

class ExprPool {
 public:
  ExprPool();

  static constexpr ExprId kEmpty = 0;
  static constexpr ExprId kEps = 1;

  ExprId bytes(const ByteSet& set);
  ExprId byte(unsigned b);
  ExprId byte_range(unsigned lo, unsigned hi);
  ExprId literal(std::string_view s);
  ExprId call(uint32_t rule);
  ExprId token(uint32_t id);
  ExprId seq(ExprId a, ExprId b);
  ExprId seq(std::span<const ExprId> parts);
  ExprId seq(std::initializer_list<ExprId> parts) { return seq(std::span<const ExprId>(parts.begin(), parts.size())); }
  ExprId alt(ExprId a, ExprId b);
  ExprId alt(std::span<const ExprId> parts);
  ExprId alt(std::initializer_list<ExprId> parts) { return alt(std::span<const ExprId>(parts.begin(), parts.size())); }
  ExprId repeat(ExprId e, uint32_t min, uint32_t max);
  ExprId conj(ExprId a, ExprId b);
  ExprId conj(std::span<const ExprId> parts);
  ExprId neg(ExprId a);
  ExprId opt(ExprId e) { return alt(e, kEps); }
  ExprId star(ExprId e) { return repeat(e, 0, kInf); }
  ExprId plus(ExprId e) { return repeat(e, 1, kInf); }
  // A code point range [lo, hi] as UTF-8 byte sequences (surrogates excluded).
  ExprId code_points(uint32_t lo, uint32_t hi);
  // Any valid UTF-8 code point from the sorted, disjoint list of ranges.
  ExprId code_point_set(const std::vector<std::pair<uint32_t, uint32_t>>& ranges);
  // Alternation of literals, factored into a trie (fast for huge enums).
  ExprId literal_set(std::vector<std::string> strings);
  // Replaces every call of rule r by inline_body[r], unless that is kInf.
  ExprId substitute_calls(ExprId e, const std::vector<ExprId>& inline_body);

  // Derivative by one symbol.
  ExprId deriv(ExprId e, uint32_t sym);
  // Partition of bytes: bytes with equal class id have equal derivatives; class of dead bytes unchanged.
  // Returns the byte sets in first position (bytes outside all of them have an empty derivative).
  // *any_byte is set when some byte outside all byte_sets still has a non-empty derivative (negation).
  void first_symbols(ExprId e, std::vector<uint32_t>* byte_sets, std::vector<uint32_t>* calls,
                     std::vector<uint32_t>* tokens, bool* any_byte);

  const ExprNode& node(ExprId e) const { return nodes_[e]; }
  std::span<const ExprId> kids(ExprId e) const { return {kids_.data() + nodes_[e].a, nodes_[e].b}; }
  const ByteSet& byte_set(uint32_t index) const { return sets_[index]; }
  bool nullable(ExprId e) const { return nodes_[e].nullable; }
  size_t size() const { return nodes_.size(); }
  // Number of nodes reachable from e (for limits), counting shared nodes once.
  size_t reach_size(ExprId e, size_t cap) const;
  // GBNF-like text, for messages and tests.
  std::string to_string(ExprId e) const;

 private:
  ExprId intern(ExprNode n, std::span<const ExprId> kids = {});
  ExprId utf8_range(uint32_t lo, uint32_t hi);

  std::vector<ExprNode> nodes_;
  std::vector<ExprId> kids_;
  std::vector<ByteSet> sets_;
  std::unordered_map<uint64_t, ExprId> intern_;  // structural hash -> newest node with it
  std::vector<ExprId> chain_;                     // by node: the previous node with the same hash
  std::unordered_map<uint64_t, ExprId> deriv_memo_;
  std::vector<uint32_t> visit_mark_;  // first_symbols scratch
  std::vector<ExprId> visit_stack_;
  uint32_t visit_epoch_ = 0;
};

}  // namespace glm::grammar
