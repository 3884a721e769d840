"""What the screens read from the data home, with problems collected instead of printed.

The store's listing functions print a warning and skip a damaged style or corpus; in the
app those warnings would be lost, so they are captured here and shown on screen.
"""

from __future__ import annotations

import contextlib
import io
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from stylegen import StyleRecord

T = TypeVar("T")


def _capturing(fn: Callable[[], T]) -> tuple[T, list[str]]:
    """Call `fn`, returning what it returned and the warning lines it wrote to stderr."""
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        result = fn()
    lines = [line.removeprefix("warning: ").strip() for line in buffer.getvalue().splitlines()]
    return result, [line for line in lines if line]


def scan_styles() -> tuple[list[StyleRecord], list[str]]:
    """Every style's description, and one line for each style that could not be read."""
    from stylegen import list_styles

    try:
        return _capturing(list_styles)
    except Exception as e:  # an unreadable data home: say so, show nothing
        return [], [f"cannot list styles: {e}"]


def style_names() -> list[str]:
    return [m.name for m in scan_styles()[0] if m.name]


def scan_corpora() -> tuple[list[Any], list[str]]:
    """Every built corpus (`stylegen.corpus.Corpus`), and one line per damaged one."""
    from stylegen import list_corpora

    try:
        return _capturing(list_corpora)
    except Exception as e:
        return [], [f"cannot list corpora: {e}"]


@dataclass
class CorpusInfo:
    """What the Corpus screen shows about a corpus (the same figures as `stylegen corpus show`)."""

    name: str
    stats: dict[str, Any]
    split: dict[str, Any]
    vocabulary: int
    most_frequent: list[tuple[str, int]]
    turns: dict[str, Any]
    skipped: list[dict[str, Any]]
    excerpt: str
    sources: int = 0
    created: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


EXCERPT_CHARS = 400


def corpus_info(name: str) -> CorpusInfo:
    """Read corpus `name` and compute its statistics and a fixed excerpt (a seeded position)."""
    from stylegen import load_corpus

    corpus = load_corpus(name)
    m = corpus.manifest
    text = corpus.train_text() + corpus.val_text()
    counts = Counter(text).most_common()
    start = random.Random(0).randrange(max(1, len(text) - EXCERPT_CHARS))
    return CorpusInfo(
        name=name,
        stats=m.stats.to_json(),
        split=m.split.to_json(),
        vocabulary=len(counts),
        most_frequent=counts[:10],
        turns=m.turns.to_json() if m.turns is not None else {"kind": "none", "speakers": {}},
        skipped=[s.to_json() for s in m.skipped],
        excerpt=text[start : start + EXCERPT_CHARS],
        sources=len(m.sources),
        created=m.created or "",
    )


def source_names() -> list[str]:
    """The registered corpus sources (`files` and any from plugins)."""
    from stylegen import plugin_registry

    return plugin_registry().names("source")
