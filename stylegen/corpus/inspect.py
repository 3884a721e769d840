"""What `stylegen corpus show` (and the app's Corpus screen) tells about a corpus.

Everything comes from the manifest, except the excerpt, read from a random place in the
text files without loading them: showing a 1 GB corpus is instant.
"""

from __future__ import annotations

import random
from typing import Any

from stylegen.corpus.build import Corpus
from stylegen.corpus.counts import CharCounts
from stylegen.records.manifest import CorpusManifest

WORDS_GUIDELINE = 200_000  # the seed lecture's exercise: ~200K words of one kind of text
EXCERPT_CHARS = 400


def summary(m: CorpusManifest) -> dict[str, Any]:
    """The few fields `corpus list --json` gives per corpus."""
    return {"name": m.name, **m.stats.to_json(), "split": m.split.to_json(), "created": m.created}


def characters(corpus: Corpus) -> list[tuple[str, int]]:
    """[(char, count), ...] most frequent first: from the manifest, or counted for a corpus
    built before the manifest kept them."""
    if corpus.manifest.characters is not None:
        return corpus.manifest.characters
    counts = CharCounts()
    for filename in ("train.txt", "val.txt"):
        with (corpus.path / filename).open(encoding="utf-8", errors="surrogatepass", newline="") as f:
            while chunk := f.read(1 << 22):
                counts.add(chunk)
    return counts.table()


def excerpt(corpus: Corpus, seed: int | None = None, size: int = EXCERPT_CHARS) -> str:
    """About `size` characters from a random place in the corpus, starting at a line."""
    rng = random.Random(seed)
    files = [corpus.path / "train.txt", corpus.path / "val.txt"]
    sizes = [p.stat().st_size if p.exists() else 0 for p in files]
    total = sum(sizes)
    if total == 0:
        return ""
    pos = rng.randrange(max(1, total - size * 4))
    path = files[0] if pos < sizes[0] else files[1]
    pos = pos if pos < sizes[0] else pos - sizes[0]
    with path.open("rb") as f:
        f.seek(pos)
        raw = f.read(size * 4 + 400)
    text = raw.decode("utf-8", errors="ignore")
    if pos > 0 and "\n" in text[:size]:
        text = text[text.index("\n") + 1 :]
    text = text[:size]
    cut = text.rfind("\n")
    return text[: cut + 1] if cut > size // 2 else text


def corpus_info(corpus: Corpus, seed: int | None = None) -> dict[str, Any]:
    """Everything `corpus show --json` prints."""
    m = corpus.manifest
    table = characters(corpus)
    return {
        **summary(m),
        "path": str(corpus.path),
        "vocabulary": len(table),
        "most_frequent": table[:10],
        "rarest": table[-10:][::-1],
        "words_vs_guideline": round(m.stats.words / WORDS_GUIDELINE, 3),
        "guideline_words": WORDS_GUIDELINE,
        "sources": len(m.sources),
        "skipped": [s.to_json() for s in m.skipped],
        "options": m.options.to_json() if m.options else {},
        "cleaning": m.cleaning.to_json() if m.cleaning else {},
        "sampling": m.sampling.to_json() if m.sampling else {},
        "sha256": m.sha256,
        "turns": m.turns.to_json() if m.turns else {"kind": "none", "speakers": {}},
        "excerpt": excerpt(corpus, seed),
    }
