"""Benchmark the originality index: build time, size on disk, load time, lookup time.

Corpora are synthetic and made here (no downloads): words drawn with Zipf-like frequencies
from a fixed vocabulary of made-up words, with punctuation and line breaks, fixed seed.
The checked text is new text from the same vocabulary with copied corpus passages mixed in.

    python benchmarks/originality.py [--sizes 1,10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from stylegen.originality import INDEX_FILE, OriginalityIndex, build_index, find_copies

SYLLABLES = ["ka", "lo", "mi", "ten", "ra", "su", "vel", "or", "an", "is", "tho", "ne", "ba", "qui", "er", "dor"]


def vocabulary(size: int = 20_000, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = set()
    while len(words) < size:
        n = int(rng.integers(1, 5))
        words.add("".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), n)))
    return sorted(words)


def synthetic_text(n_chars: int, seed: int, vocab: list[str]) -> str:
    """About `n_chars` characters of word salad with Zipf-like word frequencies."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    n_words = n_chars // 6 + 1
    ids = rng.choice(len(vocab), size=n_words, p=weights)
    seps = rng.choice([" ", " ", " ", " ", " ", " ", " ", ", ", ". ", "\n"], size=n_words)
    text = "".join(vocab[i] + s for i, s in zip(ids.tolist(), seps.tolist(), strict=True))
    return text[:n_chars]


def checked_text(corpus: str, n_chars: int, vocab: list[str]) -> str:
    """New text with a 60-character corpus passage copied in every ~1,000 characters."""
    rng = np.random.default_rng(7)
    fresh = synthetic_text(n_chars, seed=12345, vocab=vocab)
    parts = []
    for start in range(0, n_chars, 1000):
        at = int(rng.integers(0, len(corpus) - 60))
        parts.append(fresh[start : start + 940] + corpus[at : at + 60])
    return "".join(parts)[:n_chars]


def best_of(repeats: int, fn: object) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10", help="corpus sizes in MB (10^6 characters), comma-separated")
    args = parser.parse_args()
    vocab = vocabulary()
    rows = []
    for mb in (float(s) for s in args.sizes.split(",")):
        n = int(mb * 1_000_000)
        corpus = synthetic_text(n, seed=1, vocab=vocab)
        build = best_of(3, lambda: build_index(corpus))  # noqa: B023
        index = build_index(corpus)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / INDEX_FILE
            index.save(path)
            size = path.stat().st_size
            load = best_of(3, lambda: OriginalityIndex.load(path).hashes)  # noqa: B023
        text = checked_text(corpus, 100_000, vocab)
        spans = find_copies(index, text)
        exact = sum(corpus[s.corpus_offset : s.corpus_offset + len(s)] == s.text for s in spans)
        lookup = best_of(5, lambda: find_copies(index, text))  # noqa: B023
        one_k = text[:1000]
        single = best_of(20, lambda: find_copies(index, one_k))  # noqa: B023
        rows.append(
            (
                f"{mb:g} MB",
                f"{len(corpus):,}",
                f"{len(index):,}",
                f"{build:.2f} s",
                f"{size:,}",
                f"{size / len(corpus):.2f}",
                f"{load * 1000:.0f} ms",
                f"{lookup / (len(text) / 1000) * 1000:.3f} ms",
                f"{single * 1000:.3f} ms",
                f"{len(spans)} ({exact} exact)",
            )
        )
    head = (
        "corpus",
        "chars",
        "windows",
        "build",
        "index bytes",
        "bytes/char",
        "load (+ corpus-order hashes)",
        "lookup /1k chars (in 100k)",
        "one 1k-char check",
        "spans in 100k (100 planted)",
    )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
