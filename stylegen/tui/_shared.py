"""What the app shares with its screens, and the messages screens send the app.

A screen never imports the app: it is given a `Shared` when it is made, and it asks the app
for what only the app can do (open another screen, tell every screen that the styles
changed) by posting one of the messages below, which bubble from the screen to the app.
The app tells the screens back through the methods every `AppScreen` has.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from stylegen.tui._copies import IndexLoader


class StyleLoader:
    """Loaded styles, shared by the screens; a style is loaded again when its files change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[Any, Any]] = {}
        self._light: dict[str, tuple[Any, Any]] = {}  # loaded without torch, for chat

    def load(self, name: str) -> Any:
        """The loaded `Style` (call from a worker thread: this imports torch and reads weights)."""
        from stylegen import load_style, read_meta

        meta = read_meta(name)
        key = (meta.updated, meta.steps, meta.params, meta.best_step)
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
            style = load_style(name)
            self._cache[name] = (key, style)
            return style

    def load_light(self, name: str, sampler: str) -> Any:
        """The style loaded without torch for chat with `sampler` (`stylegen.torchless_style`:
        a built-in cell and sampler, on a machine without a GPU), else the loaded `Style`."""
        from stylegen import read_meta, torchless_style

        meta = read_meta(name)
        key = (meta.updated, meta.steps, meta.params, meta.best_step)
        with self._lock:
            hit = self._light.get(name)
            if hit is not None and hit[0] == key and hit[1].takes(sampler):
                return hit[1]
            style = torchless_style(name, "auto", sampler)
            if style is not None:
                self._light[name] = (key, style)
        return style if style is not None else self.load(name)

    def forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)
            self._light.pop(name, None)


def _nothing_open(mode: str) -> str | None:
    return None


@dataclass
class Shared:
    """The app's state that screens use: loaded styles, originality indexes, the seed."""

    seed: int | None = None  # makes chat and generation repeatable (tests)
    loader: StyleLoader = field(default_factory=StyleLoader)
    copy_indexes: IndexLoader = field(default_factory=IndexLoader)  # for the copy check
    #: the style the screen of a mode shows, if that screen is open
    style_shown: Callable[[str], str | None] = _nothing_open


class OpenStyle(Message):
    """Show style `name` on the screen of `mode` (chat, generate, inspect), switching to it."""

    def __init__(self, mode: str, name: str) -> None:
        super().__init__()
        self.mode, self.name = mode, name


class OpenTrain(Message):
    """Switch to the Train screen with `corpus` chosen and `style` as the name."""

    def __init__(self, corpus: str | None = None, style: str | None = None) -> None:
        super().__init__()
        self.corpus, self.style = corpus, style


class StyleDeleted(Message):
    """Style `name` was deleted: every screen forgets it."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class StylesChanged(Message):
    """Styles were trained or imported: the screens that list them read them again."""


class CorporaChanged(Message):
    """A corpus was built or deleted: the screens that list corpora read them again."""


class TrainingBadge(Message):
    """A few words about a training run in progress, for the screen bar ('' when none)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
