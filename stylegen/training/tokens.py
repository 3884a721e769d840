"""Corpus text -> token arrays on disk, streaming, read back memory-mapped.

A corpus may be larger than memory: its text is read in chunks that end at a line break,
each chunk is encoded and appended to a flat binary file of the smallest unsigned integer
type the vocabulary fits (uint8, uint16 or uint32), and training reads that file through
`np.memmap`, so only the windows in use are paged in. The files are a cache kept in the
corpus folder, keyed by the tokenizer's saved files: a resumed run, or a second style with
the same tokenizer, reuses them.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from stylegen import home
from stylegen.corpus.build import read_chunks


def token_dtype(vocab_size: int) -> np.dtype[Any]:
    """The smallest unsigned integer type that holds every id of the vocabulary."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    raise ValueError(f"vocabulary of {vocab_size} tokens is too large")


def tokenizer_key(tokenizer_dir: Path) -> str:
    """A short hash of a saved tokenizer's files: same files, same token ids."""
    digest = hashlib.sha256()
    for path in sorted(p for p in tokenizer_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(tokenizer_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def encode_file(tokenizer: Any, src: Path, dest: Path) -> np.ndarray:
    """Encode text file `src` into `dest` (written under a temporary name, then renamed) and
    return it memory-mapped. Memory stays at one chunk however large the file is."""
    dtype = token_dtype(tokenizer.vocab_size)
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in read_chunks(src):
                    out.write(np.asarray(tokenizer.encode(chunk)).astype(dtype, copy=False).tobytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, dest)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    if dest.stat().st_size == 0:
        return np.zeros(0, dtype=dtype)  # np.memmap refuses empty files
    ids = np.memmap(dest, dtype=dtype, mode="r")
    # Training reads B streams far apart in the file, a window at a time: tell the kernel not to
    # read ahead around each fault (it would pull most of a large file into memory for nothing).
    mapping = getattr(ids, "_mmap", None)
    if mapping is not None and hasattr(mmap, "MADV_RANDOM"):
        mapping.madvise(mmap.MADV_RANDOM)
    return ids


def cache_dir(corpus: Any, tokenizer_dir: Path) -> Path:
    """Where the corpus keeps its token arrays for the tokenizer saved in `tokenizer_dir`."""
    return home.token_cache(Path(corpus.path), tokenizer_key(tokenizer_dir))


def corpus_tokens(
    corpus: Any, tokenizer: Any, tokenizer_dir: Path, cache: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) token arrays of `corpus` under `tokenizer` (saved in `tokenizer_dir`),
    encoded once into the corpus's cache (`cache_dir`, unless given) and memory-mapped."""
    cache = cache or cache_dir(corpus, tokenizer_dir)
    if not (cache / "tokenizer").is_dir():  # what these ids mean, kept beside them
        with home.staged_dir(cache / "tokenizer", replace=True) as tmp:
            shutil.copytree(tokenizer_dir, tmp, dirs_exist_ok=True)
    suffix = token_dtype(tokenizer.vocab_size).name
    train = encode_file(tokenizer, corpus.path / "train.txt", cache / f"train.{suffix}")
    val = encode_file(tokenizer, corpus.path / "val.txt", cache / f"val.{suffix}")
    return np.asarray(train), np.asarray(val)
