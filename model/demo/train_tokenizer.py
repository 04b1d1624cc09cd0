#!/usr/bin/env python3
"""Trains the demo model's tokenizer: byte-level BPE in GLM-4's layout (reference/glm4.md section 5) on the
rendered training traces, with GLM-4's 14 special tokens added after the BPE ids.

    .venv/bin/python model/demo/train_tokenizer.py --traces model/demo/data/traces.jsonl \
        --out model/demo/tokenizer.json [--vocab 4096]

Layout: NFC normalizer; pre-tokenizer Sequence[Split(GLM-4 regex, Isolated), ByteLevel(add_prefix_space
false, use_regex false)]; ByteLevel decoder; no post-processor (the chat renderer writes [gMASK]<sop>).
Needs the `tokenizers` package (pinned in requirements.txt). Deterministic for a given input.

Entity names of the invented world (examples/corpus) and digits are left out of the text the merges are learned
from: a name the model must copy from a question or a document is then spelled with pieces every trace trains
(and the same pieces with or without a leading space, apart from the first). Learned as whole tokens, a name the
training data never asks about is a token the model has never seen, and copying it cannot generalise (the first
checkpoint's failure, see README.md). Numbers instead get every group of 2 and 3 digits as a token, appended
after the special tokens (ids 2062 on), as GLM-4's own vocabulary has them: the split regex cuts digit runs into
groups of at most 3, so a number is a few tokens, each of which the data trains many times, and copying it
needs no position counting (copying single digits of many numbers in view, a small model matched the previous
digit and kept copying the wrong number).
"""
import argparse
import json
import os
import re
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_corpus  # noqa: E402
from gen_data import render_text  # noqa: E402

GLM4_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")

# In id order (GLM-4 ids 151329..151342); here they follow the BPE ids in the same order.
SPECIAL_TOKENS = ["<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                  "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
                  "<|begin_of_video|>", "<|end_of_video|>"]

_SPECIAL_RE = re.compile("|".join(re.escape(s) for s in SPECIAL_TOKENS))


def _entity_re():
    """Every name of the invented world (whole people names and their parts too), and any digit."""
    w = gen_corpus.world()
    names = set()
    for kind in ("countries", "cities", "rivers", "people"):
        for e in w[kind]:
            names.add(e["name"])
            names.update(e["name"].split())
    alts = sorted(names, key=len, reverse=True)
    return re.compile(r"\b(?i:" + "|".join(re.escape(n) for n in alts) + r")\b|\d")


def texts(traces_path, mask_entities=True):
    """The plain-text pieces between special tokens of every rendered trace, names and digits cut out."""
    cut = _entity_re() if mask_entities else None
    with open(traces_path, encoding="utf-8") as f:
        for line in f:
            for piece in _SPECIAL_RE.split(render_text(json.loads(line))):
                if cut is not None:
                    piece = cut.sub("", piece)
                if piece:
                    yield piece


def build(vocab_size, pieces):
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GLM4_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(pieces, trainer=trainer)
    tok.add_special_tokens(SPECIAL_TOKENS)
    return tok


def add_digit_groups(tok_json):
    """Adds every 2- and 3-digit string (00..99, 000..999) as a BPE token after the learned ones, with merges that
    form each from its parts (both splits of a 3-digit group, whichever pair BPE merges first), and moves the
    special tokens after them (their order kept). Numbers occur nowhere in the text the merges were learned from,
    so no other token changes."""
    m = tok_json["model"]
    next_id = 1 + max(m["vocab"].values())
    digits = "0123456789"
    for a in digits:
        for b in digits:
            m["vocab"][a + b] = next_id
            next_id += 1
            m["merges"].append([a, b])
    for a in digits:
        for b in digits:
            for c in digits:
                m["vocab"][a + b + c] = next_id
                next_id += 1
                m["merges"].append([a + b, c])
                m["merges"].append([a, b + c])
    for t in sorted(tok_json["added_tokens"], key=lambda t: t["id"]):
        t["id"] = next_id
        next_id += 1
    return tok_json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", default=os.path.join(HERE, "data", "traces.jsonl"))
    ap.add_argument("--out", default=os.path.join(HERE, "tokenizer.json"))
    ap.add_argument("--vocab", type=int, default=2048, help="BPE vocabulary (bytes + merges), specials extra")
    ap.add_argument("--keep-entities", action="store_true", help="learn merges on names and digits too")
    ap.add_argument("--no-digit-groups", action="store_true",
                    help="digits stay single tokens (the committed run's first phase; train.py --init carries rows over)")
    args = ap.parse_args()
    tok = build(args.vocab, list(texts(args.traces, mask_entities=not args.keep_entities)))
    tj = json.loads(tok.to_str())
    if not args.no_digit_groups:
        tj = add_digit_groups(tj)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, separators=(",", ":"))
    tok = Tokenizer.from_file(args.out)
    ids = {s: tok.token_to_id(s) for s in SPECIAL_TOKENS}
    print(json.dumps({"vocab_size": tok.get_vocab_size(), "specials": ids,
                      "ids_of": {s: tok.encode(s).tokens for s in ("1,086,393", "42172", "-4034.4", "1519")}}))


if __name__ == "__main__":
    main()
