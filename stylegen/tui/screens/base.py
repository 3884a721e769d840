"""What every screen of the app has: the screen bar on top, the key bar at the bottom, the
app's shared state, and the methods through which the app tells it what changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from stylegen.tui._shared import Shared
from stylegen.tui.widgets.nav import NavBar

#: (title, help, callback): a command this screen adds to the command palette.
PaletteCommand = tuple[str, str, Callable[[], object]]


class AppScreen(Screen[None]):
    """A top-level screen; subclasses give `MODE` and `compose_body`.

    It talks to the app with the messages of `stylegen.tui._shared` (it never imports the
    app); the app calls `style_deleted`, `styles_changed` and `corpora_changed` on every open
    screen, which do nothing unless a screen has something to refresh.
    """

    MODE: ClassVar[str] = ""

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__()
        self.shared = shared if shared is not None else Shared()

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    #: the `Select` that picks this screen's style, for screens that have one
    STYLE_SELECT: ClassVar[str] = ""
    style_name: str | None = None
    style: Any = None  # the chosen style once loaded
    load_error: str | None = None  # why the chosen style could not be loaded

    def open_style(self, name: str) -> None:
        """Show style `name`, loaded in the background (`_start_loading`, once mounted); the
        style already shown, or still loading, stays as it is."""
        if name == self.style_name and (self.style is not None or self.load_error is None):
            return
        self.style_name, self.style, self.load_error = name, None, None
        if self.is_mounted:
            self._start_loading(name)

    def _start_loading(self, name: str) -> None:
        """Load style `name` in the background (the screens that show a style give this)."""
        raise NotImplementedError

    def _fill_styles(self) -> None:
        """Offer every style in the style selector, keeping the current one chosen."""
        from textual.widgets import Select

        from stylegen.tui._data import scan_styles

        names = [m.name for m in scan_styles()[0]]
        select: Select[str] = self.query_one(self.STYLE_SELECT, Select)
        with self.prevent(Select.Changed):
            select.set_options([(n, n) for n in names])
            if self.style_name in names:
                select.value = self.style_name

    def styles_changed(self) -> None:
        """The app's styles changed (trained, imported, deleted): refresh the selector."""
        if self.is_mounted and self.STYLE_SELECT:
            self._fill_styles()

    def style_deleted(self, name: str) -> None:
        """Style `name` was deleted: a screen showing it lets it go."""

    def corpora_changed(self) -> None:
        """A corpus was built or deleted: a screen listing corpora reads them again."""

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Commands of this screen for the command palette (ctrl+p)."""
        return ()
