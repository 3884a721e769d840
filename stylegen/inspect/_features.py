"""What neuron search correlates activations with: a regex mask, or a built-in feature of the text.

Every function here maps a text of T characters to one number per character, (T,) float64,
aligned with the activations: position i holds the feature *after* reading character i.
"""

from __future__ import annotations

import re

import numpy as np

from stylegen.errors import StylegenError

#: Built-in features for `--feature`, with what each measures.
FEATURES: dict[str, str] = {
    "in-quotes": 'inside a double-quoted span: 1 from an opening " (or “) up to its closing quote, 0 elsewhere',
    "line-position": "the column: characters since the last line break",
    "indent-depth": "the leading whitespace of the current line, in columns (a tab counts 4)",
}

OPENING, CLOSING = "\u201c", "\u201d"


def pattern_mask(text: str, pattern: str) -> np.ndarray:
    """1.0 where a character lies inside a match of the regular expression `pattern`, else 0.0.

    As in grep, `^` and `$` match at the start and end of every line (`re.MULTILINE`); a match
    may still span lines where the pattern allows it (`[^"]*` crosses newlines, `.` does not
    unless `(?s)`). Matches are found with `re.finditer`; empty matches mark nothing.
    """
    try:
        regex = re.compile(pattern, re.MULTILINE)
    except re.error as e:
        raise StylegenError(f"pattern {pattern!r} is not a regular expression ({e})") from None
    mask = np.zeros(len(text))
    for match in regex.finditer(text):
        mask[match.start() : match.end()] = 1.0
    return mask


def in_quotes(text: str) -> np.ndarray:
    """1.0 from an opening quote up to (not including) its closing one.

    A straight quote `"` toggles; typographic quotes open (“) and close (”). The opening
    quote is inside and the closing one outside: the state after reading each character.
    """
    mask = np.zeros(len(text))
    inside = False
    for i, ch in enumerate(text):
        if ch == '"':
            inside = not inside
        elif ch == OPENING:
            inside = True
        elif ch == CLOSING:
            inside = False
        mask[i] = inside
    return mask


def line_position(text: str) -> np.ndarray:
    """Characters since the last line break (a line break itself is column 0)."""
    out = np.zeros(len(text))
    column = 0
    for i, ch in enumerate(text):
        column = 0 if ch == "\n" else column + 1
        out[i] = column
    return out


def indent_depth(text: str) -> np.ndarray:
    """The width of the current line's leading whitespace (tabs expanded to 4 columns)."""
    out = np.zeros(len(text))
    start = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        lead = body[: len(body) - len(body.lstrip(" \t"))]
        out[start : start + len(line)] = len(lead.expandtabs(4))
        start += len(line)
    return out


def feature_values(text: str, feature: str) -> np.ndarray:
    """The built-in feature `feature` (see `FEATURES`) at every character, (T,) float64."""
    functions = {"in-quotes": in_quotes, "line-position": line_position, "indent-depth": indent_depth}
    if feature not in functions:
        raise StylegenError(f"unknown feature {feature!r} (known: {', '.join(FEATURES)})")
    return functions[feature](text)
