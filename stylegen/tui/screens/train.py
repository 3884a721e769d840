"""The Train screen: choose a corpus, a model and limits; watch the run; stop it and resume it.

The run is a child process (`_training.TrainProcess`): its JSON events arrive as messages,
so the screen stays responsive and a crash in training only ends the run. Each validation
event carries a short sample that the model in training wrote; the screen shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, ProgressBar, Select, Static

from stylegen.tui._data import scan_corpora, style_names
from stylegen.tui._format import duration
from stylegen.tui._shared import Shared, StylesChanged, TrainingBadge
from stylegen.tui._training import TrainOptions, TrainProcess, ending, failure, has_checkpoint
from stylegen.tui.screens.base import AppScreen, PaletteCommand
from stylegen.tui.widgets import LossPlot

IDLE = "Choose a corpus and the model, then Start (ctrl+t). Training runs in its own process."
FROM_SCRATCH = ""  # the "Start from" choice: no style, new weights
PRESET_MODEL = "*"  # the "Model" and "Optimizer" choice: whatever the preset has (no --model, --optimizer)
NO_CORPUS = "No corpora yet: build one on the Corpus screen (F4) first."


def _from_options(names: list[str]) -> list[tuple[str, str]]:
    """The "Start from" choices: new weights, or one of the styles `names`."""
    return [("nothing (new weights)", FROM_SCRATCH), *((n, n) for n in names)]


def presets() -> list[str]:
    """The presets `stylegen train --preset` offers."""
    from stylegen import PRESETS

    return list(PRESETS)


class TrainScreen(AppScreen):
    MODE = "train"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "start", "Start"),
        Binding("ctrl+s", "stop", "Stop"),
        Binding("ctrl+r", "resume", "Resume"),
    ]

    class Event(Message):
        def __init__(self, run: int, event: Mapping[str, Any]) -> None:
            super().__init__()
            self.run, self.event = run, event

    class Exited(Message):
        def __init__(self, run: int, code: int, stderr_tail: list[str]) -> None:
            super().__init__()
            self.run, self.code, self.stderr_tail = run, code, stderr_tail

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__(shared)
        self.process: TrainProcess | None = None
        self.run_id = 0
        self.options: TrainOptions | None = None
        self.ended: Mapping[str, Any] | None = None
        self.best_bpc: float | None = None
        self._name_edited = False
        self._prefill: tuple[str | None, str | None] = (None, None)
        self.corpus_names: list[str] = []
        self.quit_requested = False  # the app quits when the run has ended

    # --- layout ---------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        from stylegen import plugin_registry

        reg = plugin_registry()
        preset_names = presets()
        with Horizontal(id="train-body"):
            with Vertical(id="train-form", classes="side-panel"):
                with VerticalScroll(id="train-fields", classes="form-fields"):
                    yield Label("Corpus", classes="field-label")
                    yield Select([], prompt="choose a corpus", compact=True, id="train-corpus")
                    yield Label("Style name", classes="field-label")
                    yield Input(placeholder="the corpus name", compact=True, id="train-name")
                    if preset_names:
                        yield Label("Preset", classes="field-label")
                        choices = [("auto", "auto"), *((p, p) for p in preset_names)]
                        yield Select(
                            [*choices, ("none", "none")],
                            value="auto",
                            allow_blank=False,
                            compact=True,
                            id="train-preset",
                        )
                        yield Static("", id="train-preset-note", classes="field-note", markup=False)
                    yield Label("Start from", classes="field-label")
                    yield Select(
                        _from_options(style_names()),
                        value=FROM_SCRATCH,
                        allow_blank=False,
                        compact=True,
                        id="train-from",
                    )
                    yield Label("Model", classes="field-label")
                    models = reg.names("model")
                    yield Select(
                        [("the preset's", PRESET_MODEL), *((m, m) for m in models)],
                        value=PRESET_MODEL,
                        allow_blank=False,
                        compact=True,
                        id="train-model",
                    )
                    yield Label("Tokenizer", classes="field-label")
                    tokenizers = reg.names("tokenizer")
                    yield Select(
                        [(t, t) for t in tokenizers],
                        value="char" if "char" in tokenizers else tokenizers[0],
                        allow_blank=False,
                        compact=True,
                        id="train-tokenizer",
                    )
                    yield Label("Layers · hidden size", classes="field-label")
                    with Horizontal(classes="pair"):
                        yield Input(placeholder="2", type="integer", compact=True, valid_empty=True, id="train-layers")
                        yield Input(
                            placeholder="256", type="integer", compact=True, valid_empty=True, id="train-hidden"
                        )
                    yield Label("Time limit (minutes)", classes="field-label")
                    yield Input(
                        "5", placeholder="none", type="number", compact=True, valid_empty=True, id="train-minutes"
                    )
                    yield Label("Step limit", classes="field-label")
                    yield Input(placeholder="none", type="integer", compact=True, valid_empty=True, id="train-steps")
                    yield Label("Validate every (steps)", classes="field-label")
                    yield Input(placeholder="200", type="integer", compact=True, valid_empty=True, id="train-eval")
                    yield Label("Weight average (EMA decay)", classes="field-label")
                    yield Input(
                        placeholder="the preset's", type="number", compact=True, valid_empty=True, id="train-ema"
                    )
                    yield Label("Locked dropout", classes="field-label")
                    yield Input(
                        placeholder="the preset's (cpu: adapts to the run)",
                        type="number",
                        compact=True,
                        valid_empty=True,
                        id="train-locked",
                    )
                    yield Label("Optimizer", classes="field-label")
                    yield Select(
                        [("the preset's", PRESET_MODEL), ("adamw", "adamw"), ("muon (hidden matrices)", "muon")],
                        value=PRESET_MODEL,
                        allow_blank=False,
                        compact=True,
                        id="train-optimizer",
                    )
                    yield Label("Batch · sequence length", classes="field-label")
                    with Horizontal(classes="pair"):
                        yield Input(placeholder="64", type="integer", compact=True, valid_empty=True, id="train-batch")
                        yield Input(placeholder="128", type="integer", compact=True, valid_empty=True, id="train-seq")
                    yield Label("Device", classes="field-label")
                    yield Select(
                        [(d, d) for d in ("auto", "cpu", "cuda")],
                        value="auto",
                        allow_blank=False,
                        compact=True,
                        id="train-device",
                    )
                    yield Checkbox("replace if it exists", compact=True, id="train-force")
                # The actions stay in view however short the terminal: the fields above scroll.
                with Horizontal(classes="buttons"):
                    yield Button("Start", variant="primary", id="train-start")
                    yield Button("Stop", variant="error", id="train-stop", disabled=True)
                    yield Button("Resume", id="train-resume", disabled=True)
            with Vertical(id="train-live"):
                yield Static(IDLE, id="train-status", classes="screen-title", markup=False)
                yield ProgressBar(total=100, show_eta=False, id="train-progress")
                yield Static("", id="train-stats", classes="status-line", markup=False)
                yield LossPlot(id="train-plot")
                yield Label("Sample", classes="field-label")
                with VerticalScroll(id="train-sample-box"):
                    yield Static("(the model writes a sample at each validation)", id="train-sample", markup=False)

    def on_mount(self) -> None:
        self._fill_corpora()
        corpus, style = self._prefill
        if corpus or style:
            self.prefill(corpus=corpus, style=style)
        self._update_buttons()
        self.query_one("#train-corpus", Select).focus()  # a field, not the scrolling form

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self._fill_corpora()
            self._fill_styles()

    def _fill_styles(self) -> None:
        """The styles a run may start from (--from), the choice kept while it still exists."""
        select: Select[str] = self.query_one("#train-from", Select)
        current, names = select.value, style_names()
        with self.prevent(Select.Changed):
            select.set_options(_from_options(names))
            select.value = current if current in names else FROM_SCRATCH
        if select.value == FROM_SCRATCH:
            self.query_one("#train-model", Select).disabled = False

    def corpora_changed(self) -> None:
        if self.is_mounted:
            self._fill_corpora()

    def _fill_corpora(self) -> None:
        corpora, _ = scan_corpora()
        names = self.corpus_names = [c.name for c in corpora]
        select: Select[str] = self.query_one("#train-corpus", Select)
        current = select.value
        with self.prevent(Select.Changed):
            select.set_options([(n, n) for n in names])
            if current in names:
                select.value = current
            elif len(names) == 1:
                select.value = names[0]
                self._suggest_name(names[0])
        self._show_preset()
        if not names and self.process is None:
            self._status(NO_CORPUS)
        elif names and str(self.query_one("#train-status", Static).render()) == NO_CORPUS:
            self._status(IDLE)

    def prefill(self, corpus: str | None = None, style: str | None = None) -> None:
        """Open with `corpus` chosen and `style` as the name (from the Styles or Corpus screen)."""
        if not self.is_mounted:
            self._prefill = (corpus, style)
            return
        self._fill_corpora()
        if corpus is not None:
            select: Select[str] = self.query_one("#train-corpus", Select)
            if corpus in self.corpus_names:
                select.value = corpus
        if style is not None:
            self.query_one("#train-name", Input).value = style
            self._name_edited = True
        self._update_buttons()

    def _suggest_name(self, corpus: str) -> None:
        if not self._name_edited:
            field = self.query_one("#train-name", Input)
            with self.prevent(Input.Changed):
                field.value = corpus
            self._update_buttons()

    @on(Select.Changed, "#train-corpus")
    def _corpus_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._suggest_name(event.value)
        self._show_preset()

    @on(Select.Changed, "#train-preset")
    @on(Select.Changed, "#train-device")
    def _show_preset(self) -> None:
        """Under the preset: what `auto` picks for this corpus and device (the run says it too)."""
        if not self.query("#train-preset-note"):
            return
        note = self.query_one("#train-preset-note", Static)
        corpus = self.query_one("#train-corpus", Select).value
        if self.query_one("#train-preset", Select).value != "auto" or not isinstance(corpus, str):
            note.update("")
            return
        from stylegen import auto_preset
        from stylegen.errors import StylegenError

        try:
            name, why, _ = auto_preset(corpus, str(self.query_one("#train-device", Select).value))
        except StylegenError as e:
            note.update(str(e))
            return
        note.update(f"auto picks {name}: {why}")

    @on(Input.Changed, "#train-name")
    def _name_changed(self) -> None:
        self._name_edited = True
        self._update_buttons()

    # --- the form -------------------------------------------------------------------------------------
    def _number(self, id: str, kind: type, what: str) -> Any:
        text = self.query_one(f"#{id}", Input).value.strip()
        if not text:
            return None
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{what} must be a {'whole ' if kind is int else ''}number") from None
        if value <= 0:
            raise ValueError(f"{what} must be more than 0")
        return value

    def _fraction(self, id: str, what: str, example: str) -> float | None:
        """A field that takes 0 (off) up to below 1, e.g. the EMA decay; empty: None."""
        text = self.query_one(f"#{id}", Input).value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{what} must be a number") from None
        if not 0 <= value < 1:
            raise ValueError(f"{what} must be from 0 (off) to below 1, e.g. {example}")
        return value

    @on(Select.Changed, "#train-from")
    def _start_from(self, event: Select.Changed) -> None:
        """A run that starts from a style takes its model: the Model field does not apply."""
        model = self.query_one("#train-model", Select)
        model.disabled = event.value != FROM_SCRATCH
        if model.disabled:
            model.value = PRESET_MODEL

    def _options(self) -> TrainOptions | str:
        corpus = self.query_one("#train-corpus", Select).value
        if not isinstance(corpus, str):
            return "choose a corpus (build one on the Corpus screen, F4)"
        name = self.query_one("#train-name", Input).value.strip() or corpus
        preset: Any = None
        if self.query("#train-preset"):
            preset = self.query_one("#train-preset", Select).value
        model = self.query_one("#train-model", Select).value
        optimizer = self.query_one("#train-optimizer", Select).value
        start = self.query_one("#train-from", Select).value
        try:
            return TrainOptions(
                corpus=corpus,
                name=name,
                model=None if model == PRESET_MODEL else str(model),
                init_from=None if start == FROM_SCRATCH else str(start),
                ema=self._fraction("train-ema", "the EMA decay", "0.998"),
                locked_dropout=self._fraction("train-locked", "the locked dropout", "0.1"),
                optimizer=None if optimizer == PRESET_MODEL else str(optimizer),
                tokenizer=str(self.query_one("#train-tokenizer", Select).value),
                preset=preset if isinstance(preset, str) else None,
                layers=self._number("train-layers", int, "layers"),
                hidden=self._number("train-hidden", int, "hidden size"),
                max_minutes=self._number("train-minutes", float, "the time limit"),
                max_steps=self._number("train-steps", int, "the step limit"),
                eval_every=self._number("train-eval", int, "validate every"),
                batch_size=self._number("train-batch", int, "batch"),
                seq_len=self._number("train-seq", int, "sequence length"),
                device=str(self.query_one("#train-device", Select).value),
                force=self.query_one("#train-force", Checkbox).value,
            )
        except ValueError as e:
            return str(e)

    # --- running ------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    @on(Button.Pressed, "#train-start")
    def action_start(self) -> None:
        if self.running:
            return
        options = self._options()
        if isinstance(options, str):
            self._status(options)
            return
        from stylegen import read_meta
        from stylegen.errors import StylegenError

        if not options.force:
            try:
                read_meta(options.name)
            except StylegenError:
                pass
            else:
                self._status(
                    f"style {options.name} exists: Resume (ctrl+r) continues it, "
                    "or tick 'replace an existing style' to train it anew"
                )
                return
        self._launch(options, resume=False)

    @on(Button.Pressed, "#train-resume")
    def action_resume(self) -> None:
        if self.running:
            return
        options = self._options()
        if isinstance(options, str):
            name = self.query_one("#train-name", Input).value.strip()
            if not name:
                self._status(options)
                return
            options = TrainOptions(corpus="", name=name)
        from stylegen import read_meta
        from stylegen.errors import StylegenError

        try:
            options.corpus = read_meta(options.name).corpus.name  # a run resumes on its own corpus
        except StylegenError:
            pass
        if not options.corpus or not has_checkpoint(options.name):
            self._status(f"style {options.name} has no checkpoint to resume")
            return
        self._launch(options, resume=True)

    def _launch(self, options: TrainOptions, resume: bool) -> None:
        self.run_id += 1
        run = self.run_id
        self.options, self.ended = options, None
        if not resume:
            self.query_one(LossPlot).reset()
            self.best_bpc = None
            self.query_one("#train-sample", Static).update("(the model writes a sample at each validation)")
        self.query_one("#train-progress", ProgressBar).update(progress=0)
        self.query_one("#train-stats", Static).update("")
        verb = "resuming" if resume else "starting"
        self._status(f"{verb} {options.name} on {options.corpus}…")
        try:
            self.process = TrainProcess(
                options.args(resume=resume),
                on_event=lambda event: self.post_message(self.Event(run, event)),
                on_exit=lambda code, tail: self.post_message(self.Exited(run, code, tail)),
            )
        except OSError as e:
            self._status(f"cannot start training: {e}")
            return
        self.post_message(TrainingBadge(f"● {options.name}"))
        self._update_buttons()

    @on(Button.Pressed, "#train-stop")
    def action_stop(self) -> None:
        if self.process is not None and self.running:
            self.process.stop()
            self._status(
                f"stopping {self.options.name if self.options else ''} after this step (a checkpoint is kept)…"
            )
            self._update_buttons()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def on_unmount(self) -> None:
        """The app is closing: a run still going is stopped, and given time to write its checkpoint."""
        if self.process is not None and self.running:
            self.process.stop()
            self.process.wait(timeout=60)

    def on_train_screen_event(self, message: Event) -> None:
        if message.run != self.run_id:
            return
        e = message.event
        kind = e.get("event")
        if kind == "start":
            where = "resumed at step {}".format(e.get("step")) if e.get("resumed") else "started"
            self._status(
                f"{e.get('style')}: {e.get('model')} with {int(e.get('params', 0)):,} parameters on {e.get('device')}, "
                f"{int(e.get('train_tokens', 0)):,} training tokens; {where}"
            )
        elif kind == "step":
            progress = float(e.get("progress") or 0.0)
            self.query_one("#train-progress", ProgressBar).update(progress=100 * progress)
            total = f"/{e['max_steps']}" if e.get("max_steps") else ""
            eta = f" · ETA {duration(e['eta'])}" if e.get("eta") is not None else ""
            self.query_one("#train-stats", Static).update(
                f"step {e.get('step')}{total} · epoch {int(e.get('epoch', 0)) + 1} · loss {float(e.get('loss', 0)):.4f} · "
                f"{float(e.get('tokens_per_s', 0)) / 1000:.1f}k tok/s{eta}"
            )
            self.query_one(LossPlot).add_train(float(e.get("loss", 0)))
            if self.options is not None:
                self.post_message(TrainingBadge(f"● {self.options.name} {100 * progress:.0f}%"))
        elif kind == "eval":
            self.query_one(LossPlot).add_val(float(e.get("val_loss", 0)), e.get("val_bpc"))
            if e.get("best"):
                self.best_bpc = float(e["val_bpc"])
            if e.get("sample"):
                best = " (best so far)" if e.get("best") else ""
                self.query_one("#train-sample", Static).update(f"step {e.get('step')}{best}:\n{e['sample']}")
        elif kind == "end":
            self.ended = e
            self._status(ending(e))
            # The run is over however it ended: a full bar, and the last figures without an ETA.
            self.query_one("#train-progress", ProgressBar).update(progress=100)
            stats = self.query_one("#train-stats", Static)
            stats.update(str(stats.render()).split(" · ETA ")[0])

    def on_train_screen_exited(self, message: Exited) -> None:
        if message.run != self.run_id:
            return
        self.post_message(TrainingBadge(""))
        if message.code != 0:
            self._status(f"training failed: {failure(message.code, message.stderr_tail)}")
            self.notify("training failed; the last checkpoint is kept", severity="error")
        elif self.ended is None:
            self._status("training ended without a report")
        elif self.options is not None:
            resume = " (ctrl+r resumes)" if self.ended.get("reason") == "stopped" else ""
            self.notify(f"style {self.options.name} is ready{resume}")
        self._update_buttons()
        self.post_message(StylesChanged())
        if self.quit_requested:
            self.app.exit()

    # --- state of the controls ----------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        self.query_one("#train-status", Static).update(text)

    def _update_buttons(self) -> None:
        running = self.running
        stopping = running and self.process is not None and self.process.stopping
        name = self.query_one("#train-name", Input).value.strip()
        corpus = self.query_one("#train-corpus", Select).value
        name = name or (corpus if isinstance(corpus, str) else "")
        self.query_one("#train-start", Button).disabled = running
        self.query_one("#train-stop", Button).disabled = not running or stopping
        self.query_one("#train-resume", Button).disabled = running or not (name and has_checkpoint(name))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return None if self.running else True
        if action == "stop":
            return True if self.running else None
        if action == "resume":
            buttons = self.query("#train-resume")
            return True if buttons and not buttons.first(Button).disabled else None
        return True

    def palette_commands(self) -> Iterable[PaletteCommand]:
        if self.running:
            yield ("Stop training", "Stop after this step, keeping a checkpoint (ctrl+s)", self.action_stop)
        else:
            yield ("Start training", "Train a style with the form's settings (ctrl+t)", self.action_start)
            yield ("Resume training", "Continue the named style from its checkpoint (ctrl+r)", self.action_resume)
