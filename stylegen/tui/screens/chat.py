"""The Chat screen: a conversation with a style, its answers streaming in as they are written.

The answer is written by a worker thread (`ChatSession.send`), batched (`_streaming.batched`)
and posted to the screen as `Chunk` messages, so typing and scrolling never wait for the
model. Esc sets the session's cancel event: the session stops within one step, and the
screen stops showing text at once. Before each turn the session is snapshotted, so the last
answer can be written again (ctrl+r).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Select, Static

from stylegen.tui import _copies, _streaming
from stylegen.tui._format import one_line, style_summary
from stylegen.tui.screens.base import AppScreen, PaletteCommand
from stylegen.tui.screens.dialogs import PathDialog
from stylegen.tui.widgets import CopyCheckPanel, PenaltiesPanel, SamplerPanel, Transcript, TurnView
from stylegen.tui.widgets.sampler import DEFAULT_PARAMS, DEFAULT_SAMPLER

ANYONE = "*"  # the "who answers" choice: whoever the model writes next
MAX_TOKENS = 600
NO_STYLE = "No style chosen. Pick one on the Styles screen (F1), or build a corpus (F4) and train one (F5)."


class ChatScreen(AppScreen):
    STYLE_SELECT = "#style-select"
    MODE = "chat"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("ctrl+o", "toggle_panel", "Settings"),
    ]

    class Loaded(Message):
        def __init__(self, name: str, style: Any, error: str | None) -> None:
            super().__init__()
            self.name, self.style, self.error = name, style, error

    class Chunk(Message):
        def __init__(self, turn: int, text: str, speaker: str | None) -> None:
            super().__init__()
            self.turn, self.text, self.speaker = turn, text, speaker

    class Done(Message):
        def __init__(self, turn: int, speaker: str | None, error: str | None) -> None:
            super().__init__()
            self.turn, self.speaker, self.error = turn, speaker, error

    class Copies(Message):
        """The copy check of one answer: spans (None: the style has no index) or an error."""

        def __init__(self, view: TurnView, text: str, min_len: int, spans: Any, error: str | None) -> None:
            super().__init__()
            self.view, self.text, self.min_len, self.spans, self.error = view, text, min_len, spans, error

    def __init__(self) -> None:
        super().__init__()
        self.style_name: str | None = None
        self.style: Any = None
        self.session: Any = None
        self.load_error: str | None = None
        self.sampler, self.params = DEFAULT_SAMPLER, dict(DEFAULT_PARAMS)
        self.max_tokens = MAX_TOKENS
        self.turn = 0  # the number of the answer being written; chunks of older ones are dropped
        self.writing = False
        self.cancel = threading.Event()
        self.session_lock = threading.Lock()  # one answer at a time uses the session
        self.view: TurnView | None = None  # the answer being written
        self.pending: str | None = None  # a message typed while the style was loading
        self.last_message: str | None = None
        self.snap: Any = None

    # --- layout ---------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with Horizontal(id="chat-body"):
            with Vertical(id="chat-main"):
                yield Static(NO_STYLE, id="chat-title", classes="screen-title", markup=False)
                yield Transcript(NO_STYLE, id="transcript")
                yield Input(placeholder="Type a message, Enter sends", id="message")
            with VerticalScroll(id="chat-panel", classes="side-panel"):
                yield Label("Style", classes="field-label")
                yield Select([], prompt="choose a style", compact=True, id="style-select")
                with Vertical(id="turns-box"):
                    yield Label("You speak as", classes="field-label")
                    yield Input(compact=True, id="speak-as")
                    yield Label("Who answers", classes="field-label")
                    yield Select([("whoever comes next", ANYONE)], allow_blank=False, compact=True, id="answer-by")
                yield Label("Max length (tokens)", classes="field-label")
                yield Input(str(MAX_TOKENS), type="integer", compact=True, id="max-length")
                yield SamplerPanel(self.sampler, self.params, id="chat-sampler")
                yield PenaltiesPanel(id="chat-penalties")
                yield CopyCheckPanel(id="chat-copies")

    def on_mount(self) -> None:
        self.query_one("#turns-box").display = False
        self._fill_styles()
        self.query_one("#message", Input).focus()
        if self.style_name is not None and self.style is None:
            self._start_loading(self.style_name)

    # --- loading a style ---------------------------------------------------------------------------
    def open_style(self, name: str) -> None:
        """Chat with style `name` (loaded in the background); the same style keeps its conversation."""
        super().open_style(name)
        if self.style is None:
            self.session = None

    def _start_loading(self, name: str) -> None:
        self.action_stop()
        self.query_one(Transcript).clear()
        self.query_one(Transcript).set_empty_text(f"Loading {name}…")
        self._title(f"{name} · loading…")
        self._fill_styles()
        self._load(name)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, name: str) -> None:
        try:
            style = self.stylegen.loader.load(name)
        except Exception as e:  # any failure to load is shown, and the app goes on
            self.post_message(self.Loaded(name, None, one_line(e)))
            return
        self.post_message(self.Loaded(name, style, None))

    def on_chat_screen_loaded(self, message: Loaded) -> None:
        if message.name != self.style_name:
            return  # another style was chosen meanwhile
        transcript = self.query_one(Transcript)
        if message.error is not None:
            self.load_error = message.error
            self._title(f"{message.name} · cannot be loaded")
            transcript.set_empty_text(f"Style {message.name} cannot be loaded: {message.error}")
            self.notify(f"{message.name}: {message.error}", severity="error", timeout=8)
            self.pending = None
            self.query_one(CopyCheckPanel).set_style(None)
            return
        self._new_session(message.style)
        pending, self.pending = self.pending, None
        if pending is not None:
            self._answer(pending)

    def _new_session(self, style: Any) -> None:
        from stylegen._chat import ChatSession

        self.style = style
        self.session = ChatSession(
            style,
            sampler=self.sampler,
            params=self.params,
            seed=self.stylegen.seed,
            max_tokens=self.max_tokens,
            penalties=self.query_one(PenaltiesPanel).penalties,
        )
        self._title(style_summary(style.meta))
        self.query_one(CopyCheckPanel).set_style(style)
        fmt = self.session.format
        box = self.query_one("#turns-box")
        box.display = fmt.has_turns
        speakers = list(fmt.speakers)
        if fmt.has_turns:
            speak_as = self.query_one("#speak-as", Input)
            with self.prevent(Input.Changed):
                speak_as.value = self.session.user or ""
            speak_as.suggester = SuggestFromList(speakers, case_sensitive=False)
            answer_by: Select[str] = self.query_one("#answer-by", Select)
            with self.prevent(Select.Changed):
                answer_by.set_options([("whoever comes next", ANYONE), *((s, s) for s in speakers)])
                answer_by.value = ANYONE
        who = f" You speak as {self.session.user}." if fmt.has_turns else " It continues your text."
        self.query_one(Transcript).set_empty_text(
            f"Say something to {style.name}.{who} Enter sends, Esc stops an answer, "
            "ctrl+r writes the last answer again, ctrl+o shows the settings."
        )
        self.refresh_bindings()

    def _title(self, text: str) -> None:
        self.query_one("#chat-title", Static).update(text)

    def style_deleted(self, name: str) -> None:
        if name == self.style_name:
            self.action_stop()
            self.style_name, self.style, self.session = None, None, None
            if self.is_mounted:
                self.query_one(CopyCheckPanel).set_style(None)
                self.query_one(Transcript).clear()
                self.query_one(Transcript).set_empty_text(NO_STYLE)
                self._title(NO_STYLE)
                self._fill_styles()

    # --- talking ------------------------------------------------------------------------------------
    @on(Input.Submitted, "#message")
    def _send(self, event: Input.Submitted) -> None:
        message = event.value
        if not message.strip():
            return
        if self.writing:
            self.notify("still answering: Esc stops the answer", severity="warning")
            return
        if self.pending is not None:
            self.notify(f"{self.style_name} is still loading; your message is answered when it is there")
            return
        if self.style_name is None:
            self.notify("choose a style first (F1 Styles)", severity="warning")
            return
        if self.load_error is not None:
            self.notify(f"{self.style_name} cannot be loaded: {self.load_error}", severity="error")
            return
        event.input.clear()
        if self.session is None:  # still loading: answered as soon as the style is there
            self.pending = message
            self._add_user_turn(message, self.session)
            self.query_one(Transcript).add(TurnView("…", "", role="model")).set_note("waiting for the style")
            return
        self._answer(message)

    def _add_user_turn(self, message: str, session: Any) -> None:
        speaker = session.user if session is not None and session.format.has_turns else "You"
        self.query_one(Transcript).add(TurnView(speaker or "You", message.strip(), role="user"))

    def _answer(self, message: str, again: bool = False) -> None:
        session = self.session
        transcript = self.query_one(Transcript)
        views = transcript.turns
        if views and views[-1].note == "waiting for the style":
            views[-1].remove()  # the placeholder of a message typed while loading
        elif not again:
            self._add_user_turn(message, session)
        speaker = session.to or "…" if session.format.has_turns else self.style_name or "…"
        self.view = transcript.add(TurnView(speaker, "", role="model"))
        self.view.set_note("writing…")
        self.turn += 1
        self.writing = True
        self.cancel = threading.Event()
        self.last_message = message
        self.refresh_bindings()
        self._write(self.turn, message, again, self.cancel)

    @work(thread=True, group="answer", exit_on_error=False)
    def _write(self, turn: int, message: str, again: bool, cancel: threading.Event) -> None:
        session = self.session
        stop = _streaming.stopper(cancel)
        error: str | None = None
        with self.session_lock:
            try:
                if again and self.snap is not None:
                    session.restore(self.snap, rng=False)  # the generator goes on: a new answer
                else:
                    self.snap = session.snapshot()
                for text in _streaming.batched(session.send(message, cancel), stop):
                    self.post_message(self.Chunk(turn, text, session.speaker))
            except Exception as e:  # shown in the conversation; the app goes on
                error = one_line(e)
        self.post_message(self.Done(turn, session.speaker, error))

    def on_chat_screen_chunk(self, message: Chunk) -> None:
        if message.turn != self.turn or not self.writing or self.view is None:
            return  # stopped, or an older answer
        transcript = self.query_one(Transcript)
        following = transcript.following()
        if message.speaker:
            self.view.set_speaker(message.speaker)
        self.view.append(message.text)
        transcript.follow(following)

    def on_chat_screen_done(self, message: Done) -> None:
        if message.turn != self.turn or self.view is None:
            return
        if message.speaker:
            self.view.set_speaker(message.speaker)
        if message.error is not None:
            self.view.set_note(f"error: {message.error}")
        elif self.writing:
            self.view.set_note("")
        self.writing = False
        self.refresh_bindings()
        if message.error is None:
            self._check_copies([self.view])

    # --- the copy check -----------------------------------------------------------------------------
    def _check_copies(self, views: list[TurnView]) -> None:
        """Check these answers for copied spans in the background (when the check is on)."""
        min_len = self.query_one(CopyCheckPanel).min_len
        items = [(view, view.text) for view in views if view.text.strip()]
        if min_len is None or self.style is None or not items:
            return
        for view, _ in items:
            view.set_copies(view.marks, "checking for copies…")
        self._find_copies(self.style, items, min_len)

    @work(thread=True, group="copies", exit_on_error=False)
    def _find_copies(self, style: Any, items: list[tuple[TurnView, str]], min_len: int) -> None:
        for view, text in items:
            try:
                spans = _copies.find(self.stylegen.copy_indexes, style, text, min_len)
            except Exception as e:  # a damaged index: said under the answer, the chat goes on
                self.post_message(self.Copies(view, text, min_len, None, one_line(e)))
                continue
            self.post_message(self.Copies(view, text, min_len, spans, None))

    def on_chat_screen_copies(self, message: Copies) -> None:
        view = message.view
        if not view.is_mounted or view.text != message.text:
            return  # written again, or the conversation was cleared
        if message.error is not None:
            view.set_copies([], f"copy check failed: {message.error}")
        elif message.spans is None:
            view.set_copies([], "")  # no index: the panel says so
        else:
            view.set_copies(_copies.marks(message.spans), _copies.summary(message.spans, message.min_len))

    @on(CopyCheckPanel.Changed)
    def _copy_check_changed(self, event: CopyCheckPanel.Changed) -> None:
        answers = [v for v in self.query_one(Transcript).turns if "-model" in v.classes]
        if self.writing and self.view in answers:
            answers.remove(self.view)
        if event.min_len is None:
            for view in answers:
                view.set_copies([], "")
        else:
            self._check_copies(answers)

    def action_toggle_copies(self) -> None:
        self.query_one(CopyCheckPanel).toggle()

    # --- actions ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return True if self.writing else None
        if action == "regenerate":
            return True if self.session is not None and self.last_message is not None else None
        if action in ("save", "new_chat"):
            return True if self.session is not None else None
        return True

    def action_stop(self) -> None:
        """Stop the answer now: nothing more is shown; the session ends its turn within a step."""
        if not self.writing:
            return
        self.cancel.set()
        self.writing = False
        if self.view is not None:
            self.view.set_note("stopped")
        self.refresh_bindings()

    def action_regenerate(self) -> None:
        if self.session is None or self.last_message is None:
            return
        self.action_stop()
        views = self.query_one(Transcript).turns
        if views and "-model" in views[-1].classes:
            views[-1].remove()
        self._answer(self.last_message, again=True)

    def action_new_chat(self) -> None:
        if self.session is None:
            return
        self.action_stop()
        with self.session_lock:
            self.session.reset()
        self.last_message, self.snap = None, None
        self.query_one(Transcript).clear()
        self.refresh_bindings()

    def action_save(self) -> None:
        if self.session is None:
            return
        default = str(Path.cwd() / f"{self.style_name}-chat.txt")

        def chosen(path: str | None) -> None:
            if not path:
                return
            try:
                self.session.save_transcript(Path(path).expanduser())
            except OSError as e:
                self.notify(f"cannot save {path}: {e.strerror or e}", severity="error")
                return
            self.notify(f"transcript saved to {path}")

        self.app.push_screen(PathDialog("Save the transcript to", default), chosen)

    def action_toggle_panel(self) -> None:
        panel = self.query_one("#chat-panel")
        panel.display = not panel.display

    # --- settings ------------------------------------------------------------------------------------
    @on(Select.Changed, "#style-select")
    def _style_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.style_name:
            self.open_style(event.value)

    @on(SamplerPanel.Changed)
    def _sampler_changed(self, event: SamplerPanel.Changed) -> None:
        self.sampler, self.params = event.sampler, event.params
        if self.session is not None:
            self.session.set_sampler(event.sampler, event.params)

    @on(PenaltiesPanel.Changed)
    def _penalties_changed(self, event: PenaltiesPanel.Changed) -> None:
        if self.session is not None:
            for name, value in event.penalties.as_dict().items():
                self.session.set_penalty(name, value)

    @on(Input.Changed, "#max-length")
    def _max_length(self, event: Input.Changed) -> None:
        try:
            value = int(event.value)
        except ValueError:
            value = 0
        if value < 1:
            event.input.add_class("-invalid")
            return
        event.input.remove_class("-invalid")
        self.max_tokens = value
        if self.session is not None:
            self.session.max_tokens = value

    @on(Input.Changed, "#speak-as")
    def _speak_as(self, event: Input.Changed) -> None:
        if self.session is not None and event.value.strip():
            self.session.set_user(event.value)

    @on(Select.Changed, "#answer-by")
    def _answer_by(self, event: Select.Changed) -> None:
        if self.session is not None and self.session.format.has_turns:
            self.session.set_to(None if event.value in (ANYONE, Select.BLANK) else str(event.value))

    def palette_commands(self) -> Iterable[PaletteCommand]:
        if self.writing:
            yield ("Stop the answer", "Stop writing the answer now (Esc)", self.action_stop)
        if self.session is not None:
            if self.last_message is not None:
                yield ("Regenerate", "Write the last answer again (ctrl+r)", self.action_regenerate)
            yield ("Save transcript", "Write the conversation to a file (ctrl+s)", self.action_save)
            yield ("New chat", "Forget the conversation (ctrl+n)", self.action_new_chat)
        yield ("Toggle settings", "Show or hide the settings panel (ctrl+o)", self.action_toggle_panel)
        yield (
            "Toggle copy check",
            "Mark spans of answers copied verbatim from the training text (on: 40+ characters)",
            self.action_toggle_copies,
        )
