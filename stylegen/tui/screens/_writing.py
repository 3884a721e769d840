"""What the Chat and Generate screens share: a style loaded in the background, text written by
a worker thread and posted back in batches, the settings panel (sampler, penalties, copy
check), the copy check of what was written, and saving it to a file.

A subclass gives the ids of its title, panel and style selector (`PREFIX`, `STYLE_SELECT`),
and says what loading, a loaded style, a load error and a stop look like on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Select, Static

from stylegen.errors import one_line
from stylegen.tui import _copies
from stylegen.tui._shared import Shared
from stylegen.tui.screens.base import AppScreen
from stylegen.tui.screens.dialogs import PathDialog
from stylegen.tui.widgets import CopyCheckPanel, PenaltiesPanel, SamplerPanel
from stylegen.tui.widgets.sampler import DEFAULT_PARAMS, DEFAULT_SAMPLER


class WritingScreen(AppScreen):
    """A screen where a style writes: Chat and Generate."""

    #: the ids of the screen's parts start with this: `{PREFIX}-title`, `{PREFIX}-panel`, ...
    PREFIX: ClassVar[str] = ""

    class Loaded(Message):
        """The style `name` loaded (`style`), or why it could not be (`error`)."""

        def __init__(self, name: str, style: Any, error: str | None) -> None:
            super().__init__()
            self.name, self.style, self.error = name, style, error

    class Chunk(Message):
        """Text of the writing numbered `run`, and who is speaking (chat turns)."""

        def __init__(self, run: int, text: str, speaker: str | None = None) -> None:
            super().__init__()
            self.run, self.text, self.speaker = run, text, speaker

    class Done(Message):
        """The writing numbered `run` ended, with an error or not."""

        def __init__(self, run: int, error: str | None, speaker: str | None = None) -> None:
            super().__init__()
            self.run, self.error, self.speaker = run, error, speaker

    class Copies(Message):
        """The copy check of one text (`key` says which): spans (None: the style has no index) or an error."""

        def __init__(self, key: object, text: str, min_len: int, spans: Any, error: str | None) -> None:
            super().__init__()
            self.key, self.text, self.min_len, self.spans, self.error = key, text, min_len, spans, error

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__(shared)
        self.style_name: str | None = None
        self.style: Any = None
        self.load_error: str | None = None
        self.sampler, self.params = DEFAULT_SAMPLER, dict(DEFAULT_PARAMS)
        self.run = 0  # the number of the writing in progress; chunks of older ones are dropped
        self.writing = False
        self.cancel = threading.Event()

    def compose_settings(self) -> ComposeResult:
        """The sampler, penalties and copy-check panels, at the end of the side panel."""
        yield SamplerPanel(self.sampler, self.params, id=f"{self.PREFIX}-sampler")
        yield PenaltiesPanel(id=f"{self.PREFIX}-penalties")
        yield CopyCheckPanel(self.shared.copy_indexes, id=f"{self.PREFIX}-copies")

    def _title(self, text: str) -> None:
        self.query_one(f"#{self.PREFIX}-title", Static).update(text)

    # --- loading a style ---------------------------------------------------------------------------
    def _start_loading(self, name: str) -> None:
        self.action_stop()
        self._loading(name)
        self._title(f"{name} · loading…")
        self._fill_styles()
        # After the screen is drawn: the load's import of torch holds the GIL for a second or
        # more, and nothing of it is needed for the first frame.
        self.call_after_refresh(self._load, name)

    def _loading(self, name: str) -> None:
        """Show that style `name` is loading (before the title says so)."""

    def _load_style(self, name: str) -> Any:
        """The style this screen writes with (in a worker thread)."""
        return self.shared.loader.load(name)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, name: str) -> None:
        try:
            style = self._load_style(name)
        except Exception as e:  # any failure to load is shown, and the app goes on
            self.post_message(self.Loaded(name, None, one_line(e)))
            return
        self.post_message(self.Loaded(name, style, None))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.name != self.style_name:
            return  # another style was chosen meanwhile
        if message.error is not None:
            self.load_error = message.error
            self._title(f"{message.name} · cannot be loaded")
            self._load_failed(f"Style {message.name} cannot be loaded: {message.error}")
            self.notify(f"{message.name}: {message.error}", severity="error", timeout=8)
            self.query_one(CopyCheckPanel).set_style(None)
            return
        self._ready(message.style)

    def _load_failed(self, text: str) -> None:
        """Say why the style cannot be loaded."""

    def _ready(self, style: Any) -> None:
        """The chosen style is loaded: start using it."""

    @on(Select.Changed)
    def _style_chosen(self, event: Select.Changed) -> None:
        if f"#{event.select.id}" != self.STYLE_SELECT:
            return
        if isinstance(event.value, str) and event.value != self.style_name:
            self.open_style(event.value)

    # --- writing -------------------------------------------------------------------------------------
    def action_stop(self) -> None:
        """Stop writing now: nothing more is shown; the worker ends within a step."""
        if not self.writing:
            return
        self.cancel.set()
        self.writing = False
        self._stopped()
        self.refresh_bindings()

    def _stopped(self) -> None:
        """Say that the writing was stopped."""

    @on(SamplerPanel.Changed)
    def _sampler_changed(self, event: SamplerPanel.Changed) -> None:
        self.sampler, self.params = event.sampler, event.params

    # --- the copy check -----------------------------------------------------------------------------
    @work(thread=True, group="copies", exit_on_error=False)
    def _find_copies(self, style: Any, items: Sequence[tuple[object, str]], min_len: int) -> None:
        """Check each (key, text) for spans copied from the style's corpus, posting `Copies`."""
        for key, text in items:
            try:
                spans = _copies.find(self.shared.copy_indexes, style, text, min_len)
            except Exception as e:  # a damaged index: said where the text is, the app goes on
                self.post_message(self.Copies(key, text, min_len, None, one_line(e)))
                continue
            self.post_message(self.Copies(key, text, min_len, spans, None))

    def action_toggle_copies(self) -> None:
        self.query_one(CopyCheckPanel).toggle()

    # --- the rest ------------------------------------------------------------------------------------
    def _save_dialog(self, prompt: str, default: str, write: Callable[[Path], None], saved: str) -> None:
        """Ask for a path and `write` to it; `saved` starts the notice (`saved to PATH`)."""

        def chosen(path: str | None) -> None:
            if not path:
                return
            try:
                write(Path(path).expanduser())
            except OSError as e:
                self.notify(f"cannot save {path}: {e.strerror or e}", severity="error")
                return
            self.notify(f"{saved} {path}")

        self.app.push_screen(PathDialog(prompt, default), chosen)

    def action_toggle_panel(self) -> None:
        panel = self.query_one(f"#{self.PREFIX}-panel")
        panel.display = not panel.display

    def copy_check_command(self, what: str) -> Iterable[tuple[str, str, Callable[[], object]]]:
        """The palette command that switches the copy check, for spans of `what`."""
        yield (
            "Toggle copy check",
            f"Mark spans of {what} copied verbatim from the training text (on: 40+ characters)",
            self.action_toggle_copies,
        )
