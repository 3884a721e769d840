"""Originality check: find where generated text copies the training text word for word.

Method. Every K-character window of the training text (K = 16) is hashed to 64 bits. The
index keeps the hashes of all windows sorted, each with its corpus offset, and is saved in
the style folder as `originality.npz` (plain arrays, nothing pickled). To check a text,
each of its K-character windows is hashed the same way and looked up by binary search.
A window that occurs is then extended in both directions against the corpus's own window
hashes at the neighbouring offsets (K windows at a time, then by binary search), so a
reported span is text that occurs *contiguously* in the training text, not a chain of
16-grams that each occur somewhere. (A plain run of found windows is
not enough: text from a char-level model is stitched from corpus fragments that overlap by
K or more characters, and such runs are mostly not copies; measured on English prose with
text from an order-12 character model, two thirds of the 40+ character runs were not.)

Each reported `Span` is a maximal exact match: the text `text[start:end]` occurs in the
training text at `corpus_offset` (the smallest such offset) and cannot be grown by one
character on either side and still occur. Where generated text moves from one corpus
passage to another that overlaps it, spans overlap; every copied passage of at least
`min_len` characters lies inside a reported span.

The hash is a polynomial rolling hash modulo 2^64: each character's code point is first
spread to 64 bits by the splitmix64 finalizer, then h = h * BASE + mix(c) over the window,
computed for all windows at once with numpy (K vectorised passes, wrapping in uint64).
Positions are Python string indices (one per code point; lone surrogates included).

Limits.
- Two different windows share a hash with probability about 2^-64 per pair: even a check of
  a long text against a large corpus expects far less than one false window. (Mixing each
  code point first avoids the short structured collisions that a plain polynomial hash of
  small code points has modulo 2^64.)
- Copies shorter than K characters, and copies with a change every K characters or less,
  are not found. The match is exact: case, spacing and line breaks count.
- Cost: the file holds 12 bytes per corpus character (16 for corpora of 2^31 characters or
  more); in memory an index takes 8 more per character, and building one about 25
  bytes per character at its peak. A window that occurs very often in the corpus (a run of
  spaces, a refrain) makes its lookups slower, in proportion to its count.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stylegen import home
from stylegen.errors import StylegenError
from stylegen.records.style import StyleRecord

#: Window length in characters; the shortest copy the check can see.
K = 16
#: The file in a style folder.
INDEX_FILE = "originality.npz"
#: Training characters a style's index covers (12 bytes each while building): about 400 MB.
MAX_CHARS = 32_000_000
#: Bumped whenever the hash or the file layout changes.
FORMAT_VERSION = 1
#: The polynomial's base: any odd 64-bit constant.
BASE = np.uint64(0x9E3779B97F4A7C15)
#: Windows hashed per chunk, to bound the temporary arrays.
_CHUNK = 1 << 22

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SALT = np.uint64(0x243F6A8885A308D3)


def codepoints(text: str) -> np.ndarray:
    """The text's code points as uint32, one per Python string index."""
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)


