#!/usr/bin/env python3
"""Runs the held-out tasks (examples/tasks/*.jsonl) against a checkpoint with the C++ engine, greedy, until
`glm-agent eval` exists: a stand-in agent loop for measuring the demo model.

    .venv/bin/python model/demo/eval_heldout.py [--model model/demo] [--agents calculator,search-qa,coder] [--limit N]

Each step renders the conversation with `glm-agent chat-render`, generates with `glm-agent generate`
(temperature 0, stops at the config's eos ids) and executes the calls in Python with the same tool
semantics the traces were generated with: calc.py, the BM25 of gen_data.py over examples/corpus, and an
in-memory copy of examples/workspace whose run_tests knows the shipped modules' correct and buggy text (any
other text counts as still failing). A task succeeds when the final answer contains "expected".
No grammar constraint is applied (the runtime adds one), so this measures the bare model.
Prints one JSON line per task and a summary.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import calc as calc_mod  # noqa: E402
import gen_corpus  # noqa: E402
import gen_data  # noqa: E402
import workspace_gen as wsg  # noqa: E402


class Tools:
    def __init__(self):
        self.bm25 = gen_data.BM25(gen_corpus.documents(gen_corpus.world()))
        self.ws_modules = {m.test_path: m for m in wsg.shipped_workspace().modules}
        self.reset()

    def reset(self):
        root = os.path.join(ROOT, "examples", "workspace")
        self.files = {}
        for f in sorted(os.listdir(root)):
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                self.files[f] = fh.read()

    def call(self, name, args):
        err = gen_data.tool_error
        c = gen_data.compact
        try:
            if name == "calc":
                return gen_data.run_calc(args.get("expression"))[0]
            if name == "search":
                return c(self.bm25.search(str(args.get("query", "")), 2))
            if name == "list_files":
                return c(sorted(self.files))
            if name == "read_file":
                p = args.get("path")
                return self.files[p] if p in self.files else gen_data.not_found(p, self.files)
            if name == "write_file":
                self.files[args["path"]] = args["content"]
                return c({"ok": True})
            if name == "replace":
                p = args["path"]
                if p not in self.files:
                    return gen_data.not_found(p, self.files)
                if args["old"] not in self.files[p]:
                    return err("runtime", f"the text to replace was not found in {p}")
                self.files[p] = self.files[p].replace(args["old"], args["new"], 1)
                return c({"ok": True})
            if name == "run_tests":
                m = self.ws_modules.get(args.get("path"))
                if m is None:
                    return gen_data.not_found(str(args.get("path")), self.files)
                fixed = self.files.get(m.path) == m.source(fixed=True)
                return c(m.run_tests(fixed=fixed))
        except (KeyError, TypeError, AttributeError) as e:
            return err("invalid_argument", str(e))
        return err("not_found", f"unknown tool {name}")


def parse_turn(text, stop_id, ids, obs_id):
    calls, content = [], ""
    for chunk in text.split("<|assistant|>"):
        if not chunk:
            continue
        if chunk.startswith("\n"):
            content += chunk[1:]
            continue
        name, _, rest = chunk.partition("\n")
        try:
            args = json.loads(rest)
        except json.JSONDecodeError:
            return None, None, f"bad call: {chunk!r}"
        calls.append((name.strip(), rest.strip(), args))
    if ids and ids[-1] == obs_id and calls:
        return calls, None, None
    return None, content, None


def run_task(binary, model, agent, task, tools, max_steps):
    msgs = [{"role": "system", "content": agent.system}, {"role": "user", "content": task["task"]}]
    sp = None
    with open(os.path.join(model, "tokenizer.json"), encoding="utf-8") as f:
        sp = {t["content"]: t["id"] for t in json.load(f)["added_tokens"]}
    tools.reset()
    n_calls = 0
    for step in range(max_steps):
        req = json.dumps({"messages": msgs, "tools": agent.tools}, ensure_ascii=False)
        r = subprocess.run([binary, "chat-render", "--tokenizer", os.path.join(model, "tokenizer.json")],
                           input=req.encode(), capture_output=True, check=True)
        ids = json.loads(r.stdout)["ids"]
        g = subprocess.run([binary, "generate", "--model", model, "--ids", ",".join(map(str, ids)),
                            "--max-tokens", "400", "--output-format", "json"], capture_output=True, check=True)
        out = json.loads(g.stdout)
        calls, content, bad = parse_turn(out.get("text", ""), None, out["ids"], sp["<|observation|>"])
        if bad:
            return {"ok": False, "steps": step + 1, "calls": n_calls, "error": bad}
        if calls is None:
            return {"ok": task["expected"] in content, "steps": step + 1, "calls": n_calls, "answer": content}
        tcs = [{"id": f"c{n_calls + i}", "type": "function", "function": {"name": n, "arguments": a}}
               for i, (n, a, _) in enumerate(calls)]
        msgs.append({"role": "assistant", "content": None, "tool_calls": tcs})
        for tc, (n, _, a) in zip(tcs, calls):
            msgs.append({"role": "tool", "tool_call_id": tc["id"], "content": tools.call(n, a)})
        n_calls += len(calls)
    return {"ok": False, "steps": max_steps, "calls": n_calls, "error": "step budget"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=HERE)
    ap.add_argument("--glm-agent", default=os.path.join(ROOT, "build", "glm-agent"))
    ap.add_argument("--agents", default="calculator,search-qa,coder")
    ap.add_argument("--limit", type=int, default=0, help="first N tasks per agent (0: all)")
    args = ap.parse_args()
    tools = Tools()
    summary = {}
    for name in args.agents.split(","):
        agent = gen_data.Agent(name)
        max_steps = agent.cfg["limits"]["max_steps"]
        with open(os.path.join(ROOT, "examples", "tasks", name + ".jsonl"), encoding="utf-8") as f:
            tasks = [json.loads(line) for line in f]
        if args.limit:
            tasks = tasks[:args.limit]
        ok = 0
        for t in tasks:
            r = run_task(args.glm_agent, args.model, agent, t, tools, max_steps)
            ok += r["ok"]
            print(json.dumps({"agent": name, "task": t["task"], "expected": t["expected"]} | r, ensure_ascii=False),
                  flush=True)
        summary[name] = {"tasks": len(tasks), "succeeded": ok}
    print(json.dumps({"summary": summary}))


if __name__ == "__main__":
    main()
