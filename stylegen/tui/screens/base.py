"""What every screen of the app has: the screen bar on top, the key bar at the bottom."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from stylegen.tui.widgets.nav import NavBar

if TYPE_CHECKING:
    from stylegen.tui.app import StylegenApp

#: (title, help, callback): a command this screen adds to the command palette.
PaletteCommand = tuple[str, str, Callable[[], object]]


class AppScreen(Screen[None]):
    """A top-level screen; subclasses give `MODE` and `compose_body`."""

    MODE: ClassVar[str] = ""

    @property
    def stylegen(self) -> StylegenApp:
        from stylegen.tui.app import StylegenApp

        app = self.app
        assert isinstance(app, StylegenApp)
        return app

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Commands of this screen for the command palette (ctrl+p)."""
        return ()
