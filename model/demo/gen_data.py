#!/usr/bin/python3
"""Deterministic trace generator for the demo model: conversations of the three example agents
(agents/calculator.json, search-qa.json, coder.json) with real tool results, in the OpenAI message shape.

    /usr/bin/python3 model/demo/gen_data.py --out model/demo/data [--n-calc N --n-search N --n-coder N]
    /usr/bin/python3 model/demo/gen_data.py --write-tasks      # examples/tasks/*.jsonl (held-out tasks)

Writes OUT/traces.jsonl: one {"agent", "messages", "tools"} per line. System prompts and tool specs come
from agents/*.json; observations follow agents/README.md exactly (compact JSON, errors as
{"error":{"kind","message"}}): calc results come from calc.py (the mirror of examples/tools/calc.lua),
search results from a BM25 index over examples/corpus (top_k from the agent), run_tests results from
workspace_gen.py (checked against real Lua by check_workspace.py).

Held-out tasks (examples/tasks/{calculator,search-qa,coder}.jsonl, {"task", "expected"}) are disjoint from
training: their expressions are never generated for training, their corpus entities are never asked about
in training, and their workspace modules (examples/workspace) have names training never uses.
"""
import argparse
import json
import math
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import calc as calc_mod  # noqa: E402
import gen_corpus  # noqa: E402
import workspace_gen as wsg  # noqa: E402


def compact(x):
    return json.dumps(x, ensure_ascii=False, separators=(",", ":"))


def args_json(x):
    # How the model writes arguments: json.dumps defaults (", " and ": "), as GLM-4 itself does.
    return json.dumps(x, ensure_ascii=False)


def tool_error(kind, message):
    return compact({"error": {"kind": kind, "message": message}})


# ---------------------------------------------------------------------------------------------- agents

def load_agent(name):
    with open(os.path.join(ROOT, "agents", name + ".json"), encoding="utf-8") as f:
        text = "\n".join(line for line in f.read().split("\n") if not line.lstrip().startswith("//"))
    cfg = json.loads(text)
    tools = []
    for t in cfg["tools"]:
        for spec in (t["tools"] if "tools" in t else [t]):
            tools.append({"type": "function", "function": {"name": spec["name"], "description": spec["description"],
                                                            "parameters": spec["parameters"]}})
    return cfg, tools


class Agent:
    def __init__(self, name):
        self.name = name
        self.cfg, self.tools = load_agent(name)
        self.system = self.cfg["system"]

    def trace(self, user, turns):
        """turns: list of ("call", [(name, args)...], [observation strings]) or ("answer", text)."""
        msgs = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        n = 0
        for t in turns:
            if t[0] == "answer":
                msgs.append({"role": "assistant", "content": t[1]})
                continue
            calls, obs = t[1], t[2]
            assert len(calls) == len(obs)
            tcs = []
            for name, a in calls:
                tcs.append({"id": f"call_{n}", "type": "function",
                            "function": {"name": name, "arguments": args_json(a)}})
                n += 1
            msgs.append({"role": "assistant", "content": None, "tool_calls": tcs})
            for tc, o in zip(tcs, obs):
                msgs.append({"role": "tool", "tool_call_id": tc["id"], "content": o})
        return {"agent": self.name, "messages": msgs, "tools": self.tools}


# ------------------------------------------------------------------------------------------ calculator

def _num(rng, kind=None):
    kind = kind or rng.choices(["small", "mid", "big", "dec", "dec2"], [30, 30, 8, 20, 12])[0]
    if kind == "small":
        return str(rng.randint(1, 99))
    if kind == "mid":
        return str(rng.randint(100, 99999))
    if kind == "big":
        return str(rng.randint(10**5, 10**9))
    if kind == "dec":
        return f"{rng.randint(0, 999)}.{rng.randint(1, 9)}"
    return f"{rng.randint(0, 9999)}.{rng.randint(1, 99):02d}"


