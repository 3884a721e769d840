"""Penalties on tokens already in the text (repetition, presence, frequency), for any sampler."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

#: (name, label, help); the defaults (1, 0, 0) change nothing.
PENALTIES: tuple[tuple[str, str, str], ...] = (
    ("repetition", "repetition θ [>0, 1 off]", "seen tokens' logits divided by θ (θ > 1 repeats less)"),
    ("presence", "presence α [0 off]", "minus α for every token already in the text"),
    ("frequency", "frequency β [0 off]", "minus β for each time a token already occurred"),
)


class PenaltiesPanel(Vertical):
    """Three inputs; a valid change is announced with `PenaltiesPanel.Changed`."""

    class Changed(Message):
        def __init__(self, panel: PenaltiesPanel, penalties: Any) -> None:
            super().__init__()
            self.panel = panel
            self.penalties = penalties  # stylegen.processors.Penalties

        @property
        def control(self) -> PenaltiesPanel:
            return self.panel

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, classes="penalties-panel")
        from stylegen import Penalties

        self.penalties = Penalties()

    def compose(self) -> ComposeResult:
        yield Label("Penalties", classes="field-label")
        for name, label, help_text in PENALTIES:
            yield Label(label, classes="field-label penalty-label", markup=False)
            value = getattr(self.penalties, name)
            yield Input(
                f"{value:g}", type="number", compact=True, name=name, classes="penalty-input", tooltip=help_text
            )
        yield Static("", classes="hint", id="penalty-error", markup=False)

    @on(Input.Changed, ".penalty-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        from stylegen import Penalties
        from stylegen.errors import StylegenError

        error = self.query_one("#penalty-error", Static)
        values: dict[str, float] = {}
        for field in self.query(".penalty-input").results(Input):
            try:
                values[str(field.name)] = float(field.value)
            except ValueError:
                field.add_class("-invalid")
                error.update(f"{field.name}: a number is needed")
                return
        try:
            penalties = Penalties(**values)
        except StylegenError as e:
            event.input.add_class("-invalid")
            error.update(str(e))
            return
        for field in self.query(".penalty-input").results(Input):
            field.remove_class("-invalid")
        error.update("")
        if penalties != self.penalties:
            self.penalties = penalties
            self.post_message(self.Changed(self, penalties))
