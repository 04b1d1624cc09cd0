#!/usr/bin/python3
"""Small Lua projects with one bug each, for the coder agent: the generator of training variants and of the
shipped examples/workspace.

A project is a set of modules `NAME.lua` (a table M of functions) with a test file `test_NAME.lua` each, plus
the workspace's tiny test helper `testlib.lua`. A test file returns testlib's report
{passed = N, failed = M, failures = {{test = name, message = msg}, ...}}; the built-in run_tests tool shows it
as {"passed":N,"failed":M,"failures":[{"test":..,"message":..}]} (agents/README.md). Every function template
below is written twice, in Lua (what the files hold) and in Python (what the trace generator runs to predict
test results); check_workspace.py runs the real Lua to keep the two in step.

    /usr/bin/python3 model/demo/workspace_gen.py [--out examples/workspace]   # the shipped workspace
"""
import argparse
import os
import random

TESTLIB = '''-- testlib.lua: the tiny test helper of this workspace.
-- A test file loads it, registers tests and returns t.report():
--   {passed = N, failed = M, failures = {{test = name, message = msg}, ...}}
local t = {results = {}}

function t.module(path)
  local chunk, err = load(fs.read(path), "=" .. path)
  if not chunk then error(err, 0) end
  return chunk()
end

local function show(v)
  if type(v) == "string" then return '"' .. v .. '"' end
  return tostring(v)
end

function t.eq(what, got, want)
  if got ~= want then
    error(what .. ": expected " .. show(want) .. ", got " .. show(got), 0)
  end
end

function t.test(name, fn)
  local ok, err = pcall(fn)
  t.results[#t.results + 1] = {test = name, ok = ok, message = tostring(err)}
end

function t.report()
  local passed, failures = 0, {}
  for _, r in ipairs(t.results) do
    if r.ok then
      passed = passed + 1
    else
      failures[#failures + 1] = {test = r.test, message = r.message}
    end
  end
  return {passed = passed, failed = #failures, failures = failures}
end

return t
'''


