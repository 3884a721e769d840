"""Training and validation loss as sparklines, with their latest values."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Sparkline

#: Points kept per line: the plot is a recent window of the run, not all of it.
POINTS = 240


class LossPlot(Vertical):
    """Two sparklines: training loss (each logged step) and validation loss (each validation)."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, classes="loss-plot")
        self.train: list[float] = []
        self.val: list[float] = []
        self.best_bpc: float | None = None
        self.val_unit = ""  # " bits/char" once validations come with it

    def compose(self) -> ComposeResult:
        yield Label("train loss  -", classes="plot-label", id="train-label")
        yield Sparkline([], id="train-line", summary_function=max)
        yield Label("validation loss  -", classes="plot-label", id="val-label")
        yield Sparkline([], id="val-line", summary_function=max)

    def reset(self) -> None:
        self.train, self.val, self.best_bpc, self.val_unit = [], [], None, ""
        self._draw()

    def add_train(self, loss: float) -> None:
        self.train = [*self.train, loss][-POINTS:]
        self._draw()

    def add_val(self, loss: float, bpc: float | None = None) -> None:
        """A validation: plotted and shown in bits/char where the event has it (one unit with
        the best), else as the loss."""
        self.val = [*self.val, loss if bpc is None else bpc][-POINTS:]
        self.val_unit = self.val_unit if bpc is None and self.val_unit else ("" if bpc is None else " bits/char")
        if bpc is not None and (self.best_bpc is None or bpc < self.best_bpc):
            self.best_bpc = bpc
        self._draw()

    def _draw(self) -> None:
        self.query_one("#train-line", Sparkline).data = list(self.train)
        self.query_one("#val-line", Sparkline).data = list(self.val)
        self.query_one("#train-label", Label).update(f"train loss  {_span(self.train)}")
        best = f" · best {self.best_bpc:.3f} bits/char" if self.best_bpc is not None else ""
        what = "validation" if self.val_unit else "validation loss"
        self.query_one("#val-label", Label).update(
            f"{what}  {self.val[-1]:.3f}{self.val_unit}{best}" if self.val else "validation loss  -"
        )


def _span(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{values[-1]:.4f}  (min {min(values):.4f})"
