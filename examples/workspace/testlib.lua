-- testlib.lua: the tiny test helper of this workspace.
-- A test file loads it, registers tests and returns t.report():
--   {passed = N, failed = M, failures = {{test = name, message = msg}, ...}}
local t = {results = {}}

function t.module(path)
  local chunk, err = load(fs.read(path), "=" .. path)
  if not chunk then error(err, 0) end
  return chunk()
end

local function show(v)
  if type(v) == "string" then return '"' .. v .. '"' end
  return tostring(v)
end

function t.eq(what, got, want)
  if got ~= want then
    error(what .. ": expected " .. show(want) .. ", got " .. show(got), 0)
  end
end

function t.test(name, fn)
  local ok, err = pcall(fn)
  t.results[#t.results + 1] = {test = name, ok = ok, message = tostring(err)}
end

function t.report()
  local passed, failures = 0, {}
  for _, r in ipairs(t.results) do
    if r.ok then
      passed = passed + 1
    else
      failures[#failures + 1] = {test = r.test, message = r.message}
    end
  end
  return {passed = passed, failed = #failures, failures = failures}
end

return t
