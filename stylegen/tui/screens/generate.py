"""The Generate screen: a style continues a prime, the text streaming in as it is written."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Select, Static

from stylegen.errors import one_line
from stylegen.tui import _copies, _streaming
from stylegen.tui._format import style_summary
from stylegen.tui._shared import Shared
from stylegen.tui.screens._writing import WritingScreen
from stylegen.tui.screens.base import PaletteCommand
from stylegen.tui.widgets import CopyCheckPanel, MarkedTextArea, PenaltiesPanel

LENGTH = 500
NO_STYLE = "No style chosen. Pick one on the Styles screen (F1) and press g."


class GenerateScreen(WritingScreen):
    STYLE_SELECT = "#gen-style"
    MODE = "generate"
    PREFIX = "gen"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "generate", "Generate"),
        Binding("escape", "stop", "Stop"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+o", "toggle_panel", "Settings"),
        Binding("ctrl+l", "to_prime", "Prime"),
    ]

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__(shared)
        self.text = ""
        self.prime = ""  # the start of `text` the user wrote (not checked for copies)
        self.status_text = ""  # the status line, without the copy check's words
        self.queued = False  # Generate was asked for while the style was loading

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="gen-body"):
            with Vertical(id="gen-main"):
                yield Static(NO_STYLE, id="gen-title", classes="screen-title", markup=False)
                yield Input(placeholder="Prime: the text to continue (Enter writes)", id="prime")
                yield MarkedTextArea("", read_only=True, soft_wrap=True, show_cursor=False, id="gen-output")
                yield Static("", id="gen-status", classes="status-line", markup=False)
            with VerticalScroll(id="gen-panel", classes="side-panel"):
                yield Label("Style", classes="field-label")
                yield Select([], prompt="choose a style", compact=True, id="gen-style")
                yield Label("Length (tokens)", classes="field-label")
                yield Input(str(LENGTH), type="integer", compact=True, id="gen-length")
                yield Label("Seed (empty: random)", classes="field-label")
                yield Input("", placeholder="random", type="integer", compact=True, valid_empty=True, id="gen-seed")
                yield from self.compose_settings()

    def on_mount(self) -> None:
        if self.style_name is None:
            self.style_name = self.shared.style_shown("chat")  # start on the style in use in Chat
        self._fill_styles()
        self.query_one("#prime", Input).focus()
        if self.style_name is not None and self.style is None:
            self._start_loading(self.style_name)

    def action_to_prime(self) -> None:
        """Back to the prime box, wherever the focus is."""
        self.query_one("#prime", Input).focus()

    def style_deleted(self, name: str) -> None:
        if name == self.style_name:
            self.action_stop()
            self.style_name, self.style = None, None
            if self.is_mounted:
                self.query_one(CopyCheckPanel).set_style(None)
                self._title(NO_STYLE)
                self._fill_styles()

    # --- loading ------------------------------------------------------------------------------
    def _load_failed(self, text: str) -> None:
        self._status(text)

    def _load_style(self, name: str) -> Any:
        """Without torch where it can (stylegen/torchless.py); a sampler plugin chosen later
        writes through torch (`LightStyle.generate`)."""
        return self.shared.loader.load_light(name, self.sampler)

    def _ready(self, style: Any) -> None:
        self.style = style
        self._title(style_summary(self.style.meta))
        self.query_one(CopyCheckPanel).set_style(self.style)
        self._status("Type a prime and press Enter (or ctrl+g) to write; Esc stops.")
        if self.queued:
            self.queued = False
            self.action_generate()
        self.refresh_bindings()

    def _status(self, text: str) -> None:
        self.status_text = text
        self.query_one("#gen-status", Static).update(text)

    # --- writing --------------------------------------------------------------------------------------
    def _options(self) -> dict[str, Any] | None:
        """Length and seed from the panel, or None (and a message) when one is not a number."""
        from stylegen import random_seed

        try:
            length = int(self.query_one("#gen-length", Input).value)
            seed_text = self.query_one("#gen-seed", Input).value.strip()
            seed = (
                int(seed_text) if seed_text else (self.shared.seed if self.shared.seed is not None else random_seed())
            )
        except ValueError:
            self.notify("length and seed must be whole numbers", severity="error")
            return None
        if length < 1:
            self.notify("length must be at least 1", severity="error")
            return None
        penalties = self.query_one(PenaltiesPanel).penalties
        return {
            "length": length,
            "seed": seed,
            "sampler": self.sampler,
            "params": dict(self.params),
            "penalties": penalties if penalties.active else None,
        }

    @on(Input.Submitted, "#prime")
    def action_generate(self) -> None:
        if self.style_name is None:
            self.notify("choose a style first (F1 Styles)", severity="warning")
            return
        if self.load_error is not None:
            self.notify(f"{self.style_name} cannot be loaded: {self.load_error}", severity="error")
            return
        if self.style is None:
            self.queued = True
            self._status("Loading the style; writing starts when it is there…")
            return
        options = self._options()
        if options is None:
            return
        self.action_stop()
        prime = self.query_one("#prime", Input).value
        self.text = self.prime = prime
        output = self.query_one("#gen-output", MarkedTextArea)
        output.load_text(prime)
        self.run += 1
        self.writing = True
        self.cancel = threading.Event()
        self._status(f"writing {options['length']} tokens with {self.sampler}, seed {options['seed']}…")
        self.refresh_bindings()
        self._write(self.run, self.style, prime, options, self.cancel)

    @work(thread=True, group="generate", exit_on_error=False)
    def _write(self, run: int, style: Any, prime: str, options: dict[str, Any], cancel: threading.Event) -> None:
        error: str | None = None
        try:
            chunks = style.generate(prime, cancel=cancel, **options)
            for text in _streaming.batched(chunks, _streaming.stopper(cancel)):
                self.post_message(self.Chunk(run, text))
        except Exception as e:
            error = one_line(e)
        self.post_message(self.Done(run, error))

    @on(WritingScreen.Chunk)
    def _chunk(self, message: WritingScreen.Chunk) -> None:
        if message.run != self.run or not self.writing:
            return
        output = self.query_one("#gen-output", MarkedTextArea)
        following = output.scroll_y >= output.max_scroll_y - 1
        self.text += message.text
        output.insert(message.text, output.document.end)
        if following:
            output.scroll_end(animate=False)

    @on(WritingScreen.Done)
    def _done(self, message: WritingScreen.Done) -> None:
        if message.run != self.run:
            return
        if message.error is not None:
            self._status(f"error: {message.error}")
        elif self.writing:
            self._status(f"done: {len(self.text)} characters")
        self.writing = False
        self.refresh_bindings()
        if message.error is None:
            self._check_copies()

    # --- the copy check -------------------------------------------------------------------------------
    def _check_copies(self) -> None:
        """Check the text written (not the prime) for copied spans, in the background."""
        min_len = self.query_one(CopyCheckPanel).min_len
        written = self.text[len(self.prime) :]
        if min_len is None or self.style is None or self.writing or not written.strip():
            return
        self.query_one("#gen-status", Static).update(f"{self.status_text} · checking for copies…")
        self._find_copies(self.style, [(self.run, written)], min_len)

    @on(WritingScreen.Copies)
    def _copies_found(self, message: WritingScreen.Copies) -> None:
        if message.key != self.run or self.writing:
            return
        status = self.query_one("#gen-status", Static)
        if message.error is not None:
            status.update(f"{self.status_text} · copy check failed: {message.error}")
        elif message.spans is None:
            status.update(self.status_text)  # no index: the panel says so
        else:
            self.query_one("#gen-output", MarkedTextArea).set_marks(_copies.marks(message.spans, len(self.prime)))
            status.update(f"{self.status_text} · {_copies.summary(message.spans, message.min_len)}")

    @on(CopyCheckPanel.Changed)
    def _copy_check_changed(self, event: CopyCheckPanel.Changed) -> None:
        if event.min_len is None:
            self.query_one("#gen-output", MarkedTextArea).set_marks([])
            if self.is_mounted:
                self.query_one("#gen-status", Static).update(self.status_text)
        else:
            self._check_copies()

    # --- actions ---------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return True if self.writing else None
        if action == "save":
            return True if self.text else None
        return True

    def _stopped(self) -> None:
        self._status(f"stopped after {len(self.text)} characters")

    def action_save(self) -> None:
        if not self.text:
            return
        default = str(Path.cwd() / f"{self.style_name}-sample.txt")
        text = self.text

        def write(path: Path) -> None:
            from stylegen import atomic_write_text

            atomic_write_text(path, text)

        self._save_dialog("Save the text to", default, write, "saved to")

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield ("Generate", "Write a continuation of the prime (ctrl+g)", self.action_generate)
        if self.writing:
            yield ("Stop writing", "Stop the generation now (Esc)", self.action_stop)
        if self.text:
            yield ("Save text", "Write the text to a file (ctrl+s)", self.action_save)
        yield from self.copy_check_command("the text")
