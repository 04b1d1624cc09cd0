local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("geometry.lua")

t.test("is_even", function()
  t.eq('is_even(82)', M.is_even(82), true)
  t.eq('is_even(43)', M.is_even(43), false)
end)

t.test("times", function()
  t.eq('times(-2, 9)', M.times(-2, 9), -18)
  t.eq('times(2, -9)', M.times(2, -9), -18)
end)

t.test("magnitude", function()
  t.eq('magnitude(-40)', M.magnitude(-40), 40)
  t.eq('magnitude(-28)', M.magnitude(-28), 28)
end)

return t.report()
