"""The Corpus screen: build a corpus from paths and sources, and read its statistics and an
excerpt before training on it."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, Static

from stylegen.errors import one_line
from stylegen.tui._data import CorpusInfo, corpus_info, scan_corpora, source_names
from stylegen.tui._format import date, human
from stylegen.tui._shared import CorporaChanged, OpenTrain, Shared
from stylegen.tui.screens.base import AppScreen, PaletteCommand
from stylegen.tui.screens.dialogs import ConfirmDialog

WORDS_GUIDELINE = 200_000  # about 200K words of one kind of text is a good size
EMPTY = (
    "No corpora yet. Fill in the form: a name, and the files, folders or glob patterns to read "
    "(for example  ~/texts  or  'plays/*.txt'), then Build (ctrl+b)."
)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def describe(info: CorpusInfo) -> str:
    """The corpus's figures and excerpt, as the details pane shows them."""
    s, split = info.stats, info.split
    words = int(s.get("words", 0))
    lines = [
        f"{info.name}: {plural(int(s.get('documents', 0)), 'document')}, built {date(info.created)}",
        f"{s.get('chars', 0):,} characters, {words:,} words, {s.get('lines', 0):,} lines, "
        f"{info.vocabulary} distinct characters",
        f"split: {split.get('train_chars', 0):,} train / {split.get('val_chars', 0):,} validation characters",
        f"size: {words / WORDS_GUIDELINE:.0%} of the ~200K words that make a good corpus",
        "most frequent: " + " ".join(repr(c) for c, _ in info.most_frequent),
    ]
    turns = info.turns
    speakers = list((turns.get("speakers") or {}).items())
    if turns.get("kind", "none") != "none":
        top = ", ".join(f"{n} ({c})" for n, c in speakers[:6])
        lines.append(f"turns: {turns['kind']}, {len(speakers)} speakers: {top}")
    else:
        lines.append("turns: none (chat continues your text)")
    for skip in info.skipped[:5]:
        lines.append(f"skipped {skip.get('origin')}: {skip.get('reason')}")
    if len(info.skipped) > 5:
        lines.append(f"... and {len(info.skipped) - 5} more skipped files")
    lines += ["", "excerpt:", info.excerpt]
    return "\n".join(lines)


