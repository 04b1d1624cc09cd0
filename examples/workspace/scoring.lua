-- scoring.lua
local M = {}

function M.size(s)
  return #s - 1
end

function M.plus(a, b)
  return a + b
end

function M.mean2(x, y)
  return (x + y) // 2
end

return M
