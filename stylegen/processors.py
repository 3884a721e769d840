"""Logit processors: penalties on tokens already in the context, usable with any sampler.

Each takes logits (B, V) and counts (B, V) — how many times each id has occurred in each
row's context so far (the prime and what was generated) — and returns new logits (B, V).
They run before the sampler, so they compose with every sampler (and with beam search).

    repetition (CTRL, Keskar et al. 2019): for a seen id, l > 0 -> l / θ, l <= 0 -> l * θ
    presence:   l - α · 1[count > 0]
    frequency:  l - β · count

`Penalties.apply` runs them in that order: l' = rep_θ(l) - β·c - α·1[c > 0].
Nothing here imports torch at module level (the CLI imports this to parse its options). The
functions take torch tensors or numpy arrays (the torch-free path, `stylegen.torchless`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from stylegen.errors import StylegenError

if TYPE_CHECKING:
    import torch


def repetition_penalty(logits: torch.Tensor, counts: torch.Tensor, theta: float) -> torch.Tensor:
    """CTRL's penalty (Keskar et al. 2019, "CTRL: A Conditional Transformer Language Model for
    Controllable Generation"): make every id seen in the context less likely, by dividing a
    positive logit by θ and multiplying a negative one by θ (θ > 1 penalises, θ < 1 favours).
    logits (B, V), counts (B, V) -> (B, V)."""
    penalised = _where(logits > 0, logits / theta, logits * theta)  # (B, V)
    return _where(counts > 0, penalised, logits)  # (B, V) only ids already seen


def presence_penalty(logits: torch.Tensor, counts: torch.Tensor, alpha: float) -> torch.Tensor:
    """Subtract α once from every id that has occurred at all. (B, V), (B, V) -> (B, V)."""
    return logits - alpha * _as_dtype(counts > 0, logits)


def frequency_penalty(logits: torch.Tensor, counts: torch.Tensor, beta: float) -> torch.Tensor:
    """Subtract β for each time an id has occurred. (B, V), (B, V) -> (B, V)."""
    return logits - beta * _as_dtype(counts, logits)


def _where(condition: Any, a: Any, b: Any) -> Any:
    """a where `condition` holds, else b: torch's `where` for tensors, numpy's for arrays."""
    if hasattr(a, "where"):
        return a.where(condition, b)
    import numpy as np

    return np.where(condition, a, b)


def _as_dtype(x: Any, like: Any) -> Any:
    return x.to(like.dtype) if hasattr(x, "to") else x.astype(like.dtype)


@dataclass(frozen=True)
class Penalties:
    """The penalties to apply before sampling; the defaults change nothing."""

    repetition: float = 1.0  # θ > 0; 1 is off
    presence: float = 0.0  # α; 0 is off (negative values favour seen tokens)
    frequency: float = 0.0  # β; 0 is off

    def __post_init__(self) -> None:
        for name in ("repetition", "presence", "frequency"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise StylegenError(f"{name} penalty must be a finite number (got {value!r})")
        if self.repetition <= 0:
            raise StylegenError(f"repetition penalty must be > 0 (got {self.repetition})")

    @property
    def active(self) -> bool:
        """Whether applying these would change any logits."""
        return self.repetition != 1.0 or self.presence != 0.0 or self.frequency != 0.0

    def apply(self, logits: Any, counts: Any) -> Any:
        """logits (B, V), counts (B, V) of the ids in each row's context -> penalised logits
        (B, V): torch tensors, or numpy arrays (then of any shape, the two alike)."""
        if self.repetition != 1.0:
            logits = repetition_penalty(logits, counts, self.repetition)
        if self.frequency != 0.0:
            logits = frequency_penalty(logits, counts, self.frequency)
        if self.presence != 0.0:
            logits = presence_penalty(logits, counts, self.presence)
        return logits

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
