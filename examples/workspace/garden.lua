-- garden.lua
local M = {}

function M.smaller(a, b)
  if a > b then return a end
  return b
end

function M.greet(who)
  return "Hello, " .. who .. "!"
end

function M.is_odd(n)
  return n % 2 == 1
end

function M.sign(n)
  if n > 0 then return 1 end
  if n < 0 then return -1 end
  return 0
end

return M
