"""Modal dialogs: confirm, ask for a file path, show a style's details."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from stylegen.tui._format import style_details

if TYPE_CHECKING:
    from stylegen import StyleRecord


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; y and Enter say yes, n and Esc say no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class PathDialog(ModalScreen[str | None]):
    """Ask for a file path (Enter accepts, Esc cancels)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, id="path")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _accept(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        self.dismiss(value or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class InspectDialog(ModalScreen[str | None]):
    """Everything style.json says about a style; n (or F6) leaves for its neurons, dismissing
    with "neurons"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,i", "close", "Close"),
        Binding("n,f6", "neurons", "Neurons"),
    ]

    def __init__(self, meta: StyleRecord) -> None:
        super().__init__(classes="dialog-screen")
        self.meta = meta

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog inspect"):
            yield Label(f"Style {self.meta.name}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="inspect-body"):
                for label, value in style_details(self.meta):
                    with Horizontal(classes="inspect-row"):
                        yield Label(label, classes="inspect-key")
                        yield Static(value, classes="inspect-value", markup=False)
            yield Static("n: its neurons (the Inspect screen) · Esc closes", classes="hint dialog-hint")

    def on_click(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_neurons(self) -> None:
        self.dismiss("neurons")