class CorpusTable(DataTable[str]):
    """The corpora; Enter trains on the highlighted one, Delete deletes it (asking first)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "screen.train", "Train on it", show=False),
        Binding("delete", "screen.delete", "Delete"),
    ]


class CorpusScreen(AppScreen):
    MODE = "corpus"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "build", "Build"),
        Binding("ctrl+t", "train", "Train on it"),
    ]

    class Built(Message):
        def __init__(self, name: str, error: str | None, skipped: int = 0) -> None:
            super().__init__()
            self.name, self.error, self.skipped = name, error, skipped

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__(shared)
        self.corpora: list[Any] = []
        self.building = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="corpus-body"):
            with Vertical(id="corpus-form", classes="side-panel"):
                with VerticalScroll(id="corpus-fields", classes="form-fields"):
                    yield Static("New corpus", classes="screen-title")
                    yield Label("Name", classes="field-label")
                    yield Input(placeholder="e.g. sonnets", compact=True, id="corpus-name")
                    yield Label("Sources", classes="field-label")
                    yield Input(placeholder="paths, folders, globs", compact=True, id="corpus-sources")
                    yield Static("", classes="hint", id="corpus-sources-hint")
                    yield Label("Include (globs)", classes="field-label")
                    yield Input(placeholder="e.g. *.txt *.md", compact=True, id="corpus-include")
                    yield Label("Exclude (globs)", classes="field-label")
                    yield Input(placeholder="e.g. drafts/*", compact=True, id="corpus-exclude")
                    yield Label("Turn format", classes="field-label")
                    yield Select(
                        [(k, k) for k in ("auto", "speaker-line", "inline", "none")],
                        value="auto",
                        allow_blank=False,
                        compact=True,
                        id="corpus-turns",
                    )
                    yield Label("Undecodable files", classes="field-label")
                    yield Select(
                        [("fail", "strict"), ("skip", "skip"), ("replace bytes", "replace")],
                        value="strict",
                        allow_blank=False,
                        compact=True,
                        id="corpus-errors",
                    )
                    yield Label("Validation fraction", classes="field-label")
                    yield Input("0.1", type="number", compact=True, id="corpus-val")
                    yield Checkbox("replace if it exists", compact=True, id="corpus-force")
                # The action stays in view however short the terminal: the fields above scroll.
                yield Button("Build", variant="primary", id="corpus-build")
                yield Static("", classes="error-text", id="corpus-error", markup=False)
            with Vertical(id="corpus-right"):
                yield Static("Corpora", classes="screen-title")
                yield CorpusTable(cursor_type="row", id="corpus-table")
                yield Static(EMPTY, classes="empty-state", id="corpus-empty")
                with VerticalScroll(id="corpus-details-box"):
                    yield Static("", id="corpus-details", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#corpus-table", DataTable)
        table.add_columns("Name", "Chars", "Words", "Docs", "Built")
        try:
            names = ", ".join(source_names())
        except Exception:
            names = "files"
        self.query_one("#corpus-sources-hint", Static).update(f"space-separated; sources: {names}")
        self.refresh_list()
        self.query_one("#corpus-name", Input).focus()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.refresh_list()

    def corpora_changed(self) -> None:
        if self.is_mounted:
            self.refresh_list()

    # --- the list ------------------------------------------------------------------------------
    def refresh_list(self, select: str | None = None) -> None:
        table = self.query_one("#corpus-table", DataTable)
        select = select or self.selected_name()
        self.corpora, problems = scan_corpora()
        table.clear()
        for c in self.corpora:
            s = c.manifest.stats
            table.add_row(
                c.name, human(s.chars), human(s.words), str(s.documents), date(c.manifest.created)[:10], key=c.name
            )
        empty = not self.corpora
        table.display = not empty
        self.query_one("#corpus-empty").display = empty
        self.query_one("#corpus-details-box").display = not empty or bool(problems)
        names = [c.name for c in self.corpora]
        if select in names:
            table.move_cursor(row=names.index(select))
        if problems:
            self.query_one("#corpus-details", Static).update("\n".join(f"! {p}" for p in problems))
        elif names:
            self.show_details(self.selected_name())
        self.refresh_bindings()

    def selected_name(self) -> str | None:
        table = self.query_one("#corpus-table", DataTable)
        row = table.cursor_row
        if not self.corpora or row is None or not 0 <= row < len(self.corpora):
            return None
        return str(self.corpora[row].name)

    @on(DataTable.RowHighlighted, "#corpus-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.show_details(str(event.row_key.value))

    def show_details(self, name: str | None) -> None:
        from stylegen.errors import StylegenError

        details = self.query_one("#corpus-details", Static)
        if name is None:
            details.update("")
            return
        try:
            details.update(describe(corpus_info(name)))
        except (StylegenError, OSError) as e:
            details.update(f"corpus {name} cannot be read: {e}")

    # --- building ----------------------------------------------------------------------------------
    def _form(self) -> dict[str, Any] | str:
        """The build arguments, or a message saying what is missing."""
        name = self.query_one("#corpus-name", Input).value.strip()
        try:
            sources = shlex.split(self.query_one("#corpus-sources", Input).value)
            include = shlex.split(self.query_one("#corpus-include", Input).value)
            exclude = shlex.split(self.query_one("#corpus-exclude", Input).value)
        except ValueError as e:
            return f"cannot read the list: {e}"
        if not name:
            return "give the corpus a name"
        if not sources:
            return "name at least one file, folder or glob pattern to read"
        try:
            val_fraction = float(self.query_one("#corpus-val", Input).value)
        except ValueError:
            return "the validation fraction must be a number between 0 and 1"
        return {
            "name": name,
            "sources": sources,
            "include": include,
            "exclude": exclude,
            "errors": str(self.query_one("#corpus-errors", Select).value),
            "val_fraction": val_fraction,
            "turns": str(self.query_one("#corpus-turns", Select).value),
            "replace": self.query_one("#corpus-force", Checkbox).value,
        }

    @on(Button.Pressed, "#corpus-build")
    @on(Input.Submitted, "#corpus-form Input")
    def action_build(self) -> None:
        if self.building:
            return
        form = self._form()
        error = self.query_one("#corpus-error", Static)
        if isinstance(form, str):
            error.update(form)
            return
        error.update(f"building {form['name']}…")
        self.building = True
        self.query_one("#corpus-build", Button).disabled = True
        self._build(form)

    @work(thread=True, exclusive=True, group="build", exit_on_error=False)
    def _build(self, form: dict[str, Any]) -> None:
        from stylegen import build_corpus

        name = form.pop("name")
        try:
            corpus = build_corpus(name, form.pop("sources"), **form)
        except Exception as e:
            self.post_message(self.Built(name, one_line(e)))
            return
        self.post_message(self.Built(name, None, len(corpus.manifest.skipped)))

    def on_corpus_screen_built(self, message: Built) -> None:
        self.building = False
        self.query_one("#corpus-build", Button).disabled = False
        error = self.query_one("#corpus-error", Static)
        if message.error is not None:
            error.update(message.error)
            self.notify(f"corpus {message.name}: {message.error}", severity="error", timeout=8)
            return
        skipped = f" ({message.skipped} files skipped)" if message.skipped else ""
        error.update("")
        self.notify(f"built corpus {message.name}{skipped}")
        self.refresh_list(select=message.name)
        self.post_message(CorporaChanged())

    def action_train(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.post_message(OpenTrain(corpus=name))

    def action_delete(self) -> None:
        name = self.selected_name()
        if name is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            from stylegen import remove_corpus
            from stylegen.errors import StylegenError

            try:
                remove_corpus(name)
            except (StylegenError, OSError) as e:
                self.notify(f"cannot delete {name}: {e}", severity="error")
                return
            self.notify(f"deleted corpus {name}")
            self.refresh_list()
            self.post_message(CorporaChanged())

        self.app.push_screen(
            ConfirmDialog(f"Delete corpus {name}? Styles trained on it keep working.", "Delete"), answered
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("train", "delete"):
            return True if self.corpora else None
        return True

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield ("Build corpus", "Build a corpus from the form (ctrl+b)", self.action_build)
        name = self.selected_name()
        if name is not None:
            yield (f"Train on {name}", "Open the Train screen with this corpus (ctrl+t)", self.action_train)
            yield (f"Delete corpus {name}", "Delete the selected corpus (asks first)", self.action_delete)
