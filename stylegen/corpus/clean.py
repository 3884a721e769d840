"""Cleaning a corpus's documents: each step optional, each recorded in the manifest.

Per document, in this order: newline normalisation (CRLF and CR to LF), Unicode NFC,
trailing spaces, runs of blank lines, exact-duplicate documents, exact-duplicate paragraphs
(a paragraph seen before anywhere in the corpus is dropped), and the document length
bounds. The rare-character policy needs the whole corpus's character counts, so it runs
when the text is written out (see `rare_table`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from stylegen.errors import StylegenError

RARE_ACTIONS = ("keep", "drop", "replace")
REPLACEMENT = "\ufffd"  # what `rare_chars="replace"` writes (the char tokenizer's unknown)
_TRAILING = re.compile(r"[ \t]+(?=\n|\Z)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass
class CleanOptions:
    newlines: bool = True  # CRLF / CR -> LF
    nfc: bool = True  # Unicode normalisation form C
    strip_trailing: bool = False  # spaces and tabs at line ends
    max_blank_lines: int | None = None  # runs of blank lines cut to this many
    dedupe_documents: bool = False
    dedupe_paragraphs: bool = False
    min_doc_chars: int = 0
    max_doc_chars: int | None = None
    min_char_count: int = 0  # characters seen fewer times than this are rare...
    rare_chars: str = "keep"  # ...and kept, dropped or replaced by U+FFFD

    def __post_init__(self) -> None:
        if self.rare_chars not in RARE_ACTIONS:
            raise StylegenError(f"rare_chars must be one of {', '.join(RARE_ACTIONS)} (got {self.rare_chars!r})")
        if self.max_blank_lines is not None and self.max_blank_lines < 0:
            raise StylegenError(f"max_blank_lines must be >= 0 (got {self.max_blank_lines})")
        if self.max_doc_chars is not None and self.max_doc_chars < max(1, self.min_doc_chars):
            raise StylegenError(
                f"max_doc_chars ({self.max_doc_chars}) must be at least min_doc_chars ({self.min_doc_chars}) and 1"
            )
        if self.min_char_count < 0 or self.min_doc_chars < 0:
            raise StylegenError("min_char_count and min_doc_chars must be >= 0")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Cleaner:
    """Applies `CleanOptions` to one document after another, remembering what it has seen."""

    options: CleanOptions
    counts: dict[str, int] = field(default_factory=dict)  # what each step changed or removed
    _docs_seen: set[int] = field(default_factory=set)
    _paragraphs_seen: set[int] = field(default_factory=set)

    def _count(self, key: str, n: int = 1) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + n

    def clean(self, text: str) -> tuple[str, str | None]:
        """(cleaned text, None) or ("", the reason the document was left out)."""
        o = self.options
        if o.newlines and "\r" in text:
            self._count("newlines_normalised", text.count("\r"))
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if o.nfc and not unicodedata.is_normalized("NFC", text):
            self._count("documents_nfc_normalised")
            text = unicodedata.normalize("NFC", text)
        if o.strip_trailing:
            text, n = _TRAILING.subn("", text)
            self._count("lines_trailing_spaces_stripped", n)
        if o.max_blank_lines is not None:
            limit = o.max_blank_lines
            text, n = re.subn(rf"\n(?:[ \t]*\n){{{limit + 1},}}", "\n" * (limit + 1), text)
            self._count("blank_line_runs_shortened", n)
        if o.dedupe_documents:
            key = hash(text)
            if key in self._docs_seen:
                self._count("duplicate_documents_removed")
                return "", "exact duplicate of an earlier document"
            self._docs_seen.add(key)
        if o.dedupe_paragraphs:
            text = self._dedupe_paragraphs(text)
        if not text.strip():
            return "", "no text left after cleaning"
        if len(text) < o.min_doc_chars:
            self._count("documents_too_short")
            return "", f"shorter than --min-doc-chars {o.min_doc_chars} ({len(text)} characters)"
        if o.max_doc_chars is not None and len(text) > o.max_doc_chars:
            self._count("documents_too_long")
            return "", f"longer than --max-doc-chars {o.max_doc_chars} ({len(text):,} characters)"
        return text, None

    def _dedupe_paragraphs(self, text: str) -> str:
        kept: list[str] = []
        seps: list[str] = []
        pos = 0
        removed = 0
        for m in [*_PARAGRAPH_BREAK.finditer(text), None]:
            end = m.start() if m else len(text)
            para = text[pos:end]
            key = hash(para.strip())
            if para.strip() and key in self._paragraphs_seen:
                removed += 1
            else:
                if para.strip():
                    self._paragraphs_seen.add(key)
                kept.append(para)
                seps.append(m.group(0) if m else "")
            if m:
                pos = m.end()
        self._count("duplicate_paragraphs_removed", removed)
        if not removed:
            return text
        return "".join(p + s for p, s in zip(kept, seps, strict=True)).rstrip("\n") + (
            "\n" if text.endswith("\n") else ""
        )


def rare_table(counts: np.ndarray, options: CleanOptions) -> tuple[dict[int, str | None] | None, list[str]]:
    """The `str.translate` table of the rare-character policy, and the rare characters."""
    if options.rare_chars == "keep" or options.min_char_count <= 1:
        return None, []
    rare = [
        int(c)
        for c in np.flatnonzero((counts > 0) & (counts < options.min_char_count))
        if not chr(c).isspace()  # line breaks and spaces are structure, never "rare"
    ]
    value = None if options.rare_chars == "drop" else REPLACEMENT
    return ({c: value for c in rare} or None), [chr(c) for c in rare]
