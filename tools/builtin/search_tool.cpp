#include "tools/builtin/search_tool.h"

namespace glm::tools {

void SearchTool::invoke(Json arguments, CallContext, Completion done) {
  if (!arguments.is_object() || !arguments.contains("query") || !arguments["query"].is_string())
    return done(ToolResult::failure(ErrorCode::invalid_argument, "search needs {\"query\": string}"));
  nlohmann::ordered_json hits = nlohmann::ordered_json::array();
  for (const SearchHit& h : index_->search(arguments["query"].get<std::string>(), top_k_)) {
    const Document& d = index_->documents()[h.doc];
    hits.push_back({{"title", d.title}, {"text", d.text}});
  }
  done(ToolResult::success(hits.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)));
}

}  // namespace glm::tools
