-- weather.lua
local M = {}

function M.is_odd(n)
  return n % 2 == 1
end

function M.count_of(list, v)
  local c = 0
  for _, e in ipairs(list) do
    if e ~= v then c = c + 1 end
  end
  return c
end

function M.length(s)
  return #s
end

function M.min2(a, b)
  if a < b then return a end
  return b
end

return M
