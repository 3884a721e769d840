"""Validation in bits per character, and the short sample shown at each validation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stylegen.training import distributed
from stylegen.training.data import to_device

LN2 = math.log(2.0)
#: The length of the sample shown at each validation, in tokens (and characters at most).
SAMPLE_CHARS = 200


def evaluate(
    model: Any,
    tokens: np.ndarray,
    lengths: np.ndarray,
    batch: int,
    seq_len: int,
    device: str,
    world: distributed.World | None = None,
) -> tuple[float, float]:
    """(nats per token, bits per character) over the whole validation token array.

    The array is cut into up to `batch` contiguous streams read with carried state; every
    token but each stream's first is a target. bits/char = total nats / chars / ln 2. With
    several processes, each reads every N-th stream and the sums are added up.
    """
    import torch
    import torch.nn.functional as F

    streams = max(1, min(batch, len(tokens) // (seq_len + 1)))
    length = len(tokens) // streams
    data = tokens[: streams * length].reshape(streams, length)  # (S, L)
    targets = data[:, 1:]
    n_targets = targets.size
    n_chars = sum(int(lengths[targets[:, i : i + 65536].astype(np.int64)].sum()) for i in range(0, length, 65536))
    if world is not None and world.active:
        data = data[world.rank :: world.size]  # (S/N, L): this rank's streams
    total = torch.zeros((), dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        state = model.init_state(len(data), device)
        for start in range(0, (length - 1) * (len(data) > 0), seq_len):
            end = min(start + seq_len, length - 1)
            chunk = to_device(data[:, start : end + 1], device)
            logits, state = model(chunk[:, :-1], state)  # (S, t, V)
            total += F.cross_entropy(logits.flatten(0, 1).float(), chunk[:, 1:].flatten(), reduction="sum").double()
    model.train(was_training)
    if world is not None:
        world.sum_(total)
    nats = float(total)
    return nats / n_targets, nats / max(1, n_chars) / LN2


@dataclass
class InTraining:
    """The model of a run as a style the generator can write with (`stylegen._style.LoadedStyle`)."""

    tokenizer: Any
    model: Any
    device: str
    name: str = ""
    path: Path = field(default_factory=Path)
    meta: Any = None  # no style.json yet
    precision: str = "fp32"


def sample_text(model: Any, tokenizer: Any, device: str, seed: int, length: int = SAMPLE_CHARS) -> str:
    """A short sample from the model in training, as char-rnn printed at each validation.

    Eval mode, no gradients, temperature 0.8 and a generator of its own seeded with `seed`:
    the training's random state is not touched, so a run with samples trains exactly as one
    without. At most `length` tokens, cut to `length` characters.
    """
    from stylegen._generate import Decoder, stream

    was_training = model.training
    model.eval()
    try:
        style = InTraining(tokenizer=tokenizer, model=model, device=device)
        decoder = Decoder(style, sampler="temperature", params={"temperature": 0.8}, seed=seed)
        text = "".join(chunks[0] for chunks in stream(decoder, "", length))
    finally:
        model.train(was_training)
    return text[:length]
