#include "tools/lua/lua_tool.h"

#include "tools/lua/runner.h"

namespace glm::tools::lua {

Result<std::shared_ptr<LuaTool>> LuaTool::create(std::string source, std::optional<ToolSpec> spec, LuaLimits limits,
                                                 LuaCapabilities caps, std::shared_ptr<WorkerPool> pool) {
  if (!pool) return make_error(ErrorCode::invalid_argument, "LuaTool needs a worker pool");
  LuaOutcome d = run_lua({.code = source, .args = nullptr, .entry = LuaEntry::describe}, limits, caps);
  if (!d.ok) return make_error(d.error.code, "loading the tool script: " + d.error.message);
  if (!d.result["has_run"].get<bool>())
    return make_error(ErrorCode::invalid_argument, "the tool script defines no run(args) function");
  if (!spec) {
    const Json& t = d.result["tool"];
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
      return make_error(ErrorCode::invalid_argument,
                        "no spec given and the script sets no global tool = {name = ..., description = ..., "
                        "parameters = {...}}");
    ToolSpec s;
    s.name = t["name"].get<std::string>();
    if (t.contains("description") && t["description"].is_string()) s.description = t["description"].get<std::string>();
    if (t.contains("parameters")) {
      if (!t["parameters"].is_object())
        return make_error(ErrorCode::invalid_argument, "tool.parameters must be a JSON Schema object");
      s.parameters = t["parameters"];
    }
    spec = std::move(s);
  }
  auto bytecode = precompile(source, limits);
  if (!bytecode) return bytecode.take_error();
  std::shared_ptr<LuaTool> tool(new LuaTool());
  tool->bytecode_ = std::move(bytecode).value();
  tool->source_ = std::move(source);
  tool->spec_ = std::move(*spec);
  tool->limits_ = limits;
  tool->caps_ = std::move(caps);
  tool->pool_ = std::move(pool);
  return tool;
}

void LuaTool::invoke(Json arguments, CallContext context, Completion done) {
  // The job keeps the tool alive until it has completed.
  pool_->submit([this, self = shared_from_this(), args = std::move(arguments), ctx = std::move(context),
                 done = std::move(done)]() mutable {
    LuaOutcome r = run_lua({.code = source_, .args = &args, .entry = LuaEntry::run_function, .bytecode = &bytecode_},
                           limits_, caps_, ctx.cancel.get());
    if (!r.ok) {
      done(ToolResult::failure(r.error.code, std::move(r.error.message)));
      return;
    }
    if (r.output.empty()) done(ToolResult::success(std::move(r.result)));
    else done(ToolResult::success(Json{{"result", std::move(r.result)}, {"output", std::move(r.output)}}));
  });
}

}  // namespace glm::tools::lua
