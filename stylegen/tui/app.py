"""The stylegen app: Styles (home), Chat, Generate, Corpus, Train and Inspect screens.

Each screen is a Textual *mode* with its own stack, so switching away and back keeps a
conversation, a generation or a training run where it was. Torch is never imported here:
styles load in worker threads (`StyleLoader`), and the app imports torch in the
background shortly after it starts, so the first style loads faster.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from stylegen.tui._shared import (
    CorporaChanged,
    OpenStyle,
    OpenTrain,
    Shared,
    StyleDeleted,
    StylesChanged,
    TrainingBadge,
)
from stylegen.tui.screens.base import AppScreen
from stylegen.tui.widgets.nav import SCREENS

DEFAULT_STYLE = "shakespeare"


def _screen_class(mode: str) -> type[AppScreen]:
    """The screen of `mode`; its module is imported when it first opens."""
    if mode == "styles":
        from stylegen.tui.screens.styles import StylesScreen

        return StylesScreen
    if mode == "chat":
        from stylegen.tui.screens.chat import ChatScreen

        return ChatScreen
    if mode == "generate":
        from stylegen.tui.screens.generate import GenerateScreen

        return GenerateScreen
    if mode == "corpus":
        from stylegen.tui.screens.corpus import CorpusScreen

        return CorpusScreen
    if mode == "train":
        from stylegen.tui.screens.train import TrainScreen

        return TrainScreen
    from stylegen.tui.screens.inspect import InspectScreen

    return InspectScreen


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
        self.preload = preload
        self.shared = Shared(seed=seed, style_shown=self._style_shown)  # what every screen is given
        self.screen_by_mode: dict[str, AppScreen] = {}
        for mode, _, _ in SCREENS:
            self.add_mode(mode, partial(self._make_screen, mode))

    def _make_screen(self, mode: str) -> AppScreen:
        screen = self.screen_by_mode[mode] = _screen_class(mode)(self.shared)
        return screen

    def _style_shown(self, mode: str) -> str | None:
        screen = self.screen_by_mode.get(mode)
        return None if screen is None else screen.style_name

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
        from stylegen import plugin_registry

        for warning in plugin_registry().warnings:
            self.call_from_thread(self.notify, warning, title="plugin skipped", severity="warning", timeout=10)
        import torch  # noqa: F401

    # --- navigation -----------------------------------------------------------------------------
    def action_show(self, mode: str) -> None:
        self.switch_mode(mode)

    def mode_screen(self, mode: str) -> AppScreen:
        """The screen of `mode`, opening it."""
        self.switch_mode(mode)
        return self.screen_by_mode[mode]

    def open_chat(self, style: str) -> None:
        self.mode_screen("chat").open_style(style)

    # --- what the screens ask for (their messages bubble up to the app) -------------------------------
    @on(OpenStyle)
    def _open_style(self, message: OpenStyle) -> None:
        self.mode_screen(message.mode).open_style(message.name)

    @on(OpenTrain)
    def _open_train(self, message: OpenTrain) -> None:
        from stylegen.tui.screens.train import TrainScreen

        screen = self.mode_screen("train")
        assert isinstance(screen, TrainScreen)
        screen.prefill(corpus=message.corpus, style=message.style)

    @on(StyleDeleted)
    def _style_deleted(self, message: StyleDeleted) -> None:
        """Forget a deleted style everywhere it is open."""
        self.shared.loader.forget(message.name)
        self.shared.copy_indexes.forget(message.name)
        for screen in self.screen_by_mode.values():
            screen.style_deleted(message.name)

    @on(StylesChanged)
    def _styles_changed(self) -> None:
        for screen in self.screen_by_mode.values():
            screen.styles_changed()

    @on(CorporaChanged)
    def _corpora_changed(self) -> None:
        for screen in self.screen_by_mode.values():
            screen.corpora_changed()

    @on(TrainingBadge)
    def _training_badge(self, message: TrainingBadge) -> None:
        self.training_badge = message.text

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
        from stylegen.tui.screens.train import TrainScreen

        train = self.screen_by_mode.get("train")
        if not isinstance(train, TrainScreen) or not train.running:
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
