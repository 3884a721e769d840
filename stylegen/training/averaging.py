"""Averaged weights: an exponential moving average of the parameters over the run.

The weights a run validates and saves can be the average of its recent steps instead of the
last step's: SGD's iterates bounce around a minimum, their average sits nearer its middle
(Polyak & Juditsky 1992; the EMA form as in Izmailov et al. 2018 and most LM trainers). The
average starts as the model itself and warms up as TensorFlow's ExponentialMovingAverage
does: decay min(ema, (1 + n) / (10 + n)) after n updates, so the first steps are not frozen
into it. Training goes on from the raw weights; only validation, samples and the style use
the average (`swapped_in`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Averager:
    def __init__(self, model: Any, decay: float) -> None:
        self.decay = decay
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.average = [p.detach().float().clone() for p in self.params]
        self.updates = 0

    def update(self) -> None:
        """Fold the current parameters into the average (after each optimizer step)."""
        import torch

        n = self.updates
        decay = min(self.decay, (1 + n) / (10 + n))
        with torch.no_grad():
            torch._foreach_lerp_(self.average, [p.detach().float() for p in self.params], 1.0 - decay)
        self.updates += 1

    @contextmanager
    def swapped_in(self) -> Iterator[None]:
        """The averaged weights in the model's parameters for the duration; the raw ones back after."""
        import torch

        raw = [p.detach().clone() for p in self.params]
        with torch.no_grad():
            for p, a in zip(self.params, self.average, strict=True):
                p.copy_(a)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, r in zip(self.params, raw, strict=True):
                    p.copy_(r)

    def state_dict(self) -> dict[str, Any]:
        return {"average": [a.clone() for a in self.average], "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        average = state["average"]
        if len(average) != len(self.average) or any(
            a.shape != b.shape for a, b in zip(average, self.average, strict=True)
        ):
            from stylegen.errors import StylegenError

            raise StylegenError("the checkpoint's averaged weights do not fit the model")
        self.average = [a.float().to(b.device) for a, b in zip(average, self.average, strict=True)]
        self.updates = int(state["updates"])
