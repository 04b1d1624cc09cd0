local t = load(fs.read("testlib.lua"), "=testlib.lua")()
local M = t.module("puzzle.lua")

t.test("cube", function()
  t.eq('cube(11)', M.cube(11), 1331)
  t.eq('cube(7)', M.cube(7), 343)
end)

t.test("factorial", function()
  t.eq('factorial(8)', M.factorial(8), 40320)
  t.eq('factorial(3)', M.factorial(3), 6)
end)

t.test("hello", function()
  t.eq('hello("Note")', M.hello("Note"), "Hello, Note!")
  t.eq('hello("Bird")', M.hello("Bird"), "Hello, Bird!")
end)

t.test("length", function()
  t.eq('length("fishmap")', M.length("fishmap"), 7)
  t.eq('length("codefish")', M.length("codefish"), 8)
end)

return t.report()
