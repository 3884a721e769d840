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
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, Input, Label, Select, Static

from stylegen.errors import PluginError, StylegenError, one_line
from stylegen.tui import _copies, _streaming
from stylegen.tui._format import style_summary
from stylegen.tui._shared import Shared
from stylegen.tui.screens._writing import WritingScreen
from stylegen.tui.screens.base import PaletteCommand
from stylegen.tui.widgets import CopyCheckPanel, PenaltiesPanel, SamplerPanel, Transcript, TurnView

ANYONE = "*"  # the "who answers" choice: whoever the model writes next
NO_STYLE = "No style chosen. Pick one on the Styles screen (F1), or build a corpus (F4) and train one (F5)."


class ChatScreen(WritingScreen):
    STYLE_SELECT = "#style-select"
    MODE = "chat"
    PREFIX = "chat"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("ctrl+o", "toggle_panel", "Settings"),
        Binding("ctrl+l", "to_message", "Message"),
    ]

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__(shared)
        self.session: Any = None
        self.max_tokens: int | None = None  # None: the style's own default (from its corpus's turns)
        self.session_lock = threading.Lock()  # one answer at a time uses the session
        self.view: TurnView | None = None  # the answer being written
        self.pending: str | None = None  # a message typed while the style was loading
        self.last_message: str | None = None
        self.snap: Any = None
        self.fell_back: str | None = None  # the sampler the session fell back to after a failing one

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
                yield Checkbox("adapt to this chat", compact=True, id="chat-adapt",
                               tooltip="Dynamic evaluation: after each turn a copy of the weights learns from it "
                               "(the style is not changed); float32 weights only")  # fmt: skip
                yield Label("Max length (tokens)", classes="field-label")
                yield Input(placeholder="from the corpus", type="integer", compact=True, id="max-length")
                yield from self.compose_settings()

    def on_mount(self) -> None:
        self.query_one("#turns-box").display = False
        self.query_one("#message", Input).focus()
        if self.style_name is not None and self.style is None:
            self._start_loading(self.style_name)  # fills the style selector too
        else:
            self._fill_styles()

    # --- loading a style ---------------------------------------------------------------------------
    def open_style(self, name: str) -> None:
        """Chat with style `name` (loaded in the background); the same style keeps its conversation."""
        super().open_style(name)
        if self.style is None:
            self.session = None

    def _load_style(self, name: str) -> Any:
        """Without torch where it can (stylegen/torchless.py): ready to chat in a fraction of the
        time. Adapting needs torch from the start; a sampler plugin or saving the state later
        hands the conversation over to it (`ChatSession.use_torch`)."""
        if getattr(self, "_adapting_at_load", False):
            return self.shared.loader.load(name)
        return self.shared.loader.load_light(name, self.sampler)

    def _loading(self, name: str) -> None:
        self._adapting_at_load = self.query_one("#chat-adapt", Checkbox).value  # read here, in the UI thread
        self.query_one(Transcript).clear()
        self.query_one(Transcript).set_empty_text(f"Loading {name}…")

    def _load_failed(self, text: str) -> None:
        self.query_one(Transcript).set_empty_text(text)
        self.pending = None

    def _ready(self, style: Any) -> None:
        self._new_session(style)
        pending, self.pending = self.pending, None
        if pending is not None:
            self._answer(pending)

    def _new_session(self, style: Any) -> None:
        from stylegen import ChatSession

        self.style = style
        self.session = ChatSession(
            style,
            sampler=self.sampler,
            params=self.params,
            seed=self.shared.seed,
            max_tokens=self.max_tokens,
            penalties=self.query_one(PenaltiesPanel).penalties,
            adapt=self.query_one("#chat-adapt", Checkbox).value and style.precision == "fp32",
        )
        self._title(style_summary(style.meta))
        self.query_one(CopyCheckPanel).set_style(style)
        if self.max_tokens is None:  # not set by the user: show this style's default cap
            with self.prevent(Input.Changed):
                self.query_one("#max-length", Input).value = str(self.session.max_tokens)
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
        self._hint()
        self.refresh_bindings()

    def _hint(self) -> None:
        """What the empty chat says: the style, who you speak as (as it is now), the keys."""
        if self.session is None or self.style_name is None:
            return
        fmt = self.session.format
        who = f" You speak as {self.session.user}." if fmt.has_turns else " It continues your text."
        self.query_one(Transcript).set_empty_text(
            f"Say something to {self.style_name}.{who} Enter sends, Esc stops an answer, "
            "ctrl+r writes the last answer again, ctrl+o shows the settings, ctrl+l goes back here."
        )

    def action_to_message(self) -> None:
        """Back to the message box, wherever the focus is."""
        self.query_one("#message", Input).focus()

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
        self.run += 1
        self.writing = True
        self.cancel = threading.Event()
        self.last_message = message
        self.refresh_bindings()
        self._write(self.run, message, again, self.cancel)

    @work(thread=True, group="answer", exit_on_error=False)
    def _write(self, run: int, message: str, again: bool, cancel: threading.Event) -> None:
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
                    self.post_message(self.Chunk(run, text, session.speaker))
            except PluginError as e:  # as the REPL does: the conversation as before, the sampler replaced
                failed = session.sampler
                instead = session.recover(self.snap, e) if self.snap is not None else None
                error = f"{one_line(e)}; the message was not added (send it again)"
                if instead:
                    error += f", sampler {failed!r} replaced by {instead!r}"
                    self.fell_back = instead  # the panel follows when the answer is done
            except Exception as e:  # shown in the conversation; the app goes on
                error = one_line(e)
        self.post_message(self.Done(run, error, session.speaker))

    @on(WritingScreen.Chunk)
    def _chunk(self, message: WritingScreen.Chunk) -> None:
        if message.run != self.run or not self.writing or self.view is None:
            return  # stopped, or an older answer
        transcript = self.query_one(Transcript)
        following = transcript.following()
        if message.speaker:
            self.view.set_speaker(message.speaker)
        self.view.append(message.text)
        transcript.follow(following)

    @on(WritingScreen.Done)
    def _done(self, message: WritingScreen.Done) -> None:
        if message.run != self.run or self.view is None:
            return
        if message.speaker:
            self.view.set_speaker(message.speaker)
        if message.error is not None:
            self.view.set_note(f"error: {message.error}")
            fell_back, self.fell_back = self.fell_back, None
            if fell_back:  # the session went back to an earlier sampler: the panel shows it
                self.query_one(SamplerPanel).query_one("#sampler-name", Select).value = fell_back
        elif self.writing:
            self.view.set_note("")
        self.writing = False
        self.refresh_bindings()
        if self.session is not None and self.session.adapt != self.query_one("#chat-adapt", Checkbox).value:
            self._apply_adapt()  # the box changed while the answer was being written
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

    @on(WritingScreen.Copies)
    def _copies_found(self, message: WritingScreen.Copies) -> None:
        view = message.key
        assert isinstance(view, TurnView)
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

    # --- actions ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return True if self.writing else None
        if action == "regenerate":
            return True if self.session is not None and self.last_message is not None else None
        if action in ("save", "new_chat"):
            return True if self.session is not None else None
        return True

    def _stopped(self) -> None:
        if self.view is not None:
            self.view.set_note("stopped")

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
        self._save_dialog("Save the transcript to", default, self.session.save_transcript, "transcript saved to")

    # --- settings ------------------------------------------------------------------------------------
    @on(SamplerPanel.Changed)
    def _session_sampler(self, event: SamplerPanel.Changed) -> None:
        if self.session is not None:
            self.session.set_sampler(event.sampler, event.params)

    @on(PenaltiesPanel.Changed)
    def _penalties_changed(self, event: PenaltiesPanel.Changed) -> None:
        if self.session is not None:
            for name, value in event.penalties.as_dict().items():
                self.session.set_penalty(name, value)

    @on(Checkbox.Changed, "#chat-adapt")
    def _adapt_changed(self, event: Checkbox.Changed) -> None:
        self._apply_adapt()

    def _apply_adapt(self) -> None:
        """The session adapts as the box says; while an answer is being written, once it is
        done (`_done` calls this again): the UI never waits for the answer's lock."""
        box = self.query_one("#chat-adapt", Checkbox)
        if self.session is None or not self.session_lock.acquire(blocking=False):
            return  # the session, when it comes, reads the box; a running answer: after it
        try:
            self.session.set_adapt(box.value)
        except StylegenError as e:
            self.notify(one_line(e), severity="warning")
            with self.prevent(Checkbox.Changed):
                box.value = False
        finally:
            self.session_lock.release()

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
            self._hint()

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
        yield from self.copy_check_command("answers")
