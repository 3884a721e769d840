"""The Styles screen (home): every style, shipped and trained, and what to do with one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from stylegen.tui._data import scan_styles
from stylegen.tui._format import is_shipped, style_row
from stylegen.tui._shared import OpenStyle, OpenTrain, Shared, StyleDeleted
from stylegen.tui.screens.base import AppScreen, PaletteCommand
from stylegen.tui.screens.dialogs import ConfirmDialog, InspectDialog

if TYPE_CHECKING:
    from stylegen import StyleRecord

COLUMNS = ("Name", "Corpus", "Model", "Size", "Val bpc", "Date")

EMPTY = (
    "No styles yet.\n\n"
    "A style is learned from a corpus of text:\n"
    "  1. build a corpus on the Corpus screen (F4), or with\n"
    "     stylegen corpus build NAME PATH...\n"
    "  2. train a style on it on the Train screen (F5, or n here), or with\n"
    "     stylegen train NAME --max-minutes 5\n"
    "Then chat with it here (Enter) or write with it (g)."
)


class StyleTable(DataTable[str]):
    """The styles, one per row; Enter chats with the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "screen.chat", "Chat")]


class StylesScreen(AppScreen):
    MODE = "styles"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "generate", "Generate"),
        Binding("n", "train", "Train new"),
        Binding("i", "inspect", "Inspect"),
        Binding("d,delete", "delete", "Delete"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__(shared)
        self.metas: list[StyleRecord] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="styles-body"):
            yield Static("Styles", classes="screen-title")
            yield StyleTable(cursor_type="row", zebra_stripes=True, id="styles-table")
            yield Static(EMPTY, classes="empty-state", id="styles-empty")
            yield Static("", classes="problems", id="styles-problems", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.action_refresh()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.action_refresh()

    def styles_changed(self) -> None:
        if self.is_mounted:
            self.action_refresh()

    # --- the list ---------------------------------------------------------------------------
    def action_refresh(self) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_name()
        self.metas, problems = scan_styles()
        table.clear()
        for meta in self.metas:
            table.add_row(*style_row(meta), key=meta.name)
        empty = not self.metas
        table.display = not empty
        self.query_one("#styles-empty").display = empty
        box = self.query_one("#styles-problems", Static)
        box.update("\n".join(f"! {p}" for p in problems))
        box.display = bool(problems)
        if selected is not None:
            names = [m.name for m in self.metas]
            if selected in names:
                table.move_cursor(row=names.index(selected))
        if not empty:
            table.focus()
        self.refresh_bindings()

    def selected(self) -> StyleRecord | None:
        table = self.query_one(DataTable)
        if not self.metas or table.cursor_row is None or not 0 <= table.cursor_row < len(self.metas):
            return None
        return self.metas[table.cursor_row]

    def selected_name(self) -> str | None:
        meta = self.selected()
        return None if meta is None else meta.name

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("chat", "generate", "inspect", "delete") and not self.metas:
            return None  # shown, disabled: there is nothing to act on
        return True

    # --- actions ---------------------------------------------------------------------------
    @on(DataTable.RowSelected)
    def _row_clicked(self, event: DataTable.RowSelected) -> None:
        """A click on the highlighted row (Enter is the table's own binding)."""
        event.stop()
        self.action_chat()

    def action_chat(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.post_message(OpenStyle("chat", name))

    def action_generate(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.post_message(OpenStyle("generate", name))

    def action_train(self) -> None:
        meta = self.selected()
        corpus = meta.corpus.name if meta else None
        self.post_message(OpenTrain(corpus=corpus))

    def action_inspect(self) -> None:
        """The style's details; from there, n opens the Inspect screen on its neurons."""
        meta = self.selected()
        if meta is None:
            return
        name = meta.name

        def closed(choice: str | None) -> None:
            if choice == "neurons":
                self.post_message(OpenStyle("inspect", name))

        self.app.push_screen(InspectDialog(meta), closed)

    def action_neurons(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.post_message(OpenStyle("inspect", name))

    def action_delete(self) -> None:
        meta = self.selected()
        if meta is None:
            return
        name = meta.name
        if is_shipped(meta):
            self.notify(f"{name} ships with stylegen and cannot be deleted", severity="error")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(name)

        self.app.push_screen(
            ConfirmDialog(f"Delete style {name}? Its weights and checkpoint are removed for good.", "Delete"),
            answered,
        )

    def _delete(self, name: str) -> None:
        from stylegen import remove_style
        from stylegen.errors import StylegenError

        try:
            remove_style(name)
        except (StylegenError, OSError) as e:
            self.notify(f"cannot delete {name}: {e}", severity="error")
            return
        self.notify(f"deleted style {name}")
        self.post_message(StyleDeleted(name))
        self.action_refresh()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        name = self.selected_name()
        if name is None:
            return
        yield (f"Chat with {name}", "Open the chat screen with the selected style", self.action_chat)
        yield (f"Generate with {name}", "Write a continuation with the selected style", self.action_generate)
        yield (f"Inspect {name}", "Show the selected style's details", self.action_inspect)
        yield (f"Inspect the neurons of {name}", "The Inspect screen with the selected style", self.action_neurons)
        yield (f"Delete {name}", "Delete the selected style (asks first)", self.action_delete)