def _mix(cp: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer over code points: a bijection that spreads each to 64 bits."""
    x = cp.astype(np.uint64) + _SALT
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    x ^= x >> np.uint64(31)
    return x


def window_hashes(text: str) -> np.ndarray:
    """The 64-bit hash of every K-character window: element i is the window at text[i:i+K]."""
    cp = codepoints(text)
    n = len(cp) - K + 1
    out = np.empty(max(n, 0), dtype=np.uint64)
    for start in range(0, max(n, 0), _CHUNK):
        m = min(_CHUNK, n - start)
        mixed = _mix(cp[start : start + m + K - 1])
        h = np.zeros(m, dtype=np.uint64)
        for j in range(K):
            h *= BASE
            h += mixed[j : j + m]
        out[start : start + m] = h
    return out


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of a checked text, found in the training text at `corpus_offset`."""

    start: int
    end: int
    corpus_offset: int
    text: str

    def __len__(self) -> int:
        return self.end - self.start


class OriginalityIndex:
    """The hashes of all K-character windows of a training text, sorted, with their offsets."""

    def __init__(self, keys: np.ndarray, offsets: np.ndarray, chars: int, hashes: np.ndarray | None = None) -> None:
        self.keys = keys  # (W,) uint64, non-decreasing; W = max(0, chars - K + 1)
        self.offsets = offsets  # (W,) int32 or int64: offsets[r] is where the window hashed keys[r] starts
        self.chars = chars  # length of the indexed text
        self._hashes = hashes  # (W,) uint64 in corpus order, derived on first use

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes of the saved arrays."""
        return int(self.keys.nbytes + self.offsets.nbytes)

    @property
    def hashes(self) -> np.ndarray:
        """The window hashes in corpus order: hashes[p] is the hash of corpus[p:p+K]."""
        if self._hashes is None:
            hashes = np.empty(len(self.keys), dtype=np.uint64)
            hashes[self.offsets] = self.keys
            self._hashes = hashes
        return self._hashes

    def save(self, path: Path) -> None:
        """Write the index as an uncompressed .npz, atomically."""
        meta = np.array([FORMAT_VERSION, K, self.chars], dtype=np.int64)
        with home.atomic_path(Path(path)) as tmp, open(tmp, "wb") as f:
            np.savez(f, meta=meta, keys=self.keys, offsets=self.offsets)

    @classmethod
    def load(cls, path: Path) -> OriginalityIndex:
        """Read an index; a missing or damaged file is a one-line error naming it."""
        path = Path(path)
        if not path.is_file():
            raise StylegenError(f"{path}: originality index is missing")
        if not zipfile.is_zipfile(path):
            raise StylegenError(f"{path}: damaged originality index (not an .npz archive)")
        try:
            with np.load(path, allow_pickle=False) as z:
                meta, keys, offsets = z["meta"], z["keys"], z["offsets"]
        except (OSError, ValueError, KeyError, EOFError, TypeError, AttributeError, zipfile.BadZipFile) as e:
            raise StylegenError(f"{path}: damaged originality index ({type(e).__name__}: {e})") from None
        if meta.shape != (3,) or meta.dtype.kind not in "iu":
            raise StylegenError(f"{path}: damaged originality index (bad header)")
        version, k, chars = (int(v) for v in meta)
        if version != FORMAT_VERSION or k != K:
            raise StylegenError(
                f"{path}: originality index format {version} with K={k}; this stylegen reads format "
                f"{FORMAT_VERSION} with K={K} (retrain the style to rebuild it)"
            )
        windows = max(0, chars - K + 1)
        fits = (
            keys.dtype == np.uint64
            and offsets.dtype in (np.int32, np.int64)
            and keys.shape == offsets.shape == (windows,)
            and not np.any(keys[1:] < keys[:-1])
        )
        if fits and windows:
            # the offsets must name every window exactly once
            fits = bool(offsets.min() >= 0 and offsets.max() < windows)
            if fits:
                seen = np.zeros(windows, dtype=bool)
                seen[offsets] = True
                fits = bool(seen.all())
        if not fits:
            raise StylegenError(f"{path}: damaged originality index (arrays do not fit together)")
        return cls(keys, offsets, chars)


def build_index(text: str) -> OriginalityIndex:
    """Index every K-character window of `text` (a text shorter than K gives an empty index)."""
    hashes = window_hashes(text)
    chars = len(text)
    offset_type = np.int32 if chars < 2**31 else np.int64
    order = np.argsort(hashes).astype(offset_type)
    return OriginalityIndex(hashes[order], order, chars, hashes)


def _keep(corpus: np.ndarray, text: np.ndarray, anchor: int, alive: np.ndarray, delta: int) -> np.ndarray:
    """The corpus offsets p in `alive` whose window p + delta equals text window anchor + delta."""
    q = alive + delta
    inside = (q >= 0) & (q < len(corpus))
    if not inside.all():
        alive, q = alive[inside], q[inside]
    kept: np.ndarray = alive[corpus[q] == text[anchor + delta]]
    return kept


def _reach(
    corpus: np.ndarray, text: np.ndarray, anchor: int, alive: np.ndarray, step: int, limit: int
) -> tuple[int, np.ndarray]:
    """How far a match of text window `anchor` at the corpus offsets `alive` goes on in
    direction `step` (+1 or -1): the largest t <= limit such that, for some p in alive, text
    windows anchor + step*u equal corpus windows p + step*u for all u <= t; and those p.

    Windows u <= t all match once windows 0, K, 2K, ..., t do (they cover the same
    characters), so whole windows are skipped first, then the rest is a binary search.
    """
    t = 0
    while t + K <= limit:
        kept = _keep(corpus, text, anchor, alive, step * (t + K))
        if not len(kept):
            break
        alive, t = kept, t + K
    stride = K // 2
    while stride:
        if t + stride <= limit:
            kept = _keep(corpus, text, anchor, alive, step * (t + stride))
            if len(kept):
                alive, t = kept, t + stride
        stride //= 2
    return t, alive


def find_copies(index: OriginalityIndex, text: str, min_len: int = 40) -> list[Span]:
    """The passages of `text`, at least `min_len` characters long, that occur in the training
    text: maximal exact matches, in order of their start; they may overlap."""
    if min_len < K:
        raise StylegenError(f"--check-copy must be at least {K} (got {min_len})")
    hashes = window_hashes(text)
    if not len(hashes) or not len(index.keys):
        return []
    corpus = index.hashes
    lo = np.searchsorted(index.keys, hashes, side="left")
    hi = np.searchsorted(index.keys, hashes, side="right")
    # Runs of windows that occur somewhere; a copy lies inside one, so short runs are skipped.
    edges = np.diff((hi > lo).astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    spans: list[Span] = []
    for run_start, run_end in zip(
        np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True
    ):
        if run_end - 1 + K - run_start < min_len:
            continue
        start = anchor = run_start
        t, alive = _reach(corpus, hashes, anchor, index.offsets[lo[anchor] : hi[anchor]], 1, run_end - 1 - anchor)
        while True:
            last = anchor + t  # the match covers windows start..last, characters start..last+K
            if last + K - start >= min_len:
                offset = int(alive.min()) - (anchor - start)
                spans.append(Span(start, last + K, offset, text[start : last + K]))
            if last + 1 == run_end:
                break
            # Window last + 1 occurs elsewhere: the next match runs through it. It starts at the
            # earliest window that still matches contiguously up to it (always after `start`).
            anchor = last + 1
            back, alive = _reach(corpus, hashes, anchor, index.offsets[lo[anchor] : hi[anchor]], -1, anchor - start - 1)
            start = anchor - back
            t, alive = _reach(corpus, hashes, anchor, alive, 1, run_end - 1 - anchor)
    return spans


def mark(text: str, spans: list[Span], open_mark: str = "«", close_mark: str = "»") -> str:
    """`text` with each copied span wrapped in «...»; overlapping spans are marked as one."""
    merged: list[list[int]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span.end)
        else:
            merged.append([span.start, span.end])
    parts, at = [], 0
    for start, end in merged:
        parts += [text[at:start], open_mark, text[start:end], close_mark]
        at = end
    parts.append(text[at:])
    return "".join(parts)


def index_path(style_dir: Path) -> Path:
    return Path(style_dir) / INDEX_FILE


def load_for_style(style_dir: Path, meta: StyleRecord | None = None) -> OriginalityIndex | None:
    """The style's index, or None if it has none (a style trained before the check existed).

    A shipped style carries no index (tens of MB): when its `meta` names the corpus recipe it
    was trained on, the index is built from the recipe's sources on first use (a few
    seconds) and cached in the data home."""
    path = index_path(style_dir)
    if path.exists():
        return OriginalityIndex.load(path)
    if meta is None or not meta.shipped or not meta.recipe:
        return None
    cache = home.cache_dir() / f"originality-{meta.name}-{str(meta.corpus.sha256)[:16]}.npz"
    if cache.exists():
        return OriginalityIndex.load(cache)
    index = build_index(_recipe_text(Path(style_dir) / meta.recipe))
    cache.parent.mkdir(parents=True, exist_ok=True)
    index.save(cache)
    return index


def _recipe_text(recipe: Path) -> str:
    """The text of a recipe's sources, read through the source plugins (no cleaning: copied
    spans are found just the same), up to MAX_CHARS."""
    from stylegen import plugins
    from stylegen.corpus.build import _group_sources, file_extractor
    from stylegen.corpus.recipe import load_recipe
    from stylegen.protocols import Document, SourceOptions

    if not recipe.is_file():
        raise StylegenError(f"{recipe}: the recipe of this shipped style is missing")
    settings = load_recipe(recipe)
    options = SourceOptions(extract=file_extractor(), extra=settings["source"])
    reg = plugins.registry()
    parts: list[str] = []
    size = 0
    for source, args in _group_sources(settings["sources"], reg.names("source")):
        for item in reg.get("source", source).documents(args, options):
            if isinstance(item, Document) and size < MAX_CHARS:
                parts.append(item.text)
                size += len(item.text)
    return "\n".join(parts)[:MAX_CHARS]
