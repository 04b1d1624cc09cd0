"""Glm4ForCausalLM (reference/glm4.md section 2) as a trainable PyTorch module, batched, fp32.

The same math as scripts/glm4_reference.py (the float64 per-head reference the C++ engine is tested
against): GQA, partial RoPE on adjacent pairs (2i, 2i+1) of the first head_dim * partial_rotary_factor
dims, four RMSNorms per layer (input, post_self_attn on the attention output, post_attention before the MLP,
post_mlp on the MLP output), fused gate_up with SiLU on the first half, untied lm_head, optional q/k/v bias.
check_against_reference() compares the two on a random checkpoint; train.py runs it before training.

forward_shared(prefix, suffixes) runs one shared prompt prefix once for a whole batch of continuations
(every trace of an agent starts with the same system prompt and tools block): the same numbers as running
each prefix + suffix alone, at a fraction of the cost.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, vocab_size, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=64, partial_rotary_factor=0.5,
                 rope_theta=10000.0, rms_norm_eps=1e-5, attention_bias=False, max_position_embeddings=2048,
                 eos_token_id=None, pad_token_id=None, tie_word_embeddings=False):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.head_dim = head_dim
        self.partial_rotary_factor = partial_rotary_factor
        self.rope_theta = rope_theta
        self.rms_norm_eps = rms_norm_eps
        self.attention_bias = attention_bias
        self.max_position_embeddings = max_position_embeddings
        self.eos_token_id = eos_token_id or []
        self.pad_token_id = pad_token_id
        self.tie_word_embeddings = tie_word_embeddings

    def to_hf(self):
        """config.json contents (HF Glm4Config field names; every math field explicit)."""
        return {
            "architectures": ["Glm4ForCausalLM"],
            "model_type": "glm4",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "partial_rotary_factor": self.partial_rotary_factor,
            "rope_theta": self.rope_theta,
            "rope_scaling": None,
            "rms_norm_eps": self.rms_norm_eps,
            "attention_bias": self.attention_bias,
            "attention_dropout": 0.0,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "initializer_range": 0.02,
            "eos_token_id": self.eos_token_id,
            "pad_token_id": self.pad_token_id,
            "torch_dtype": "float32",
            "use_cache": True,
        }


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        x = x.float()  # fp32 norm math, also under bf16 autocast (training)
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_tables(n_rot, base, positions):
    i = torch.arange(n_rot // 2, dtype=torch.float64)
    inv_freq = base ** (-2.0 * i / n_rot)
    th = positions.to(torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(th).float(), torch.sin(th).float()  # [T, n_rot/2]


def apply_rope(x, cos, sin, n_rot):
    # x: [B, heads, T, hd]; adjacent pairs (2i, 2i+1) of the first n_rot dims.
    a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
    ra = a * cos - b * sin
    rb = a * sin + b * cos
    rot = torch.stack((ra, rb), dim=-1).flatten(-2)
    return torch.cat((rot, x[..., n_rot:]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.H, self.Hkv, self.hd = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.n_rot = int(c.head_dim * c.partial_rotary_factor)
        d = c.hidden_size
        self.q_proj = nn.Linear(d, self.H * self.hd, bias=c.attention_bias)
        self.k_proj = nn.Linear(d, self.Hkv * self.hd, bias=c.attention_bias)
        self.v_proj = nn.Linear(d, self.Hkv * self.hd, bias=c.attention_bias)
        self.o_proj = nn.Linear(self.H * self.hd, d, bias=False)

    def qkv(self, a, cos, sin):
        B, T, _ = a.shape
        q = self.q_proj(a).view(B, T, self.H, self.hd).transpose(1, 2)
        k = self.k_proj(a).view(B, T, self.Hkv, self.hd).transpose(1, 2)
        v = self.v_proj(a).view(B, T, self.Hkv, self.hd).transpose(1, 2)
        return apply_rope(q, cos, sin, self.n_rot), apply_rope(k, cos, sin, self.n_rot), v

    def attend(self, q, k, v, mask):
        # q [B,H,Tq,hd], k/v [B,Hkv,Tk,hd], mask [Tq,Tk] additive. Query head h uses KV head h // G.
        B, H, Tq, hd = q.shape
        G = self.H // self.Hkv
        q = q.view(B, self.Hkv, G * Tq, hd)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)  # [B,Hkv,G*Tq,Tk]
        s = s.float().view(B, self.Hkv, G, Tq, -1) + mask
        p = torch.softmax(s, dim=-1).view(B, self.Hkv, G * Tq, -1)
        o = torch.matmul(p.to(v.dtype) if not torch.is_autocast_cpu_enabled() else p, v).view(B, H, Tq, hd)
        return self.o_proj(o.transpose(1, 2).reshape(B, Tq, H * hd))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, I = c.hidden_size, c.intermediate_size
        self.I = I
        self.input_layernorm = RMSNorm(d, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_self_attn_layernorm = RMSNorm(d, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(d, c.rms_norm_eps)
        self.gate_up_proj = nn.Linear(d, 2 * I, bias=False)
        self.down_proj = nn.Linear(I, d, bias=False)
        self.post_mlp_layernorm = RMSNorm(d, c.rms_norm_eps)

    def mlp(self, x):
        m = self.post_attention_layernorm(x)
        gu = self.gate_up_proj(m)
        g, u = gu[..., :self.I], gu[..., self.I:]
        f = self.down_proj(F.silu(g) * u)
        return x + self.post_mlp_layernorm(f)

    def forward(self, x, cos, sin, mask):
        a = self.input_layernorm(x)
        q, k, v = self.self_attn.qkv(a, cos, sin)
        x = x + self.post_self_attn_layernorm(self.self_attn.attend(q, k, v, mask))
        return self.mlp(x)

    def forward_shared(self, xp, xs, rp, rs, mask_p, mask_s):
        # xp [1,P,d] the shared prefix, xs [B,S,d] the continuations.
        B = xs.shape[0]
        ap, as_ = self.input_layernorm(xp), self.input_layernorm(xs)
        qp, kp, vp = self.self_attn.qkv(ap, *rp)
        qs, ks, vs = self.self_attn.qkv(as_, *rs)
        op = self.self_attn.attend(qp, kp, vp, mask_p)
        k_all = torch.cat((kp.expand(B, -1, -1, -1), ks), dim=2)
        v_all = torch.cat((vp.expand(B, -1, -1, -1), vs), dim=2)
        os_ = self.self_attn.attend(qs, k_all, v_all, mask_s)
        xp = self.mlp(xp + self.post_self_attn_layernorm(op))
        xs = self.mlp(xs + self.post_self_attn_layernorm(os_))
        return xp, xs


def causal_mask(Tq, Tk, offset=0):
    """Additive mask: query i (at position offset + i) sees keys 0 .. offset + i."""
    i = torch.arange(Tq)[:, None] + offset
    j = torch.arange(Tk)[None, :]
    return torch.zeros(Tq, Tk).masked_fill(j > i, float("-inf"))


class Glm4ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.n_rot = int(c.head_dim * c.partial_rotary_factor)
        self.apply(self._init)
        if c.tie_word_embeddings:  # one matrix reads tokens in and scores them out (config tie_word_embeddings)
            self.lm_head.weight = self.embed_tokens.weight

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, ids):
        """ids [B,T] -> logits [B,T,V]."""
        T = ids.shape[1]
        cos, sin = rope_tables(self.n_rot, self.c.rope_theta, torch.arange(T))
        mask = causal_mask(T, T)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))

    def forward_shared(self, prefix, suffixes, suffix_pad_mask=None):
        """prefix [P] ids, suffixes [B,S] ids (right-padded) -> logits of the suffix positions [B,S,V]."""
        P, S = prefix.shape[0], suffixes.shape[1]
        rp = rope_tables(self.n_rot, self.c.rope_theta, torch.arange(P))
        rs = rope_tables(self.n_rot, self.c.rope_theta, torch.arange(P, P + S))
        mask_p = causal_mask(P, P)
        mask_s = causal_mask(S, P + S, offset=P)
        xp = self.embed_tokens(prefix[None, :])
        xs = self.embed_tokens(suffixes)
        for layer in self.layers:
            xp, xs = layer.forward_shared(xp, xs, rp, rs, mask_p, mask_s)
        return self.lm_head(self.norm(xs))

    def hf_state_dict(self):
        """Tensors under the Hugging Face names of reference/glm4.md section 3."""
        out = {"model.embed_tokens.weight": self.embed_tokens.weight, "model.norm.weight": self.norm.weight}
        if not self.c.tie_word_embeddings:
            out["lm_head.weight"] = self.lm_head.weight
        for i, L in enumerate(self.layers):
            p = f"model.layers.{i}."
            a = L.self_attn
            out[p + "input_layernorm.weight"] = L.input_layernorm.weight
            for n in ("q_proj", "k_proj", "v_proj"):
                out[p + f"self_attn.{n}.weight"] = getattr(a, n).weight
                if self.c.attention_bias:
                    out[p + f"self_attn.{n}.bias"] = getattr(a, n).bias
            out[p + "self_attn.o_proj.weight"] = a.o_proj.weight
            out[p + "post_self_attn_layernorm.weight"] = L.post_self_attn_layernorm.weight
            out[p + "post_attention_layernorm.weight"] = L.post_attention_layernorm.weight
            out[p + "mlp.gate_up_proj.weight"] = L.gate_up_proj.weight
            out[p + "mlp.down_proj.weight"] = L.down_proj.weight
            out[p + "post_mlp_layernorm.weight"] = L.post_mlp_layernorm.weight
        return out


def save_safetensors(path, tensors, dtype="BF16"):
    """Writes tensors (name -> float tensor) as safetensors, names sorted, F32 or BF16 (round to nearest even)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        if dtype == "BF16":
            u = t.view(torch.int32).to(torch.int64) & 0xFFFFFFFF
            rounding = ((u >> 16) & 1) + 0x7FFF
            raw = (((u + rounding) >> 16) & 0xFFFF).to(torch.int32).numpy().astype("<u2").tobytes()
        else:
            raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_hf_into(model, tensors):
    sd = model.hf_state_dict()
    with torch.no_grad():
        for name, p in sd.items():
            p.copy_(tensors[name].to(p.dtype))


