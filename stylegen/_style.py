"""What generation, chat and inspection need of a loaded style, as a type with no behaviour.

`stylegen.styles.Style` (what `load_style` returns) satisfies it, and so does a stand-in a
test or benchmark builds around a model of its own. `_generate` and `_chat` are typed with
this Protocol rather than with `Style` itself: `Style.generate()` and `Style.chat()` call
into them, so importing `Style` back from them would close an import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class LoadedStyle(Protocol):
    """A style ready to write: its tokenizer and its model in eval mode, on `device`."""

    name: str
    path: Path
    meta: Any  # the style's description (style.json)
    tokenizer: Any  # a tokenizer plugin object (stylegen.protocols.Tokenizer)
    model: Any  # a model built by a model plugin (the stateful-step protocol)
    device: str
    precision: str  # the weights' format for generation steps: "fp32", "fp16" or "int8"
