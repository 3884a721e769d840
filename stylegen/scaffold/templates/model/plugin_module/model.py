"""The model: ids (B, T) -> embedding (B, T, E) -> GRU layers (B, T, H) -> head (B, T, V).

The stateful-step protocol: `init_state(batch, device)`, `forward(ids, state) -> (logits,
state)`, `config()`; the state here is the GRU's hidden state (layers, B, H). stylegen's
trainer carries it from window to window, its generator from token to token.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class Config:
    hidden: int = 256  # units per layer
    layers: int = 2  # stacked GRU layers
    embed: int = 64  # embedding width
    dropout: float = 0.0  # between layers and before the head


class Model(nn.Module):
    def __init__(self, vocab_size: int, cfg: Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.embedding = nn.Embedding(vocab_size, cfg.embed)
        between = cfg.dropout if cfg.layers > 1 else 0.0
        self.rnn = nn.GRU(cfg.embed, cfg.hidden, cfg.layers, batch_first=True, dropout=between)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def init_state(self, batch: int, device: torch.device | str) -> torch.Tensor:
        return torch.zeros(self.cfg.layers, batch, self.cfg.hidden, device=device)  # (L, B, H)

    def forward(self, ids: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, state = self.rnn(self.embedding(ids), state)  # (B, T, H), (L, B, H)
        return self.head(self.drop(out)), state  # (B, T, V)

    def select_state(self, state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Rows `index` (K,) of the batch's state (beam search): (L, B, H) -> (L, K, H)."""
        return state.index_select(1, index.to(state.device))

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)  # JSON: rebuilds this model through the factory
