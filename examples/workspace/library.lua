-- library.lua
local M = {}

function M.total(list)
  local s = 0
  for i = 1, #list do
    s = s + list[i]
  end
  return s
end

function M.is_odd(x)
  return x % 2 == 0
end

function M.greet(name)
  return "Hello, " .. name .. "!"
end

function M.min2(x, y)
  if x < y then return x end
  return y
end

return M
