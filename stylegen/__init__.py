"""stylegen: learn the style of a body of text, then write and chat in that style.

The public API (imported lazily, so `import stylegen` stays cheap):

    build_corpus(name, sources, ...)    -> Corpus
    load_corpus(name)                   -> Corpus
    train(TrainConfig(...))             -> style description (dict)
    load_style(name)                    -> Style, with .generate(prime, ...) streaming text
    generate(style, prime, ...)         -> iterator of text chunks
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "build_corpus": "stylegen.corpus",
    "load_corpus": "stylegen.corpus",
    "train": "stylegen.train",
    "TrainConfig": "stylegen.train",
    "load_style": "stylegen.styles",
    "list_styles": "stylegen.styles",
    "Style": "stylegen.styles",
    "generate": "stylegen.generate",
    "samples": "stylegen.generate",
    "StylegenError": "stylegen.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'stylegen' has no attribute {name!r}")
