#!/usr/bin/env python3
"""Runs glm-agent's grammar engine and its anchors (llguidance, xgrammar) on the same cases and vocabulary.

  python3 -m venv /tmp/venv-grammar && /tmp/venv-grammar/bin/pip install -r requirements-grammar.txt
  /tmp/venv-grammar/bin/python scripts/grammar_peers.py --tokenizer ../shared/data/tokenizer/qwen3.tokenizer.json \
      --cases bench/grammar_cases.jsonl [--agent build/glm-agent] [--json OUT.json]

Each case line is {"id", "schema", "tests": [{"data", "valid"}]}. For every engine: compile the schema
(compact whitespace, no relaxed defaults), then for each instance serialised compactly, feed its tokens
one by one: time the mask (valid instances only), check the token is allowed, then consume it; finally the
end-of-text token. A valid instance that fails is a false reject, an invalid one that passes is a false
accept. glm-agent's figures come from `glm-agent grammar bench` on the same files (thread CPU time);
the peers are timed with time.process_time_ns around their Python mask call (their call overhead, ~1 us,
is included). Instances whose tokens do not spell the serialised text exactly (NFC) are skipped by all.
Prints one comparison table (coverage, false accepts/rejects, compile and mask percentiles, ratios).
"""
import argparse
import json
import subprocess
import sys
import time


