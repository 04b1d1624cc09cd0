#include "tools/builtin/workspace_tools.h"

#include "tools/lua/host_api.h"
#include "tools/lua/lua_tool.h"

namespace glm::tools {

namespace {

// Shared by every operation: a compact JSON object with keys in the given order.
constexpr const char* kPrelude = R"LUA(
local function obj(pairs_list)
  local parts = {}
  for i = 1, #pairs_list, 2 do
    parts[#parts + 1] = json.encode(pairs_list[i]) .. ":" .. json.encode(pairs_list[i + 1])
  end
  return "{" .. table.concat(parts, ",") .. "}"
end
local function need(args, key)
  local v = args[key]
  if type(v) ~= "string" then error(key .. " must be a string", 0) end
  return v
end
local function walk(dir, prefix, out, cap)  -- stops once out holds more than cap paths (cap may be nil)
  for _, name in ipairs(fs.list(dir)) do
    if cap and #out > cap then return end
    local path = prefix .. name
    local ok, sub = pcall(fs.list, path)
    if ok then walk(path, path .. "/", out, cap) else out[#out + 1] = path end
  end
end
local function distance(a, b)  -- Levenshtein, two rows
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = (a:byte(i) == b:byte(j)) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end
-- The one existing path closest to a missing one, when it is unambiguous and near (at most max(2, #path // 3)
-- edits): a miscopied name then carries its own correction, as `git` does for a mistyped command. Workspaces of
-- more than 2000 files get no guess (the search must stay well inside the call's deadline).
local function closest(path)
  local files = {}
  walk(".", "", files, 2000)
  if #files > 2000 then return nil end
  local best, best_d, tie = nil, math.max(2, #path // 3) + 1, false
  for _, f in ipairs(files) do
    if math.abs(#f - #path) <= best_d then  -- the distance is at least the difference in length
      local d = distance(path, f)
      if d < best_d then best, best_d, tie = f, d, false elseif d == best_d then tie = true end
    end
  end
  if tie then return nil end
  return best
end
local function read(path)
  local text = fs.read(path)  -- nil when there is no such file; refusals raise `forbidden` themselves
  if not text then
    local near = closest(path)
    error("not_found: no such file: " .. path .. (near and ("; did you mean " .. near .. "?") or ""), 0)
  end
  return text
end
)LUA";

constexpr const char* kListFiles = R"LUA(
function run(args)
  local out = {}
  walk(".", "", out)
  table.sort(out)
  return json.encode(out)
end
)LUA";

constexpr const char* kReadFile = R"LUA(
function run(args) return read(need(args, "path")) end
)LUA";

constexpr const char* kWriteFile = R"LUA(
function run(args)
  fs.write(need(args, "path"), need(args, "content"))
  return obj({"ok", true})
end
)LUA";

constexpr const char* kReplace = R"LUA(
function run(args)
  local path, old, new = need(args, "path"), need(args, "old"), need(args, "new")
  if old == "" then error("old must not be empty", 0) end
  local text = read(path)
  local s, e = string.find(text, old, 1, true)
  if not s then error("the text to replace was not found in " .. path, 0) end
  fs.write(path, string.sub(text, 1, s - 1) .. new .. string.sub(text, e + 1))
  return obj({"ok", true})
end
)LUA";

constexpr const char* kRunTests = R"LUA(
function run(args)
  local path = need(args, "path")
  local tests, failures, passed = {}, {}, 0
  local env = setmetatable({}, {__index = _G})
  env.test = function(name, fn) tests[#tests + 1] = {name = tostring(name), fn = fn} end
  env.assert_eq = function(actual, expected)
    if actual ~= expected then
      error("expected " .. tostring(expected) .. ", got " .. tostring(actual), 2)
    end
  end
  local function fail(name, msg) failures[#failures + 1] = obj({"test", name, "message", tostring(msg)}) end
  local chunk, err = load(read(path), "=" .. path, "t", env)
  if not chunk then
    fail("(load)", err)
  else
    local ok, ret = pcall(chunk)
    if not ok then
      fail("(load)", ret)
    elseif type(ret) == "table" and type(ret.passed) == "number" then
      -- A test file with its own helper returns its report {passed, failed, failures = {{test, message}}}.
      passed = passed + ret.passed
      for _, f in ipairs(type(ret.failures) == "table" and ret.failures or {}) do fail(f.test, f.message) end
    end
  end
  for _, t in ipairs(tests) do
    local ok, terr = pcall(t.fn)
    if ok then passed = passed + 1 else fail(t.name, terr) end
  end
  return "{\"passed\":" .. passed .. ",\"failed\":" .. #failures .. ",\"failures\":[" ..
         table.concat(failures, ",") .. "]}"
end
)LUA";

// The Lua scripts can only raise runtime errors; a "not_found: " prefix marks a missing file, reported with
// its own kind (agents/README.md: {"error":{"kind":"not_found","message":"no such file: PATH"}}, with
// "; did you mean NEAR?" appended when one existing path is close).
class WorkspaceTool : public Tool {
 public:
  explicit WorkspaceTool(std::shared_ptr<Tool> lua) : lua_(std::move(lua)) {}
  const ToolSpec& spec() const override { return lua_->spec(); }
  void invoke(Json arguments, CallContext context, Completion done) override {
    lua_->invoke(std::move(arguments), std::move(context), [done = std::move(done)](ToolResult r) {
      constexpr std::string_view kMark = "not_found: ";
      if (!r.ok && r.error.kind == ErrorCode::runtime && r.error.message.rfind(kMark, 0) == 0)
        r = ToolResult::failure(ErrorCode::not_found, r.error.message.substr(kMark.size()));
      done(std::move(r));
    });
  }

 private:
  std::shared_ptr<Tool> lua_;
};

}  // namespace

Result<std::shared_ptr<Tool>> make_workspace_tool(const std::string& op, ToolSpec spec, const std::string& root,
                                                  lua::LuaLimits limits, std::shared_ptr<lua::WorkerPool> pool) {
  const char* body = nullptr;
  bool write = false;
  if (op == "list_files") body = kListFiles;
  else if (op == "read_file") body = kReadFile;
  else if (op == "write_file") body = kWriteFile, write = true;
  else if (op == "replace") body = kReplace, write = true;
  else if (op == "run_tests") body = kRunTests;
  else return make_error(ErrorCode::invalid_argument, "'" + op + "' is not a workspace tool");
  lua::LuaCapabilities caps = lua::LuaCapabilities::pure();
  caps.workspace = root;
  caps.workspace_write = write;
  auto tool = lua::LuaTool::create(std::string(kPrelude) + body, std::move(spec), limits, caps, std::move(pool));
  if (!tool) return tool.take_error();
  return std::shared_ptr<Tool>(std::make_shared<WorkspaceTool>(std::move(tool).value()));
}

}  // namespace glm::tools
