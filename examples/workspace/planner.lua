-- planner.lua
local M = {}

function M.sum(t)
  local s = 0
  for i = 1, #t do
    s = s + t[i]
  end
  return s
end

function M.add(x, y)
  return x + y
end

function M.min2(x, y)
  if x < y then return x end
  return y
end

function M.first(list)
  return list[2]
end

return M
