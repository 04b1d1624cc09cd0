#!/usr/bin/env python3
"""Benchmark of `glm-agent serve`: requests/s and tokens/s with 1, 8 and 32 concurrent clients.

Serves model/demo when model/demo/model.safetensors exists, else a random GLM-4 of the demo's shape (6 layers,
hidden 256, ff 768, 4 heads / 2 KV heads of 64, the demo tokenizer) written to a temporary folder with
model/demo/glm4_torch.py. Each client sends chat completions (the calculator agent's system prompt and calc
tool, tool_choice auto, max_tokens 64) one after another. Prints one JSON object on stdout; logs go to stderr.

  .venv/bin/python bench/server_bench.py [--glm-agent build-server/glm-agent] [--requests-per-level 64]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "model", "demo")

CALC = {"type": "function", "function": {
    "name": "calc", "description": "Evaluate an arithmetic expression exactly.",
    "parameters": {"type": "object", "properties": {"expression": {"type": "string", "maxLength": 40}},
                   "required": ["expression"], "additionalProperties": False}}}
SYSTEM = ("You are a careful calculator. For any arithmetic, call calc with the expression, "
          "then answer with the exact result.")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def random_demo_sized(tmp):
    sys.path.insert(0, DEMO)
    import torch  # noqa: F401  (glm4_torch needs it)
    import glm4_torch as G
    tok_path = os.path.join(DEMO, "tokenizer.json")
    with open(tok_path, encoding="utf-8") as f:
        tj = json.load(f)
    sp = {t["content"]: t["id"] for t in tj["added_tokens"]}
    vocab = max(sp.values()) + 1
    cfg = G.Config(vocab_size=vocab, hidden_size=256, intermediate_size=768, num_hidden_layers=6,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=2048,
                   eos_token_id=[sp["<|endoftext|>"], sp["<|user|>"], sp["<|observation|>"]],
                   pad_token_id=sp["<|endoftext|>"])
    torch.manual_seed(0)
    model = G.Glm4ForCausalLM(cfg)
    G.save_safetensors(os.path.join(tmp, "model.safetensors"), model.hf_state_dict(), dtype="BF16")
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(cfg.to_hf() | {"torch_dtype": "bfloat16"}, f)
    shutil.copy(tok_path, os.path.join(tmp, "tokenizer.json"))
    return tmp


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body, timeout=300):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def wait_ready(port, proc, seconds=120):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"glm-agent serve exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


def run_level(port, clients, n_requests, tasks):
    per_client = max(1, n_requests // clients)
    lat, tokens, errors = [], [], []
    lock = threading.Lock()

    def client(ci):
        for k in range(per_client):
            i = ci * per_client + k
            body = {"model": "bench", "messages": [{"role": "system", "content": SYSTEM},
                                                    {"role": "user", "content": tasks[i % len(tasks)]}],
                    "tools": [CALC], "max_tokens": 64, "temperature": 0.7, "seed": i}
            t0 = time.perf_counter()
            try:
                r = post(port, body)
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    tokens.append(r["usage"]["completion_tokens"])
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(str(e))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {"clients": clients, "requests": len(lat), "errors": len(errors), "seconds": round(wall, 3),
            "requests_per_s": round(len(lat) / wall, 3), "completion_tokens": sum(tokens),
            "tokens_per_s": round(sum(tokens) / wall, 1),
            "latency_ms_p50": round(1000 * statistics.median(lat), 1) if lat else None,
            "latency_ms_p90": round(1000 * lat[int(0.9 * (len(lat) - 1))], 1) if lat else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glm-agent", default=os.path.join(ROOT, "build-server", "glm-agent"))
    ap.add_argument("--model", default=None, help="checkpoint folder (default: the demo, else a demo-sized random model)")
    ap.add_argument("--requests-per-level", type=int, default=64)
    ap.add_argument("--levels", default="1,8,32")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()

    tmp = None
    if a.model:
        model, kind = a.model, "given"
    elif os.path.exists(os.path.join(DEMO, "model.safetensors")):
        model, kind = DEMO, "demo"
    else:
        tmp = tempfile.mkdtemp(prefix="glm-bench-model-")
        log("model/demo/model.safetensors is absent: writing a random model of the demo's shape to", tmp)
        model, kind = random_demo_sized(tmp), "random, demo-sized (6 layers, hidden 256, BF16)"
    port = free_port()
    cmd = [a.glm_agent, "serve", "--model", model, "--port", str(port), "--model-name", "bench",
           "--max-batch", "32", "--max-in-flight", "256"]
    if a.threads:
        cmd += ["--threads", str(a.threads)]
    log("starting:", " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=sys.stderr, stderr=sys.stderr)
    try:
        wait_ready(port, proc)
        tasks = [f"What is {x} * {y} + {x + y}?" for x in range(3, 40, 3) for y in range(7, 90, 11)]
        post(port, {"messages": [{"role": "user", "content": "warm up"}], "max_tokens": 8})
        levels = []
        for c in [int(x) for x in a.levels.split(",")]:
            r = run_level(port, c, max(a.requests_per_level, c), tasks)
            log(json.dumps(r))
            levels.append(r)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        hit = [l for l in metrics.splitlines() if l.startswith("glm_prefix_cache_hit_ratio ")]
        out = {"bench": "server", "model": model if kind != "random, demo-sized (6 layers, hidden 256, BF16)" else "random",
               "model_kind": kind, "cpu_threads": os.cpu_count(), "max_tokens": 64, "levels": levels,
               "prefix_cache_hit_ratio": float(hit[0].split()[1]) if hit else None}
        print(json.dumps(out))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
