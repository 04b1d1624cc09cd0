#!/usr/bin/env bash
# The main job (`make run`): show glm-agent working end to end on this machine: the example agents on the
# shipped demo model (model/demo/); without that checkpoint, the tokenizer and the GLM-4 chat format.
set -euo pipefail
build=${1:-build}
bin="$build/glm-agent"
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${GLM_SHARED_DATA:-$here/../shared/data}

echo "== glm-agent info"
"$bin" info

if [ -f "$here/model/demo/model.safetensors" ]; then
  # The agents on the shipped demo model: progress on stderr, the answer on stdout.
  echo "== calculator agent: What is 1234 * 5678?"
  "$bin" run "$here/agents/calculator.json" --task "What is 1234 * 5678?"
  q=$(head -n 1 "$here/examples/tasks/search-qa.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["task"])')
  echo "== search-qa agent: $q"
  "$bin" run "$here/agents/search-qa.json" --task "$q"
  echo "== (coder: build/glm-agent eval agents/coder.json --tasks examples/tasks/coder.jsonl runs it on copies of the workspace)"
  exit 0
fi

tok="$here/model/demo/tokenizer.json"
[ -f "$tok" ] || tok="$shared/tokenizer/glm4-regex.tokenizer.json"
if [ ! -f "$tok" ]; then
  echo "(no tokenizer found: neither model/demo/tokenizer.json nor ../shared/data; skipping the tokenizer demo)"
  exit 0
fi
echo "== tokenize with $tok"
printf 'Hello, GLM-4! 12345678 你好 <|user|>' | "$bin" tokenize --tokenizer "$tok" --no-special
echo "== a tool-calling conversation rendered in the GLM-4-0414 format (special tokens spelled out)"
if "$bin" chat-render --tokenizer "$tok" >/dev/null 2>&1 <<<'{"messages":[]}'; then
  "$bin" chat-render --tokenizer "$tok" <<'JSON' | python3 -c 'import json,sys; print(json.load(sys.stdin)["text"])'
{"messages": [{"role": "system", "content": "Answer with the calculator."},
              {"role": "user", "content": "What is 1234 * 5678?"},
              {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "calc", "arguments": "{\"expr\": \"1234 * 5678\"}"}}]},
              {"role": "tool", "content": "7006652"}],
 "tools": [{"type": "function", "function": {"name": "calc", "description": "Exact arithmetic",
            "parameters": {"type": "object", "properties": {"expr": {"type": "string"}}, "required": ["expr"]}}}]}
JSON
else
  echo "(this tokenizer has no GLM-4 role tokens; chat rendering needs model/demo/tokenizer.json)"
fi
