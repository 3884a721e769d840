"""Character frequencies over a text added piece by piece (for a corpus's manifest and `corpus show`)."""

from __future__ import annotations

import numpy as np


class CharCounts:
    """Character frequencies over text added piece by piece (numpy bincount over code points,
    four times faster than `collections.Counter`), with the other running totals."""

    FLUSH = 4_000_000

    def __init__(self) -> None:
        self.counts = np.zeros(0, dtype=np.int64)
        self._pending: list[str] = []
        self._pending_chars = 0

    def add(self, text: str) -> None:
        self._pending.append(text)
        self._pending_chars += len(text)
        if self._pending_chars >= self.FLUSH:
            self.flush()

    def flush(self) -> np.ndarray:
        if self._pending:
            cps = np.frombuffer("".join(self._pending).encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
            counted = np.bincount(cps)
            if len(counted) > len(self.counts):
                counted[: len(self.counts)] += self.counts
                self.counts = counted
            else:
                self.counts[: len(counted)] += counted
            self._pending, self._pending_chars = [], 0
        return self.counts

    def table(self) -> list[tuple[str, int]]:
        """[(char, count), ...], most frequent first (ties in code point order)."""
        counts = self.flush()
        present = np.flatnonzero(counts)
        order = present[np.argsort(-counts[present], kind="stable")]
        return [(chr(int(c)), int(counts[c])) for c in order]


#: The ASCII characters `str.split()` splits at, as a byte table; the other whitespace it knows
#: is all outside ASCII (U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F,
#: U+205F, U+3000), and no byte of a multi-byte UTF-8 character is below 0x80.
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = True
#: Their UTF-8 forms, looked for in the bytes (a search for a byte string is memchr-fast):
#: first their lead bytes, then, only where one is there, each whole form.
_WIDE_LEADS = (b"\xc2", b"\xe1", b"\xe2", b"\xe3")
_WIDE_SPACES = (
    b"\xc2\x85", b"\xc2\xa0", b"\xe1\x9a\x80", b"\xe2\x81\x9f", b"\xe3\x80\x80",
    *(b"\xe2\x80" + bytes([c]) for c in (*range(0x80, 0x8B), 0xA8, 0xA9, 0xAF)),
)  # fmt: skip


def _has_wide_space(data: bytes) -> bool:
    return any(lead in data for lead in _WIDE_LEADS) and any(form in data for form in _WIDE_SPACES)


def count_words(text: str, data: bytes) -> int:
    """`len(text.split())` without building the list of words: the starts of runs of
    non-space bytes in `data`, `text` encoded as UTF-8 (a text with whitespace outside ASCII
    takes str.split's own way)."""
    if not data or (not text.isascii() and _has_wide_space(data)):
        return len(text.split())
    space = _ASCII_SPACE[np.frombuffer(data, dtype=np.uint8)]
    return int(np.count_nonzero(space[:-1] & ~space[1:])) + int(not space[0])
