local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("inventory.lua")

t.test("cube", function()
  t.eq('cube(5)', M.cube(5), 125)
  t.eq('cube(-6)', M.cube(-6), -216)
end)

t.test("max2", function()
  t.eq('max2(23, 36)', M.max2(23, 36), 36)
  t.eq('max2(12, 46)', M.max2(12, 46), 46)
end)

t.test("hello", function()
  t.eq('hello("Lua")', M.hello("Lua"), "Hello, Lua!")
  t.eq('hello("Code")', M.hello("Code"), "Hello, Code!")
end)

t.test("count", function()
  t.eq('count({1, 4, 3}, 3)', M.count({1, 4, 3}, 3), 1)
  t.eq('count({2, 2, 4, 2, 2}, 2)', M.count({2, 2, 4, 2, 2}, 2), 4)
end)

return t.report()
