"""Python mirror of examples/tools/calc.lua: the same parser, the same scaled 64-bit integer arithmetic,
the same error messages. gen_data.py uses it to compute the observations the demo model trains on;
check_calc.py compares the two on random expressions.

    calc({"expression": "1/3"}) -> {"result": "0.333333333333", "rounded": "to 12 decimal places"}
    calc({"expression": "1/0"}) raises CalcError("division by zero")
"""

MAX = 2**63 - 1
MAX_SCALE = 18
ROUND_PLACES = 12
POW10 = [10**i for i in range(MAX_SCALE + 1)]


class CalcError(Exception):
    pass


def _fail(msg):
    raise CalcError(msg)


def _too_large():
    _fail("number too large: exact arithmetic is limited to 64-bit values")


def _fdiv(a, b):  # Lua // on integers (floored), same as Python's
    return a // b


def _add_int(a, b):
    if (b > 0 and a > MAX - b) or (b < 0 and a < -MAX - b):
        _too_large()
    return a + b


def _mul_int(a, b):
    if a == 0 or b == 0:
        return 0
    if abs(a) > MAX // abs(b):
        _too_large()
    return a * b


def _normalize(x):
    m, s = x
    while s > 0 and m % 10 == 0:
        m //= 10
        s -= 1
    return (m, s)


def _check_scale(x):
    x = _normalize(x)
    if x[1] > MAX_SCALE:
        _fail(f"too many decimal places (at most {MAX_SCALE})")
    return x


def _align(x, y):
    if x[1] == y[1]:
        return x[0], y[0], x[1]
    if x[1] < y[1]:
        return _mul_int(x[0], POW10[y[1] - x[1]]), y[0], y[1]
    return x[0], _mul_int(y[0], POW10[x[1] - y[1]]), x[1]


def _add(x, y):
    a, b, s = _align(x, y)
    return _normalize((_add_int(a, b), s))


def _neg(x):
    return (-x[0], x[1])


def _mul(x, y):
    return _check_scale((_mul_int(x[0], y[0]), x[1] + y[1]))


def _gcd(a, b):
    while b != 0:
        a, b = b, a % b
    return a


