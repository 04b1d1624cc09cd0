"""Renders traces to token ids with the C++ renderer (`glm-agent chat-render`, the single source of truth for
the prompt format) and marks the tokens the model generates, for the loss.

Trained tokens: after each <|assistant|>, everything up to and including the next special token (the
<|observation|> that ends a call turn, the <|assistant|> that separates parallel calls, the <|user|> that
ends an answer). A final <|user|> is appended after the last answer so the model learns to stop.
"""
import json
import os
import subprocess

from gen_data import render_text

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_BIN = os.path.join(ROOT, "build", "glm-agent")


def special_ids(tokenizer_path):
    with open(tokenizer_path, encoding="utf-8") as f:
        tj = json.load(f)
    return {t["content"]: t["id"] for t in tj["added_tokens"]}


def render_one(trace, tokenizer_path, binary=DEFAULT_BIN):
    req = json.dumps({"messages": trace["messages"], "tools": trace["tools"]}, ensure_ascii=False)
    p = subprocess.run([binary, "chat-render", "--tokenizer", tokenizer_path, "--no-generation-prompt"],
                       input=req.encode("utf-8"), capture_output=True, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"chat-render failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    out = json.loads(p.stdout)
    if out["text"] != render_text(trace):
        raise RuntimeError("chat-render text differs from gen_data.render_text for a trace")
    return out["ids"]


def loss_mask(ids, sp, untrained=()):
    """1 for tokens the model generates (see the module doc), else 0; -1 (no loss at all) for the assistant
    segments (counted from 0, one per <|assistant|>) listed in `untrained`: a mistake a trace shows so the
    model learns to recover from it, not to make it."""
    A = sp["<|assistant|>"]
    specials = set(sp.values())
    mask = [0] * len(ids)
    inside, seg = False, -1
    for i, t in enumerate(ids):
        if inside:
            mask[i] = -1 if seg in untrained else 1
        if t == A:
            inside = True
            seg += 1
        elif t in specials:
            inside = False
    return mask


def render_all(traces, tokenizer_path, binary=DEFAULT_BIN, check_every=50):
    """[(ids, mask)] in trace order, with the final <|user|> appended (trained).

    Ids come from Hugging Face `tokenizers` on gen_data.render_text (fast: ~3,000 traces/s against ~60/s for
    one chat-render process per trace); every `check_every`-th trace also goes through the C++ renderer and
    must give the same ids, so the C++ side stays the source of truth for the format.
    """
    from tokenizers import Tokenizer
    sp = special_ids(tokenizer_path)
    tok = Tokenizer.from_file(tokenizer_path)
    encs = tok.encode_batch([render_text(t) for t in traces], add_special_tokens=False)
    all_ids = [e.ids for e in encs]
    for i in range(0, len(traces), max(1, check_every)):
        if render_one(traces[i], tokenizer_path, binary) != all_ids[i]:
            raise RuntimeError(f"trace {i}: tokenizers' ids differ from glm-agent chat-render's")
    out = []
    for trace, ids in zip(traces, all_ids):
        ids = ids + [sp["<|user|>"]]
        out.append((ids, loss_mask(ids, sp, set(trace.get("untrained_segments", ())))))
    return out
