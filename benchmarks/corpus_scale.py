"""Corpus build and tokenization at scale: time and peak resident memory.

For each size, writes a synthetic corpus (1 MB files of Zipf-distributed words in lines and
paragraphs, not timed), then in two fresh processes (so each peak RSS is its own):
  build     `stylegen.corpus.build_corpus` over the folder (streaming, default cleaning)
  tokenize  train the char tokenizer from the text in chunks and encode train + validation
            into the memory-mapped token arrays training reads
and prints a table. Beside the build, the ceiling: the same files read in 8 MiB blocks in a
fresh process, alone and with sha256 (just written, they are in the page cache, as they are
for the build). Two peaks per step: anonymous memory (the process's own: Python, numpy, buffers; polled
every 5 ms from /proc/self/status RssAnon) and RSS (ru_maxrss), which also counts pages of
memory-mapped files. The tokenize step then reads 200 training windows as training does;
Linux maps already-cached neighbouring file pages on each fault ("fault-around"), so RSS
grows towards the token file's size while the process's own memory does not: those pages
are the kernel's page cache, shared and reclaimable.

    python benchmarks/corpus_scale.py                       # 10 MB, 100 MB, 1 GB
    python benchmarks/corpus_scale.py --sizes 10MB,100MB --dir /tmp/scale
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FILE_BYTES = 1 << 20
UNITS = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}

POLL = """
import threading
_peak_anon = [0]
def _poll():
    while True:
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon"):
                _peak_anon[0] = max(_peak_anon[0], int(line.split()[1]) * 1024)
        threading.Event().wait(0.005)
threading.Thread(target=_poll, daemon=True).start()
"""

BUILD = (
    POLL
    + """
import json, resource, sys, time
from stylegen.corpus import build_corpus
t = time.perf_counter()
c = build_corpus(sys.argv[1], [sys.argv[2]], replace=True)
s = c.manifest["stats"]
print(json.dumps({"seconds": time.perf_counter() - t, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "anon": _peak_anon[0], "chars": s["chars"], "bytes": s["bytes"], "documents": s["documents"]}))
"""
)

TOKENIZE = (
    POLL
    + """
import json, resource, sys, tempfile, time
from pathlib import Path
from stylegen import plugins
from stylegen.corpus import load_corpus
from stylegen.training import tokens
corpus = load_corpus(sys.argv[1])
t = time.perf_counter()
factory = plugins.get("tokenizer", "char")
tok = factory.train(tokens.read_chunks(corpus.path / "train.txt"))
with tempfile.TemporaryDirectory() as d:
    tok.save(Path(d))
    train, val = tokens.corpus_tokens(corpus, tok, Path(d))
    # read 200 training windows (64 streams x 129 tokens) the way training does; memory-mapped
    # pages are file-backed and reclaimable, so they are not read all at once here
    from stylegen.training.data import StreamBatches
    batches = StreamBatches(train, 64, 128)
    for w in range(0, batches.windows, max(1, batches.windows // 200)):
        batches.data[:, w * 128 : w * 128 + 129].sum()
print(json.dumps({"seconds": time.perf_counter() - t, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "anon": _peak_anon[0],
                  "tokens": len(train) + len(val), "dtype": str(train.dtype), "vocab": tok.vocab_size}))
"""
)


READ = """
import hashlib, json, sys, time
from pathlib import Path
t = time.perf_counter()
total = 0
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if path.is_file():
        with path.open("rb") as f:
            while block := f.read(8 << 20):
                total += len(block)
read = time.perf_counter() - t
t = time.perf_counter()
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(8 << 20):
                digest.update(block)
print(json.dumps({"read": total / read / 1e6, "hash": total / (read + time.perf_counter() - t) / 1e6}))
"""


def parse_size(text: str) -> int:
    text = text.strip().upper()
    for unit, factor in UNITS.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def synthetic_corpus(folder: Path, size: int, seed: int = 0) -> None:
    """`size` bytes of word-like text in 1 MB files: Zipf word frequencies, lines of 6-14
    words, paragraphs of 1-8 lines; a few accented and non-Latin words for a real vocabulary."""
    rng = np.random.default_rng(seed)
    letters = list("etaoinshrdlcumwfgypbvkjxqz")
    words = ["".join(rng.choice(letters, size=rng.integers(1, 10))) for _ in range(5000)]
    words += ["café", "naïve", "Straße", "ελπίδα", "мир", "東京"]
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    folder.mkdir(parents=True, exist_ok=True)
    written, index = 0, 0
    while written < size:
        parts: list[str] = []
        n = 0
        target = min(FILE_BYTES, size - written)
        while n < target:
            ids = rng.choice(len(words), size=400, p=weights)
            lengths = rng.integers(6, 15, size=40)
            pos = 0
            for length in lengths:
                line = " ".join(words[i] for i in ids[pos : pos + length]).capitalize() + ".\n"
                pos += length
                if rng.random() < 0.2:
                    line += "\n"
                parts.append(line)
                n += len(line.encode())
                if pos >= len(ids) - 15:
                    break
        data = "".join(parts).encode()[:target]
        data = data.decode("utf-8", errors="ignore").encode()
        (folder / f"{index:05}.txt").write_bytes(data)
        written += len(data) + 1
        index += 1


def run(code: str, *args: str, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10MB,100MB,1GB")
    parser.add_argument("--dir", type=Path, help="Scratch folder (default: a temporary one, removed after).")
    args = parser.parse_args()
    scratch = args.dir or Path(tempfile.mkdtemp(prefix="stylegen-scale-"))
    env = {**os.environ, "STYLEGEN_HOME": str(scratch / "home"), "STYLEGEN_LOAD_PLUGINS": ""}
    print(f"# corpus_scale on {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    header = [
        "size",
        "docs",
        "build s",
        "build MB/s",
        "read / read+hash MB/s",
        "build peak anon / RSS",
        "tokenize s",
        "tokenize peak anon / RSS",
        "tokens",
    ]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    try:
        for label in args.sizes.split(","):
            size = parse_size(label)
            texts = scratch / f"texts-{label}"
            if not texts.exists():
                synthetic_corpus(texts, size)
            name = f"scale-{label.lower()}"
            ceiling = run(READ, str(texts), env=env)  # the same files, the same cache state
            built = run(BUILD, name, str(texts), env=env)
            tokenized = run(TOKENIZE, name, env=env)
            row = [
                label,
                f"{int(built['documents']):,}",
                f"{built['seconds']:.1f}",
                f"{built['bytes'] / built['seconds'] / 1e6:.0f}",
                f"{ceiling['read']:.0f} / {ceiling['hash']:.0f}",
                f"{built['anon'] / 2**20:.0f} / {built['rss'] / 2**20:.0f} MiB",
                f"{tokenized['seconds']:.1f}",
                f"{tokenized['anon'] / 2**20:.0f} / {tokenized['rss'] / 2**20:.0f} MiB",
                f"{int(tokenized['tokens']):,} {tokenized['dtype']}",
            ]
            print(" | ".join(row), flush=True)
            shutil.rmtree(scratch / "home" / "corpora" / name, ignore_errors=True)
    finally:
        if args.dir is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
