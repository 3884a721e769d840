"""The TCN's configuration, and the checks behind its one-line errors (no torch here)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from stylegen.errors import StylegenError

NORMS = ("weight", "none")


@dataclass
class TCNConfig:
    layers: int = 6  # residual blocks; block i dilates its convolutions by 2**i
    hidden: int = 128  # channels in every block
    embed: int = 64  # embedding width
    kernel: int = 3  # taps per convolution
    norm: str = "weight"  # weight (weight normalisation, as in Bai et al.) | none
    dropout: float = 0.0  # after each convolution

    def receptive_field(self) -> int:
        """Tokens one output sees: 1 + 2 (kernel - 1)(2^layers - 1) (two convolutions per block)."""
        return 1 + 2 * (self.kernel - 1) * (2**self.layers - 1)


def make_config(config: dict[str, Any]) -> TCNConfig:
    """A checked `TCNConfig` from `stylegen train` options; a one-line error otherwise."""
    fields = {f.name: f for f in dataclasses.fields(TCNConfig)}
    for key, value in config.items():
        if key not in fields:
            raise StylegenError(f"model 'tcn': unknown option {key!r} (known: {', '.join(sorted(fields))})")
        default = fields[key].default
        if isinstance(value, bool):
            raise StylegenError(f"model 'tcn': {key} cannot be {value!r}")
        if isinstance(default, int) and not (isinstance(value, int) and value >= 1):
            raise StylegenError(f"model 'tcn': {key} must be a whole number >= 1 (got {value!r})")
        if isinstance(default, float) and not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
            raise StylegenError(f"model 'tcn': {key} must be in [0, 1) (got {value!r})")
        if key == "norm" and value not in NORMS:
            raise StylegenError(f"model 'tcn': norm must be weight or none (got {value!r})")
    cfg = TCNConfig(**{k: float(v) if k == "dropout" else v for k, v in config.items()})
    if cfg.layers > 16:
        raise StylegenError(f"model 'tcn': layers must be <= 16 (receptive field 2^layers; got {cfg.layers})")
    return cfg