def check_against_reference(tmpdir, reference_py):
    """Random tiny checkpoint: forward() vs scripts/glm4_reference.py (float64) and forward_shared() vs
    forward(). Returns the two max abs differences."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("glm4_reference", reference_py)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.manual_seed(0)
    c = Config(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, head_dim=32, attention_bias=True, eos_token_id=[1])
    m = Glm4ForCausalLM(c)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    os.makedirs(tmpdir, exist_ok=True)
    save_safetensors(os.path.join(tmpdir, "model.safetensors"), m.hf_state_dict(), dtype="F32")
    with open(os.path.join(tmpdir, "config.json"), "w") as f:
        json.dump(c.to_hf(), f)
    ids = [3, 17, 42, 5, 96, 0, 11, 64, 23, 7, 7, 50]
    with torch.no_grad():
        mine = m(torch.tensor([ids]))[0].double()
        W = ref.load_weights(tmpdir)
        theirs = ref.forward(c.to_hf(), W, ids)
        d_ref = (mine - theirs).abs().max().item()
        P = 5
        sh = m.forward_shared(torch.tensor(ids[:P]), torch.tensor([ids[P:], ids[P:][::-1]]))
        full2 = m(torch.tensor([ids[:P] + ids[P:][::-1]]))[0]
        d_sh = max((sh[0] - mine[P:].float()).abs().max().item(), (sh[1] - full2[P:]).abs().max().item())
    return d_ref, d_sh
