"""The copy-check setting of the Chat and Generate panels: off, or the shortest copied span to
point out. It also loads the style's originality index in the background as soon as the check
is on, and says in its hint line how that went (ready, no index, an error) once."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Static

from stylegen.errors import one_line
from stylegen.tui._copies import DEFAULT_LEN, MIN_LEN, IndexLoader

OFF = "off: nothing is checked"


class CopyCheckPanel(Vertical):
    """A checkbox and a length; `min_len` is the length when the check is on, else None."""

    class Changed(Message):
        def __init__(self, panel: CopyCheckPanel, min_len: int | None) -> None:
            super().__init__()
            self.panel = panel
            self.min_len = min_len

        @property
        def control(self) -> CopyCheckPanel:
            return self.panel

    class IndexLoaded(Message):
        bubble = False

        def __init__(self, style: Any, chars: int | None, error: str | None) -> None:
            super().__init__()
            self.style, self.chars, self.error = style, chars, error

    def __init__(self, indexes: IndexLoader, id: str | None = None) -> None:
        super().__init__(id=id, classes="copy-check-panel")
        self.indexes = indexes  # the app's, shared by the screens
        self.min_len: int | None = None
        self.last_len = DEFAULT_LEN
        self.style: Any = None
        self.index_note = ""  # what the hint says about the current style's index

    def compose(self) -> ComposeResult:
        yield Label(f"Check copies [{MIN_LEN}+ chars]", classes="field-label", markup=False)
        with Horizontal(classes="copy-check-row"):
            yield Checkbox("on", compact=True, id="copy-on", tooltip="mark spans copied verbatim from the corpus")
            yield Input(
                "",
                placeholder="off",
                type="integer",
                compact=True,
                valid_empty=True,
                id="copy-min",
                tooltip=f"the shortest copied span to point out, in characters (at least {MIN_LEN}; "
                f"{DEFAULT_LEN} is a good length); empty or 0: off",
            )
        yield Static(OFF, classes="hint", id="copy-hint", markup=False)

    # --- the setting -------------------------------------------------------------------------
    def toggle(self) -> None:
        """Switch the check on (with the last length, 40 at first) or off."""
        self.set_min_len(None if self.min_len else self.last_len)

    def set_min_len(self, value: int | None) -> None:
        field = self.query_one("#copy-min", Input)
        with self.prevent(Input.Changed):
            field.value = "" if value is None else str(value)
        field.remove_class("-invalid")
        self._apply(value)

    def _apply(self, value: int | None) -> None:
        if value is not None:
            self.last_len = value
        box = self.query_one("#copy-on", Checkbox)
        if box.value != (value is not None):
            with self.prevent(Checkbox.Changed):
                box.value = value is not None
        changed = value != self.min_len
        self.min_len = value
        self._hint()
        if value is not None and not self.index_note:
            self._load_index()
        if changed:
            self.post_message(self.Changed(self, value))

    @on(Checkbox.Changed, "#copy-on")
    def _switched(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.set_min_len(self.last_len if event.value else None)

    @on(Input.Changed, "#copy-min")
    def _length(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        try:
            value = int(text) if text else 0
        except ValueError:
            value = -1
        if value == 0:
            event.input.remove_class("-invalid")
            self._apply(None)
        elif value >= MIN_LEN:
            event.input.remove_class("-invalid")
            self._apply(value)
        else:
            event.input.add_class("-invalid")
            self.query_one("#copy-hint", Static).update(f"the check needs {MIN_LEN} characters or more")

    # --- the style's index ---------------------------------------------------------------------
    def set_style(self, style: Any) -> None:
        """The style whose answers are checked (None: none loaded); its index loads when the check is on."""
        self.style = style
        self.index_note = ""
        if style is not None and self.min_len is not None:
            self._load_index()
        self._hint()

    def _hint(self) -> None:
        if not self.is_mounted:
            return
        if self.min_len is None:
            text = OFF
        elif self.style is None:
            text = f"spans of {self.min_len}+ characters copied from the corpus are marked"
        else:
            text = self.index_note or f"loading the copy index of {self.style.name}…"
        self.query_one("#copy-hint", Static).update(text)

    def _load_index(self) -> None:
        if self.style is not None:
            self.index_note = f"loading the copy index of {self.style.name}…"
            self._read_index(self.style)

    @work(thread=True, exclusive=True, group="copy-index", exit_on_error=False)
    def _read_index(self, style: Any) -> None:
        try:
            index = self.indexes.load(style)
        except Exception as e:  # a damaged index file: said in the hint, the app goes on
            self.post_message(self.IndexLoaded(style, None, one_line(e)))
            return
        self.post_message(self.IndexLoaded(style, None if index is None else index.chars, None))

    def on_copy_check_panel_index_loaded(self, message: IndexLoaded) -> None:
        if message.style is not self.style:
            return
        name = message.style.name
        if message.error is not None:
            self.index_note = f"copy check unavailable: {message.error}"
        elif message.chars is None:
            self.index_note = f"{name} has no copy index (trained before the check existed): train it again to check"
        else:
            self.index_note = f"checked against {message.chars:,} characters of {name}'s training text"
        self._hint()
