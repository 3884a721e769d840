"""A TextArea that can mark character ranges of its text (copied spans, on the Generate screen).

It styles lines through `TextArea.get_line`, the hook Textual offers for extra styling, and
clears the rendered-line cache with `notify_style_update` when the marks change.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Any

from rich.text import Text
from textual.widgets import TextArea

from stylegen.tui.widgets.transcript import COPIED


class MarkedTextArea(TextArea):
    """`set_marks([(start, end), ...])` (character offsets into `text`) marks those ranges."""

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.marks: list[tuple[int, int]] = []
        self._by_row: dict[int, list[tuple[int, int | None]]] = {}

    def set_marks(self, marks: list[tuple[int, int]]) -> None:
        """Mark these ranges of the current text (replacing any marks); [] clears them."""
        self.marks = list(marks)
        self._by_row = {}
        if marks:
            lines = self.document.lines
            newline = len(self.document.newline)
            starts = [0, *accumulate(len(line) + newline for line in lines)][: len(lines)]
            for start, end in self.marks:
                first, last = bisect_right(starts, start) - 1, bisect_right(starts, max(start, end - 1)) - 1
                for row in range(first, last + 1):
                    a = max(start - starts[row], 0)
                    b = end - starts[row]
                    self._by_row.setdefault(row, []).append((a, b if b <= len(lines[row]) else None))
        self.notify_style_update()
        self.refresh()

    def load_text(self, text: str) -> None:
        self.marks, self._by_row = [], {}
        super().load_text(text)

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        for start, end in self._by_row.get(line_index, ()):
            line.stylize(COPIED, start, end)
        return line
