// tools/builtin/search_tool.h — the built-in `search` tool: BM25 over a corpus folder.
//
// Arguments {"query": string}; content: compact JSON text `[{"title":...,"text":...}, ...]`, best first,
// at most top_k (agents/README.md fixes this shape: the demo model is trained on it).
// Owns: its index (shared, immutable). Threads: see tools/tool.h; invoke() answers inline (microseconds).
#pragma once

#include <memory>

#include "tools/builtin/bm25.h"
#include "tools/tool.h"

namespace glm::tools {

class SearchTool : public Tool {
 public:
  SearchTool(ToolSpec spec, std::shared_ptr<const Bm25Index> index, size_t top_k)
      : spec_(std::move(spec)), index_(std::move(index)), top_k_(top_k) {}
  const ToolSpec& spec() const override { return spec_; }
  void invoke(Json arguments, CallContext context, Completion done) override;

 private:
  ToolSpec spec_;
  std::shared_ptr<const Bm25Index> index_;
  size_t top_k_;
};

}  // namespace glm::tools
