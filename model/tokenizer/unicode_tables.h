// model/tokenizer/unicode_tables.h — generated Unicode data (scripts/gen_unicode_tables.py).
// Read through model/tokenizer/unicode.h, not directly.
#pragma once

#include <cstddef>
#include <cstdint>

namespace glm::unicode {

struct CategoryRange { uint32_t first, last; uint8_t flags; };  // flags: 1 letter, 2 number
struct CombiningClass { uint32_t cp; uint8_t ccc; };
struct Decomposition { uint32_t cp; uint32_t d[4]; };             // full canonical, 0-padded
struct Composition { uint32_t first, second, composite; };

extern const CategoryRange kCategoryRanges[];
extern const size_t kCategoryRangeCount;
extern const CombiningClass kCombiningClass[];
extern const size_t kCombiningClassCount;
extern const Decomposition kDecomposition[];
extern const size_t kDecompositionCount;
extern const Composition kComposition[];
extern const size_t kCompositionCount;

}  // namespace glm::unicode
