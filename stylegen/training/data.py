"""Stateful stream batching: the token array cut into B contiguous streams, read in windows of T.

Window w of the batch is rows `data[:, w*T : w*T+T]` with targets shifted by one, so the
state each stream ends a window with is the right state to start its next window with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


class StreamBatches:
    def __init__(self, tokens: np.ndarray, batch: int, seq_len: int) -> None:
        self.batch = batch
        self.seq_len = seq_len
        self.stream_len = len(tokens) // batch  # L tokens per stream
        self.data = tokens[: batch * self.stream_len].reshape(batch, self.stream_len)  # (B, L)
        self.windows = (self.stream_len - 1) // seq_len  # W windows per epoch

    def window(self, w: int, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets of window w, each (B, T) int64 on `device`."""

        start = w * self.seq_len
        chunk = to_device(self.data[:, start : start + self.seq_len + 1], device)
        return chunk[:, :-1], chunk[:, 1:]


def to_device(ids: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """Token ids as an int64 tensor on `device`. For a GPU the copy goes through pinned (page-
    locked) memory without waiting, so it overlaps the previous step's kernels; torch's caching
    host allocator keeps the pinned block alive until the copy is done."""
    import torch

    chunk = torch.from_numpy(ids.astype(np.int64))
    if torch.device(device).type == "cuda":
        return chunk.pin_memory().to(device, non_blocking=True)
    return chunk.to(device)


def fit_batch(n_tokens: int, batch: int, seq_len: int) -> int:
    """The largest batch <= `batch` that gives each stream at least one window (0 if none)."""
    return min(batch, n_tokens // (seq_len + 1))
