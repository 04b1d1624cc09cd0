#!/usr/bin/python3
"""Checks workspace_gen.py's Python predictions against the real Lua sandbox (`glm-agent lua --workspace`):
every test file of the shipped examples/workspace (buggy, then with the fix applied) and of N random training
workspaces gives exactly the run_tests result the trace generator writes, and miscopied file names get the
same not_found message (with its "did you mean") from the real workspace tool (`glm-agent tool`) as from
gen_data.not_found. Also checks calc.py against
examples/tools/calc.lua on random expressions through `glm-agent lua --batch`.

    /usr/bin/python3 model/demo/check_workspace.py [--glm-agent build/glm-agent] [--random 50] [--calc 2000]
Exit 1 on any mismatch.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import calc as calc_mod  # noqa: E402
import gen_data  # noqa: E402
import workspace_gen as wsg  # noqa: E402


def lua_result(binary, root, test_path):
    p = subprocess.run([binary, "lua", "--workspace", root, os.path.join(root, test_path)], capture_output=True)
    out = json.loads(p.stdout)
    if not out.get("ok"):
        return {"error": out.get("error")}
    r = out["result"]
    fails = r.get("failures") or []
    if isinstance(fails, dict):  # an empty Lua table encodes as {}
        fails = []
    return {"passed": r["passed"], "failed": r["failed"],
            "failures": [{"test": f["test"], "message": f["message"]} for f in fails]}


def check_ws(binary, ws, root):
    bad = 0
    ws.write(root)
    for fixed in (False, True):
        if fixed:
            for i in ws.buggy:
                m = ws.modules[i]
                old, new = m.fix()
                path = os.path.join(root, m.path)
                with open(path) as f:
                    src = f.read()
                assert src.count(old) == 1
                with open(path, "w") as f:
                    f.write(src.replace(old, new, 1))
        for m in ws.modules:
            want = m.run_tests(fixed=fixed or m.buggy_index is None)
            got = lua_result(binary, root, m.test_path)
            if got != want:
                bad += 1
                print(f"MISMATCH {m.test_path} fixed={fixed}:\n  lua    {got}\n  python {want}")
    return bad


def check_not_found(binary, ws, root, rng, n):
    """The real read_file tool's error for n miscopied names against gen_data.not_found's."""
    agent = os.path.join(root, "..", os.path.basename(root) + "-agent.json")
    cfg, _ = gen_data.load_agent("coder")
    cfg["tools"][0]["root"] = os.path.abspath(root)
    with open(agent, "w") as f:
        json.dump(cfg, f)
    bad = 0
    for _ in range(n):
        m = rng.choice(ws.modules)
        wrong = rng.choice(["test_", ""]) + gen_data.misspell(rng, m.name) + ".lua"
        if wrong in ws.files():
            continue
        p = subprocess.run([binary, "tool", agent, "--call",
                            json.dumps({"name": "read_file", "arguments": {"path": wrong}})], capture_output=True)
        got = gen_data.compact({"error": json.loads(p.stdout)["error"]})
        want = gen_data.not_found(wrong, ws.files())
        if got != want:
            bad += 1
            print(f"NOT_FOUND MISMATCH {wrong}:\n  tool   {got}\n  python {want}")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glm-agent", default=os.path.join(ROOT, "build", "glm-agent"))
    ap.add_argument("--random", type=int, default=50)
    ap.add_argument("--calc", type=int, default=2000)
    args = ap.parse_args()
    bad = 0
    tmp = tempfile.mkdtemp(prefix="glm-demo-ws-")
    try:
        bad += check_ws(args.glm_agent, wsg.shipped_workspace(), os.path.join(tmp, "shipped"))
        for seed in range(args.random):
            ws = wsg.Workspace(random.Random(seed), wsg.TRAIN_MODULES, 4, n_buggy=2)
            bad += check_ws(args.glm_agent, ws, os.path.join(tmp, f"ws{seed}"))
            bad += check_not_found(args.glm_agent, ws, os.path.join(tmp, f"ws{seed}"), random.Random(seed), 4)
        # calc.lua vs calc.py
        with open(os.path.join(ROOT, "examples", "tools", "calc.lua")) as f:
            src = f.read() + "\nreturn run(...)\n"
        rng = random.Random(5)
        exprs = []
        for _ in range(args.calc):
            q, e = gen_data.calc_question(rng)
            exprs.append(e if rng.random() < 0.8 else e.replace("*", "x", 1))
        batch = os.path.join(tmp, "calc.jsonl")
        with open(batch, "w") as f:
            for e in exprs:
                f.write(json.dumps({"code": src, "args": {"expression": e}}) + "\n")
        p = subprocess.run([args.glm_agent, "lua", "--batch", batch], capture_output=True, text=True)
        for e, line in zip(exprs, p.stdout.splitlines()):
            out = json.loads(line)
            obs = gen_data.run_calc(e)[0]
            lua = gen_data.compact(out["result"]) if out["ok"] else gen_data.tool_error(out["error"]["kind"], out["error"]["message"])
            if lua != obs:
                bad += 1
                print(f"CALC MISMATCH {e!r}: lua {lua} python {obs}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("mismatches:", bad)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
