#!/usr/bin/python3
"""Prints the loss curve of model/demo/train_log.jsonl as a Markdown table (for README.md).

    /usr/bin/python3 model/demo/summarize_log.py [model/demo/train_log.jsonl] [--every 100]
"""
import argparse
import json
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_log.jsonl"))
    ap.add_argument("--every", type=int, default=100)
    args = ap.parse_args()
    rows, final = [], None
    with open(args.log) as f:
        for line in f:
            r = json.loads(line)
            if "bf16_rounded" in r:
                final = r["bf16_rounded"]
                continue
            rows.append(r)
    print("| step | minutes | tokens seen | train loss (EMA) | val loss | val token acc | val exact traces (calc / search / coder) |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if r["step"] % args.every and r is not rows[-1] and r["step"] != 1:
            continue
        val = ("", "", "")
        if "val_loss" in r:
            by = r["val_seq_acc_by_agent"]
            val = (f"{r['val_loss']:.3f}", f"{r['val_tok_acc']:.3f}",
                   f"{r['val_seq_acc']:.2f} ({by.get('calculator', 0):.2f} / {by.get('search-qa', 0):.2f} / "
                   f"{by.get('coder', 0):.2f})")
        print(f"| {r['step']} | {r['elapsed_s'] / 60:.1f} | {r['tokens']:,} | {r['loss_ema']:.3f} | {val[0]} | {val[1]} | {val[2]} |")
    if final:
        by = final["val_seq_acc_by_agent"]
        print(f"\nAfter rounding the weights to BF16 (as stored): val loss {final['val_loss']:.3f}, token accuracy "
              f"{final['val_tok_acc']:.3f}, exact traces {final['val_seq_acc']:.2f} "
              f"({by.get('calculator', 0):.2f} / {by.get('search-qa', 0):.2f} / {by.get('coder', 0):.2f}).")


if __name__ == "__main__":
    main()
