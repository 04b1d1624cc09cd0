// tools/builtin/bm25.h — a BM25 index over a folder of short text documents.
//
// A document is a .txt file (searched recursively, in path order): its first line is the title, the rest
// the text. Terms are lower-cased runs of ASCII letters/digits, and every non-ASCII code point is its own
// term (so CJK text is searchable without a segmenter). Scores: Okapi BM25 with k1 = 1.2, b = 0.75 over
// title + text; ties go to the earlier path, so results are deterministic.
// Owns: the documents and postings, immutable after build. Threads: search() from any thread at once.
// Errors: from_folder(): not_found (no folder), invalid_argument (no documents, a file that is not UTF-8).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"

namespace glm::tools {

struct Document {
  std::string path;   // relative to the folder
  std::string title;
  std::string text;
};

struct SearchHit {
  size_t doc;  // index into documents()
  double score;
};

class Bm25Index {
 public:
  static Result<Bm25Index> from_folder(const std::string& dir);
  static Bm25Index from_documents(std::vector<Document> docs);

  // The best k documents with a positive score, best first.
  std::vector<SearchHit> search(std::string_view query, size_t k) const;
  const std::vector<Document>& documents() const { return docs_; }

  static std::vector<std::string> terms(std::string_view text);

 private:
  struct Posting { uint32_t doc; uint32_t tf; };
  std::vector<Document> docs_;
  std::vector<uint32_t> doc_len_;
  double avg_len_ = 0;
  std::unordered_map<std::string, std::vector<Posting>> postings_;
};

}  // namespace glm::tools
