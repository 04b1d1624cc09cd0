-- examples/tools/calc.lua — the calculator agent's `calc` tool: exact integer and decimal arithmetic.
--
-- run({expression = "(12.5 + 3) * 4"}) -> {result = "62"}
--
-- A recursive-descent evaluator (no load/eval): numbers, + - * / % ^, parentheses, unary minus and plus.
-- Precedence, loosest first: + -  then  * / %  then unary - +  then ^ (right-associative; -2^2 = -4).
-- Every value is a scaled 64-bit integer m / 10^s (0 <= s <= 18), so + - * % are exact. Division is exact
-- when the quotient has a terminating decimal expansion of at most 18 places; otherwise it is rounded half
-- away from zero to 12 decimal places and the result says so: {result = "0.333333333333",
-- rounded = "to 12 decimal places"}. % is floored (the result has the sign of the divisor), as in Lua.
-- ^ takes a whole-number exponent (a negative one divides). Anything that does not fit in 64 bits is
-- refused with an error instead of losing digits. Errors are raised with error(message, 0).
--
-- Uses only base, string (byte/sub/format) and math functions: it runs in the tool sandbox.
-- model/demo/gen_data.py mirrors these semantics in Python (the demo model is trained on its results).

local MAX = math.maxinteger

local POW10 = {[0] = 1}
for i = 1, 18 do POW10[i] = POW10[i - 1] * 10 end

local MAX_SCALE = 18
local ROUND_PLACES = 12

local function fail(msg) error(msg, 0) end

local function too_large() fail("number too large: exact arithmetic is limited to 64-bit values") end

local function add_int(a, b)
  if (b > 0 and a > MAX - b) or (b < 0 and a < -MAX - b) then too_large() end
  return a + b
end

local function mul_int(a, b)
  if a == 0 or b == 0 then return 0 end
  local aa, ab = a < 0 and -a or a, b < 0 and -b or b
  if aa > MAX // ab then too_large() end
  return a * b
end

local function normalize(x)
  local m, s = x.m, x.s
  while s > 0 and m % 10 == 0 do m = m // 10; s = s - 1 end
  return {m = m, s = s}
end

local function check_scale(x)
  x = normalize(x)
  if x.s > MAX_SCALE then fail("too many decimal places (at most " .. MAX_SCALE .. ")") end
  return x
end

-- Both values at the same scale: returns the two scaled integers and the scale.
local function align(x, y)
  if x.s == y.s then return x.m, y.m, x.s end
  if x.s < y.s then return mul_int(x.m, POW10[y.s - x.s]), y.m, y.s end
  return x.m, mul_int(y.m, POW10[x.s - y.s]), x.s
end

local function add(x, y)
  local a, b, s = align(x, y)
  return normalize({m = add_int(a, b), s = s})
end

local function neg(x) return {m = -x.m, s = x.s} end

local function sub(x, y) return add(x, neg(y)) end

local function mul(x, y)
  return check_scale({m = mul_int(x.m, y.m), s = x.s + y.s})
end

local function gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

