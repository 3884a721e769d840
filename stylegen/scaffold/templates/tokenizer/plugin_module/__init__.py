"""PLUGIN_DIST: PLUGIN_DESCRIPTION.

Once installed (`pip install -e .` here):

    PLUGIN_USAGE
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl

__version__ = "0.1.0"
#: The plugin contract this package was written for (stylegen.hookspecs.HOOKSPEC_VERSION).
STYLEGEN_HOOKSPEC_VERSION = 1


class PluginClassTokenizer:
    """One id per character: the `max_vocab` most frequent characters of the training text,
    the others read as the unknown id 0 (which stylegen never generates)."""

    name = "PLUGIN_NAME"
    unk_id = 0

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = list(chars)
        self.index = {c: i + 1 for i, c in enumerate(self.chars)}
        self.vocab_size = len(self.chars) + 1

    def encode(self, text: str) -> np.ndarray:
        return np.fromiter((self.index.get(c, 0) for c in text), dtype=np.uint32, count=len(text))

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i - 1] if 0 < i <= len(self.chars) else "\ufffd" for i in ids)

    def token_lengths(self) -> np.ndarray:
        """Characters per id (bits per character divides by their sum): one each."""
        return np.ones(self.vocab_size, dtype=np.int64)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "vocab.json").write_text(json.dumps({"chars": self.chars}), encoding="utf-8")


class PluginClass:
    name = "PLUGIN_NAME"
    description = "PLUGIN_DESCRIPTION"

    def train(self, chunks: Iterable[str], max_vocab: int = 256, **options: Any) -> PluginClassTokenizer:
        """`stylegen train --tokenizer PLUGIN_NAME --tokenizer-opt max_vocab=N`."""
        if options:
            raise StylegenError(f"tokenizer {self.name!r}: unknown option {sorted(options)[0]!r} (known: max_vocab)")
        counts: Counter[str] = Counter()
        for chunk in chunks:
            counts.update(chunk)
        return PluginClassTokenizer(sorted(c for c, _ in counts.most_common(int(max_vocab))))

    def load(self, directory: Path) -> PluginClassTokenizer:
        try:
            return PluginClassTokenizer(json.loads((directory / "vocab.json").read_text(encoding="utf-8"))["chars"])
        except (OSError, ValueError, KeyError) as e:
            raise StylegenError(f"{directory / 'vocab.json'}: not a PLUGIN_NAME vocabulary ({e})") from None


@hookimpl
def register_tokenizers(register: Register) -> None:
    register(PluginClass())
