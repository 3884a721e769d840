"""How well a style predicts a text, in bits per character: read as it was trained (static),
and with dynamic evaluation, where the weights keep learning the text as it is read.

Dynamic evaluation (Krause et al. 2018, "Dynamic Evaluation of Neural Sequence Models"):
the text is read in segments of `seq_len` tokens, carrying the state; each segment is scored
first, then the weights take one gradient step on it, so what the text repeats (a new play's
names, a codebase's identifiers) gets cheaper further on. The step is RMS-normalised (each
weight's gradient divided by the root of its running mean square) and every step pulls the
weights back towards the style's own by `decay`, so they never drift far from what training
found. The weights change only in a copy: the style is not touched.

This is a measure of its own, always labelled as such: a dynamic figure has seen the text it
scores (each segment after it is scored), so it is never mixed with validation figures.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Evaluation:
    """Bits per character of a text under a style; `dynamic_bpc` only when asked for."""

    chars: int
    tokens: int
    bpc: float  # static: the style's weights as they are
    nats_per_token: float
    dynamic_bpc: float | None = None  # dynamic evaluation (weights adapted as the text is read)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def score_text(
    style: Any,
    text: str,
    *,
    dynamic: bool = False,
    seq_len: int = 64,
    lr: float = 3e-4,
    decay: float = 1e-3,
) -> Evaluation:
    """Score `text` (its first token is given, every later one is predicted) under `style`."""
    from stylegen.errors import StylegenError

    ids = np.asarray(style.tokenizer.encode(text), dtype=np.int64)
    if len(ids) < 2:
        raise StylegenError("the text is too short to score: it needs at least two tokens")
    lengths = style.tokenizer.token_lengths()
    chars = int(lengths[ids[1:]].sum())
    nats = _read(style.model, ids, seq_len, style.device, None)
    dyn = None
    if dynamic:
        model = copy.deepcopy(style.model)
        dyn = _read(model, ids, seq_len, style.device, _Adapter(model, lr, decay)) / max(1, chars) / LN2
    return Evaluation(
        chars=chars,
        tokens=len(ids),
        bpc=nats / max(1, chars) / LN2,
        nats_per_token=nats / (len(ids) - 1),
        dynamic_bpc=dyn,
    )


class _Adapter:
    """One RMS-normalised gradient step per segment, pulled back towards the original weights."""

    def __init__(self, model: Any, lr: float, decay: float) -> None:
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.origin = [p.detach().clone() for p in self.params]
        self.square = [p.detach().new_zeros(p.shape) for p in self.params]
        self.lr, self.decay, self.steps = lr, decay, 0

    def step(self) -> None:
        import torch

        self.steps += 1
        beta = 0.99
        correction = 1 - beta**self.steps  # the running mean starts from zero
        with torch.no_grad():
            for p, p0, sq in zip(self.params, self.origin, self.square, strict=True):
                if p.grad is None:
                    continue
                sq.mul_(beta).addcmul_(p.grad, p.grad, value=1 - beta)
                p.sub_(self.lr * p.grad / ((sq / correction).sqrt() + 1e-8))
                p.add_(self.decay * (p0 - p))  # back towards the style's own weights
                p.grad = None


class Adaptation:
    """Dynamic evaluation for a conversation (`stylegen chat --adapt`): after each turn, the
    model (a copy: the style is not touched) takes the same RMS-normalised, decayed gradient
    steps on that turn's text, read from the state the turn started from, that `score_text`
    takes on a text; what the conversation repeats (names, words) gets likelier."""

    def __init__(self, model: Any, lr: float = 3e-4, decay: float = 1e-3, seq_len: int = 64) -> None:
        self.model, self.seq_len = model, seq_len
        self.adapter = _Adapter(model, lr, decay)

    def learn(self, ids: np.ndarray, state: Any, device: str) -> float:
        """Adapt to ids (t,) read from `state` (None: a fresh one); returns their nats."""
        if len(ids) < 2:
            return 0.0
        return _read(self.model, np.asarray(ids, dtype=np.int64), self.seq_len, device, self.adapter, state)

    def snapshot(self) -> dict[str, Any]:
        """The adapted weights and the step statistics, copied (for ChatSession.snapshot)."""
        a = self.adapter
        return {
            "params": [p.detach().clone() for p in a.params],
            "square": [s.clone() for s in a.square],
            "steps": a.steps,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        import torch

        a = self.adapter
        with torch.no_grad():
            for p, saved in zip(a.params, snapshot["params"], strict=True):
                p.copy_(saved)
            for s, saved in zip(a.square, snapshot["square"], strict=True):
                s.copy_(saved)
        a.steps = int(snapshot["steps"])


def _read(model: Any, ids: np.ndarray, seq_len: int, device: str, adapter: _Adapter | None, state: Any = None) -> float:
    """Total nats of ids[1:], read as one stream in segments from `state` (None: a fresh one),
    adapting after each segment, if asked."""
    import torch
    import torch.nn.functional as F

    from stylegen.state import tree_map

    was_training = model.training
    model.eval()  # no dropout: the adapted model scores as the static one does
    total = 0.0
    state = model.init_state(1, device) if state is None else tree_map(lambda t: t.detach().clone(), state)
    try:
        for start in range(0, len(ids) - 1, seq_len):
            chunk = torch.as_tensor(ids[start : start + seq_len + 1], device=device)[None]  # (1, t + 1)
            with torch.set_grad_enabled(adapter is not None):
                logits, state = model(chunk[:, :-1], state)  # (1, t, V)
                loss = F.cross_entropy(logits[0].float(), chunk[0, 1:], reduction="sum")
            total += float(loss.detach())
            if adapter is not None:
                loss.backward()
                adapter.step()
                state = tree_map(lambda t: t.detach(), state)
    finally:
        model.train(was_training)
    return total
