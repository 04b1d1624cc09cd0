#!/usr/bin/env python3
"""Trains the demo model's tokenizer: byte-level BPE in GLM-4's layout (reference/glm4.md section 5) on the
rendered training traces, with GLM-4's 14 special tokens added after the BPE ids.

    .venv/bin/python model/demo/train_tokenizer.py --traces model/demo/data/traces.jsonl \
        --out model/demo/tokenizer.json [--vocab 4096]

Layout: NFC normalizer; pre-tokenizer Sequence[Split(GLM-4 regex, Isolated), ByteLevel(add_prefix_space
false, use_regex false)]; ByteLevel decoder; no post-processor (the chat renderer writes [gMASK]<sop>).
Needs the `tokenizers` package (pinned in requirements.txt). Deterministic for a given input.
"""
import argparse
import json
import os
import re
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_data import render_text  # noqa: E402

GLM4_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")

# In id order (GLM-4 ids 151329..151342); here they follow the BPE ids in the same order.
SPECIAL_TOKENS = ["<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                  "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
                  "<|begin_of_video|>", "<|end_of_video|>"]

_SPECIAL_RE = re.compile("|".join(re.escape(s) for s in SPECIAL_TOKENS))


def texts(traces_path):
    """The plain-text pieces between special tokens of every rendered trace."""
    with open(traces_path, encoding="utf-8") as f:
        for line in f:
            for piece in _SPECIAL_RE.split(render_text(json.loads(line))):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", default=os.path.join(HERE, "data", "traces.jsonl"))
    ap.add_argument("--out", default=os.path.join(HERE, "tokenizer.json"))
    ap.add_argument("--vocab", type=int, default=4096, help="BPE vocabulary (bytes + merges), specials extra")
    args = ap.parse_args()
    tok = build(args.vocab, list(texts(args.traces)))
    tok.save(args.out, pretty=False)
    ids = {s: tok.token_to_id(s) for s in SPECIAL_TOKENS}
    print(json.dumps({"vocab_size": tok.get_vocab_size(), "specials": ids}))


if __name__ == "__main__":
    main()
