local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("recipes.lua")

t.test("loud", function()
  t.eq('loud("moon")', M.loud("moon"), "MOON!")
  t.eq('loud("sun")', M.loud("sun"), "SUN!")
end)

t.test("plus", function()
  t.eq('plus(51, 12)', M.plus(51, 12), 63)
  t.eq('plus(-11, -5)', M.plus(-11, -5), -16)
end)

t.test("last", function()
  t.eq('last({7, 1, 20})', M.last({7, 1, 20}), 20)
  t.eq('last({15, -1, 16, 18, -4})', M.last({15, -1, 16, 18, -4}), -4)
end)

return t.report()