def _expr(rng, depth=0):
    n_ops = rng.choices([1, 2, 3], [50, 35, 15])[0] if depth == 0 else 1
    sp = rng.random() < 0.8
    parts = [_num(rng)]
    for _ in range(n_ops):
        op = rng.choices("+-*/%^", [26, 22, 26, 18, 4, 4])[0]
        b = _num(rng)
        if op == "^":
            b = str(rng.randint(2, 5))
            if "." in parts[-1] or len(parts[-1]) > 2:
                parts[-1] = str(rng.randint(2, 30))
        if op in "/%" and rng.random() < 0.5:
            b = str(rng.choice([2, 3, 4, 5, 7, 8, 9, 10, 12, 16, 25, 100]))
        parts += [op, b]
    if n_ops >= 2 and rng.random() < 0.35:
        i = rng.randrange(0, n_ops) * 2  # wrap two operands in parentheses
        parts[i] = "(" + parts[i]
        parts[i + 2] = parts[i + 2] + ")"
    if rng.random() < 0.08:
        parts[0] = "-" + parts[0]
    return (" " if sp else "").join(parts)


CALC_PLAIN = ["What is {e}?", "Compute {e}.", "Calculate {e}", "How much is {e}?", "Evaluate {e}.", "{e} = ?",
              "Please work out {e}.", "what's {e}", "I need the value of {e}.", "Can you calculate {e}?", "{e}",
              "Quick question: what is {e}?", "Find {e}."]

CALC_WORDS = [  # (question template, expression template, operand kinds)
    ("What is the sum of {a} and {b}?", "{a} + {b}"),
    ("Add {a} and {b}.", "{a} + {b}"),
    ("What is {a} minus {b}?", "{a} - {b}"),
    ("Subtract {b} from {a}.", "{a} - {b}"),
    ("What is {a} times {b}?", "{a} * {b}"),
    ("Multiply {a} by {b}.", "{a} * {b}"),
    ("What is the product of {a} and {b}?", "{a} * {b}"),
    ("What is {a} divided by {b}?", "{a} / {b}"),
    ("Divide {a} by {b}.", "{a} / {b}"),
    ("What is the remainder when {a} is divided by {b}?", "{a} % {b}"),
    ("What is {a} to the power of {k}?", "{a} ^ {k}"),
    ("What is the square of {a}?", "{a} ^ 2"),
    ("What is {p}% of {a}?", "{a} * {p} / 100"),
]

CALC_BAD = [  # notations calc refuses: (operator as written, correct)
    ("x", "*"), ("×", "*"), ("÷", "/"), (":", "/")]


def calc_answer(res):
    if "rounded" in res:
        return f"The answer is approximately {res['result']} (rounded to 12 decimal places)."
    return f"The answer is {res['result']}."


def run_calc(expression):
    """(observation text, result dict or None, error message or None)"""
    try:
        res = calc_mod.calc({"expression": expression})
        return compact(res), res, None
    except calc_mod.CalcError as e:
        return tool_error("runtime", str(e)), None, str(e)


def calc_error_answer(err):
    if err in ("division by zero", "modulo by zero"):
        return "The expression divides by zero, so it has no value."
    if err.startswith("number too large"):
        return "The numbers are too large for exact 64-bit arithmetic, so I cannot give an exact answer."
    return f"I could not evaluate it: {err}."


def calc_question(rng):
    """(question, expression as the model should write it first, answer-kind tag)"""
    r = rng.random()
    if r < 0.62:
        e = _expr(rng)
        return rng.choice(CALC_PLAIN).format(e=e), e
    if r < 0.92:
        q, t = rng.choice(CALC_WORDS)
        a, b = _num(rng), _num(rng)
        if "/" in t or "%" in t:
            b = rng.choice([b, str(rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 25, 40, 100]))])
        k = str(rng.randint(2, 4))
        if "^" in t:
            a = str(rng.randint(2, 99))
        p = str(rng.choice([5, 10, 12, 15, 20, 25, 30, 40, 50, 75, 8, 3, 2.5, 12.5]))
        return q.format(a=a, b=b, k=k, p=p), t.format(a=a, b=b, k=k, p=p)
    # special cases: division by zero, overflow
    if r < 0.96:
        a = _num(rng)
        return rng.choice(CALC_PLAIN[:4]).format(e=f"{a} / 0"), f"{a} / 0"
    a, b = str(rng.randint(10**12, 10**15)), str(rng.randint(10**8, 10**12))
    return rng.choice(CALC_PLAIN[:4]).format(e=f"{a} * {b}"), f"{a} * {b}"


