"""The copy check in the app: each style's originality index, loaded once (in a worker thread:
a shipped style builds it from its recipe the first time, which takes seconds), the check
itself, and a few words about what it found.

Nothing here imports numpy or torch until a worker thread calls `IndexLoader.load`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

#: The shortest span the check can see (`stylegen.originality.K`, spelled out: no numpy here).
MIN_LEN = 16
#: The length the setting takes when it is switched on.
DEFAULT_LEN = 40


class IndexLoader:
    """Originality indexes by style, shared by the screens; read again when a style changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the dicts, held only for a moment
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._building: dict[str, threading.Lock] = {}  # one per style: a style's index is built once

    @staticmethod
    def _key(style: Any) -> tuple[Any, ...]:
        meta = style.meta
        return (str(style.path), meta.updated, meta.steps, meta.corpus.sha256)

    def load(self, style: Any) -> Any:
        """The style's `OriginalityIndex`, or None if it has none (call from a worker thread).

        A damaged index file raises `StylegenError`; so does a shipped style whose recipe is
        missing."""
        from stylegen import load_originality_index

        key = self._key(style)
        with self._lock:
            build_lock = self._building.setdefault(style.name, threading.Lock())
        with build_lock:  # two screens asking at once: the second waits for the first's index
            with self._lock:
                hit = self._cache.get(style.name)
            if hit is not None and hit[0] == key:
                return hit[1]
            index = load_originality_index(style.path, style.meta)
            with self._lock:
                self._cache[style.name] = (key, index)
            return index

    def forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)


def find(loader: IndexLoader, style: Any, text: str, min_len: int) -> list[Any] | None:
    """The copied spans of `text` (`originality.Span`), or None when the style has no index."""
    index = loader.load(style)
    if index is None:
        return None
    from stylegen import find_copies

    return find_copies(index, text, min_len)


def marks(spans: Sequence[Any], shift: int = 0) -> list[tuple[int, int]]:
    """The character ranges to mark, overlapping spans joined, moved by `shift`."""
    merged: list[list[int]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span.end)
        else:
            merged.append([span.start, span.end])
    return [(a + shift, b + shift) for a, b in merged]


def summary(spans: Sequence[Any], min_len: int, shown: int = 3) -> str:
    """'2 copied spans (40+ chars) from the corpus: 87 chars at offset 1,234, 52 at 5,678'."""
    if not spans:
        return f"no copied spans of {min_len}+ characters"
    n = len(spans)
    parts = [f"{len(s)} chars at offset {s.corpus_offset:,}" for s in spans[:shown]]
    more = f", and {n - shown} more" if n > shown else ""
    return f"{n} copied span{'s' if n != 1 else ''} ({min_len}+ chars) from the corpus: {', '.join(parts)}{more}"