def _div(x, y, state):
    if y[0] == 0:
        _fail("division by zero")
    num, den, _ = _align(x, y)
    negative = (num < 0) != (den < 0)
    num, den = abs(num), abs(den)
    g = _gcd(num, den)
    num, den = num // g, den // g
    d, twos, fives = den, 0, 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    places = max(twos, fives)
    if d == 1 and places <= MAX_SCALE:
        m, s = _mul_int(num, POW10[places] // den), places
    else:
        if den > MAX // 10:
            _too_large()
        m, r = num // den, num % den
        for _ in range(ROUND_PLACES):
            r = r * 10
            m = _add_int(_mul_int(m, 10), r // den)
            r = r % den
        if r * 2 >= den:
            m = _add_int(m, 1)
        s = ROUND_PLACES
        state["rounded"] = True
    if negative:
        m = -m
    return _normalize((m, s))


def _mod(x, y):
    if y[0] == 0:
        _fail("modulo by zero")
    a, b, s = _align(x, y)
    return _normalize((a % b, s))  # floored, like Lua


def _pow(x, y, state):
    y = _normalize(y)
    if y[1] != 0:
        _fail("exponent must be a whole number")
    e = y[0]
    inverse = e < 0
    if inverse:
        e = -e
    x = _normalize(x)
    if x[1] == 0 and x[0] in (0, 1, -1):
        if x[0] == 0:
            if inverse:
                _fail("division by zero")
            result = (1 if e == 0 else 0, 0)
        elif x[0] == 1 or e % 2 == 0:
            result = (1, 0)
        else:
            result = (-1, 0)
    else:
        result = (1, 0)
        for _ in range(e):
            result = _mul(result, x)
    if inverse:
        return _div((1, 0), result, state)
    return result


class _Parser:
    def __init__(self, text):
        self.text = text.encode("utf-8")
        self.pos = 0  # 0-based; messages use 1-based like Lua
        self.depth = 0
        self.state = {"rounded": False}

    def _byte(self, i):
        return self.text[i] if i < len(self.text) else None

    def peek(self):
        i = self.pos
        while self._byte(i) in (32, 9, 10, 13):
            i += 1
        self.pos = i
        return self._byte(i)

    def unexpected(self):
        c = self.peek()
        if c is None:
            _fail("unexpected end of expression")
        ch = self.text[self.pos:self.pos + 1].decode("utf-8", errors="replace")
        _fail(f"unexpected character '{ch}' at position {self.pos + 1}")

    def number(self):
        i = self.pos
        m = s = digits = 0
        while self._byte(i) is not None and 48 <= self._byte(i) <= 57:
            m = _add_int(_mul_int(m, 10), self._byte(i) - 48)
            digits += 1
            i += 1
        if self._byte(i) == 46:
            i += 1
            while self._byte(i) is not None and 48 <= self._byte(i) <= 57:
                s += 1
                if s > MAX_SCALE:
                    _fail(f"too many decimal places (at most {MAX_SCALE})")
                m = _add_int(_mul_int(m, 10), self._byte(i) - 48)
                digits += 1
                i += 1
        if digits == 0:
            self.unexpected()
        self.pos = i
        return _normalize((m, s))

    def primary(self):
        c = self.peek()
        if c == 40:
            self.pos += 1
            self.depth += 1
            if self.depth > 200:
                _fail("expression nested too deeply")
            v = self.expr()
            if self.peek() != 41:
                if self.peek() is None:
                    _fail("missing closing parenthesis")
                self.unexpected()
            self.pos += 1
            self.depth -= 1
            return v
        if c is not None and (48 <= c <= 57 or c == 46):
            return self.number()
        self.unexpected()

    def power(self):
        base = self.primary()
        if self.peek() == 94:
            self.pos += 1
            exponent = self.unary()
            return _pow(base, exponent, self.state)
        return base

    def unary(self):
        c = self.peek()
        if c in (45, 43):
            self.pos += 1
            self.depth += 1
            if self.depth > 200:
                _fail("expression nested too deeply")
            v = self.unary()
            self.depth -= 1
            return _neg(v) if c == 45 else v
        return self.power()

    def term(self):
        v = self.unary()
        while True:
            c = self.peek()
            if c == 42:
                self.pos += 1
                v = _mul(v, self.unary())
            elif c == 47:
                self.pos += 1
                v = _div(v, self.unary(), self.state)
            elif c == 37:
                self.pos += 1
                v = _mod(v, self.unary())
            else:
                return v

    def expr(self):
        v = self.term()
        while True:
            c = self.peek()
            if c == 43:
                self.pos += 1
                v = _add(v, self.term())
            elif c == 45:
                self.pos += 1
                v = _add(v, _neg(self.term()))
            else:
                return v


def _format(x):
    m, s = _normalize(x)
    if s == 0:
        return str(m)
    sign = ""
    if m < 0:
        sign, m = "-", -m
    digits = str(m)
    if len(digits) <= s:
        digits = "0" * (s - len(digits) + 1) + digits
    return sign + digits[:len(digits) - s] + "." + digits[len(digits) - s:]


def evaluate(text):
    if not isinstance(text, str):
        _fail("expression must be a string")
    if len(text.encode("utf-8")) > 1000:
        _fail("expression too long (at most 1000 characters)")
    p = _Parser(text)
    if p.peek() is None:
        _fail("empty expression")
    v = p.expr()
    if p.peek() is not None:
        if p.peek() == 41:
            _fail(f"unmatched ')' at position {p.pos + 1}")
        p.unexpected()
    return _format(v), p.state["rounded"]


def calc(args):
    """The tool: {"expression": str} -> {"result": str[, "rounded": ...]}; raises CalcError."""
    if not isinstance(args, dict):
        _fail("arguments must be an object with an expression")
    result, rounded = evaluate(args.get("expression"))
    if rounded:
        return {"result": result, "rounded": f"to {ROUND_PLACES} decimal places"}
    return {"result": result}