def calc_trace(agent, rng, question=None, expression=None):
    if question is None:
        question, expression = calc_question(rng)
    r = rng.random()
    if r < 0.12:  # parallel calls: two expressions in one question
        q2, e2 = calc_question(rng)
        while not re.fullmatch(r"[0-9. ()+\-*/%^]+", e2):
            q2, e2 = calc_question(rng)
        e1 = _expr(rng)
        question = rng.choice(["What are {a} and {b}?", "Compute {a} and {b}.", "Calculate both {a} and {b}.",
                               "I need {a} and also {b}."]).format(a=e1, b=e2)
        o1, r1, x1 = run_calc(e1)
        o2, r2, x2 = run_calc(e2)
        if x1 or x2:
            return None
        ans = f"{e1} = {r1['result']} and {e2} = {r2['result']}."
        if "rounded" in r1 or "rounded" in r2:
            ans += " (Rounded results have 12 decimal places.)"
        return agent.trace(question, [("call", [("calc", {"expression": e1}), ("calc", {"expression": e2})], [o1, o2]),
                                      ("answer", ans)])
    if r < 0.22 and re.fullmatch(r"[0-9. ()+\-*/%^]+", expression) and any(o in expression for o in "*/"):
        # the user writes a notation calc refuses; the model copies it, reads the error, and retries
        bad, good = rng.choice(CALC_BAD)
        op = "*" if good == "*" else "/"
        if op not in expression:
            return None
        written = expression.replace(op, bad, 1)
        question = rng.choice(CALC_PLAIN).format(e=written)
        o1, _, x1 = run_calc(written)
        assert x1 is not None, written
        o2, r2, x2 = run_calc(expression)
        if x2:
            return None
        return agent.trace(question, [("call", [("calc", {"expression": written})], [o1]),
                                      ("call", [("calc", {"expression": expression})], [o2]),
                                      ("answer", calc_answer(r2))])
    o, res, err = run_calc(expression)
    ans = calc_error_answer(err) if err else calc_answer(res)
    return agent.trace(question, [("call", [("calc", {"expression": expression})], [o]), ("answer", ans)])


# ------------------------------------------------------------------------------------------- search QA

def _tokens(text):
    return re.findall(r"[a-z0-9]+", text.lower())


class BM25:
    """BM25 (k1 1.2, b 0.75) over title + text, ties by file name: the idea of the built-in search tool."""

    def __init__(self, docs, k1=1.2, b=0.75):
        self.docs = sorted(docs)  # (fname, title, text)
        self.k1, self.b = k1, b
        self.tf = []
        df = {}
        for _, title, text in self.docs:
            toks = _tokens(title + " " + text)
            c = {}
            for t in toks:
                c[t] = c.get(t, 0) + 1
            self.tf.append((c, len(toks)))
            for t in c:
                df[t] = df.get(t, 0) + 1
        n = len(self.docs)
        self.avgdl = sum(l for _, l in self.tf) / n
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def search(self, query, k):
        q = _tokens(query)
        scores = []
        for i, (c, dl) in enumerate(self.tf):
            s = 0.0
            for t in q:
                f = c.get(t, 0)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * dl / self.avgdl))
            if s > 0:
                scores.append((-s, i))
        scores.sort()
        return [{"title": self.docs[i][1], "text": self.docs[i][2]} for _, i in scores[:k]]


