#!/usr/bin/env python3
"""Trains the demo checkpoint (model/demo/{config.json, model.safetensors, tokenizer.json}) on CPU.

    .venv/bin/python model/demo/train.py --traces model/demo/data/traces.jsonl \
        --tokenizer model/demo/tokenizer.json --out model/demo --threads 2 --minutes 35

Steps: render every trace with the C++ renderer (`build/glm-agent chat-render`, cached next to the traces),
check the PyTorch module against scripts/glm4_reference.py, then train a small Glm4ForCausalLM with the loss
on the tokens the model generates only (render_ids.loss_mask). Traces of one agent share their prompt
prefix (system prompt + tools block): it is run once per batch (glm4_torch.forward_shared). Writes the
checkpoint at every evaluation and at the end, and the loss curve to OUT/train_log.jsonl.
Deterministic for a given thread count (fixed seeds; no data-order randomness beyond the seeded RNG).
"""
import argparse
import hashlib
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import glm4_torch as G  # noqa: E402
import render_ids  # noqa: E402


def load_rendered(traces_path, tokenizer_path, binary):
    h = hashlib.sha256()
    for p in (traces_path, tokenizer_path):
        with open(p, "rb") as f:
            h.update(f.read())
    cache = traces_path + f".{h.hexdigest()[:16]}.rendered.json"
    with open(traces_path, encoding="utf-8") as f:
        traces = [json.loads(line) for line in f]
    if os.path.exists(cache):
        with open(cache) as f:
            rendered = json.load(f)
    else:
        t0 = time.time()
        rendered = render_ids.render_all(traces, tokenizer_path, binary)
        with open(cache, "w") as f:
            json.dump(rendered, f)
        print(f"rendered {len(traces)} traces in {time.time() - t0:.0f}s", flush=True)
    return [t["agent"] for t in traces], rendered


def split_prefix(agents, rendered, user_id):
    """{agent: (prefix ids, [(suffix ids, suffix mask)])}: the prefix is everything before the first <|user|>."""
    out = {}
    for a, (ids, mask) in zip(agents, rendered):
        p = ids.index(user_id)
        assert not any(mask[:p])
        pre, suf = ids[:p], (ids[p:], mask[p:])
        if a not in out:
            out[a] = (pre, [])
        assert out[a][0] == pre, f"traces of {a} do not share their prompt prefix"
        out[a][1].append(suf)
    return out


def make_batches(groups, budget, rng):
    """[(agent, [indices])]: similar lengths together, at most `budget` suffix tokens per batch."""
    batches = []
    for a, (pre, items) in groups.items():
        order = list(range(len(items)))
        rng.shuffle(order)
        order.sort(key=lambda i: len(items[i][0]) // 16)  # stable: shuffled within length buckets
        cur, cur_max = [], 0
        for i in order:
            n = len(items[i][0])
            if cur and max(cur_max, n) * (len(cur) + 1) > budget:
                batches.append((a, cur))
                cur, cur_max = [], 0
            cur.append(i)
            cur_max = max(cur_max, n)
        if cur:
            batches.append((a, cur))
    rng.shuffle(batches)
    return batches


def collate(items, idx, ctx_weight=0.0):
    """ids [B,S]; tgt [B,S] (position t predicts token t+1; -100 = no target); wts [B,S]: 1 for tokens the model
    generates, ctx_weight for the rest of the conversation (user turns, observations), whose repeats of earlier
    text are what teaches a small model to copy; the first suffix token (<|user|>) is never a target."""
    S = max(len(items[i][0]) for i in idx)
    ids = torch.zeros(len(idx), S, dtype=torch.long)
    tgt = torch.full((len(idx), S), -100, dtype=torch.long)
    wts = torch.zeros(len(idx), S)
    for r, i in enumerate(idx):
        s, m = items[i]
        ids[r, :len(s)] = torch.tensor(s)
        for t in range(1, len(s)):
            if m[t] < 0:  # a shown mistake (render_ids.loss_mask)
                continue
            if m[t] or ctx_weight > 0:
                tgt[r, t - 1] = s[t]
                wts[r, t - 1] = 1.0 if m[t] else ctx_weight
    return ids, tgt, wts


def copy_batch(groups, rng, n_seq=24, min_len=8, max_len=32):
    """Induction warm-up data: windows of real conversation tokens, each followed by an unrelated window and then
    by itself again; the loss is on the repeat. A small model trained on the traces alone memorises facts but
    does not learn to copy from its context (no induction heads after 12M tokens); on these it forms them within
    a few hundred steps, and the traces then teach where to copy from."""
    pools = [items for _, items in groups.values()]
    rows, spans = [], []
    for _ in range(n_seq):
        def window():
            s, _ = rng.choice(rng.choice(pools))
            n = rng.randint(min_len, max_len)
            at = rng.randint(1, max(1, len(s) - n))
            return s[at:at + n]
        w, filler = window(), window()
        rows.append(w + filler + w)
        spans.append((len(w) + len(filler), len(w)))
    S = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), S, dtype=torch.long)
    tgt = torch.full((len(rows), S), -100, dtype=torch.long)
    for i, (r, (start, n)) in enumerate(zip(rows, spans)):
        ids[i, :len(r)] = torch.tensor(r)
        for t in range(start + 1, start + n):  # the first repeated token has no cue; the rest follow by induction
            tgt[i, t - 1] = r[t]
    return ids, tgt


