"""stylegen: learn the style of a body of text, then write and chat in that style.

The public API, the one front door for Python users, the CLI and the app:

    build_corpus(name, sources, ...)    -> Corpus
    load_corpus(name), list_corpora()   -> Corpus, list[Corpus]
    train(TrainConfig(...))             -> the style's record (style.json)
    load_style(name), list_styles()     -> Style (streams with .generate(...)), list of records
    generate(style, prime, ...)         -> iterator of text chunks
    samples(style, prime, n=...)        -> list of whole texts
    chat(style, ...)                    -> ChatSession (send(message) streams each answer)

Every name is the real object, the same however often it is read (tests/test_api.py). The
modules behind them load on first use, so `import stylegen` (and `stylegen --help`) stays
instant: importing them all eagerly doubles the CLI's start (0.095 s -> 0.19 s, numpy
included). Type checkers see the real imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stylegen._version import __version__

if TYPE_CHECKING:
    from stylegen._chat import ChatSession, chat
    from stylegen._generate import generate, samples
    from stylegen.corpus import Corpus, build_corpus, list_corpora, load_corpus
    from stylegen.errors import StylegenError
    from stylegen.styles import Style, list_styles, load_style
    from stylegen.training import TrainConfig, train

#: public name -> the module that defines it
_API = {
    "build_corpus": "stylegen.corpus",
    "load_corpus": "stylegen.corpus",
    "list_corpora": "stylegen.corpus",
    "Corpus": "stylegen.corpus",
    "train": "stylegen.training",
    "TrainConfig": "stylegen.training",
    "load_style": "stylegen.styles",
    "list_styles": "stylegen.styles",
    "Style": "stylegen.styles",
    "generate": "stylegen._generate",
    "samples": "stylegen._generate",
    "chat": "stylegen._chat",
    "ChatSession": "stylegen._chat",
    "StylegenError": "stylegen.errors",
}

__all__ = [  # written out (not derived from _API) so linters and type checkers read it
    "ChatSession",
    "Corpus",
    "Style",
    "StylegenError",
    "TrainConfig",
    "__version__",
    "build_corpus",
    "chat",
    "generate",
    "list_corpora",
    "list_styles",
    "load_corpus",
    "load_style",
    "samples",
    "train",
]


def __getattr__(name: str) -> Any:
    """Load a public name on first use and keep it: later reads find it without this hook."""
    if name not in _API:
        raise AttributeError(f"module 'stylegen' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
