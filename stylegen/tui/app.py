"""The stylegen app: Styles (home), Chat, Generate, Corpus, Train and Inspect screens.

Each screen is a Textual *mode* with its own stack, so switching away and back keeps a
conversation, a generation or a training run where it was. Torch is never imported here:
styles load in worker threads (`StyleLoader`), and the app imports torch in the
background shortly after it starts, so the first style loads faster.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from stylegen.tui._copies import IndexLoader
from stylegen.tui.screens.base import AppScreen
from stylegen.tui.widgets.nav import SCREENS

DEFAULT_STYLE = "shakespeare"


class StyleLoader:
    """Loaded styles, shared by the screens; a style is loaded again when its files change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[Any, Any]] = {}

    def load(self, name: str) -> Any:
        """The loaded `Style` (call from a worker thread: this imports torch and reads weights)."""
        from stylegen.styles import load_style, read_meta

        meta = read_meta(name)
        key = (meta.get("updated"), meta.get("steps"), meta.get("params"), meta.get("best_step"))
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
            style = load_style(name)
            self._cache[name] = (key, style)
            return style

    def forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)


#: mode -> (module, class) of its screen; a screen's module is imported when it first opens.
SCREEN_CLASSES: dict[str, tuple[str, str]] = {
    "styles": ("stylegen.tui.screens.styles", "StylesScreen"),
    "chat": ("stylegen.tui.screens.chat", "ChatScreen"),
    "generate": ("stylegen.tui.screens.generate", "GenerateScreen"),
    "corpus": ("stylegen.tui.screens.corpus", "CorpusScreen"),
    "train": ("stylegen.tui.screens.train", "TrainScreen"),
    "inspect": ("stylegen.tui.screens.inspect", "InspectScreen"),
}


class StylegenApp(App[None]):
    """Learn a style, then chat and write in it."""

    CSS_PATH = Path(__file__).with_name("stylegen.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "stylegen"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key.lower(), f"show({mode!r})", title, show=False) for mode, key, title in SCREENS
    ]

    #: A few words about a training run in progress, shown at the end of the screen bar.
    training_badge: reactive[str] = reactive("")

    def __init__(
        self,
        style: str | None = None,
        *,
        default_style: str = DEFAULT_STYLE,
        seed: int | None = None,
        preload: bool = True,
    ) -> None:
        """`style`: open on Chat with it; else Chat with `default_style` if it exists, else Styles.

        `seed` makes chat and generation repeatable (tests); `preload` imports torch in the
        background after startup.
        """
        super().__init__()
        self.initial_style = style
        self.default_style = default_style
        self.seed = seed
        self.preload = preload
        self.loader = StyleLoader()
        self.copy_indexes = IndexLoader()  # the styles' originality indexes, for the copy check
        self.screen_by_mode: dict[str, AppScreen] = {}
        for mode in SCREEN_CLASSES:
            self.add_mode(mode, partial(self._make_screen, mode))

    def _make_screen(self, mode: str) -> AppScreen:
        import importlib

        module, name = SCREEN_CLASSES[mode]
        screen: AppScreen = getattr(importlib.import_module(module), name)()
        self.screen_by_mode[mode] = screen
        return screen

    def on_mount(self) -> None:
        from stylegen.tui._data import style_names

        name = self.initial_style
        if name is None and self.default_style in style_names():
            name = self.default_style
        if name is not None:
            self.open_chat(name)
        else:
            self.switch_mode("styles")
        if self.preload:
            self.set_timer(0.3, self._preload)

    @work(thread=True, group="preload", exit_on_error=False)
    def _preload(self) -> None:
        """Import torch while the user reads the first screen; say which plugins failed to load."""
        from stylegen import plugins

        for warning in plugins.registry().warnings:
            self.call_from_thread(self.notify, warning, title="plugin skipped", severity="warning", timeout=10)
        import torch  # noqa: F401

    # --- navigation -----------------------------------------------------------------------------
    def action_show(self, mode: str) -> None:
        self.switch_mode(mode)

    def mode_screen(self, mode: str) -> Any:
        """The screen of `mode`, opening it."""
        self.switch_mode(mode)
        return self.screen_by_mode[mode]

    def open_chat(self, style: str) -> None:
        self.mode_screen("chat").open_style(style)

    def open_generate(self, style: str) -> None:
        self.mode_screen("generate").open_style(style)

    def open_inspect(self, style: str) -> None:
        self.mode_screen("inspect").open_style(style)

    def open_train(self, corpus: str | None = None, style: str | None = None) -> None:
        self.mode_screen("train").prefill(corpus=corpus, style=style)

    def style_deleted(self, name: str) -> None:
        """Forget a deleted style everywhere it is open."""
        self.loader.forget(name)
        self.copy_indexes.forget(name)
        for screen in self.screen_by_mode.values():
            closer = getattr(screen, "style_deleted", None)
            if closer is not None:
                closer(name)

    def styles_changed(self) -> None:
        """Styles were trained or deleted: screens that list them read them again."""
        for screen in self.screen_by_mode.values():
            refresh = getattr(screen, "styles_changed", None)
            if refresh is not None:
                refresh()

    def corpora_changed(self) -> None:
        for screen in self.screen_by_mode.values():
            refresh = getattr(screen, "corpora_changed", None)
            if refresh is not None:
                refresh()

    # --- command palette ----------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for mode, key, title in SCREENS:
            yield SystemCommand(f"{title} screen", f"Open the {title} screen ({key})", partial(self.action_show, mode))
        if isinstance(screen, AppScreen):
            for title, help_text, callback in screen.palette_commands():
                yield SystemCommand(title, help_text, callback)
        yield from super().get_system_commands(screen)

    async def action_quit(self) -> None:
        """Leave. A training run in progress is stopped first, with a checkpoint (after asking)."""
        train: Any = self.screen_by_mode.get("train")
        if train is None or not train.running:
            self.exit()
            return
        if train.quit_requested:  # asked twice: do not wait for the checkpoint
            train.kill()
            self.exit()
            return
        from stylegen.tui.screens.dialogs import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                train.quit_requested = True
                train.action_stop()  # the Train screen quits the app once the run has ended
                self.notify("stopping the training run with a checkpoint, then quitting (ctrl+q again: now)")

        self.push_screen(
            ConfirmDialog("A training run is in progress. Stop it (keeping a checkpoint) and quit?", "Stop and quit"),
            answered,
        )
