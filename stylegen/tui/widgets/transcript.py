"""A conversation: one `TurnView` per turn, in a scrolling column that follows new text
while the reader is at the bottom and stays put while they scroll back."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

#: How a span copied from the training text looks.
COPIED = "reverse"


def marked(text: str, marks: list[tuple[int, int]], style: str = COPIED) -> Text:
    """`text` with the character ranges `marks` in `style`."""
    out = Text(text)
    for start, end in marks:
        out.stylize(style, start, end)
    return out


class TurnView(Vertical):
    """Who spoke, and what; a model's turn grows while its answer streams."""

    def __init__(self, speaker: str, text: str = "", role: str = "user") -> None:
        super().__init__(classes=f"turn -{role}")
        self.speaker = speaker
        self.text = text
        self.note = ""
        self.marks: list[tuple[int, int]] = []  # character ranges copied from the corpus
        self.copies = ""  # a line about them

    def compose(self) -> ComposeResult:
        yield Label(self.speaker, markup=False, classes="turn-speaker")
        yield Static(self.text, markup=False, classes="turn-text")
        yield Static("", markup=False, classes="turn-copies")

    def _show(self) -> None:
        if not self.is_mounted:
            return
        self.query_one(".turn-speaker", Label).update(self.speaker + (f"  ({self.note})" if self.note else ""))
        self.query_one(".turn-text", Static).update(marked(self.text, self.marks) if self.marks else self.text)
        copies = self.query_one(".turn-copies", Static)
        copies.update(self.copies)
        copies.display = bool(self.copies)

    def set_copies(self, marks: list[tuple[int, int]], line: str) -> None:
        """Mark the character ranges `marks` of the text as copied, and say `line` under it."""
        self.marks, self.copies = list(marks), line
        self._show()

    def append(self, text: str) -> None:
        self.text += text
        self._show()

    def set_speaker(self, speaker: str) -> None:
        if speaker != self.speaker:
            self.speaker = speaker
            self._show()

    def set_note(self, note: str) -> None:
        """A word after the speaker: 'writing…', 'stopped', an error."""
        self.note = note
        self._show()

    def on_mount(self) -> None:
        self._show()


class Transcript(VerticalScroll):
    """The turns so far, or a hint when there are none."""

    def __init__(self, empty: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.empty_text = empty

    def compose(self) -> ComposeResult:
        yield Static(self.empty_text, classes="empty-state")

    def set_empty_text(self, text: str) -> None:
        self.empty_text = text
        self.query_one(".empty-state", Static).update(text)

    @property
    def turns(self) -> list[TurnView]:
        return list(self.query(TurnView))

    def add(self, turn: TurnView) -> TurnView:
        self.query_one(".empty-state").display = False
        self.mount(turn)
        self.call_after_refresh(self.scroll_end, animate=False)
        return turn

    def following(self) -> bool:
        """Whether the view is at (or near) the bottom, so new text should stay in sight."""
        return self.scroll_y >= self.max_scroll_y - 2

    def follow(self, was_following: bool) -> None:
        if was_following:
            self.call_after_refresh(self.scroll_end, animate=False)

    def clear(self) -> None:
        for turn in self.turns:
            turn.remove()
        self.query_one(".empty-state").display = True
