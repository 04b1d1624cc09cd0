#!/usr/bin/python3
"""Reference GLM-4-0414 (Glm4ForCausalLM) forward pass in float64 PyTorch, written from
reference/glm4.md section 2 independently of the C++ engine. Used by tests/model/forward_test.cpp.

    /usr/bin/python3 scripts/glm4_reference.py --model DIR --ids 1,2,3 --out logits.json

Reads DIR/config.json and DIR/model.safetensors or DIR/model.safetensors.index.json (+ shards) with
its own safetensors parser (F32/F16/BF16), and writes {"logits": [[...] for every position]}.
Exit status 3 when torch is missing (the caller skips).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover
    print("torch is not installed", file=sys.stderr)
    sys.exit(3)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        shape = info["shape"]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif dt == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32).astype(np.float64)
        else:
            raise SystemExit(f"unsupported dtype {dt}")
        out[name] = torch.from_numpy(arr.reshape(shape).copy())
    return out


def load_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            wm = json.load(f)["weight_map"]
        w = {}
        for shard in sorted(set(wm.values())):
            w.update(read_safetensors(os.path.join(model_dir, shard)))
        return w
    return read_safetensors(os.path.join(model_dir, "model.safetensors"))


def rms(x, w, eps):
    return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def rope_freqs(cfg, n_rot, base):
    """inv_freq [n_rot/2] and the factor on cos/sin: plain, or YaRN as transformers' _compute_yarn_parameters
    computes it (with rope_scaling.factor taken as written, as vLLM and llama.cpp do)."""
    i = torch.arange(n_rot // 2, dtype=torch.float64)
    inv_freq = base ** (-2.0 * i / n_rot)
    rs = cfg.get("rope_scaling")
    if not rs or rs.get("rope_type", rs.get("type")) in (None, "default"):
        return inv_freq, 1.0
    assert rs.get("rope_type", rs.get("type")) == "yarn"
    factor = rs["factor"]
    orig = rs.get("original_max_position_embeddings") or cfg["max_position_embeddings"]

    def mscale(scale, m=1.0):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    attn = rs.get("attention_factor")
    if attn is None:
        if rs.get("mscale") and rs.get("mscale_all_dim"):
            attn = mscale(factor, rs["mscale"]) / mscale(factor, rs["mscale_all_dim"])
        else:
            attn = mscale(factor)
    beta_fast, beta_slow = rs.get("beta_fast") or 32, rs.get("beta_slow") or 1

    def corr_dim(rot):
        return n_rot * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(base))

    low, high = corr_dim(beta_fast), corr_dim(beta_slow)
    if rs.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, n_rot - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((i - low) / (high - low), 0, 1)
    extrapolate = 1 - ramp
    return inv_freq / factor * (1 - extrapolate) + inv_freq * extrapolate, attn


def rope(x, pos, n_rot, inv_freq, scale):
    # x: [T, heads, head_dim]; adjacent pairs (2i, 2i+1) of the first n_rot dims.
    th = pos[:, None].double() * inv_freq[None, :]  # [T, n_rot/2]
    c, s = scale * torch.cos(th)[:, None, :], scale * torch.sin(th)[:, None, :]
    y = x.clone()
    a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
    y[..., 0:n_rot:2] = a * c - b * s
    y[..., 1:n_rot:2] = a * s + b * c
    return y


def forward(cfg, W, ids):
    d = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    Hkv = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim", d // H)
    n_rot = int(hd * cfg.get("partial_rotary_factor", 0.5))
    eps = cfg.get("rms_norm_eps", 1.5625e-07)
    base = cfg.get("rope_theta", 10000.0)
    inv_freq, rscale = rope_freqs(cfg, n_rot, base)
    I = cfg["intermediate_size"]
    bias = cfg.get("attention_bias", True)
    G = H // Hkv
    T = len(ids)
    pos = torch.arange(T)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for il in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{il}."
        a = rms(x, W[p + "input_layernorm.weight"], eps)
        q = a @ W[p + "self_attn.q_proj.weight"].T
        k = a @ W[p + "self_attn.k_proj.weight"].T
        v = a @ W[p + "self_attn.v_proj.weight"].T
        if bias:
            q = q + W[p + "self_attn.q_proj.bias"]
            k = k + W[p + "self_attn.k_proj.bias"]
            v = v + W[p + "self_attn.v_proj.bias"]
        q = rope(q.view(T, H, hd), pos, n_rot, inv_freq, rscale)
        k = rope(k.view(T, Hkv, hd), pos, n_rot, inv_freq, rscale)
        v = v.view(T, Hkv, hd)
        outs = []
        for h in range(H):
            j = h // G
            s = (q[:, h, :] @ k[:, j, :].T) / (hd ** 0.5) + mask
            outs.append(torch.softmax(s, dim=-1) @ v[:, j, :])
        A = torch.cat(outs, dim=-1) @ W[p + "self_attn.o_proj.weight"].T
        x = x + rms(A, W[p + "post_self_attn_layernorm.weight"], eps)
        m = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        gu = m @ W[p + "mlp.gate_up_proj.weight"].T
        g, u = gu[:, :I], gu[:, I:]
        f = (g * torch.sigmoid(g) * u) @ W[p + "mlp.down_proj.weight"].T
        x = x + rms(f, W[p + "post_mlp_layernorm.weight"], eps)
    lm = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W["lm_head.weight"]
    return rms(x, W["model.norm.weight"], eps) @ lm.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    assert "Glm4ForCausalLM" in cfg.get("architectures", ["Glm4ForCausalLM"])
    ids = [int(t) for t in args.ids.split(",")]
    with torch.no_grad():
        logits = forward(cfg, load_weights(args.model), ids)
    with open(args.out, "w") as f:
        json.dump({"logits": logits.tolist()}, f)


if __name__ == "__main__":
    main()
