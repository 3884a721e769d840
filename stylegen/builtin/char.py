"""The `char` tokenizer: one token per Unicode character, vocabulary from the training text.

Id 0 is reserved for the unknown character: a character never seen in training (met later in
validation text, a prime or a chat message) encodes to it instead of failing; generation never
produces it, and it decodes to U+FFFD.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylegen import home
from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl

if TYPE_CHECKING:  # numpy is imported where it is used: the app's first frame lists plugins, not arrays
    import numpy as np

UNK = "\ufffd"
VOCAB_FILE = "vocab.json"


def _codepoints(text: str) -> np.ndarray:
    import numpy as np

    # UTF-32 gives one uint32 per character; surrogatepass keeps lone surrogates encodable.
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)


class CharTokenizer:
    name = "char"
    unk_id: int | None = 0

    def __init__(self, chars: Sequence[str]) -> None:
        import numpy as np

        self.chars = list(chars)  # id i + 1 -> chars[i]
        codes = _codepoints("".join(self.chars))
        self._table = [UNK, *self.chars]
        self.vocab_size = len(self.chars) + 1
        self._dtype = np.uint16 if self.vocab_size <= np.iinfo(np.uint16).max else np.int32
        # code point -> id, one gather per character; the last slot (0) catches every code
        # point above the highest known one.
        top = int(codes.max()) + 1 if len(codes) else 0
        self._lookup = np.zeros(top + 1, dtype=self._dtype)
        self._lookup[codes] = np.arange(1, len(codes) + 1)

    def encode(self, text: str) -> np.ndarray:
        """Text -> ids (uint16 when the vocabulary allows, else int32); unknown chars -> 0."""
        import numpy as np

        cps = _codepoints(text)
        return self._lookup[np.minimum(cps, len(self._lookup) - 1)]

    def decode(self, ids: Sequence[int]) -> str:
        table = self._table
        return "".join(table[i] if 0 <= i < len(table) else UNK for i in ids)

    def token_lengths(self) -> np.ndarray:
        import numpy as np

        return np.ones(self.vocab_size, dtype=np.int64)

    def save(self, directory: Path) -> None:
        home.write_json(directory / VOCAB_FILE, {"tokenizer": "char", "version": 1, "unk_id": 0, "chars": self.chars})


class CharTokenizerFactory:
    name = "char"
    description = "One token per character; vocabulary from the training text, unknown characters map to id 0"

    def train(self, chunks: Iterable[str], **options: Any) -> CharTokenizer:
        import numpy as np

        if options:
            raise StylegenError(f"the char tokenizer takes no options (got {', '.join(sorted(options))})")
        seen = np.zeros(0x110000, dtype=bool)  # one flag per Unicode code point
        for chunk in [chunks] if isinstance(chunks, str) else chunks:
            seen[_codepoints(chunk)] = True
        return CharTokenizer([chr(int(c)) for c in np.flatnonzero(seen)])

    def load(self, directory: Path) -> CharTokenizer:
        path = directory / VOCAB_FILE
        data = home.read_json(path)
        chars = data.get("chars") if isinstance(data, dict) else None
        if (
            not isinstance(chars, list)
            or not all(isinstance(c, str) and len(c) == 1 for c in chars)
            or chars != sorted(set(chars))
        ):
            raise StylegenError(f"{path}: not a char vocabulary (expected a sorted list of distinct characters)")
        return CharTokenizer(chars)


@hookimpl
def register_tokenizers(register: Register) -> None:
    register(CharTokenizerFactory())
