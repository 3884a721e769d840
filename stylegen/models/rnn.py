"""Character-level recurrent language models on torch's fused LSTM/GRU/RNN (cuDNN on CUDA).

    ids (B, T) -> embedding (B, T, E) -> stacked recurrent layers (B, T, H) -> linear head (B, T, V)

The vanilla `rnn` cell is h_t = tanh(W_xh x_t + W_hh h_{t-1} + b), y_t = W_hy h_t.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

CELLS: dict[str, Callable[..., nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@dataclass
class RNNConfig:
    hidden: int = 256  # units per recurrent layer
    layers: int = 2  # stacked recurrent layers
    embed: int = 64  # embedding width
    dropout: float = 0.0  # on the embedding, between layers, and before the head


class RNNLanguageModel(nn.Module):
    def __init__(self, cell: str, vocab_size: int, cfg: RNNConfig) -> None:
        super().__init__()
        self.cell = cell
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, cfg.embed)
        self.drop = nn.Dropout(cfg.dropout)
        self.rnn = CELLS[cell](
            cfg.embed,
            cfg.hidden,
            num_layers=cfg.layers,
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(cfg.hidden, vocab_size)
        if cell == "lstm":
            # Forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015): remember by default.
            # torch orders the gate chunks input, forget, cell, output.
            for name, param in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    with torch.no_grad():
                        param[cfg.hidden : 2 * cfg.hidden].fill_(1.0)

    def init_state(self, batch: int, device: torch.device | str) -> Any:
        shape = (self.cfg.layers, batch, self.cfg.hidden)
        dtype = self.embedding.weight.dtype
        h = torch.zeros(shape, device=device, dtype=dtype)
        if self.cell == "lstm":
            return (h, torch.zeros(shape, device=device, dtype=dtype))
        return h

    def forward(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        x = self.drop(self.embedding(ids))  # (B, T, E)
        out, state = self.rnn(x, state)  # (B, T, H); state (L, B, H) or a pair of them
        return self.head(self.drop(out)), state  # (B, T, V)

    def select_state(self, state: Any, index: torch.Tensor) -> Any:
        """Rows `index` (K,) of a batch's state, in that order (beam search duplicates and
        reorders hypotheses with it): (L, B, H) -> (L, K, H), for h and, in an LSTM, c."""
        index = index.to(self.head.weight.device)
        if isinstance(state, (tuple, list)):
            return tuple(s.index_select(1, index) for s in state)
        return state.index_select(1, index)

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)
