"""Text coloured by a value per character: Rich text for the terminal, and a self-contained HTML page.

Values that can be negative (tanh of the cell state, the hidden output) run blue - pale - red
over [-1, 1]; values that cannot (gates, masks, counts) run pale - green over [0, 1] (or up to
their largest value). Values beyond the range get the end colour.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rich.text import Text

PALE = (245, 245, 245)
RED, BLUE, GREEN = (214, 39, 40), (31, 119, 180), (44, 160, 44)


@dataclass(frozen=True)
class Row:
    """One coloured view of the text: a label and a value per character."""

    label: str
    values: np.ndarray  # (T,)
    lo: float
    hi: float

    @classmethod
    def of(cls, label: str, values: np.ndarray, signed: bool | None = None) -> Row:
        """A row whose colour range fits its values (see the module docstring); `signed`
        chooses the two-sided scale (None: when some value is negative)."""
        if not (float(values.min()) < 0.0 if signed is None else signed):
            return cls(label, values, 0.0, max(1.0, float(values.max())))
        span = max(1.0, float(np.abs(values).max()))
        return cls(label, values, -span, span)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def colour(value: float, lo: float, hi: float) -> str:
    """`#rrggbb` for `value` on the row's scale."""
    if lo < 0:
        t = max(-1.0, min(1.0, value / hi))
        rgb = _mix(PALE, RED, t) if t >= 0 else _mix(PALE, BLUE, -t)
    else:
        rgb = _mix(PALE, GREEN, max(0.0, min(1.0, (value - lo) / (hi - lo))))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def ink(background: str) -> str:
    """Black on a light `#rrggbb`, white on a dark one."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def rich_text(text: str, row: Row) -> Text:
    """The text with every character on its colour (line breaks left plain), for Rich or Textual."""
    from rich.text import Text

    out = Text(no_wrap=False)
    for ch, value in zip(text, row.values.tolist(), strict=True):
        if ch in "\n\r":
            out.append(ch)
        else:
            background = colour(value, row.lo, row.hi)
            out.append(ch, style=f"{ink(background)} on {background}")
    return out


CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; background: #fff; }
h1 { font-size: 1.2em; } h2 { font-size: 1em; margin: 1.2em 0 0.3em; }
.meta { color: #666; font-size: 0.9em; }
.scale { display: inline-block; width: 12em; height: 0.8em; vertical-align: middle; border: 1px solid #ccc; }
pre.text { font: 14px/1.6 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap;
  word-break: break-all; margin: 0; padding: 0.5em; border: 1px solid #ddd; }
pre.text span:hover { outline: 1px solid #000; }
"""


def _scale(row: Row) -> str:
    if row.lo < 0:
        stops = f"{colour(row.lo, row.lo, row.hi)}, {colour(0, row.lo, row.hi)}, {colour(row.hi, row.lo, row.hi)}"
    else:
        stops = f"{colour(row.lo, row.lo, row.hi)}, {colour(row.hi, row.lo, row.hi)}"
    return (
        f'<span class="meta">{row.lo:g}</span> <span class="scale" style="background: linear-gradient(to right, '
        f'{stops})"></span> <span class="meta">{row.hi:g}</span>'
    )


def html_page(title: str, text: str, rows: Sequence[Row], notes: Sequence[str] = (), hints: Sequence[str] = ()) -> str:
    """A page with one block per row: the text, one `<span>` per character coloured by its
    value, the value in `data-v` and in the hover title (with `hints[i]` appended, e.g. the
    likeliest next characters). No scripts, no outside resources."""
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        f"<h1>{html.escape(title)}</h1>\n",
        *(f'<p class="meta">{html.escape(note)}</p>\n' for note in notes),
    ]
    for row in rows:
        parts.append(f'<section class="row" data-label="{html.escape(row.label)}">\n')
        parts.append(f'<h2>{html.escape(row.label)}</h2>\n<p>{_scale(row)}</p>\n<pre class="text">')
        for i, (ch, value) in enumerate(zip(text, row.values.tolist(), strict=True)):
            tip = f"#{i} {ch!r}: {value:.3f}" + (f" \u2014 next: {hints[i]}" if hints else "")
            background = colour(value, row.lo, row.hi)
            parts.append(
                f'<span style="background:{background};color:{ink(background)}" data-v="{value:.4f}" '
                f'title="{html.escape(tip)}">{html.escape(ch)}</span>'
            )
        parts.append("</pre>\n</section>\n")
    parts.append("</body>\n</html>\n")
    return "".join(parts)
