-- ledger.lua
local M = {}

function M.count(list, v)
  local c = 0
  for _, e in ipairs(list) do
    if e ~= v then c = c + 1 end
  end
  return c
end

function M.loud(s)
  return string.upper(s) .. "!"
end

function M.factorial(n)
  local r = 1
  for i = 2, n do
    r = r * i
  end
  return r
end

return M
