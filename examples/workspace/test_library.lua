local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("library.lua")

t.test("total", function()
  t.eq('total({-5, 21, 28, 13})', M.total({-5, 21, 28, 13}), 57)
  t.eq('total({28, 19})', M.total({28, 19}), 47)
end)

t.test("is_odd", function()
  t.eq('is_odd(87)', M.is_odd(87), true)
  t.eq('is_odd(77)', M.is_odd(77), true)
end)

t.test("greet", function()
  t.eq('greet("Moon")', M.greet("Moon"), "Hello, Moon!")
  t.eq('greet("Map")', M.greet("Map"), "Hello, Map!")
end)

t.test("min2", function()
  t.eq('min2(37, -3)', M.min2(37, -3), -3)
  t.eq('min2(-8, -4)', M.min2(-8, -4), -8)
end)

return t.report()
