#include "tools/builtin/bm25.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/mapped_file.h"
#include "base/utf8.h"

namespace glm::tools {

std::vector<std::string> Bm25Index::terms(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (std::isalnum(c)) cur += static_cast<char>(std::tolower(c));
      else if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
      ++i;
      continue;
    }
    if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
    int len;
    if (utf8::decode(text, i, &len) >= 0) out.emplace_back(text.substr(i, static_cast<size_t>(len)));
    i += static_cast<size_t>(len);
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

Bm25Index Bm25Index::from_documents(std::vector<Document> docs) {
  Bm25Index idx;
  idx.docs_ = std::move(docs);
  uint64_t total = 0;
  for (uint32_t d = 0; d < idx.docs_.size(); ++d) {
    auto t = terms(idx.docs_[d].title + "\n" + idx.docs_[d].text);
    idx.doc_len_.push_back(static_cast<uint32_t>(t.size()));
    total += t.size();
    std::sort(t.begin(), t.end());
    for (size_t i = 0; i < t.size();) {
      size_t j = i;
      while (j < t.size() && t[j] == t[i]) ++j;
      idx.postings_[t[i]].push_back(Posting{d, static_cast<uint32_t>(j - i)});
      i = j;
    }
  }
  idx.avg_len_ = idx.docs_.empty() ? 0 : static_cast<double>(total) / static_cast<double>(idx.docs_.size());
  return idx;
}

Result<Bm25Index> Bm25Index::from_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(ErrorCode::not_found, "corpus folder '" + dir + "' does not exist");
  std::vector<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file() && it->path().extension() == ".txt") paths.push_back(it->path().string());
  if (ec) return make_error(ErrorCode::io, "cannot list '" + dir + "': " + ec.message());
  std::sort(paths.begin(), paths.end());
  std::vector<Document> docs;
  for (const auto& p : paths) {
    auto text = read_text_file(p);
    if (!text) return text.take_error();
    if (size_t bad = utf8::find_invalid(*text); bad != std::string_view::npos)
      return make_error(ErrorCode::invalid_argument, p + ": not UTF-8 at byte " + std::to_string(bad));
    Document d;
    d.path = fs::relative(p, dir).string();
    auto nl = text->find('\n');
    d.title = text->substr(0, nl);
    d.text = nl == std::string::npos ? "" : text->substr(nl + 1);
    while (!d.text.empty() && (d.text.back() == '\n' || d.text.back() == '\r')) d.text.pop_back();
    docs.push_back(std::move(d));
  }
  if (docs.empty()) return make_error(ErrorCode::invalid_argument, "corpus folder '" + dir + "' has no .txt documents");
  return from_documents(std::move(docs));
}

std::vector<SearchHit> Bm25Index::search(std::string_view query, size_t k) const {
  constexpr double k1 = 1.2, b = 0.75;
  // Every query term counts, repeats included, summed in query order (the demo model's traces were made so).
  auto q = terms(query);
  std::vector<double> score(docs_.size(), 0.0);
  const double n = static_cast<double>(docs_.size());
  for (const auto& term : q) {
    auto it = postings_.find(term);
    if (it == postings_.end()) continue;
    double df = static_cast<double>(it->second.size());
    double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (const Posting& p : it->second) {
      double tf = p.tf;
      double norm = k1 * (1.0 - b + b * doc_len_[p.doc] / (avg_len_ > 0 ? avg_len_ : 1.0));
      score[p.doc] += idf * tf * (k1 + 1.0) / (tf + norm);
    }
  }
  std::vector<SearchHit> hits;
  for (size_t d = 0; d < score.size(); ++d)
    if (score[d] > 0) hits.push_back(SearchHit{d, score[d]});
  std::stable_sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& c) { return a.score > c.score; });
  if (hits.size() > k) hits.resize(k);
  return hits;
}

}  // namespace glm::tools
