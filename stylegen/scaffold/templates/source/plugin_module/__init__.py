"""PLUGIN_DIST: PLUGIN_DESCRIPTION.

Once installed (`pip install -e .` here):

    PLUGIN_USAGE
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import Document, Skipped, SourceOptions

__version__ = "0.1.0"
#: The plugin contract this package was written for (stylegen.hookspecs.HOOKSPEC_VERSION).
STYLEGEN_HOOKSPEC_VERSION = 1


class PluginClass:
    """Each argument names a text file; each of its paragraphs with at least `min_words`
    words (`--source-opt min_words=N`, default 1) is a document."""

    name = "PLUGIN_NAME"
    description = "PLUGIN_DESCRIPTION"

    def documents(self, args: Sequence[str], options: SourceOptions) -> Iterator[Document | Skipped]:
        min_words = int(options.extra.get("min_words", 1))
        for arg in args:
            path = Path(arg)
            try:
                text = path.read_text(encoding="utf-8", errors="replace" if options.errors == "replace" else "strict")
            except (OSError, UnicodeDecodeError) as e:
                yield Skipped(arg, f"cannot read: {e}")
                continue
            for number, paragraph in enumerate(text.split("\n\n"), 1):
                if len(paragraph.split()) >= min_words:
                    yield Document(paragraph.strip() + "\n", f"{arg}#{number}")


@hookimpl
def register_sources(register: Register) -> None:
    register(PluginClass())