def qa_facts(w):
    """[(entity kind, entity name, question, query, answer sentence, expected)] for every fact."""
    out = []
    for c in w["cities"]:
        n = c["name"]
        pop = gen_corpus.population_text(c["population"])
        out += [
            ("city", n, [f"What is the population of {n}?", f"How many people live in {n}?",
                         f"How big is the population of {n}?"], f"{n} population",
             f"The population of {n} is {pop}.", pop),
            ("city", n, [f"When was {n} founded?", f"In what year was {n} founded?", f"How old is {n}? When was it founded?"],
             f"{n} founded", f"{n} was founded in {c['founded']}.", str(c["founded"])),
            ("city", n, [f"Who founded {n}?", f"Who was the founder of {n}?"], f"{n} founder",
             f"{n} was founded by {c['founder']}.", c["founder"]),
            ("city", n, [f"Which river flows through {n}?", f"On which river does {n} lie?"], f"{n} river",
             f"{n} lies on the {c['river']} river.", c["river"]),
            ("city", n, [f"In which country is {n}?", f"Which country is {n} in?"], f"{n} country",
             f"{n} is in {c['country']}.", c["country"]),
            ("city", n, [f"What is {n} known for?", f"What is {n} famous for?"], f"{n} known for",
             f"{n} is known for {c['known_for']}.", c["known_for"]),
        ]
    for r in w["rivers"]:
        n = r["name"]
        out += [
            ("river", n, [f"How long is the {n} river?", f"What is the length of the {n}?"], f"{n} river length",
             f"The {n} is {r['length_km']} km long.", f"{r['length_km']} km"),
            ("river", n, [f"Where does the {n} river rise?", f"Where is the source of the {n}?"], f"{n} river source",
             f"The {n} rises in {r['source']}.", r["source"]),
            ("river", n, [f"Where does the {n} river flow into?", f"Where is the mouth of the {n}?"], f"{n} river mouth",
             f"The {n} flows into {r['mouth']}.", r["mouth"]),
        ]
    for p in w["people"]:
        n = p["name"]
        out += [
            ("person", n, [f"When was {n} born?", f"In what year was {n} born?"], f"{n} born",
             f"{n} was born in {p['born']}.", str(p["born"])),
            ("person", n, [f"What was {n}'s profession?", f"What did {n} do for a living?"], f"{n} profession",
             f"{n} was a {p['profession']}.", p["profession"]),
            ("person", n, [f"Where was {n} born?", f"What is the birthplace of {n}?"], f"{n} birthplace",
             f"{n} was born in {p['birthplace']}.", p["birthplace"]),
        ]
    return out


def heldout_entity(name):
    """Entities only the held-out tasks ask about: a fixed ~1/8 of them, chosen by a hash of the name."""
    h = 0
    for ch in name.encode("utf-8"):
        h = (h * 131 + ch) % 1000003
    return h % 8 == 3


def search_trace(agent, rng, fact, bm25, k):
    kind, n, questions, query, answer, expected = fact
    q = rng.choice(questions)
    obs = bm25.search(query, k)
    if not any(expected in d["text"] for d in obs):
        return None
    return agent.trace(q, [("call", [("search", {"query": query})], [compact(obs)]), ("answer", answer)])


def search_two_hop(agent, rng, w, bm25, k):
    """How long is the river through CITY? -> search the city, then the river."""
    c = rng.choice([c for c in w["cities"] if not heldout_entity(c["name"])])
    river = next(r for r in w["rivers"] if r["name"] == c["river"])
    q = rng.choice([f"How long is the river that flows through {c['name']}?",
                    f"What is the length of the river on which {c['name']} lies?"])
    o1 = bm25.search(f"{c['name']} river", k)
    o2 = bm25.search(f"{river['name']} river length", k)
    if not any(c["river"] in d["text"] for d in o1) or not any(f"{river['length_km']} km" in d["text"] for d in o2):
        return None
    return agent.trace(q, [("call", [("search", {"query": f"{c['name']} river"})], [compact(o1)]),
                           ("call", [("search", {"query": f"{river['name']} river length"})], [compact(o2)]),
                           ("answer", f"{c['name']} lies on the {river['name']}, which is {river['length_km']} km long.")])