def percentiles(xs, mean=True):
    if not xs:
        return {"mean": 0, "p50": 0, "p99": 0, "max": 0}
    xs = sorted(xs)
    at = lambda q: xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]
    out = {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": xs[-1]}
    if mean:
        out["mean"] = sum(xs) / len(xs)
    return out


def dump(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Engine:
    name = "?"

    def compile(self, schema_text):  # -> handle or raises
        raise NotImplementedError

    def matcher(self, handle):
        raise NotImplementedError


class LLGuidance(Engine):
    name = "llguidance"

    def __init__(self, hf_tok, eos):
        import llguidance
        import llguidance.hf
        import llguidance.torch
        self.ll = llguidance
        self.tok = llguidance.hf.from_tokenizer(hf_tok, eos_token=eos)
        self.bitmask = llguidance.torch.allocate_token_bitmask(1, self.tok.vocab_size)

    def compile(self, schema_text):
        grm = self.ll.LLMatcher.grammar_from_json_schema(
            schema_text, defaults={"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"})
        err = self.ll.LLMatcher.validate_grammar(grm, self.tok)
        if err:
            raise ValueError(err)
        m = self.ll.LLMatcher(self.tok, grm)  # the first matcher builds what is cached
        if m.is_error():
            raise ValueError(m.get_error())
        return grm

    def run(self, grm, ids, eos, timed, mask_ns):
        m = self.ll.LLMatcher(self.tok, grm)
        for t in list(ids) + [eos]:
            if timed:
                t0 = time.process_time_ns()
                self.ll.torch.fill_next_token_bitmask(m, self.bitmask, 0)
                mask_ns.append(time.process_time_ns() - t0)
                word = int(self.bitmask[0, t // 32]) & 0xFFFFFFFF
                if not (word >> (t % 32)) & 1:
                    return False
            if not m.consume_token(t) or m.is_error():
                return False
        return m.is_accepting() or m.is_stopped()


class XGrammar(Engine):
    name = "xgrammar"

    def __init__(self, hf_tok, eos, n_vocab):
        import xgrammar as xgr
        self.xgr = xgr
        info = xgr.TokenizerInfo.from_huggingface(hf_tok, vocab_size=n_vocab, stop_token_ids=[eos])
        self.compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        self.bitmask = xgr.allocate_token_bitmask(1, n_vocab)

    def compile(self, schema_text):
        return self.compiler.compile_json_schema(schema_text, any_whitespace=False, separators=(",", ":"),
                                                 strict_mode=True)

    def run(self, cg, ids, eos, timed, mask_ns):
        m = self.xgr.GrammarMatcher(cg)
        for t in list(ids) + [eos]:
            if timed:
                t0 = time.process_time_ns()
                m.fill_next_token_bitmask(self.bitmask)
                mask_ns.append(time.process_time_ns() - t0)
                word = int(self.bitmask[0, t // 32]) & 0xFFFFFFFF
                if not (word >> (t % 32)) & 1:
                    return False
            if not m.accept_token(t):
                return False
        return m.is_terminated()


def run_engine(engine, cases, tok, eos, limit_s):
    st = {"schemas": 0, "compiled": 0, "instances": 0, "passed": 0, "false_accepts": 0, "false_rejects": 0,
          "compile_errors": 0, "timeouts": 0}
    compile_us, mask_ns = [], []
    for case in cases:
        st["schemas"] += 1
        insts = []
        for t in case["tests"]:
            text = dump(t["data"])
            ids = tok.encode(text, add_special_tokens=False).ids
            if tok.decode(ids, skip_special_tokens=False) != text:
                continue  # normalised by the tokenizer: skipped by every engine
            insts.append((ids, t["valid"]))
        st["instances"] += len(insts)
        t0 = time.process_time_ns()
        try:
            handle = engine.compile(dump(case["schema"]))
        except Exception:
            st["compile_errors"] += 1
            continue
        dt = (time.process_time_ns() - t0) / 1e3
        if dt > limit_s * 1e6:
            st["timeouts"] += 1
        compile_us.append(dt)
        st["compiled"] += 1
        for ids, valid in insts:
            try:
                ok = engine.run(handle, ids, eos, valid, mask_ns)
            except Exception:
                ok = False
            if ok == valid:
                st["passed"] += 1
            elif ok:
                st["false_accepts"] += 1
            else:
                st["false_rejects"] += 1
    st["compile_us"] = percentiles(compile_us, mean=False)
    st["mask_us"] = percentiles([x / 1e3 for x in mask_ns])
    st["masks"] = len(mask_ns)
    return st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--agent", default="build-grammar/glm-agent")
    ap.add_argument("--engines", default="glm-agent,llguidance,xgrammar")
    ap.add_argument("--limit-s", type=float, default=60.0)
    ap.add_argument("--json")
    args = ap.parse_args()

    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer.from_file(args.tokenizer)
    hf_tok = PreTrainedTokenizerFast(tokenizer_file=args.tokenizer)
    eos = tok.token_to_id("<|endoftext|>")
    n_vocab = tok.get_vocab_size(with_added_tokens=True)
    cases = [json.loads(line) for line in open(args.cases, encoding="utf-8") if line.strip()]

    results = {}
    engines = args.engines.split(",")
    if "glm-agent" in engines:
        out = subprocess.run([args.agent, "grammar", "bench", "--tokenizer", args.tokenizer, "--cases", args.cases],
                             capture_output=True, text=True, check=True)
        b = json.loads(out.stdout)
        results["glm-agent"] = {"schemas": b["schemas"], "compiled": b["compiled"], "instances": b["instances"],
                                "passed": b["passed"], "false_accepts": b["accepted_invalid"],
                                "false_rejects": b["rejected_valid"], "compile_us": b["compile_us"],
                                "mask_us": b["mask_us"], "masks": b["tokens"]}
    for name in engines:
        try:
            if name == "llguidance":
                results[name] = run_engine(LLGuidance(hf_tok, eos), cases, tok, eos, args.limit_s)
            elif name == "xgrammar":
                results[name] = run_engine(XGrammar(hf_tok, eos, n_vocab), cases, tok, eos, args.limit_s)
        except Exception as e:  # an engine that cannot start is reported, not fatal
            print(f"{name}: {e}", file=sys.stderr)

    base = results.get("glm-agent")
    cols = ["engine", "compiled", "passed/instances", "false acc", "false rej", "compile p50 us", "compile p99 us",
            "mask mean us", "mask p50 us", "mask p99 us", "mask max us"]
    rows = []
    for name, r in results.items():
        rows.append([name, f"{r['compiled']}/{r['schemas']}", f"{r['passed']}/{r['instances']}", r["false_accepts"],
                     r["false_rejects"], f"{r['compile_us']['p50']:.0f}", f"{r['compile_us']['p99']:.0f}",
                     f"{r['mask_us'].get('mean', 0):.1f}", f"{r['mask_us']['p50']:.1f}", f"{r['mask_us']['p99']:.0f}",
                     f"{r['mask_us']['max']:.0f}"])
    widths = [max(len(str(c)), *(len(str(row[i])) for row in rows)) for i, c in enumerate(cols)]
    print(" | ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    if base:
        print("\nratios (peer / glm-agent; > 1 means glm-agent is faster):")
        for name, r in results.items():
            if name == "glm-agent":
                continue
            ratio = lambda a, b: (a / b) if b else float("nan")
            print(f"  {name}: mask mean {ratio(r['mask_us'].get('mean', 0), base['mask_us']['mean']):.2f}x, "
                  f"p50 {ratio(r['mask_us']['p50'], base['mask_us']['p50']):.2f}x, "
                  f"p99 {ratio(r['mask_us']['p99'], base['mask_us']['p99']):.2f}x, "
                  f"compile p50 {ratio(r['compile_us']['p50'], base['compile_us']['p50']):.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
