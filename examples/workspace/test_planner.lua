local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("planner.lua")

t.test("sum", function()
  t.eq('sum({16, -8, 8, 27, 9})', M.sum({16, -8, 8, 27, 9}), 52)
  t.eq('sum({-9, 8, 8, 8, 7})', M.sum({-9, 8, 8, 8, 7}), 22)
end)

t.test("add", function()
  t.eq('add(44, 34)', M.add(44, 34), 78)
  t.eq('add(-17, 42)', M.add(-17, 42), 25)
end)

t.test("min2", function()
  t.eq('min2(55, 42)', M.min2(55, 42), 42)
  t.eq('min2(22, -19)', M.min2(22, -19), -19)
end)

t.test("first", function()
  t.eq('first({17, -2, 13, -2})', M.first({17, -2, 13, -2}), 17)
  t.eq('first({29, 30, 20, 24, -1})', M.first({29, 30, 20, 24, -1}), 29)
end)

return t.report()