# ----------------------------------------------------------------------------------------------- coder

CODER_TASKS = ["Fix the failing test in {test}.", "The tests in {test} fail. Fix the code.",
               "{path} has a bug. Make {test} pass.", "Run {test} and fix whatever fails.",
               "Please fix the bug in {path}; its tests are in {test}.", "{test} is failing. Please fix it.",
               "Make the tests in {test} pass."]
CODER_FIND = ["Some test in the workspace fails. Find it and fix it.", "One of the test files fails. Fix the bug.",
              "Find the failing test in the workspace and fix the code."]


def coder_answer(m):
    r = m.run_tests(fixed=True)
    f = m.funcs[m.buggy_index]
    return f"Fixed {f.name} in {m.path}: all {r['passed']} tests in {m.test_path} pass now."


def coder_expected(m):
    return f"all {len(m.funcs)} tests in {m.test_path} pass"


def coder_fix_turns(m):
    old, new = m.fix()
    return [("call", [("read_file", {"path": m.path})], [m.source()]),
            ("call", [("replace", {"path": m.path, "old": old, "new": new})], [compact({"ok": True})]),
            ("call", [("run_tests", {"path": m.test_path})], [compact(m.run_tests(fixed=True))]),
            ("answer", coder_answer(m))]


def misspell(rng, name):
    """A plausible wrong copy of a name: a letter dropped, doubled or swapped, or the name cut short."""
    i = rng.randrange(len(name))
    k = rng.randrange(4)
    if k == 0 and len(name) > 3:
        out = name[:i] + name[i + 1:]
    elif k == 1:
        out = name[:i] + name[i] + name[i:]
    elif k == 2 and i + 1 < len(name):
        out = name[:i] + name[i + 1] + name[i] + name[i + 2:]
    else:
        out = name[:max(2, len(name) // 2)]
    return out if out != name else name + "s"


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
        prev = cur
    return prev[len(b)]


def closest_file(path, files):
    """The workspace tools' guess for a missing path (tools/builtin/workspace_tools.cpp `closest`): the one file
    within max(2, len // 3) edits with no other file as near, else None (also for more than 2000 files)."""
    if len(files) > 2000:
        return None
    best, best_d, tie = None, max(2, len(path) // 3) + 1, False
    for f in sorted(files):
        d = edit_distance(path, f)
        if d < best_d:
            best, best_d, tie = f, d, False
        elif d == best_d:
            tie = True
    return None if tie else best


def not_found(path, files):
    near = closest_file(path, files)
    return tool_error("not_found", f"no such file: {path}" + (f"; did you mean {near}?" if near else ""))


def coder_recovery_trace(agent, rng, names):
    """One path miscopied (a wrong name the model might produce): not_found, then the same call with the right
    path, taken from the error's "did you mean" when it gives one, else from a list of the workspace. The
    miscopy may hit any call that takes a path: the first run_tests, read_file, replace or the last run_tests."""
    ws = wsg.Workspace(rng, names, rng.randint(2, 5), n_buggy=1)
    m = ws.modules[ws.buggy[0]]
    files = ws.files()
    task = rng.choice(CODER_TASKS).format(test=m.test_path, path=m.path)
    fix = coder_fix_turns(m)
    turns = [("call", [("run_tests", {"path": m.test_path})], [compact(m.run_tests())])] + fix
    at = rng.choices(range(4), [35, 20, 25, 20])[0]  # index in turns: run_tests, read_file, replace, run_tests
    name, args = turns[at][1][0]
    right = args["path"]
    for _ in range(20):
        wrong_name = misspell(rng, m.name)
        wrong = ("test_" if right.startswith("test_") else "") + wrong_name + ".lua"
        near = closest_file(wrong, files)
        if wrong not in files and near in (right, None):
            break
    else:
        return None
    recover = [("call", [(name, dict(args, path=wrong))], [not_found(wrong, files)])]
    if near is None:
        recover.append(("call", [("list_files", {})], [compact(files)]))
    t = agent.trace(task, turns[:at] + recover + turns[at:])
    t["untrained_segments"] = [at]  # the miscopied call is shown, not taught (render_ids.loss_mask)
    return t


def coder_trace(agent, rng, names, recovery=0.0):
    if recovery and rng.random() < recovery:
        return coder_recovery_trace(agent, rng, names)
    r = rng.random()
    if r < 0.12:  # find the failing file: list, run every test file at once, fix
        ws = wsg.Workspace(rng, names, rng.randint(2, 3), n_buggy=1)
        m = ws.modules[ws.buggy[0]]
        tests = [x for x in ws.files() if x.startswith("test_")]
        by_test = {mm.test_path: mm for mm in ws.modules}
        turns = [("call", [("list_files", {})], [compact(ws.files())]),
                 ("call", [("run_tests", {"path": t}) for t in tests],
                  [compact(by_test[t].run_tests(fixed=by_test[t] is not m)) for t in tests])]
        return agent.trace(rng.choice(CODER_FIND), turns + coder_fix_turns(m))
    ws = wsg.Workspace(rng, names, rng.randint(2, 6), n_buggy=1)
    m = ws.modules[ws.buggy[0]]
    task = rng.choice(CODER_TASKS).format(test=m.test_path, path=m.path)
    if r < 0.22:  # already fixed: nothing to do
        res = m.run_tests(fixed=True)
        return agent.trace(task, [("call", [("run_tests", {"path": m.test_path})], [compact(res)]),
                                  ("answer", f"All {res['passed']} tests in {m.test_path} already pass; "
                                             "there is nothing to fix.")])
    turns = []
    turns.append(("call", [("run_tests", {"path": m.test_path})], [compact(m.run_tests())]))
    if r > 0.95:  # reads a file that does not exist first (a typo), then the right one
        wrong = m.name + "s.lua"
        turns.append(("call", [("read_file", {"path": wrong})], [not_found(wrong, ws.files())]))
    return agent.trace(task, turns + coder_fix_turns(m))


# ------------------------------------------------------------------------------------------ held out

def heldout_calc():
    """[(question, expression, expected)]: the held-out calculator tasks."""
    rng = random.Random(4242)
    out, seen = [], set()
    while len(out) < 40:
        q, e = calc_question(rng)
        if len(out) % 10 == 9 and re.fullmatch(r"[0-9. ()+\-*/%^]+", e) and "*" in e:
            q = rng.choice(CALC_PLAIN[:4]).format(e=e.replace("*", "x", 1))  # the recovery path
        try:
            res = calc_mod.calc({"expression": e})
        except calc_mod.CalcError:
            continue
        if e in seen:
            continue
        seen.add(e)
        out.append((q, e, res["result"]))
    return out


def heldout_tasks():
    """{agent: [{"task", "expected"}]}, deterministic."""
    out = {"calculator": [{"task": q, "expected": x} for q, _, x in heldout_calc()], "search-qa": [], "coder": []}
    rng = random.Random(4243)
    w = gen_corpus.world()
    facts = [f for f in qa_facts(w) if heldout_entity(f[1])]
    rng.shuffle(facts)
    for f in facts[:40]:
        out["search-qa"].append({"task": rng.choice(f[2]), "expected": f[5]})
    ws = wsg.shipped_workspace()
    for m in ws.modules:
        task = rng.choice(CODER_TASKS).format(test=m.test_path, path=m.path)
        out["coder"].append({"task": task, "expected": coder_expected(m)})
    return out


# ---------------------------------------------------------------------------------------------- main

class FreshWorlds:
    """Search traces about invented worlds other than examples/corpus (gen_corpus.world with a new seed), a new
    world every 25 traces. Their names are new in every world, so the model cannot memorise them and learns to
    copy the entity from the question into the query and the fact from the result into the answer. Entities
    whose names also exist in the shipped world are never asked about."""

    def __init__(self, rng, real_world, k):
        self.rng, self.k, self.left = rng, k, 0
        self.real = {e["name"].lower() for kind in ("cities", "rivers", "people", "countries") for e in real_world[kind]}

    def trace(self, agent):
        if self.left == 0:
            self.w = gen_corpus.world(seed=self.rng.randrange(1 << 30))
            self.bm25 = BM25(gen_corpus.documents(self.w))
            self.facts = [f for f in qa_facts(self.w) if f[1].lower() not in self.real]
            self.left = 25
        self.left -= 1
        if self.rng.random() < 0.08:
            return search_two_hop(agent, self.rng, self.w, self.bm25, self.k)
        return search_trace(agent, self.rng, self.rng.choice(self.facts), self.bm25, self.k)


def vocab_pieces(tokenizer_path):
    """The learned lower-case letter pieces of a tokenizer (no leading-space marker): names built from them give
    every such token a turn at being copied, so a file name made of pieces training never copied (e.g. "arden"
    in "garden") is not an untrained embedding at inference time."""
    with open(tokenizer_path, encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    return sorted(t for t in vocab if re.fullmatch(r"[a-z]{2,}", t))


def distinct_names(k, draw):
    """k distinct module names from draw(), none held out and none over 16 characters."""
    out = []
    while len(out) < k:
        n = draw()
        if n not in wsg.HELDOUT_MODULES and n not in out and len(n) <= 16:
            out.append(n)
    return out


def piece_names(rng, pieces, k):
    return distinct_names(k, lambda: "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3))))


def doubled_names(rng, pieces, k):
    """Names with a doubled letter the tokenizer does not merge (e.g. piece + "nn" + piece, as in "planner" = plan,
    n, n, er): copying a token that follows itself is ambiguous for a copy head that looks one token back, and
    names like that were under 1% of the coder traces. Held-out names are never produced."""
    single = [c for c in "bcdfglmnprstz" if c + c not in pieces]

    def draw():
        c = rng.choice(single)
        n = rng.choice(pieces) + c + c + rng.choice(pieces + ["", "", "er", "le", "y"])
        if rng.random() < 0.3:
            n = c + c + n if rng.random() < 0.2 else n + "_" + rng.choice(pieces)
        return n
    return distinct_names(k, draw)


def generate(n_calc, n_search, n_coder, seed=1, fresh_names=0.0, recovery=0.0, pieces=None, piece_share=0.0,
             doubled_share=0.0):
    calc_agent, search_agent, coder_agent = Agent("calculator"), Agent("search-qa"), Agent("coder")
    held = heldout_calc()
    held_q = {q for q, _, _ in held}
    held_e = {e for _, e, _ in held}
    traces = []
    rng = random.Random(seed)
    while sum(1 for t in traces if t["agent"] == "calculator") < n_calc:
        q, e = calc_question(rng)
        if q in held_q or e in held_e:
            continue
        t = calc_trace(calc_agent, rng, q, e)
        if t:
            traces.append(t)
    w = gen_corpus.world()
    bm25 = BM25(gen_corpus.documents(w))
    k = search_agent.cfg["tools"][0].get("top_k", 2)
    facts = [f for f in qa_facts(w) if not heldout_entity(f[1])]
    rng = random.Random(seed + 1)
    fresh = FreshWorlds(random.Random(seed + 4), w, k)
    n = 0
    while n < n_search:
        if fresh_names and rng.random() < fresh_names:
            t = fresh.trace(search_agent)
        else:
            t = search_two_hop(search_agent, rng, w, bm25, k) if rng.random() < 0.08 else \
                search_trace(search_agent, rng, rng.choice(facts), bm25, k)
        if t:
            traces.append(t)
            n += 1
    rng = random.Random(seed + 2)
    for _ in range(n_coder):
        names = wsg.fresh_module_names(rng, 8) if fresh_names and rng.random() < fresh_names else wsg.TRAIN_MODULES
        if pieces and rng.random() < piece_share:
            names = piece_names(rng, pieces, 8)
        if pieces and doubled_share and rng.random() < doubled_share:
            names = doubled_names(rng, pieces, 4) + names[:4]
            rng.shuffle(names)
        t = None
        while t is None:  # a recovery trace may find no fitting miscopy (None): draw again
            t = coder_trace(coder_agent, rng, names, recovery)
        traces.append(t)
    random.Random(seed + 3).shuffle(traces)
    return traces


# The prompt text exactly as chat::render_text builds it (model/chat.cpp), for tokenizer training and for
# cross-checking: train.py asserts it equals the C++ renderer's text for every trace.
def render_text(trace, add_generation_prompt=False):
    out = "[gMASK]<sop>"
    tools = trace.get("tools") or []
    if tools:
        block = "# 可用工具\n\n"
        for i, t in enumerate(tools):
            f = t["function"]
            if i:
                block += "\n"
            block += "## " + f["name"] + "\n\n" + json.dumps(f, ensure_ascii=False, indent=4) + \
                     "\n在调用上述函数时，请使用 Json 格式表示调用的参数。"
        out += "<|system|>\n" + block
    for m in trace["messages"]:
        if m["role"] == "system":
            out += "<|system|>\n" + m["content"]
    for m in trace["messages"]:
        role, content = m["role"], m.get("content") or ""
        if role == "user":
            out += "<|user|>\n" + content
        elif role == "tool":
            out += "<|observation|>\n" + content
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            if content or not calls:
                out += "<|assistant|>\n" + content
            for c in calls:
                out += "<|assistant|>" + c["function"]["name"] + "\n" + c["function"]["arguments"]
    if add_generation_prompt:
        out += "<|assistant|>"
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    ap.add_argument("--n-calc", type=int, default=3000)
    ap.add_argument("--n-search", type=int, default=3000)
    ap.add_argument("--n-coder", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--name", default="traces.jsonl", help="file name under --out")
    ap.add_argument("--fresh-names", type=float, default=0.0,
                    help="share of search-qa traces about a freshly invented world and of coder traces with new "
                         "module names (teaches copying instead of memorising names)")
    ap.add_argument("--recovery", type=float, default=0.0,
                    help="share of coder traces where one call names a miscopied file, gets not_found and repeats "
                         "the call with the name the error suggests (or, without a suggestion, lists the workspace)")
    ap.add_argument("--piece-names", type=float, default=0.0,
                    help="share of coder traces whose module names are 1-3 random letter pieces of --tokenizer's "
                         "vocabulary (every piece gets copied in training)")
    ap.add_argument("--doubled-names", type=float, default=0.0,
                    help="share of coder traces where half of the module names hold a doubled letter the tokenizer "
                         "keeps as two tokens (needs --piece-names)")
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer.json"))
    ap.add_argument("--write-tasks", action="store_true", help="write examples/tasks/*.jsonl and stop")
    args = ap.parse_args()
    if args.doubled_names and not args.piece_names:
        ap.error("--doubled-names builds names from the tokenizer's pieces: give --piece-names too")
    if args.write_tasks:
        d = os.path.join(ROOT, "examples", "tasks")
        os.makedirs(d, exist_ok=True)
        for agent, tasks in heldout_tasks().items():
            with open(os.path.join(d, agent + ".jsonl"), "w", encoding="utf-8") as f:
                for t in tasks:
                    f.write(json.dumps(t, ensure_ascii=False) + "\n")
            print(f"{agent}: {len(tasks)} held-out tasks")
        return
    pieces = vocab_pieces(args.tokenizer) if args.piece_names else None
    traces = generate(args.n_calc, args.n_search, args.n_coder, args.seed, args.fresh_names, args.recovery, pieces,
                      args.piece_names, args.doubled_names)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, args.name)
    with open(path, "w", encoding="utf-8") as f:
        for t in traces:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    print(f"wrote {len(traces)} traces to {path}")


if __name__ == "__main__":
    main()
