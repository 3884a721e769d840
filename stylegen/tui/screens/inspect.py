"""The Inspect screen: a text coloured by one neuron of a style's model, and neuron search.

The model reads the text once, in a worker thread (`_inspecting.Reader`); the activations
are kept, so choosing another layer, neuron or kind, or searching, only recolours. A search
(a regular expression, or a built-in feature of the text) ranks every neuron of the chosen
kind by its correlation with the target; the best is shown, and moving through the list
shows the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from stylegen.errors import one_line
from stylegen.tui._data import scan_styles
from stylegen.tui._format import style_summary
from stylegen.tui._inspecting import Colouring, Reader, Request, default_text
from stylegen.tui._shared import Shared
from stylegen.tui.screens.base import AppScreen, PaletteCommand

NO_STYLE = "No style chosen. Pick one in the panel, or train one (F5)."
#: `stylegen.inspect.FEATURES`' names, spelled out: this module imports no numpy.
FEATURE_NAMES = ("in-quotes", "line-position", "indent-depth")


class InspectScreen(AppScreen):
    STYLE_SELECT = "#insp-style"
    MODE = "inspect"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "colour", "Colour"),
        Binding("ctrl+f", "search", "Search"),
        Binding("ctrl+n", "new_text", "New text"),
        Binding("ctrl+o", "toggle_panel", "Settings"),
    ]

    class Loaded(Message):
        def __init__(self, name: str, style: Any, text: tuple[str, str] | None, error: str | None) -> None:
            super().__init__()
            self.name, self.style, self.text, self.error = name, style, text, error

    class Result(Message):
        def __init__(self, request: Request, result: Colouring | None, error: str | None) -> None:
            super().__init__()
            self.request, self.result, self.error = request, result, error

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__(shared)
        self.style_name: str | None = None
        self.style: Any = None
        self.load_error: str | None = None
        self.text_seed = 0
        self.default: str | None = None  # the default text shown, while it is not edited
        self.source = ""  # where the text is from
        self.requests = 0
        self.result: Colouring | None = None  # the last one shown
        self.scores: list[Any] = []  # the last search's neurons, best first
        self.search_label = ""
        self.kinds: tuple[str, ...] = ()
        self.shape: tuple[int, int] | None = None  # layers, neurons per layer (of the kind shown)
        self.computed_text: str | None = None
        self.reader = Reader()  # runs the model, keeping the last text's activations

    # --- layout ---------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        with Horizontal(id="insp-body"):
            with Vertical(id="insp-main"):
                yield Static(NO_STYLE, id="insp-title", classes="screen-title", markup=False)
                yield Static("", id="insp-source", classes="hint", markup=False)
                yield TextArea(
                    "",
                    soft_wrap=True,
                    compact=True,
                    highlight_cursor_line=False,
                    placeholder="Type or paste a text; ctrl+r colours it",
                    id="insp-text",
                )
                with VerticalScroll(id="insp-view-box"):
                    yield Static("", id="insp-view", markup=False)
                yield Static("", id="insp-status", classes="status-line", markup=False)
            with VerticalScroll(id="insp-panel", classes="side-panel"):
                yield Label("Style", classes="field-label")
                yield Select([], prompt="choose a style", compact=True, id="insp-style")
                yield Label("Kind", classes="field-label")
                yield Select([], prompt="kind", compact=True, id="insp-kind")
                yield Label("Layer · neuron", classes="field-label")
                with Horizontal(classes="pair"):
                    yield Input("0", type="integer", compact=True, id="insp-layer", tooltip="the layer, from 0")
                    yield Input("0", type="integer", compact=True, id="insp-neuron", tooltip="the neuron, from 0")
                yield Label("Search: a pattern (Enter)", classes="field-label")
                yield Input(placeholder="regex, e.g. the|and", compact=True, id="insp-pattern")
                yield Select(
                    [(name, name) for name in FEATURE_NAMES], prompt="or a feature", compact=True, id="insp-feature"
                )
                yield Label("Top neurons (layer:neuron)", classes="field-label")
                yield OptionList(id="insp-results", compact=True, markup=False)
                yield Static(
                    "r: Pearson correlation with the search target; a negative r is as good as a positive one",
                    classes="hint",
                    id="insp-results-hint",
                    markup=False,
                )

    def on_mount(self) -> None:
        self.query_one("#insp-results").display = False
        self.query_one("#insp-results-hint").display = False
        self.query_one("#insp-view-box").focus()
        if self.style_name is None:
            self.style_name = self._current_style()
        self._fill_styles()
        if self.style_name is not None:
            self._start_loading(self.style_name)
        else:
            self._status(NO_STYLE)

    def _current_style(self) -> str | None:
        """The style of the Chat or Generate screen, else the first style there is."""
        for mode in ("chat", "generate"):
            name = self.shared.style_shown(mode)
            if name:
                return name
        names = [m.name for m in scan_styles()[0]]
        return names[0] if names else None

    def style_deleted(self, name: str) -> None:
        if name == self.style_name:
            self.style_name, self.style = None, None
            self.reader.forget()
            if self.is_mounted:
                self._title(NO_STYLE)
                self._fill_styles()

    # --- loading a style -----------------------------------------------------------------------
    def _start_loading(self, name: str) -> None:
        self._title(f"{name} · loading…")
        self._status(f"loading {name}…")
        self._fill_styles()
        text = self.query_one("#insp-text", TextArea).text
        needs_text = not text.strip() or text == self.default
        self._load(name, needs_text, self.text_seed)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, name: str, needs_text: bool, seed: int) -> None:
        try:
            style = self.shared.loader.load(name)
            text = default_text(style, seed) if needs_text else None
        except Exception as e:  # any failure is shown, and the app goes on
            self.post_message(self.Loaded(name, None, None, one_line(e)))
            return
        self.post_message(self.Loaded(name, style, text, None))

    def on_inspect_screen_loaded(self, message: Loaded) -> None:
        if message.name != self.style_name:
            return
        if message.error is not None:
            self.load_error = message.error
            self._title(f"{message.name} · cannot be loaded")
            self._status(f"Style {message.name} cannot be loaded: {message.error}")
            self.notify(f"{message.name}: {message.error}", severity="error", timeout=8)
            return
        self.style = message.style
        self._title(style_summary(self.style.meta))
        if message.text is not None:
            self._set_text(*message.text)
        self.refresh_bindings()
        self.action_colour()

    def _set_text(self, text: str, source: str) -> None:
        self.default, self.source = text, source
        area = self.query_one("#insp-text", TextArea)
        with self.prevent(TextArea.Changed):
            area.load_text(text)
        self._source(f"Text: {source}")

    def _source(self, text: str) -> None:
        self.query_one("#insp-source", Static).update(text)

    def _title(self, text: str) -> None:
        self.query_one("#insp-title", Static).update(text)

    def _status(self, text: str) -> None:
        self.query_one("#insp-status", Static).update(text)

    # --- computing --------------------------------------------------------------------------------
    def _neuron_fields(self) -> tuple[int, int] | None:
        """Layer and neuron from the panel (marked when not a number or out of range)."""
        values: list[int] = []
        for selector, bound in (("#insp-layer", 0), ("#insp-neuron", 1)):
            field = self.query_one(selector, Input)
            what = "layer" if bound == 0 else "neuron"
            try:
                value = int(field.value)
            except ValueError:
                field.add_class("-invalid")
                self._status(f"{what}: a number is needed")
                return None
            limit = self.shape[bound] if self.shape is not None else None
            if value < 0 or (limit is not None and value >= limit):
                field.add_class("-invalid")
                hint = f": the {what}s are 0-{limit - 1}" if limit is not None else ""
                self._status(f"{what} {value} is out of range{hint}")
                return None
            field.remove_class("-invalid")
            values.append(value)
        return values[0], values[1]

    def _kind(self) -> str | None:
        value = self.query_one("#insp-kind", Select).value
        return value if isinstance(value, str) else None

    def _submit(self, pattern: str | None = None, feature: str | None = None) -> None:
        if self.style_name is None:
            self.notify("choose a style first", severity="warning")
            return
        if self.load_error is not None:
            self.notify(f"{self.style_name} cannot be loaded: {self.load_error}", severity="error")
            return
        if self.style is None:
            return  # loading: it colours the text when it is there
        text = self.query_one("#insp-text", TextArea).text
        if not text.strip():
            self._status("the text is empty: type or paste one (ctrl+n: the default text)")
            return
        searching = pattern is not None or feature is not None
        fields = (0, 0) if searching else self._neuron_fields()
        if fields is None:
            return
        self.requests += 1
        request = Request(self.requests, text, self._kind(), *fields, pattern=pattern, feature=feature)
        self._status("reading the text with the model…" if text != self.computed_text else "colouring…")
        self._compute(self.style, request)

    @work(thread=True, group="compute", exit_on_error=False)
    def _compute(self, style: Any, request: Request) -> None:
        try:
            result = self.reader.colour(style, request)
        except Exception as e:  # a StylegenError is a one-line reason; anything else too
            self.post_message(self.Result(request, None, one_line(e)))
            return
        self.post_message(self.Result(request, result, None))

    def on_inspect_screen_result(self, message: Result) -> None:
        if message.request.number != self.requests:
            return  # a newer request is on its way
        if message.error is not None or message.result is None:
            self._status(f"error: {message.error}")
            if message.request.pattern is not None:
                self.query_one("#insp-pattern", Input).add_class("-invalid")
            return
        result = self.result = message.result
        self.computed_text = message.request.text
        self.shape = result.shape
        if result.kinds != self.kinds:
            self.kinds = result.kinds
            kind_select: Select[str] = self.query_one("#insp-kind", Select)
            with self.prevent(Select.Changed):
                kind_select.set_options([(k, k) for k in self.kinds])
        kind_select = self.query_one("#insp-kind", Select)
        if kind_select.value != result.kind:
            with self.prevent(Select.Changed):
                kind_select.value = result.kind
        for selector, value in (("#insp-layer", result.layer), ("#insp-neuron", result.neuron)):
            field = self.query_one(selector, Input)
            field.remove_class("-invalid")
            if field.value != str(value):
                with self.prevent(Input.Changed):
                    field.value = str(value)
        if result.scores is not None:
            self.query_one("#insp-pattern", Input).remove_class("-invalid")
            self._show_scores(result.scores, str(result.search))
        self.query_one("#insp-view", Static).update(result.rendered)
        score = next((s for s in self.scores if (s.layer, s.neuron) == (result.layer, result.neuron)), None)
        self._status(result.describe(score, self.search_label))

    def _show_scores(self, scores: list[Any], label: str) -> None:
        self.scores, self.search_label = scores, label
        results = self.query_one("#insp-results", OptionList)
        results.clear_options()
        results.add_options(
            Option(f"{i + 1:>2}. {s.layer}:{s.neuron:<5} r {s.r:+.3f}", id=f"{s.layer}:{s.neuron}")
            for i, s in enumerate(scores)
        )
        with self.prevent(OptionList.OptionHighlighted):
            results.highlighted = 0
        results.display = True
        self.query_one("#insp-results-hint").display = True

    # --- actions ---------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("colour", "search", "new_text"):
            return True if self.style is not None else None
        return True

    def action_colour(self) -> None:
        """Colour the text (read again by the model when it was edited) by the chosen neuron."""
        self._submit()

    def action_search(self) -> None:
        """Search with the pattern, or else the chosen feature."""
        pattern = self.query_one("#insp-pattern", Input).value
        feature = self.query_one("#insp-feature", Select).value
        if pattern:
            self._submit(pattern=pattern)
        elif isinstance(feature, str):
            self._submit(feature=feature)
        else:
            self.notify("type a pattern (a regular expression) or choose a feature to search for", severity="warning")
            self.query_one("#insp-pattern", Input).focus()

    def action_new_text(self) -> None:
        """Another excerpt of the corpus (or another sample) in place of the text."""
        if self.style_name is None or self.style is None:
            return
        self.text_seed += 1
        self.default = None
        with self.prevent(TextArea.Changed):
            self.query_one("#insp-text", TextArea).load_text("")
        self.style = None
        self._start_loading(self.style_name)

    def action_toggle_panel(self) -> None:
        panel = self.query_one("#insp-panel")
        panel.display = not panel.display

    # --- the panel -------------------------------------------------------------------------------------
    @on(Select.Changed, "#insp-style")
    def _style_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.style_name:
            self.scores, self.shape = [], None
            self.query_one("#insp-results").display = False
            self.query_one("#insp-results-hint").display = False
            self.open_style(event.value)

    @on(Select.Changed, "#insp-kind")
    def _kind_chosen(self, event: Select.Changed) -> None:
        if self.result is not None and event.value != self.result.kind:
            self.scores = []  # a search ranks one kind
            self.query_one("#insp-results").display = False
            self.query_one("#insp-results-hint").display = False
            self._submit()

    @on(Input.Changed, "#insp-layer")
    @on(Input.Changed, "#insp-neuron")
    def _neuron_typed(self) -> None:
        if self.style is not None and self.result is not None:
            self._submit()

    @on(Input.Submitted, "#insp-layer")
    @on(Input.Submitted, "#insp-neuron")
    def _neuron_entered(self) -> None:
        self._submit()

    @on(Input.Submitted, "#insp-pattern")
    def _pattern_entered(self) -> None:
        self.action_search()

    @on(Input.Changed, "#insp-pattern")
    def _pattern_typed(self, event: Input.Changed) -> None:
        event.input.remove_class("-invalid")
        if event.value:
            feature: Select[str] = self.query_one("#insp-feature", Select)
            with self.prevent(Select.Changed):
                feature.clear()

    @on(Select.Changed, "#insp-feature")
    def _feature_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            with self.prevent(Input.Changed):
                self.query_one("#insp-pattern", Input).value = ""
            self._submit(feature=event.value)

    @on(OptionList.OptionHighlighted, "#insp-results")
    def _neuron_picked(self, event: OptionList.OptionHighlighted) -> None:
        layer, _, neuron = str(event.option.id).partition(":")
        if self.result is not None and (self.result.layer, self.result.neuron) == (int(layer), int(neuron)):
            return
        for selector, value in (("#insp-layer", layer), ("#insp-neuron", neuron)):
            with self.prevent(Input.Changed):
                self.query_one(selector, Input).value = value
        self._submit()

    @on(TextArea.Changed, "#insp-text")
    def _text_edited(self) -> None:
        text = self.query_one("#insp-text", TextArea).text
        if text != self.default:
            self._source("Text: your own (ctrl+n: the default)")
        if self.computed_text is not None and text != self.computed_text:
            self._status("the text changed: ctrl+r colours it, ctrl+f searches it")

    def palette_commands(self) -> Iterable[PaletteCommand]:
        if self.style is not None:
            yield ("Colour the text", "Colour the text by the chosen neuron (ctrl+r)", self.action_colour)
            yield ("Search neurons", "Rank the neurons by the pattern or feature (ctrl+f)", self.action_search)
            yield ("New text", "Another excerpt of the corpus, or another sample (ctrl+n)", self.action_new_text)
        yield ("Toggle settings", "Show or hide the panel (ctrl+o)", self.action_toggle_panel)
