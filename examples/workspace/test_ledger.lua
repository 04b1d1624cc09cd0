local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("ledger.lua")

t.test("count", function()
  t.eq('count({3, 1, 2}, 2)', M.count({3, 1, 2}, 2), 1)
  t.eq('count({4, 4, 1, 1}, 1)', M.count({4, 4, 1, 1}, 1), 2)
end)

t.test("loud", function()
  t.eq('loud("tree")', M.loud("tree"), "TREE!")
  t.eq('loud("cat")', M.loud("cat"), "CAT!")
end)

t.test("factorial", function()
  t.eq('factorial(7)', M.factorial(7), 5040)
  t.eq('factorial(10)', M.factorial(10), 3628800)
end)

return t.report()
