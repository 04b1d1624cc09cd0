#!/usr/bin/env bash
# `make bench`: every benchmark, one JSON object per line on stdout (logs on stderr).
set -uo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${GLM_SHARED_DATA:-$here/../shared/data}
py="$here/.venv/bin/python"
[ -x "$py" ] || py=python3

if [ -f "$shared/tokenizer/glm4-regex.tokenizer.json" ]; then
  "$py" "$here/bench/tokenizer_vs_hf.py" --binary "$build/glm-agent" || echo '{"bench":"tokenizer_vs_hf","error":"failed"}'
else
  echo "bench: ../shared/data absent, skipping the tokenizer benchmark" >&2
fi
"$build/glm-agent" bench engine || echo '{"bench":"engine","error":"failed"}'
"$build/glm-agent" bench matmul || echo '{"bench":"matmul","error":"failed"}'
if [ -n "${LLAMA_BENCH:-}" ]; then  # the llama.cpp peer: a llama-bench you built (see bench/engine_vs_llamacpp.py)
  "$py" "$here/bench/engine_vs_llamacpp.py" --llama-bench "$LLAMA_BENCH" --glm-agent "$build/glm-agent" ||
    echo '{"bench":"engine_vs_llamacpp","error":"failed"}'
else
  echo "bench: LLAMA_BENCH not set, skipping the llama.cpp comparison" >&2
fi
if [ -f "$here/bench/grammar_cases.jsonl" ] && [ -f "$shared/tokenizer/qwen3.tokenizer.json" ]; then
  "$build/glm-agent" grammar bench --tokenizer "$shared/tokenizer/qwen3.tokenizer.json" --cases "$here/bench/grammar_cases.jsonl" ||
    echo '{"bench":"grammar","error":"failed"}'
fi
for f in "$here"/bench/*_bench.py; do
  [ -f "$f" ] || continue
  echo "bench: $(basename "$f")" >&2
  "$py" "$f" || echo "{\"bench\":\"$(basename "$f" .py)\",\"error\":\"failed\"}"
done
