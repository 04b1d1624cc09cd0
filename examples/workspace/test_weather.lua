local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("weather.lua")

t.test("is_odd", function()
  t.eq('is_odd(33)', M.is_odd(33), true)
  t.eq('is_odd(11)', M.is_odd(11), true)
end)

t.test("count_of", function()
  t.eq('count_of({2, 4, 1, 2, 3, 4}, 4)', M.count_of({2, 4, 1, 2, 3, 4}, 4), 2)
  t.eq('count_of({3, 1, 2, 2}, 3)', M.count_of({3, 1, 2, 2}, 3), 1)
end)

t.test("length", function()
  t.eq('length("sunring")', M.length("sunring"), 7)
  t.eq('length("treering")', M.length("treering"), 8)
end)

t.test("min2", function()
  t.eq('min2(9, 36)', M.min2(9, 36), 9)
  t.eq('min2(50, 45)', M.min2(50, 45), 45)
end)

return t.report()
