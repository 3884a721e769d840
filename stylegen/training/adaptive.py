"""Regularisation chosen for how many passes over the text the run's budget allows.

The same model and learning rate that overfit a 1 MB text in 5 minutes of a 2-core CPU
(about 9 passes: the training loss falls far below the validation loss after a third of the
run) still underfit a 4 MB text in the same minutes (about 3 passes), where any dropout only
slows learning (benchmarks/RESULTS.md, issue 17). How many passes a run makes is known only
once it runs: corpus size x the budget (steps, epochs or minutes) x the speed of this
machine. So under `--adaptive-dropout` (what `--preset cpu` sets when no regulariser is
given) the run measures its progress over its first steps, estimates the passes it will
make by its end, and sets the model's locked (variational) dropout from that:

    passes at the end     locked dropout
    under 6               none
    6 to 15               0.1
    15 or more            0.2

Progress is what the learning-rate schedule follows (the furthest along of the limits), so
passes at the end = d(epochs) / d(progress) between two steps, whichever limits were given.
The choice is recorded in the run's settings (`adapted` in style.json's "train") and in its
model options, so a resumed run keeps it. It applies to models whose config has a
`locked_dropout` option (the built-in lstm, gru, rnn and qrnn); other models are left as
they are, and the record says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stylegen.training.config import TrainConfig

#: (passes at least, locked dropout), most passes first. Measured on the 3x384 QRNN of
#: `--preset cpu` (benchmarks/RESULTS.md): at about 3 and 5 passes it did better without dropout;
#: at 8-9 and 14 with 0.1, which stopped the overfitting; at 24 passes (15 minutes on 1 MB) 0.1
#: still overfits after 40% of the run, and at 18 passes over 4.5 MB locked dropout 0.2 (with
#: weight drop 0.1) kept the training and validation losses together.
TIERS = ((15.0, 0.2), (6.0, 0.1))
PASSES_FOR_DROPOUT = TIERS[-1][0]
#: The steps between which progress is measured (the first few are slower: memory warms up).
MEASURE_FROM, DECIDE_AT = 5, 25


def dropout_for(passes: float) -> float:
    """The locked dropout for a run expected to make `passes` passes over its text."""
    return next((p for at_least, p in TIERS if passes >= at_least), 0.0)


@dataclass
class DropoutPlanner:
    """Watches a run's first steps (see the module docstring): `on_step` gives the passes
    expected by the end once DECIDE_AT steps are done."""

    start_step: int
    mark: tuple[float, float] | None = None  # (epochs, progress) at MEASURE_FROM steps in

    def on_step(self, step: int, epochs: float, progress: float) -> float | None:
        """Called after each step; the expected passes at the end once it is known, else None."""
        done = step - self.start_step
        if done == MEASURE_FROM:
            self.mark = (epochs, progress)
        if done < DECIDE_AT or self.mark is None:
            return None
        d_epochs, d_progress = epochs - self.mark[0], progress - self.mark[1]
        if d_progress <= 0:
            return None
        return epochs + (1.0 - progress) * d_epochs / d_progress


def apply(model: Any, train: TrainConfig, passes: float, step: int) -> dict[str, Any]:
    """Set `model`'s locked dropout for `passes`, and the run's model options (what the
    checkpoint saves: a new dict, the caller's is left alone); record the choice in
    `train.adapted` and return it."""
    p = dropout_for(passes)
    record: dict[str, Any] = {"step": step, "passes": round(passes, 2), "locked_dropout": p}
    cfg = getattr(model, "cfg", None)
    if cfg is None or not hasattr(cfg, "locked_dropout"):
        record["locked_dropout"] = None  # the model has no such option
    else:
        cfg.locked_dropout = p
        train.model_config = {**train.model_config, "locked_dropout": p}
    train.adapted = record
    return record
