"""The built-in extractors, one per kind of file (chosen by suffix; `text` for any other).

Each lives in its own module (`extract_*.py`); all are registered here, through the same hook
as a third-party plugin's. See docs/corpus.md ("File types") for what each keeps.
"""

from __future__ import annotations

from stylegen.builtin.extract_html import HtmlExtractor
from stylegen.builtin.extract_markdown import MarkdownExtractor
from stylegen.builtin.extract_subtitles import SubtitlesExtractor
from stylegen.builtin.extract_tables import CsvExtractor, JsonLinesExtractor
from stylegen.builtin.extract_text import CodeExtractor, TextExtractor, binary_reason, decode_text, read_document
from stylegen.hookspecs import Register, hookimpl

__all__ = ["binary_reason", "decode_text", "read_document", "register_extractors"]


@hookimpl
def register_extractors(register: Register) -> None:
    for extractor in (
        TextExtractor(),
        CodeExtractor(),
        MarkdownExtractor(),
        HtmlExtractor(),
        JsonLinesExtractor(),
        CsvExtractor(),
        SubtitlesExtractor(),
    ):
        register(extractor)
