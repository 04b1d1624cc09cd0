// base/mapped_file.h — a read-only memory map of a whole file.
//
// Owns: the mapping; unmapped on destruction. Move-only.
// Threads: the bytes are immutable; any thread may read them concurrently.
// Errors: open() returns not_found / io with the path in the message. A zero-length file maps to an
// empty span (no mmap call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/error.h"

namespace glm {

class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Zeroed anonymous memory for large long-lived buffers (weights copied or re-laid out at load), asked for
// transparent huge pages (madvise): a stream over gigabytes then walks 2 MiB pages, with fewer TLB misses and
// prefetchers that do not stop every 4 KiB. Owns the mapping; unmapped on destruction. Move-only.
// Errors: allocate() returns memory when the kernel refuses the mapping.
class AnonymousMemory {
 public:
  static Result<AnonymousMemory> allocate(size_t bytes);

  AnonymousMemory() = default;
  AnonymousMemory(AnonymousMemory&& o) noexcept;
  AnonymousMemory& operator=(AnonymousMemory&& o) noexcept;
  AnonymousMemory(const AnonymousMemory&) = delete;
  AnonymousMemory& operator=(const AnonymousMemory&) = delete;
  ~AnonymousMemory();

  uint8_t* data() const { return data_; }  // page-aligned
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole file into a string (for small text files: configs, JSON, scripts).
Result<std::string> read_text_file(const std::string& path);

}  // namespace glm