def show(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "nil"
    if isinstance(v, str):
        return '"' + v + '"'
    return str(v)


def lua_lit(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, list):
        return "{" + ", ".join(lua_lit(x) for x in v) + "}"
    return str(v)


def _idx(t, i):  # Lua t[i] (1-based), nil outside
    return t[i - 1] if 1 <= i <= len(t) else None


def _rep(s, n):
    return s * n if n > 0 else ""


# Function templates. params: the parameter roles; body: Lua lines (indented by 2 when written) with
# {p0}, {p1}, ... for the parameter names; py: the correct function; bugs: [(line index, buggy line, py)].
# args: a generator of one argument tuple. names: the function names it may take.
def _ints(lo, hi, k):
    return lambda r: tuple(r.randint(lo, hi) for _ in range(k))


def _list(r, lo=-9, hi=30):
    return [r.randint(lo, hi) for _ in range(r.randint(2, 5))]


WORDS = ["cat", "sun", "tree", "moon", "lua", "code", "map", "note", "star", "fish", "rain", "bird", "lamp", "ring"]

TEMPLATES = [
    dict(names=["add", "plus"], params=[("a", "x"), ("b", "y")], body=["return {p0} + {p1}"],
         py=lambda a, b: a + b, args=_ints(-20, 60, 2),
         bugs=[(0, "return {p0} - {p1}", lambda a, b: a - b), (0, "return {p0} * {p1}", lambda a, b: a * b)]),
    dict(names=["sub", "minus"], params=[("a", "x"), ("b", "y")], body=["return {p0} - {p1}"],
         py=lambda a, b: a - b, args=_ints(-20, 60, 2),
         bugs=[(0, "return {p0} + {p1}", lambda a, b: a + b), (0, "return {p1} - {p0}", lambda a, b: b - a)]),
    dict(names=["mul", "times"], params=[("a", "x"), ("b", "y")], body=["return {p0} * {p1}"],
         py=lambda a, b: a * b, args=_ints(-9, 15, 2),
         bugs=[(0, "return {p0} + {p1}", lambda a, b: a + b)]),
    dict(names=["square"], params=[("x", "n")], body=["return {p0} * {p0}"],
         py=lambda x: x * x, args=_ints(-12, 25, 1),
         bugs=[(0, "return {p0} + {p0}", lambda x: x + x), (0, "return {p0} * 2", lambda x: x * 2)]),
    dict(names=["cube"], params=[("x", "n")], body=["return {p0} * {p0} * {p0}"],
         py=lambda x: x * x * x, args=_ints(-6, 12, 1),
         bugs=[(0, "return {p0} * {p0} * 3", lambda x: x * x * 3)]),
    dict(names=["double", "twice"], params=[("x", "n")], body=["return 2 * {p0}"],
         py=lambda x: 2 * x, args=_ints(-30, 99, 1),
         bugs=[(0, "return 2 + {p0}", lambda x: 2 + x)]),
    dict(names=["max2", "larger"], params=[("a", "x"), ("b", "y")],
         body=["if {p0} > {p1} then return {p0} end", "return {p1}"],
         py=lambda a, b: a if a > b else b, args=_ints(-20, 60, 2),
         bugs=[(0, "if {p0} < {p1} then return {p0} end", lambda a, b: a if a < b else b)]),
    dict(names=["min2", "smaller"], params=[("a", "x"), ("b", "y")],
         body=["if {p0} < {p1} then return {p0} end", "return {p1}"],
         py=lambda a, b: a if a < b else b, args=_ints(-20, 60, 2),
         bugs=[(0, "if {p0} > {p1} then return {p0} end", lambda a, b: a if a > b else b)]),
    dict(names=["abs", "magnitude"], params=[("x", "n")], body=["if {p0} < 0 then return -{p0} end", "return {p0}"],
         py=lambda x: -x if x < 0 else x, args=_ints(-40, 40, 1),
         bugs=[(0, "if {p0} > 0 then return -{p0} end", lambda x: -x if x > 0 else x)]),
    dict(names=["is_even"], params=[("n", "x")], body=["return {p0} % 2 == 0"],
         py=lambda n: n % 2 == 0, args=_ints(-20, 99, 1),
         bugs=[(0, "return {p0} % 2 == 1", lambda n: n % 2 == 1)]),
    dict(names=["is_odd"], params=[("n", "x")], body=["return {p0} % 2 == 1"],
         py=lambda n: n % 2 == 1, args=_ints(-20, 99, 1),
         bugs=[(0, "return {p0} % 2 == 0", lambda n: n % 2 == 0)]),
    dict(names=["triangle"], params=[("n", "k")], body=["return {p0} * ({p0} + 1) // 2"],
         py=lambda n: n * (n + 1) // 2, args=_ints(1, 40, 1),
         bugs=[(0, "return {p0} * ({p0} - 1) // 2", lambda n: n * (n - 1) // 2)]),
    dict(names=["sum", "total"], params=[("list", "t")],
         body=["local s = 0", "for i = 1, #{p0} do", "  s = s + {p0}[i]", "end", "return s"],
         py=lambda t: sum(t), args=lambda r: (_list(r),),
         bugs=[(1, "for i = 2, #{p0} do", lambda t: sum(t[1:])), (0, "local s = 1", lambda t: 1 + sum(t))]),
    dict(names=["factorial", "fact"], params=[("n", "k")],
         body=["local r = 1", "for i = 2, {p0} do", "  r = r * i", "end", "return r"],
         py=lambda n: __import__("math").factorial(n), args=_ints(3, 10, 1),
         bugs=[(1, "for i = 2, {p0} - 1 do", lambda n: __import__("math").factorial(n - 1)),
               (2, "  r = r + i", lambda n: 1 + sum(range(2, n + 1)))]),
    dict(names=["count", "count_of"], params=[("list", "t"), ("v", "x")],
         body=["local c = 0", "for _, e in ipairs({p0}) do", "  if e == {p1} then c = c + 1 end", "end", "return c"],
         py=lambda t, v: sum(1 for e in t if e == v),
         args=lambda r: (lambda t: (t, r.choice(t)))([r.randint(1, 4) for _ in range(r.randint(3, 6))]),
         bugs=[(2, "  if e ~= {p1} then c = c + 1 end", lambda t, v: sum(1 for e in t if e != v))]),
    dict(names=["last"], params=[("list", "t")], body=["return {p0}[#{p0}]"],
         py=lambda t: _idx(t, len(t)), args=lambda r: (_list(r),),
         bugs=[(0, "return {p0}[#{p0} - 1]", lambda t: _idx(t, len(t) - 1))]),
    dict(names=["first", "head"], params=[("list", "t")], body=["return {p0}[1]"],
         py=lambda t: _idx(t, 1), args=lambda r: (_list(r),),
         bugs=[(0, "return {p0}[2]", lambda t: _idx(t, 2))]),
    dict(names=["greet", "hello"], params=[("name", "who")], body=['return "Hello, " .. {p0} .. "!"'],
         py=lambda s: "Hello, " + s + "!", args=lambda r: (r.choice(WORDS).capitalize(),),
         bugs=[(0, 'return "Hello, " .. {p0}', lambda s: "Hello, " + s),
               (0, 'return "Hello " .. {p0} .. "!"', lambda s: "Hello " + s + "!")]),
    dict(names=["repeat_str", "rep"], params=[("s", "str"), ("n", "k")], body=["return string.rep({p0}, {p1})"],
         py=lambda s, n: _rep(s, n), args=lambda r: (r.choice(WORDS), r.randint(2, 4)),
         bugs=[(0, "return string.rep({p0}, {p1} - 1)", lambda s, n: _rep(s, n - 1))]),
    dict(names=["shout", "loud"], params=[("s", "str")], body=['return string.upper({p0}) .. "!"'],
         py=lambda s: s.upper() + "!", args=lambda r: (r.choice(WORDS),),
         bugs=[(0, 'return string.lower({p0}) .. "!"', lambda s: s.lower() + "!")]),
    dict(names=["length", "size"], params=[("s", "str")], body=["return #{p0}"],
         py=lambda s: len(s), args=lambda r: (r.choice(WORDS) + r.choice(WORDS),),
         bugs=[(0, "return #{p0} - 1", lambda s: len(s) - 1)]),
    dict(names=["clamp"], params=[("x", "v"), ("lo", "low"), ("hi", "high")],
         body=["if {p0} < {p1} then return {p1} end", "if {p0} > {p2} then return {p2} end", "return {p0}"],
         py=lambda x, lo, hi: lo if x < lo else (hi if x > hi else x),
         args=lambda r: (r.randint(-20, 40), r.randint(-5, 5), r.randint(10, 20)),
         bugs=[(1, "if {p0} > {p2} then return {p1} end", lambda x, lo, hi: lo if x < lo else (lo if x > hi else x))]),
    dict(names=["sign"], params=[("x", "n")],
         body=["if {p0} > 0 then return 1 end", "if {p0} < 0 then return -1 end", "return 0"],
         py=lambda x: 1 if x > 0 else (-1 if x < 0 else 0), args=_ints(-30, 30, 1),
         bugs=[(1, "if {p0} < 0 then return 1 end", lambda x: 1 if x > 0 else (1 if x < 0 else 0))]),
    dict(names=["mean2", "midpoint"], params=[("a", "x"), ("b", "y")], body=["return ({p0} + {p1}) // 2"],
         py=lambda a, b: (a + b) // 2, args=_ints(0, 90, 2),
         bugs=[(0, "return {p0} + {p1} // 2", lambda a, b: a + b // 2)]),
]

TRAIN_MODULES = ["mathx", "numbers", "arith", "strutil", "text", "listx", "tables", "utils", "helpers", "stats",
                 "counter", "words", "seq", "calc2", "core", "basic", "ops", "funcs", "tools", "misc", "shapes",
                 "prelude", "common", "kit", "lib", "mini", "small", "simple", "util2", "extra", "more", "base"]
HELDOUT_MODULES = ["geometry", "scoring", "inventory", "ledger", "puzzle", "weather", "planner", "recipes",
                   "garden", "library"]

# Words for module names of the "fresh names" traces (gen_data.py --fresh-names): with a new name in most
# traces the model cannot learn a list of file names and has to copy the one the task gives it.
NAME_WORDS = ["orders", "budget", "tickets", "invoice", "payroll", "report", "account", "cart", "catalog", "parser",
              "lexer", "matrix", "vector", "graph", "queue", "stack", "buffer", "cache", "router", "session",
              "profile", "survey", "grades", "roster", "schedule", "calendar", "timer", "clock", "sensor", "meter",
              "billing", "pricing", "discount", "shipping", "tracker", "journal", "diary", "notes", "memo", "letters",
              "postal", "census", "voting", "tally", "market", "stock", "trade", "exchange", "wallet", "coins",
              "bank", "loans", "interest", "savings", "farm", "harvest", "orchard", "kitchen", "menu", "pantry",
              "bakery", "cafe", "hotel", "booking", "travel", "flights", "train", "transit", "parking", "traffic",
              "school", "course", "lesson", "quiz", "exam", "homework", "chess", "cards", "dice", "lottery",
              "arcade", "sports", "league", "match", "score", "player", "team", "fitness", "health", "clinic",
              "pharmacy", "dosage", "museum", "gallery", "music", "playlist", "video", "photos", "colors", "pixels",
              "canvas", "shapes2", "physics", "orbit", "planets", "chemistry", "atoms", "biology", "genome", "census2",
              "forest", "ocean", "rivers", "climate", "storm", "energy", "solar", "battery", "circuit", "robot",
              "drone", "engine", "garage", "repair", "factory", "warehouse", "shelf", "boxes", "labels", "barcode",
              "archive", "backup", "logger", "metrics", "alerts", "monitor", "network", "packets", "server", "client",
              "crypto", "hashing", "random2", "sorting", "search", "filters", "pipeline", "batch", "jobs", "workers"]


def fresh_module_names(rng, k):
    """k distinct module names none of which is held out: real words and invented ones (syllables)."""
    out = []
    while len(out) < k:
        r = rng.random()
        if r < 0.5:
            n = rng.choice(NAME_WORDS)
        elif r < 0.85:
            n = "".join(rng.choice("bcdfghklmnprstvz") + rng.choice(["a", "e", "i", "o", "u", "ai", "ou"])
                        for _ in range(rng.randint(2, 3))) + rng.choice(["", "", "r", "n", "s", "x", "t"])
        else:
            n = rng.choice(NAME_WORDS) + rng.choice(["_", ""]) + rng.choice(NAME_WORDS + ["util", "lib", "core"])
        if n not in HELDOUT_MODULES and n not in out:
            out.append(n)
    return out


def _fn_lines(fname, pnames, body):
    lines = [f"function M.{fname}({', '.join(pnames)})"]
    lines += ["  " + b for b in body]
    lines.append("end")
    return lines


class Function:
    """One function of a module: its Lua text (correct or buggy) and its test checks."""

    def __init__(self, rng, tpl, fname, used_args=None):
        self.tpl = tpl
        self.name = fname
        roles = tpl["params"]
        alt = rng.random() < 0.4
        self.pnames = [r[1] if alt else r[0] for r in roles]
        fmt = {f"p{i}": p for i, p in enumerate(self.pnames)}
        self.body = [b.format(**fmt) for b in tpl["body"]]
        self.bug = None  # (line index, buggy line, py)
        self.fmt = fmt
        self.checks = []  # [(call text, args)]
        self._rng = rng

    def set_bug(self, rng):
        k, line, py = rng.choice(self.tpl["bugs"])
        self.bug = (k, line.format(**self.fmt), py)

    def lines(self, buggy):
        body = list(self.body)
        if buggy and self.bug:
            body[self.bug[0]] = self.bug[1]
        return _fn_lines(self.name, self.pnames, body)

    def make_checks(self, rng, n=2):
        # Checks that the bug (if any, or any of the template's bugs) is caught by the first or second check.
        for _ in range(200):
            argsets = [self.tpl["args"](rng) for _ in range(n)]
            bugs = [self.bug[2]] if self.bug else [b[2] for b in self.tpl["bugs"]]
            ok = all(any(self.tpl["py"](*a) != bug(*a) for a in argsets) for bug in bugs)
            if ok and len({repr(a) for a in argsets}) == n:
                self.checks = argsets
                return
        raise RuntimeError("no distinguishing arguments for " + self.name)

    def call_text(self, args):
        return f"{self.name}({', '.join(lua_lit(a) for a in args)})"

    def result(self, args, buggy):
        if buggy and self.bug:
            return self.bug[2](*args)
        return self.tpl["py"](*args)


class Module:
    def __init__(self, rng, name, n_funcs):
        self.name = name
        tpls = rng.sample(range(len(TEMPLATES)), n_funcs)
        self.funcs = []
        used = set()
        for ti in tpls:
            tpl = TEMPLATES[ti]
            fname = rng.choice([n for n in tpl["names"] if n not in used] or tpl["names"])
            used.add(fname)
            self.funcs.append(Function(rng, tpl, fname))
        self.buggy_index = None
        for f in self.funcs:
            f.make_checks(rng)

    @property
    def path(self):
        return self.name + ".lua"

    @property
    def test_path(self):
        return "test_" + self.name + ".lua"

    def add_bug(self, rng):
        self.buggy_index = rng.randrange(len(self.funcs))
        f = self.funcs[self.buggy_index]
        f.set_bug(rng)
        f.make_checks(rng)

    def source(self, fixed=False):
        out = [f"-- {self.name}.lua", "local M = {}", ""]
        for f in self.funcs:
            out += f.lines(buggy=not fixed)
            out.append("")
        out.append("return M")
        return "\n".join(out) + "\n"

    def test_source(self):
        out = ['local t = load(fs.read("testlib.lua"), "=testlib.lua")()',
               f'local M = t.module("{self.path}")', ""]
        for f in self.funcs:
            out.append(f't.test("{f.name}", function()')
            for a in f.checks:
                call = f.call_text(a)
                out.append(f"  t.eq('{call}', M.{call}, {lua_lit(f.result(a, buggy=False))})")
            out.append("end)")
            out.append("")
        out.append("return t.report()")
        return "\n".join(out) + "\n"

    def run_tests(self, fixed=False):
        """What run_tests returns for test_NAME.lua, as a dict in the documented key order."""
        passed, failures = 0, []
        for f in self.funcs:
            msg = None
            for a in f.checks:
                want, got = f.result(a, buggy=False), f.result(a, buggy=not fixed)
                if got != want or type(got) != type(want):
                    msg = f"{f.call_text(a)}: expected {show(want)}, got {show(got)}"
                    break
            if msg is None:
                passed += 1
            else:
                failures.append({"test": f.name, "message": msg})
        return {"passed": passed, "failed": len(failures), "failures": failures}

    def fix(self):
        """(old, new) for replace: the buggy function's header through its buggy line."""
        f = self.funcs[self.buggy_index]
        k = f.bug[0]
        buggy = f.lines(buggy=True)[:k + 2]
        good = f.lines(buggy=False)[:k + 2]
        return "\n".join(buggy), "\n".join(good)


class Workspace:
    """Several modules, `n_buggy` of them with one bug each."""

    def __init__(self, rng, names, n_modules, n_buggy=1):
        chosen = rng.sample(names, n_modules)
        self.modules = [Module(rng, n, rng.randint(3, 4)) for n in chosen]
        self.buggy = rng.sample(range(n_modules), n_buggy)
        for i in self.buggy:
            self.modules[i].add_bug(rng)

    def files(self):
        names = ["testlib.lua"]
        for m in self.modules:
            names += [m.path, m.test_path]
        return sorted(names)

    def write(self, root):
        os.makedirs(root, exist_ok=True)
        for f in os.listdir(root):
            if f.endswith(".lua"):
                os.remove(os.path.join(root, f))
        with open(os.path.join(root, "testlib.lua"), "w") as f:
            f.write(TESTLIB)
        for m in self.modules:
            with open(os.path.join(root, m.path), "w") as f:
                f.write(m.source())
            with open(os.path.join(root, m.test_path), "w") as f:
                f.write(m.test_source())


SHIPPED_SEED = 909


def shipped_workspace():
    """examples/workspace: every held-out module, each with one bug (the held-out coder tasks)."""
    rng = random.Random(SHIPPED_SEED)
    return Workspace(rng, HELDOUT_MODULES, len(HELDOUT_MODULES), n_buggy=len(HELDOUT_MODULES))


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "examples", "workspace"))
    args = ap.parse_args()
    ws = shipped_workspace()
    ws.write(args.out)
    print(f"wrote {len(ws.files())} files to {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