def copy_loss(model, ids, tgt):
    with autocast():
        logits = model(ids)
    sel = tgt != -100
    return F.cross_entropy(logits[sel].float(), tgt[sel])


def hidden_shared(model, prefix, suffixes):
    """forward_shared without the lm_head: final-normed hidden states [B,S,d]."""
    c = model.c
    P, S = prefix.shape[0], suffixes.shape[1]
    rp = G.rope_tables(model.n_rot, c.rope_theta, torch.arange(P))
    rs = G.rope_tables(model.n_rot, c.rope_theta, torch.arange(P, P + S))
    xp, xs = model.embed_tokens(prefix[None, :]), model.embed_tokens(suffixes)
    mp, ms = G.causal_mask(P, P), G.causal_mask(S, P + S, offset=P)
    for layer in model.layers:
        xp, xs = layer.forward_shared(xp, xs, rp, rs, mp, ms)
    return model.norm(xs)


def autocast():
    # Debian's torch has only the reference BLAS for fp32 (about 1 GFLOP/s); bf16 matmuls go through oneDNN
    # (tens of GFLOP/s). Weights, norms, softmax and the loss stay fp32.
    return torch.autocast("cpu", dtype=torch.bfloat16)


def batch_loss(model, prefix, ids, tgt, wts):
    with autocast():
        h = hidden_shared(model, prefix, ids)
        sel = tgt != -100
        logits = model.lm_head(h[sel])
    ce = F.cross_entropy(logits.float(), tgt[sel], reduction="none")
    w = wts[sel]
    return (ce * w).sum() / w.sum(), logits, tgt[sel]


@torch.no_grad()
def evaluate(model, groups, budget):
    """Teacher-forced: loss, token accuracy, and the share of traces whose every generated token is the argmax."""
    model.eval()
    tot_loss = tot_tok = tot_ok = 0.0
    seq_ok = seq_n = 0
    per_agent = {}
    for a, (pre, items) in groups.items():
        prefix = torch.tensor(pre)
        a_ok = 0
        for b in make_batches({a: (pre, items)}, budget, random.Random(0)):
            ids, tgt, _ = collate(items, b[1])  # generated tokens only
            with autocast():
                logits = model.lm_head(hidden_shared(model, prefix, ids)).float()
            sel = tgt != -100
            loss = F.cross_entropy(logits[sel], tgt[sel], reduction="sum")
            pred = logits.argmax(-1)
            correct = (pred == tgt) | ~sel
            tot_loss += loss.item()
            tot_tok += sel.sum().item()
            tot_ok += ((pred == tgt) & sel).sum().item()
            whole = correct.all(dim=1)
            seq_ok += whole.sum().item()
            a_ok += whole.sum().item()
            seq_n += len(b[1])
        per_agent[a] = a_ok / max(1, len(items))
    model.train()
    return {"val_loss": tot_loss / max(1, tot_tok), "val_tok_acc": tot_ok / max(1, tot_tok),
            "val_seq_acc": seq_ok / max(1, seq_n), "val_seq_acc_by_agent": per_agent}


