"""A small decoder-only Transformer whose state is a key/value cache.

    ids (B, T) -> embedding (B, T, D) -> layers x [x + attention(norm(x)); x + mlp(norm(x))]
               -> norm -> head (B, T, V)

Each position attends to itself and the `context - 1` positions before it: a sliding window,
the same in training and in generation. The state is the cache of those earlier positions'
keys and values, per layer. Training carries it from one window to the next (detached, as
Transformer-XL carries its memory), generation from one token to the next, so a step costs
one token's pass over at most `context` positions however long the text grows, and feeding a
text in pieces gives the same logits as feeding it at once.

Positions are relative, so that the cache can slide:

- `rope`: rotary embeddings (Su et al. 2021, RoFormer). Queries and keys are rotated by their
  position within the window; the cache keeps keys unrotated and rotates them at each call,
  so the positions used stay below 2 * context however long the text is.
- `learned`: a learned bias per head and distance 0 .. context - 1, added to the attention
  scores (Shaw et al. 2018; T5's bias, unbucketed).

Absolute learned embeddings (GPT-2's) are not offered: once the window slides, each cached
key would have to be computed again at its new position.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stylegen_transformer.config import TransformerConfig


def rope_tables(dim: int, length: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (length, dim / 2) of the angle position * base^(-2i / dim)."""
    inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (dim / 2,)
    angles = torch.arange(length, dtype=torch.float32)[:, None] * inv_freq[None, :]  # (length, dim / 2)
    return angles.cos(), angles.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x_i, x_{i + d/2}) of x (..., T, d) by its position's angle (cos, sin: (T, d/2))."""
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.heads, self.width = cfg.heads, cfg.hidden // cfg.heads
        self.qkv = nn.Linear(cfg.hidden, 3 * cfg.hidden)
        self.proj = nn.Linear(cfg.hidden, cfg.hidden)
        # learned positions: one score bias per head and distance (0 = the token itself)
        self.bias = nn.Parameter(torch.zeros(cfg.heads, cfg.context)) if cfg.positions == "learned" else None

    def forward(
        self,
        x: torch.Tensor,
        past_k: torch.Tensor,
        past_v: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor] | None,
        distance: torch.Tensor,
        allowed: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, D), past keys/values (B, H, S, d) -> out (B, T, D), keys/values (B, H, S + T, d)."""
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, self.width).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, d)
        keys = torch.cat([past_k.to(k.dtype), k], dim=2)  # (B, H, S + T, d), unrotated
        values = torch.cat([past_v.to(v.dtype), v], dim=2)
        S = past_k.size(2)
        attend_keys = keys
        if rope is not None:
            cos, sin = rope  # (S + T, d / 2): positions 0 .. S + T - 1 within the window
            q = rotate(q, cos[S:], sin[S:])
            attend_keys = rotate(keys, cos, sin)
        mask: torch.Tensor | None = allowed  # (T, S + T) bool, or None: everything is allowed
        if self.bias is not None:
            scores_bias = self.bias[:, distance.clamp(0, self.bias.size(1) - 1)]  # (H, T, S + T)
            if allowed is not None:
                scores_bias = scores_bias.masked_fill(~allowed, float("-inf"))
            mask = scores_bias.to(q.dtype)
        out = F.scaled_dot_product_attention(q, attend_keys, values.to(q.dtype), attn_mask=mask)  # (B, H, T, d)
        return self.proj(out.transpose(1, 2).reshape(B, T, D)), keys, values


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.hidden)
        self.attn = Attention(cfg)
        self.norm2 = nn.LayerNorm(cfg.hidden)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.hidden, cfg.mlp * cfg.hidden), nn.GELU(), nn.Linear(cfg.mlp * cfg.hidden, cfg.hidden)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor, *masks: Any
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, keys, values = self.attn(self.norm1(x), past_k, past_v, *masks)
        x = x + self.drop(a)  # (B, T, D)
        return x + self.drop(self.mlp(self.norm2(x))), keys, values


class TransformerLanguageModel(nn.Module):
    rope_cos: torch.Tensor  # buffers (positions = rope), typed for mypy
    rope_sin: torch.Tensor

    def __init__(self, vocab_size: int, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.hidden)
        self.head = nn.Linear(cfg.hidden, vocab_size)
        if cfg.positions == "rope":
            # a window holds at most context - 1 cached positions and a chunk of `context` new ones
            cos, sin = rope_tables(cfg.hidden // cfg.heads, 2 * cfg.context)
            self.register_buffer("rope_cos", cos, persistent=False)  # not weights: not in the style's file
            self.register_buffer("rope_sin", sin, persistent=False)
        # GPT-2's initialisation: N(0, 0.02), the residual branches' last layers scaled by 1/sqrt(2 * layers)
        for name, p in self.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                std = 0.02 / math.sqrt(2 * cfg.layers) if name.endswith(("proj.weight", "mlp.2.weight")) else 0.02
                nn.init.normal_(p, std=std)
            elif name.endswith("bias") and "norm" not in name:
                nn.init.zeros_(p)

    def init_state(self, batch: int, device: torch.device | str) -> dict[str, torch.Tensor]:
        """An empty cache: keys and values (layers, B, heads, 0, head width)."""
        shape = (self.cfg.layers, batch, self.cfg.heads, 0, self.cfg.hidden // self.cfg.heads)
        dtype = self.embedding.weight.dtype
        return {
            "k": torch.zeros(shape, device=device, dtype=dtype),
            "v": torch.zeros(shape, device=device, dtype=dtype),
        }

    def forward(
        self, ids: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """ids (B, T) -> logits (B, T, V), the cache of the last context - 1 positions.

        A long input (a prime) goes through in chunks of `context` tokens, the cache carried:
        with the sliding window that is exact, and memory stays O(context^2) per chunk."""
        keys, values = state["k"], state["v"]  # (L, B, H, S, d)
        outs = []
        for chunk in ids.split(self.cfg.context, dim=1):
            logits, keys, values = self._chunk(chunk, keys, values)
            outs.append(logits)
        return (outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)), {"k": keys, "v": values}

    def _chunk(
        self, ids: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        T, S, C = ids.size(1), keys.size(3), self.cfg.context
        device = ids.device
        # distance from each new position (queries S .. S + T - 1) to each key (0 .. S + T - 1)
        distance = torch.arange(S, S + T, device=device)[:, None] - torch.arange(S + T, device=device)[None, :]
        allowed = None if T == 1 else (distance >= 0) & (distance < C)  # (T, S + T); one token sees all of S < C
        rope = None
        if self.cfg.positions == "rope":
            rope = (self.rope_cos[: S + T], self.rope_sin[: S + T])
        x = self.drop(self.embedding(ids))  # (B, T, D)
        kept_k, kept_v = [], []
        keep = C - 1  # the cache: positions the next token may still see
        for i, block in enumerate(self.blocks):
            x, k, v = block(x, keys[i], values[i], rope, distance, allowed)  # k, v (B, H, S + T, d)
            start = max(0, k.size(2) - keep)
            kept_k.append(k[:, :, start:])
            kept_v.append(v[:, :, start:])
        logits = self.head(self.norm(x))  # (B, T, V)
        return logits, torch.stack(kept_k), torch.stack(kept_v)

    def select_state(self, state: dict[str, torch.Tensor], index: torch.Tensor) -> dict[str, torch.Tensor]:
        """Rows `index` (K,) of the cache, for beam search: (L, B, H, S, d) -> (L, K, H, S, d)."""
        index = index.to(state["k"].device)
        return {"k": state["k"].index_select(1, index), "v": state["v"].index_select(1, index)}

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)
