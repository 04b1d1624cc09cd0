-- puzzle.lua
local M = {}

function M.cube(x)
  return x * x * x
end

function M.factorial(n)
  local r = 1
  for i = 2, n do
    r = r * i
  end
  return r
end

function M.hello(who)
  return "Hello, " .. who .. "!"
end

function M.length(str)
  return #str - 1
end

return M
