-- inventory.lua
local M = {}

function M.cube(x)
  return x * x * 3
end

function M.max2(x, y)
  if x > y then return x end
  return y
end

function M.hello(who)
  return "Hello, " .. who .. "!"
end

function M.count(list, v)
  local c = 0
  for _, e in ipairs(list) do
    if e == v then c = c + 1 end
  end
  return c
end

return M