-- state.rounded is set when a division had to be rounded.
local function div(x, y, state)
  if y.m == 0 then fail("division by zero") end
  local num, den = align(x, y)
  local negative = (num < 0) ~= (den < 0)
  if num < 0 then num = -num end
  if den < 0 then den = -den end
  local g = gcd(num, den)
  num, den = num // g, den // g
  -- Terminating expansion: den = 2^a 5^b, exact with max(a, b) decimal places.
  local d, twos, fives = den, 0, 0
  while d % 2 == 0 do d = d // 2; twos = twos + 1 end
  while d % 5 == 0 do d = d // 5; fives = fives + 1 end
  local result
  local places = twos > fives and twos or fives
  if d == 1 and places <= MAX_SCALE then
    result = {m = mul_int(num, POW10[places] // den), s = places}
  else
    if den > MAX // 10 then too_large() end
    local m, r = num // den, num % den
    for _ = 1, ROUND_PLACES do
      r = r * 10
      m = add_int(mul_int(m, 10), r // den)
      r = r % den
    end
    if r * 2 >= den then m = add_int(m, 1) end
    result = {m = m, s = ROUND_PLACES}
    state.rounded = true
  end
  if negative then result.m = -result.m end
  return normalize(result)
end

local function mod(x, y)
  if y.m == 0 then fail("modulo by zero") end
  local a, b, s = align(x, y)
  return normalize({m = a % b, s = s})
end

local function pow(x, y, state)
  y = normalize(y)
  if y.s ~= 0 then fail("exponent must be a whole number") end
  local e = y.m
  local inverse = e < 0
  if inverse then e = -e end
  x = normalize(x)
  local result
  if x.s == 0 and (x.m == 0 or x.m == 1 or x.m == -1) then
    if x.m == 0 then
      if inverse then fail("division by zero") end
      result = {m = e == 0 and 1 or 0, s = 0}
    elseif x.m == 1 or e % 2 == 0 then
      result = {m = 1, s = 0}
    else
      result = {m = -1, s = 0}
    end
  else
    -- |x.m| >= 2 or x.s >= 1: the magnitude or the scale grows every step, so this stops (or fails) fast.
    result = {m = 1, s = 0}
    for _ = 1, e do result = mul(result, x) end
  end
  if inverse then return div({m = 1, s = 0}, result, state) end
  return result
end

-- Parser ------------------------------------------------------------------------------------------------

local Parser = {}
Parser.__index = Parser

local function is_digit(c) return c ~= nil and c >= 48 and c <= 57 end

function Parser:peek()
  local text, i = self.text, self.pos
  while true do
    local c = text:byte(i)
    if c == 32 or c == 9 or c == 10 or c == 13 then i = i + 1 else break end
  end
  self.pos = i
  return text:byte(i)
end

function Parser:unexpected()
  local c = self:peek()
  if c == nil then fail("unexpected end of expression") end
  fail(string.format("unexpected character '%s' at position %d", self.text:sub(self.pos, self.pos), self.pos))
end

function Parser:number()
  local text, i = self.text, self.pos
  local m, s, digits = 0, 0, 0
  while is_digit(text:byte(i)) do
    m = add_int(mul_int(m, 10), text:byte(i) - 48)
    digits = digits + 1
    i = i + 1
  end
  if text:byte(i) == 46 then  -- '.'
    i = i + 1
    while is_digit(text:byte(i)) do
      s = s + 1
      if s > MAX_SCALE then fail("too many decimal places (at most " .. MAX_SCALE .. ")") end
      m = add_int(mul_int(m, 10), text:byte(i) - 48)
      digits = digits + 1
      i = i + 1
    end
  end
  if digits == 0 then self:unexpected() end
  self.pos = i
  return normalize({m = m, s = s})
end

function Parser:primary()
  local c = self:peek()
  if c == 40 then  -- '('
    self.pos = self.pos + 1
    self.depth = self.depth + 1
    if self.depth > 200 then fail("expression nested too deeply") end
    local v = self:expr()
    if self:peek() ~= 41 then
      if self:peek() == nil then fail("missing closing parenthesis") end
      self:unexpected()
    end
    self.pos = self.pos + 1
    self.depth = self.depth - 1
    return v
  end
  if is_digit(c) or c == 46 then return self:number() end
  self:unexpected()
end

function Parser:power()
  local base = self:primary()
  if self:peek() == 94 then  -- '^'
    self.pos = self.pos + 1
    local exponent = self:unary()  -- right-associative; the exponent may be negated
    return pow(base, exponent, self.state)
  end
  return base
end

function Parser:unary()
  local c = self:peek()
  if c == 45 or c == 43 then  -- '-' '+'
    self.pos = self.pos + 1
    self.depth = self.depth + 1
    if self.depth > 200 then fail("expression nested too deeply") end
    local v = self:unary()
    self.depth = self.depth - 1
    if c == 45 then return neg(v) end
    return v
  end
  return self:power()
end

function Parser:term()
  local v = self:unary()
  while true do
    local c = self:peek()
    if c == 42 then self.pos = self.pos + 1; v = mul(v, self:unary())
    elseif c == 47 then self.pos = self.pos + 1; v = div(v, self:unary(), self.state)
    elseif c == 37 then self.pos = self.pos + 1; v = mod(v, self:unary())
    else return v end
  end
end

function Parser:expr()
  local v = self:term()
  while true do
    local c = self:peek()
    if c == 43 then self.pos = self.pos + 1; v = add(v, self:term())
    elseif c == 45 then self.pos = self.pos + 1; v = sub(v, self:term())
    else return v end
  end
end

local function format(x)
  x = normalize(x)
  local m, s = x.m, x.s
  if s == 0 then return string.format("%d", m) end
  local sign = ""
  if m < 0 then sign = "-"; m = -m end
  local digits = string.format("%d", m)
  if #digits <= s then digits = string.rep("0", s - #digits + 1) .. digits end
  return sign .. digits:sub(1, #digits - s) .. "." .. digits:sub(#digits - s + 1)
end

-- Evaluates `text`; returns the decimal string and whether a division was rounded.
local function evaluate(text)
  if type(text) ~= "string" then fail("expression must be a string") end
  if #text > 1000 then fail("expression too long (at most 1000 characters)") end
  local p = setmetatable({text = text, pos = 1, depth = 0, state = {rounded = false}}, Parser)
  if p:peek() == nil then fail("empty expression") end
  local v = p:expr()
  if p:peek() ~= nil then
    if p:peek() == 41 then fail(string.format("unmatched ')' at position %d", p.pos)) end
    p:unexpected()
  end
  return format(v), p.state.rounded
end

function run(args)
  if type(args) ~= "table" then fail("arguments must be an object with an expression") end
  local result, rounded = evaluate(args.expression)
  if rounded then return {result = result, rounded = "to " .. ROUND_PLACES .. " decimal places"} end
  return {result = result}
end

