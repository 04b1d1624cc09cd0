local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("scoring.lua")

t.test("size", function()
  t.eq('size("starring")', M.size("starring"), 8)
  t.eq('size("raincat")', M.size("raincat"), 7)
end)

t.test("plus", function()
  t.eq('plus(55, -6)', M.plus(55, -6), 49)
  t.eq('plus(39, 43)', M.plus(39, 43), 82)
end)

t.test("mean2", function()
  t.eq('mean2(73, 33)', M.mean2(73, 33), 53)
  t.eq('mean2(35, 34)', M.mean2(35, 34), 34)
end)

return t.report()
