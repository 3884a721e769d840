"""The TCN's configuration, and the checks behind its one-line errors (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stylegen.config import config_from
from stylegen.errors import StylegenError

NORMS = ("weight", "none")


@dataclass
class TCNConfig:
    layers: int = 6  # residual blocks; block i dilates its convolutions by 2**i
    hidden: int = 128  # channels in every block
    embed: int = 64  # embedding width
    kernel: int = 3  # taps per convolution
    norm: str = field(default="weight", metadata={"choices": NORMS})  # weight (normalisation, Bai et al.) | none
    dropout: float = 0.0  # after each convolution

    def receptive_field(self) -> int:
        """Tokens one output sees: 1 + 2 (kernel - 1)(2^layers - 1) (two convolutions per block)."""
        return 1 + 2 * (self.kernel - 1) * (2**self.layers - 1)


def make_config(config: dict[str, Any]) -> TCNConfig:
    """A checked `TCNConfig` from `stylegen train` options; a one-line error otherwise."""
    cfg = config_from(TCNConfig, config, owner="model 'tcn'")
    if cfg.layers > 16:
        raise StylegenError(f"model 'tcn': layers must be <= 16 (receptive field 2^layers; got {cfg.layers})")
    return cfg
