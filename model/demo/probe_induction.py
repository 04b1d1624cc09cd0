#!/usr/bin/env python3
"""Can this GLM-4 module and training setup learn to copy from context at all? A 2-layer model of glm4_torch on
random 24-token spans shown twice, loss on the repeat, bf16 autocast as train.py uses. Prints loss and copy accuracy
every 50 steps; induction heads form in ~150 steps (copy accuracy ~1.0), so a demo model that does not copy is
short of data or steps, not broken. --tie ties lm_head to the embedding.

    .venv/bin/python model/demo/probe_induction.py [--tie]
"""
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glm4_torch as G  # noqa: E402


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    V, L = 512, 24
    c = G.Config(vocab_size=V, hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=32, max_position_embeddings=256, eos_token_id=[0], pad_token_id=0,
                 tie_word_embeddings=('--tie' in sys.argv))
    m = G.Glm4ForCausalLM(c)
    opt = torch.optim.AdamW(m.parameters(), lr=2e-3, betas=(0.9, 0.95), weight_decay=0.05)
    t0 = time.time()
    for step in range(1, 601):
        x = torch.randint(2, V, (32, L))
        ids = torch.cat([torch.ones(32, 1, dtype=torch.long), x, torch.ones(32, 1, dtype=torch.long), x], 1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = m(ids)
        tgt = ids[:, L + 3:]
        lg = logits[:, L + 2:-1].float()
        loss = F.cross_entropy(lg.reshape(-1, V), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            acc = (lg.argmax(-1) == tgt).float().mean().item()
            print(step, round(loss.item(), 3), 'copy acc', round(acc, 3), f'{time.time()-t0:.0f}s', flush=True)


if __name__ == "__main__":
    main()
