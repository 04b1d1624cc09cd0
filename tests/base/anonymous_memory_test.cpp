// AnonymousMemory: zeroed, writable, page-aligned, owned once (moves hand the mapping over).
#include "base/mapped_file.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

namespace glm {
namespace {

TEST(AnonymousMemory, ZeroedWritableAlignedAndMovable) {
  auto m = AnonymousMemory::allocate(3 << 20);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  ASSERT_NE(m->data(), nullptr);
  EXPECT_EQ(m->size(), size_t(3) << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m->data()) % 4096, 0u);
  for (size_t i = 0; i < m->size(); i += 4093) EXPECT_EQ(m->data()[i], 0) << i;
  m->data()[m->size() - 1] = 7;
  AnonymousMemory moved = std::move(m).value();
  EXPECT_EQ(moved.data()[moved.size() - 1], 7);
  AnonymousMemory other;
  other = std::move(moved);
  EXPECT_EQ(moved.data(), nullptr);
  EXPECT_EQ(other.size(), size_t(3) << 20);
}

TEST(AnonymousMemory, EmptyAndRefused) {
  auto empty = AnonymousMemory::allocate(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->data(), nullptr);
  auto huge = AnonymousMemory::allocate(size_t(1) << 62);  // more address space than any machine maps
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::memory);
}

}  // namespace
}  // namespace glm
