#!/usr/bin/env python3
"""Tokenizer throughput: glm-agent vs Hugging Face `tokenizers`, same corpus, same run, one thread.

    .venv/bin/python bench/tokenizer_vs_hf.py [--tokenizer FILE] [--mb 8] [--repeat 5]

Builds a deterministic mixed corpus (Python source code, English licence prose, the multilingual
reference cases: CJK, emoji, numbers, whitespace), writes it as JSONL documents, encodes every document
with both implementations (add_special_tokens=False), checks the ids are identical, and prints one JSON
object with both throughputs (median of --repeat runs) and their ratio.
"""
import argparse
import glob
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("GLM_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))


def build_corpus(target_bytes):
    rng = random.Random(1234)
    sources = []
    for path in sorted(glob.glob("/usr/lib/python3*/*.py"))[:400]:
        sources.append(("code", open(path, encoding="utf-8", errors="replace").read()))
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path):
            sources.append(("prose", open(path, encoding="utf-8", errors="replace").read()))
    cases = [json.loads(l)["text"] for l in open(os.path.join(SHARED, "tokenizer", "cases.jsonl"), encoding="utf-8")]
    docs, total = [], 0
    while total < target_bytes:
        kind, text = sources[rng.randrange(len(sources))]
        start = rng.randrange(max(1, len(text) - 4096))
        chunk = text[start:start + rng.randrange(1024, 4096)]
        # One third of documents get multilingual reference cases mixed in.
        if rng.random() < 0.33:
            chunk += "\n" + "\n".join(rng.choice(cases) for _ in range(20))
        docs.append(chunk)
        total += len(chunk.encode("utf-8"))
    return docs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default=os.path.join(SHARED, "tokenizer", "glm4-regex.tokenizer.json"))
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "glm-agent"))
    ap.add_argument("--mb", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()

    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ["RAYON_NUM_THREADS"] = "1"
    from tokenizers import Tokenizer  # imported after the thread settings
    import tokenizers

    docs = build_corpus(int(a.mb * 1e6))
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")
        corpus = f.name

    hf = Tokenizer.from_file(a.tokenizer)
    hf_times, hf_tokens = [], 0
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        hf_tokens = sum(len(hf.encode(d, add_special_tokens=False).ids) for d in docs)
        hf_times.append(time.perf_counter() - t0)

    out = subprocess.run([a.binary, "bench", "tokenizer", "--tokenizer", a.tokenizer, "--corpus", corpus,
                          "--repeat", str(a.repeat)], check=True, capture_output=True, text=True)
    glm = json.loads(out.stdout)

    # Same ids, document by document, on a sample (the full comparison is the reference test).
    sample = docs[:: max(1, len(docs) // 200)]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for d in sample:
            f.write(json.dumps({"text": d}, ensure_ascii=False) + "\n")
        sample_path = f.name
    ids = subprocess.run([a.binary, "tokenize", "--tokenizer", a.tokenizer, "--jsonl"], stdin=open(sample_path),
                         check=True, capture_output=True, text=True).stdout.splitlines()
    mismatched = sum(json.loads(l)["ids"] != hf.encode(d, add_special_tokens=False).ids for l, d in zip(ids, sample))
    os.unlink(corpus)
    os.unlink(sample_path)

    hf_mbs = nbytes / 1e6 / statistics.median(hf_times)
    print(json.dumps({
        "bench": "tokenizer_vs_hf",
        "tokenizer": os.path.basename(a.tokenizer),
        "corpus_bytes": nbytes,
        "docs": len(docs),
        "threads": 1,
        "tokens": {"glm_agent": glm["tokens"], "hf": hf_tokens},
        "ids_mismatched_in_sample": mismatched,
        "sample_docs": len(sample),
        "mb_per_s": {"glm_agent": round(glm["mb_per_s"], 2), "hf_tokenizers": round(hf_mbs, 2)},
        "hf_tokenizers_version": tokenizers.__version__,
        "ratio_glm_over_hf": round(glm["mb_per_s"] / hf_mbs, 3),
    }))
    return 0 if mismatched == 0 and glm["tokens"] == hf_tokens else 1


if __name__ == "__main__":
    sys.exit(main())
