"""The Transformer's configuration, and the checks behind its one-line errors (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stylegen.config import config_from
from stylegen.errors import StylegenError

POSITIONS = ("rope", "learned")


@dataclass
class TransformerConfig:
    layers: int = 4  # Transformer blocks
    hidden: int = 128  # model width D (embedding, residual stream)
    heads: int = 4  # attention heads; hidden / heads is the head width
    context: int = 256  # positions each token attends to, itself included (the sliding window)
    # rope (rotary) | learned (a learned bias per head and distance)
    positions: str = field(default="rope", metadata={"choices": POSITIONS})
    mlp: int = 4  # the MLP's width, as a multiple of hidden
    dropout: float = 0.0  # on the embedding and on each block's two residual branches


def make_config(config: dict[str, Any]) -> TransformerConfig:
    """A checked `TransformerConfig` from `stylegen train` options; a one-line error otherwise."""
    hints = {"embed": "the Transformer's width is --hidden"}
    cfg = config_from(TransformerConfig, config, owner="model 'transformer'", hints=hints)
    if cfg.hidden % cfg.heads:
        raise StylegenError(f"model 'transformer': hidden ({cfg.hidden}) must be a multiple of heads ({cfg.heads})")
    if cfg.positions == "rope" and (cfg.hidden // cfg.heads) % 2:
        raise StylegenError(
            f"model 'transformer': rotary positions need an even head width (hidden / heads = {cfg.hidden // cfg.heads})"
        )
    return cfg
