#include "model/tokenizer/unicode.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "base/utf8.h"
#include "model/tokenizer/unicode_tables.h"

namespace glm::unicode {

namespace {

constexpr uint32_t kMaxCp = 0x110000;

// Hangul syllable arithmetic (Unicode §3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

struct Tables {
  std::vector<uint8_t> flags;                          // kMaxCp entries
  std::unordered_map<uint32_t, uint8_t> ccc;
  std::unordered_map<uint32_t, const uint32_t*> decomposition;
  std::unordered_map<uint64_t, uint32_t> composition;  // (first << 21 | second) -> composite

  Tables() : flags(kMaxCp, 0) {
    for (size_t i = 0; i < kCategoryRangeCount; ++i) {
      const auto& r = kCategoryRanges[i];
      std::fill(flags.begin() + r.first, flags.begin() + r.last + 1, r.flags);
    }
    const uint32_t spaces[] = {0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
    for (uint32_t cp : spaces) flags[cp] |= kSpace;
    for (uint32_t cp = 0x2000; cp <= 0x200A; ++cp) flags[cp] |= kSpace;
    for (size_t i = 0; i < kCombiningClassCount; ++i) {
      ccc[kCombiningClass[i].cp] = kCombiningClass[i].ccc;
      flags[kCombiningClass[i].cp] |= kNfcUnsafe;
    }
    for (size_t i = 0; i < kDecompositionCount; ++i) {
      decomposition[kDecomposition[i].cp] = kDecomposition[i].d;
      flags[kDecomposition[i].cp] |= kNfcUnsafe;
    }
    for (size_t i = 0; i < kCompositionCount; ++i) {
      const auto& c = kComposition[i];
      composition[(uint64_t(c.first) << 21) | c.second] = c.composite;
      flags[c.second] |= kNfcUnsafe;
    }
    for (uint32_t cp = kVBase; cp < kVBase + kVCount; ++cp) flags[cp] |= kNfcUnsafe;
    for (uint32_t cp = kTBase + 1; cp < kTBase + kTCount; ++cp) flags[cp] |= kNfcUnsafe;
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

uint8_t combining_class(const Tables& t, uint32_t cp) {
  if (!(t.flags[cp] & kNfcUnsafe)) return 0;
  auto it = t.ccc.find(cp);
  return it == t.ccc.end() ? 0 : it->second;
}

void decompose(const Tables& t, uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (t.flags[cp] & kNfcUnsafe) {
    auto it = t.decomposition.find(cp);
    if (it != t.decomposition.end()) {
      for (int i = 0; i < 4 && it->second[i]; ++i) out.push_back(it->second[i]);
      return;
    }
  }
  out.push_back(cp);
}

// Returns the primary composite of (a, b), or 0.
uint32_t compose(const Tables& t, uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  auto it = t.composition.find((uint64_t(a) << 21) | b);
  return it == t.composition.end() ? 0 : it->second;
}

}  // namespace

uint8_t flags(uint32_t cp) { return cp < kMaxCp ? tables().flags[cp] : 0; }

bool nfc(std::string_view text, std::string* out) {
  const Tables& t = tables();
  // Quick check: below U+0300 nothing decomposes or combines; otherwise look at the flag.
  size_t i = 0;
  bool unsafe = false;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0xCC) { i += c < 0x80 ? 1 : 2; continue; }  // lead bytes below 0xCC encode < U+0300
    int len;
    int32_t cp = utf8::decode(text, i, &len);
    if (cp >= 0 && (t.flags[static_cast<uint32_t>(cp)] & kNfcUnsafe)) { unsafe = true; break; }
    i += static_cast<size_t>(len);
  }
  if (!unsafe) return false;

  std::vector<uint32_t> d;
  d.reserve(text.size());
  for (i = 0; i < text.size();) {
    int len;
    int32_t cp = utf8::decode(text, i, &len);
    decompose(t, cp < 0 ? 0xFFFD : static_cast<uint32_t>(cp), d);
    i += static_cast<size_t>(len);
  }
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t a = 0; a < d.size();) {
    if (combining_class(t, d[a]) == 0) { ++a; continue; }
    size_t b = a;
    while (b < d.size() && combining_class(t, d[b]) != 0) ++b;
    std::stable_sort(d.begin() + a, d.begin() + b,
                     [&](uint32_t x, uint32_t y) { return combining_class(t, x) < combining_class(t, y); });
    a = b;
  }
  // Canonical composition.
  if (!d.empty()) {
    size_t starter = 0, w = 1;
    int last_class = combining_class(t, d[0]) ? 256 : 0;
    for (size_t r = 1; r < d.size(); ++r) {
      uint32_t ch = d[r];
      int cls = combining_class(t, ch);
      // Not blocked: nothing between the starter and ch, or everything between has a lower class.
      uint32_t comp = (last_class < cls || last_class == 0) ? compose(t, d[starter], ch) : 0;
      if (comp) {
        d[starter] = comp;
        continue;
      }
      if (cls == 0) starter = w;
      last_class = cls;
      d[w++] = ch;
    }
    d.resize(w);
  }
  out->clear();
  out->reserve(text.size());
  for (uint32_t cp : d) utf8::append(*out, cp);
  return true;
}

}  // namespace glm::unicode
