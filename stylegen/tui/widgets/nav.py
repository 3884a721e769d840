"""The bar across the top: one clickable entry per screen, with its key; the current one lit."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

#: (mode, key, title), in the order the bar shows them.
SCREENS: tuple[tuple[str, str, str], ...] = (
    ("styles", "F1", "Styles"),
    ("chat", "F2", "Chat"),
    ("generate", "F3", "Generate"),
    ("corpus", "F4", "Corpus"),
    ("train", "F5", "Train"),
    ("inspect", "F6", "Inspect"),
)


class NavItem(Static):
    """One screen's entry; a click opens that screen."""

    def __init__(self, mode: str, key: str, title: str, current: bool) -> None:
        super().__init__(f"[b]{key}[/b] {title}", classes="nav-item -current" if current else "nav-item")
        self.mode = mode

    async def on_click(self) -> None:
        await self.app.run_action(f"show({self.mode!r})")


class NavBar(Horizontal):
    """The screens, with the training badge (progress of a run in the background) at the end."""

    def __init__(self, current: str) -> None:
        super().__init__(classes="nav-bar")
        self.current = current

    def compose(self) -> ComposeResult:
        for mode, key, title in SCREENS:
            yield NavItem(mode, key, title, mode == self.current)
        yield Static("", classes="nav-badge")

    def on_mount(self) -> None:
        self.watch(self.app, "training_badge", self._badge, init=True)

    def _badge(self, text: str) -> None:
        self.query_one(".nav-badge", Static).update(text)
