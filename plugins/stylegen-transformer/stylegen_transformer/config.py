"""The Transformer's configuration, and the checks behind its one-line errors (no torch here)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from stylegen.errors import StylegenError

POSITIONS = ("rope", "learned")


@dataclass
class TransformerConfig:
    layers: int = 4  # Transformer blocks
    hidden: int = 128  # model width D (embedding, residual stream)
    heads: int = 4  # attention heads; hidden / heads is the head width
    context: int = 256  # positions each token attends to, itself included (the sliding window)
    positions: str = "rope"  # rope (rotary) | learned (a learned bias per head and distance)
    mlp: int = 4  # the MLP's width, as a multiple of hidden
    dropout: float = 0.0  # on the embedding and on each block's two residual branches


def make_config(config: dict[str, Any]) -> TransformerConfig:
    """A checked `TransformerConfig` from `stylegen train` options; a one-line error otherwise."""
    fields = {f.name: f for f in dataclasses.fields(TransformerConfig)}
    for key, value in config.items():
        if key not in fields:
            hint = " (the Transformer's width is --hidden)" if key == "embed" else ""
            raise StylegenError(
                f"model 'transformer': unknown option {key!r}{hint} (known: {', '.join(sorted(fields))})"
            )
        default = fields[key].default
        if isinstance(default, bool) or isinstance(value, bool):
            raise StylegenError(f"model 'transformer': {key} cannot be {value!r}")
        if isinstance(default, int) and not (isinstance(value, int) and value >= 1):
            raise StylegenError(f"model 'transformer': {key} must be a whole number >= 1 (got {value!r})")
        if isinstance(default, float) and not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
            raise StylegenError(f"model 'transformer': {key} must be in [0, 1) (got {value!r})")
        if key == "positions" and value not in POSITIONS:
            raise StylegenError(f"model 'transformer': positions must be rope or learned (got {value!r})")
    cfg = TransformerConfig(**{k: float(v) if k == "dropout" else v for k, v in config.items()})
    if cfg.hidden % cfg.heads:
        raise StylegenError(f"model 'transformer': hidden ({cfg.hidden}) must be a multiple of heads ({cfg.heads})")
    if cfg.positions == "rope" and (cfg.hidden // cfg.heads) % 2:
        raise StylegenError(
            f"model 'transformer': rotary positions need an even head width (hidden / heads = {cfg.hidden // cfg.heads})"
        )
    return cfg