def save(model, cfg, out, tokenizer_path, dtype):
    os.makedirs(out, exist_ok=True)
    tmp = os.path.join(out, "model.safetensors.tmp")
    G.save_safetensors(tmp, model.hf_state_dict(), dtype=dtype)
    os.replace(tmp, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg.to_hf() | {"torch_dtype": "bfloat16" if dtype == "BF16" else "float32"}, f, indent=2)
        f.write("\n")
    dst = os.path.join(out, "tokenizer.json")
    if os.path.abspath(tokenizer_path) != os.path.abspath(dst):
        with open(tokenizer_path, "rb") as fi, open(dst, "wb") as fo:
            fo.write(fi.read())


def token_ids(tokenizer_path):
    with open(tokenizer_path, encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    return dict(vocab) | render_ids.special_ids(tokenizer_path)


def remap_vocab(tensors, old_tokenizer, new_tokenizer, model):
    """A checkpoint's embedding rows moved to the ids its tokens have in the new tokenizer (a second phase after
    tokens were added); rows of new tokens keep the model's fresh initialisation."""
    old, new = token_ids(old_tokenizer), token_ids(new_tokenizer)
    if old == new:
        return tensors
    fresh = model.hf_state_dict()
    out = dict(tensors)
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        if name not in tensors:
            continue
        w = fresh[name].detach().clone()
        for tok, i in new.items():
            if tok in old:
                w[i] = tensors[name][old[tok]].to(w.dtype)
        out[name] = w
    kept = sum(1 for t in new if t in old)
    print(f"vocabulary {len(old)} -> {len(new)} tokens: {kept} rows carried over, {len(new) - kept} new", flush=True)
    return out


def round_bf16_(model):
    """Rounds the weights as save(dtype="BF16") stores them (round to nearest even)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", default=os.path.join(HERE, "data", "traces.jsonl"))
    ap.add_argument("--val-traces", default=os.path.join(HERE, "data", "val.jsonl"))
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "tokenizer.json"))
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--glm-agent", default=os.path.join(ROOT, "build", "glm-agent"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=35.0, help="wall-clock training budget")
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--steps", type=int, default=0, help="a fixed schedule of this many steps (ignores --minutes)")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)  # the committed checkpoint: see README.md
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--ff", type=int, default=768)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--budget", type=int, default=1536, help="suffix tokens per batch (padded)")
    ap.add_argument("--tie", action="store_true",
                    help="tie_word_embeddings: lm_head is embed_tokens (copying a token back out is then one circuit "
                         "for every token instead of a mapping learned per token); --init from an untied checkpoint "
                         "keeps its embed_tokens")
    ap.add_argument("--copy-every", type=int, default=2,
                    help="add an induction warm-up batch (copy_batch) to every Nth step (0: never)")
    ap.add_argument("--ctx-weight", type=float, default=0.5,
                    help="loss weight of the conversation tokens the model does not generate (0: generated only)")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--dtype", default="BF16", choices=["BF16", "F32"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", default="", help="start from this checkpoint's weights (a second phase)")
    ap.add_argument("--step-offset", type=int, default=0, help="second phase: numbering continues, log appended")
    ap.add_argument("--elapsed-offset", type=float, default=0.0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    d_ref, d_sh = G.check_against_reference("/tmp/glm_demo_refcheck", os.path.join(ROOT, "scripts", "glm4_reference.py"))
    print(f"module vs scripts/glm4_reference.py: max |diff| {d_ref:.2e}; shared-prefix vs plain {d_sh:.2e}", flush=True)
    assert d_ref < 1e-4 and d_sh < 1e-4

    sp = render_ids.special_ids(args.tokenizer)
    agents, rendered = load_rendered(args.traces, args.tokenizer, args.glm_agent)
    groups = split_prefix(agents, rendered, sp["<|user|>"])
    val_groups = None
    if os.path.exists(args.val_traces):
        va, vr = load_rendered(args.val_traces, args.tokenizer, args.glm_agent)
        val_groups = split_prefix(va, vr, sp["<|user|>"])
    n_tok = sum(len(s) for _, items in groups.values() for s, _ in items)
    n_trained = sum(sum(m) for _, items in groups.values() for _, m in items)
    print(f"{len(agents)} traces, suffix tokens {n_tok}, trained tokens {n_trained}; prefixes " +
          ", ".join(f"{a} {len(p)}" for a, (p, _) in groups.items()), flush=True)

    with open(args.tokenizer, encoding="utf-8") as f:
        vocab = max(t["id"] for t in json.load(f)["added_tokens"]) + 1
    cfg = G.Config(vocab_size=vocab, hidden_size=args.hidden, intermediate_size=args.ff,
                   num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                   head_dim=args.head_dim, max_position_embeddings=2048,
                   eos_token_id=[sp["<|endoftext|>"], sp["<|user|>"], sp["<|observation|>"]],
                   pad_token_id=sp["<|endoftext|>"], tie_word_embeddings=args.tie)
    model = G.Glm4ForCausalLM(cfg)
    if args.init:  # continue from a saved checkpoint (weights only; the optimizer starts fresh)
        import importlib.util
        spec = importlib.util.spec_from_file_location("glm4_reference", os.path.join(ROOT, "scripts", "glm4_reference.py"))
        ref = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ref)
        G.load_hf_into(model, remap_vocab(ref.load_weights(args.init), os.path.join(args.init, "tokenizer.json"),
                                          args.tokenizer, model))
        print(f"initialized from {args.init}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "train_log.jsonl")
    log = open(log_path, "a" if args.step_offset else "w")
    t0 = time.time()
    budget_s = args.minutes * 60
    step, epoch, seen_tok = 0, 0, 0
    ema = None
    done = False
    # The cosine follows wall-clock progress under --minutes (a shared machine changes speed mid-run; a step
    # count estimated up front would end the budget before the decay), step progress under --steps.
    if args.steps:
        budget_s = float("inf")
    while not done:
        batches = make_batches(groups, args.budget, rng)
        for a, idx in batches:
            pre, items = groups[a]
            ids, tgt, wts = collate(items, idx, args.ctx_weight)
            progress = step / args.steps if args.steps else (time.time() - t0) / budget_s
            if step < args.warmup:
                lr = args.lr * (step + 1) / args.warmup
            else:
                lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
            for g in opt.param_groups:
                g["lr"] = lr
            loss, _, _ = batch_loss(model, torch.tensor(pre), ids, tgt, wts)
            if args.copy_every and step % args.copy_every == 0:
                cids, ctgt = copy_batch(groups, rng)
                loss = loss + copy_loss(model, cids, ctgt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            seen_tok += ids.numel() + len(pre)
            ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
            el = time.time() - t0
            rec = {"step": step + args.step_offset, "epoch": epoch, "elapsed_s": round(el + args.elapsed_offset, 1), "loss": round(loss.item(), 4),
                   "loss_ema": round(ema, 4), "lr": round(lr, 6), "tokens": seen_tok}
            last = step >= min(args.max_steps, args.steps or 10**9) or el > budget_s
            if step % args.eval_every == 0 or last:
                if val_groups:
                    rec.update(evaluate(model, val_groups, args.budget))
                save(model, cfg, args.out, args.tokenizer, args.dtype)
            if step % 10 == 0 or "val_loss" in rec:
                print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if last:
                done = True
                break
        epoch += 1
    if val_groups and args.dtype == "BF16":
        round_bf16_(model)
        r = evaluate(model, val_groups, args.budget)
        print("after BF16 rounding:", json.dumps(r), flush=True)
        log.write(json.dumps({"bf16_rounded": r}) + "\n")
    log.close()
    print(f"done: {step} steps, {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
