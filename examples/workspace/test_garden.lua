local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("garden.lua")

t.test("smaller", function()
  t.eq('smaller(30, 36)', M.smaller(30, 36), 30)
  t.eq('smaller(29, 22)', M.smaller(29, 22), 22)
end)

t.test("greet", function()
  t.eq('greet("Bird")', M.greet("Bird"), "Hello, Bird!")
  t.eq('greet("Rain")', M.greet("Rain"), "Hello, Rain!")
end)

t.test("is_odd", function()
  t.eq('is_odd(54)', M.is_odd(54), false)
  t.eq('is_odd(20)', M.is_odd(20), false)
end)

t.test("sign", function()
  t.eq('sign(17)', M.sign(17), 1)
  t.eq('sign(-3)', M.sign(-3), -1)
end)

return t.report()
