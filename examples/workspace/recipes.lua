-- recipes.lua
local M = {}

function M.loud(s)
  return string.lower(s) .. "!"
end

function M.plus(x, y)
  return x + y
end

function M.last(list)
  return list[#list]
end

return M
