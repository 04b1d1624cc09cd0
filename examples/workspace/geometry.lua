-- geometry.lua
local M = {}

function M.is_even(n)
  return n % 2 == 0
end

function M.times(a, b)
  return a + b
end

function M.magnitude(n)
  if n < 0 then return -n end
  return n
end

return M
