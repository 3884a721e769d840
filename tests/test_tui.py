"""The Textual app, driven with Pilot: each screen's main path, and SVG snapshots at 80x24.

Tests are plain functions running the app with `asyncio.run`; the styles are the session's
tiny trained ones (`trained`, `play`), so nothing is trained here except by the Train
screen's own child process. Snapshots show no model output and no dates that change.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from conftest import PHRASE
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, OptionList, Select, Static, TextArea

import stylegen
from stylegen import styles
from stylegen.cli import cli
from stylegen.tui import _copies, _streaming
from stylegen.tui._training import TrainOptions, TrainProcess, failure
from stylegen.tui.app import StylegenApp
from stylegen.tui.screens.chat import ChatScreen
from stylegen.tui.screens.corpus import CorpusScreen
from stylegen.tui.screens.dialogs import ConfirmDialog, InspectDialog, PathDialog
from stylegen.tui.screens.generate import GenerateScreen
from stylegen.tui.screens.inspect import FEATURE_NAMES, InspectScreen
from stylegen.tui.screens.styles import StylesScreen
from stylegen.tui.screens.train import TrainScreen, ending
from stylegen.tui.widgets import CopyCheckPanel, LossPlot, MarkedTextArea, Transcript

SIZE = (80, 24)
Scenario = Callable[[StylegenApp, Pilot[None]], Coroutine[Any, Any, None]]


def drive(scenario: Scenario, app: StylegenApp | None = None, size: tuple[int, int] = SIZE) -> StylegenApp:
    """Run `scenario(app, pilot)` in a headless app of `size`."""
    app = app or StylegenApp(seed=1, preload=False)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())
    return app


async def until(pilot: Pilot[None], condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    """Let the app run until `condition()` is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def enter(pilot: Pilot[None], selector: str, text: str) -> None:
    """Put `text` in the input `selector` and submit it, as Enter does.

    (Not `pilot.press`: it waits for the process to go idle, up to a second per key, and a
    model writing in a worker thread keeps it busy.)
    """
    field = pilot.app.screen.query_one(selector, Input)
    field.value = text
    field.focus()
    await field.action_submit()
    await pilot.pause(0.01)  # a plain sleep: pause() waits for idle too


def text_of(widget: Any) -> str:
    return str(widget.render())


def set_style_meta(home: Path, name: str, **changes: Any) -> None:
    path = home / "styles" / name / "style.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(changes)
    path.write_text(json.dumps(meta), encoding="utf-8")


#: Fields of style.json that differ from run to run or machine to machine, pinned for snapshots.
FROZEN = dict(
    created="2026-01-02T03:04:05+0000",
    updated="2026-01-02T03:04:05+0000",
    val_bpc=1.2345,
    val_loss=0.8555,
    train_seconds=12.5,
    device="cpu",
    best_step=120,
)


def freeze(home: Path, *styles: str) -> None:
    for name in styles:
        set_style_meta(home, name, **FROZEN)
    for manifest in (home / "corpora").glob("*/manifest.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        data["created"] = FROZEN["created"]
        manifest.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(autouse=True)
def no_shipped_styles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The styles shipped in the package stay out of these tests (unless a test ships its own)."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    monkeypatch.setattr(styles, "shipped_dir", lambda: folder)
    return folder


@pytest.fixture
def shipped_shakespeare(trained: str, hermetic: Path, no_shipped_styles: Path) -> str:
    """The trained `tiny` style, shipped as `shakespeare` (a stand-in for the real one)."""
    target = no_shipped_styles / "shakespeare"
    (hermetic / "styles" / trained).rename(target)
    meta = json.loads((target / "style.json").read_text(encoding="utf-8"))
    (target / "style.json").write_text(json.dumps({**meta, "name": "shakespeare"}), encoding="utf-8")
    return "shakespeare"


# --------------------------------------------------------------------------- opening


def test_opens_on_styles_with_an_empty_state_when_there_are_no_styles(hermetic: Path) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, StylesScreen)
        empty = app.screen.query_one("#styles-empty", Static)
        assert empty.display and "stylegen corpus build" in text_of(empty)
        await pilot.press("enter", "g", "i", "d")  # nothing to act on: nothing happens
        assert isinstance(app.screen, StylesScreen)

    drive(scenario)


def test_opens_on_chat_with_the_shipped_default_style(shipped_shakespeare: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, ChatScreen)
        await until(pilot, lambda: cast(ChatScreen, app.screen).session is not None, what="the style to load")
        assert app.screen.style_name == "shakespeare"

    drive(scenario)


def test_opens_on_chat_with_the_style_asked_for(trained: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, ChatScreen)
        assert app.screen.style_name == trained

    drive(scenario, StylegenApp(trained, preload=False))


def test_keys_and_the_palette_open_screens(trained: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        # (F4 and F5 are pressed in the Corpus and Train tests, g and Enter in Generate and Chat.)
        await pilot.press("f3")
        assert isinstance(app.screen, GenerateScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, StylesScreen)
        await pilot.press("ctrl+p")
        palette = app.screen.query_one(Input)
        palette.value = "Corpus screen"
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CorpusScreen), what="the palette to open Corpus")

    drive(scenario)


def test_a_damaged_style_is_named_and_the_app_goes_on(trained: str, hermetic: Path) -> None:
    broken = hermetic / "styles" / "broken"
    broken.mkdir()
    (broken / "style.json").write_text("{not json", encoding="utf-8")
    (hermetic / "styles" / trained / "model.safetensors").write_bytes(b"not weights")

    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        problems = app.screen.query_one("#styles-problems", Static)
        assert problems.display and "broken" in text_of(problems)
        await pilot.press("enter")  # chat with `tiny`, whose weights are damaged
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await until(pilot, lambda: chat.load_error is not None, what="the load error")
        assert chat.load_error is not None and "damaged weights" in chat.load_error
        assert "cannot be loaded" in text_of(chat.query_one("#chat-title", Static))
        await enter(pilot, "#message", "hi")  # refused with a message, not a crash
        assert chat.query_one(Transcript).turns == []
        await pilot.press("f1")
        assert isinstance(app.screen, StylesScreen)

    drive(scenario)


# --------------------------------------------------------------------------- styles


def test_inspect_and_delete_a_style(trained: str, hermetic: Path) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("i")
        assert isinstance(app.screen, InspectDialog)
        body = " ".join(text_of(w) for w in app.screen.query(".inspect-value"))
        assert "tiny" in body and "lstm 1x48" in body and "bits/char" in body
        await pilot.press("escape", "d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # no: the style stays
        assert (hermetic / "styles" / trained).is_dir()
        await pilot.press("d", "y")
        await pilot.pause()
        assert not (hermetic / "styles" / trained).exists()
        assert app.screen.query_one("#styles-empty").display

    drive(scenario)


def test_a_shipped_style_cannot_be_deleted(shipped_shakespeare: str, no_shipped_styles: Path) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f1")
        assert "(shipped)" in str(app.screen.query_one(DataTable).get_row_at(0)[0])
        await pilot.press("d")
        assert isinstance(app.screen, StylesScreen)  # no confirmation: refused outright
        assert (no_shipped_styles / "shakespeare" / "style.json").is_file()
        assert any("cannot be deleted" in str(n.message) for n in app._notifications)

    drive(scenario)


# --------------------------------------------------------------------------- chat


def test_chat_streams_an_answer_regenerates_and_saves(play: str, tmp_path: Path) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await until(pilot, lambda: chat.session is not None, what="the style to load")
        assert chat.query_one("#turns-box").display  # the play has turns: speak as / answered by
        assert chat.query_one("#speak-as", Input).value == "YOU"
        chat.query_one("#answer-by", Select).value = "BOB"
        repetition = chat.query_one("#chat-penalties .penalty-input", Input)
        repetition.value = "0"  # not a valid θ: marked, and the session keeps its penalty
        await pilot.pause()
        assert repetition.has_class("-invalid") and chat.session.penalties.repetition == 1.0
        repetition.value = "1.2"
        await pilot.pause()
        assert chat.session.to == "BOB" and chat.session.penalties.repetition == 1.2
        await enter(pilot, "#message", "hello bob")
        await until(pilot, lambda: not chat.writing, what="the answer")
        views = chat.query_one(Transcript).turns
        assert [v.speaker for v in views] == ["YOU", "BOB"]
        assert views[0].text == "hello bob" and views[1].text.strip()
        assert [t.speaker for t in chat.session.turns] == ["YOU", "BOB"]
        assert views[1].text.strip() == chat.session.turns[1].text

        await pilot.press("ctrl+r")  # the same message, answered again from the same state
        await until(pilot, lambda: not chat.writing, what="the second answer")
        views = chat.query_one(Transcript).turns
        assert len(views) == 2 and len(chat.session.turns) == 2
        assert views[1].text.strip() == chat.session.turns[1].text

        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PathDialog)
        target = tmp_path / "chat.txt"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text(encoding="utf-8") == chat.session.transcript()
        assert target.read_text(encoding="utf-8").startswith("YOU:\nhello bob\n\nBOB:\n")

    drive(scenario, StylegenApp(play, seed=1, preload=False))


def test_esc_stops_a_long_answer_at_once(trained: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await until(pilot, lambda: chat.session is not None, what="the style to load")
        chat.query_one("#chat-sampler #sampler-name", Select).value = "greedy"  # never ends a paragraph
        chat.query_one("#max-length", Input).value = "1000000"
        await pilot.pause()
        assert chat.session.sampler == "greedy" and chat.session.max_tokens == 1_000_000
        await enter(pilot, "#message", "the quick")
        await until(pilot, lambda: chat.view is not None and len(chat.view.text) > 50, what="some text")
        assert chat.writing
        await pilot.press("escape")
        assert not chat.writing  # at once, before the worker has noticed
        shown = chat.view.text
        await until(pilot, lambda: not chat.session_lock.locked(), timeout=5, what="the worker to stop")
        await pilot.pause(0.2)
        assert chat.view.text == shown  # nothing more arrived after Esc
        assert "stopped" in chat.view.note
        assert len(chat.session.turns) == 2 and chat.session.turns[1].text.startswith(shown.strip()[:20])
        await enter(pilot, "#message", "and again")  # the session goes on after a stopped answer
        await until(pilot, lambda: len(chat.query_one(Transcript).turns) == 4, what="the next turn")
        await pilot.press("escape")

    drive(scenario, StylegenApp(trained, seed=1, preload=False))


def test_chat_marks_spans_copied_from_the_corpus(trained: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await until(pilot, lambda: chat.session is not None, what="the style to load")
        chat.query_one("#chat-sampler #sampler-name", Select).value = "greedy"
        chat.query_one("#max-length", Input).value = "80"
        await enter(pilot, "#message", "the quick")  # checked after the fact: the check is off
        await until(pilot, lambda: not chat.writing, what="the answer")
        first = chat.view
        assert first is not None and first.marks == [] and first.copies == ""

        panel = chat.query_one(CopyCheckPanel)
        panel.query_one("#copy-on", Checkbox).value = True  # on: 40 characters, the index loads
        await until(pilot, lambda: "characters of tiny" in text_of(panel.query_one("#copy-hint", Static)), what="index")
        assert panel.query_one("#copy-min", Input).value == "40" and panel.min_len == 40
        await until(pilot, lambda: bool(first.marks), what="the earlier answer to be checked")

        await enter(pilot, "#message", "the lazy")  # the corpus is one sentence: the answer is a copy
        await until(pilot, lambda: not chat.writing and chat.view is not first, what="the second answer")
        view = chat.view
        assert view is not None
        await until(pilot, lambda: bool(view.marks), what="the copy check")
        start, end = view.marks[0]
        assert end - start >= 40 and view.text[start:end] in PHRASE * 3
        note = text_of(view.query_one(".turn-copies", Static))
        assert "copied span" in note and "(40+ chars)" in note and "at offset" in note
        shown = view.query_one(".turn-text", Static).render()
        assert isinstance(shown, Content) and any(
            not isinstance(span.style, str) and span.style.reverse for span in shown.spans
        )

        panel.query_one("#copy-min", Input).value = "0"  # 0: off, the marks go
        await pilot.pause()
        assert panel.min_len is None and not panel.query_one("#copy-on", Checkbox).value
        assert view.marks == [] and first.marks == []
        panel.query_one("#copy-min", Input).value = "7"  # too short for the check: refused
        await pilot.pause()
        assert panel.min_len is None and panel.query_one("#copy-min", Input).has_class("-invalid")

    drive(scenario, StylegenApp(trained, seed=1, preload=False))


def test_copy_marks_join_overlapping_spans_and_the_note_names_offsets() -> None:
    from stylegen.originality import Span

    spans = [Span(50, 90, 7, ""), Span(0, 40, 1234, ""), Span(30, 60, 5678, ""), Span(95, 140, 3, "")]
    assert _copies.marks(spans, shift=2) == [(2, 92), (97, 142)]
    assert _copies.summary(spans[:2], 40) == (
        "2 copied spans (40+ chars) from the corpus: 40 chars at offset 7, 40 chars at offset 1,234"
    )
    assert _copies.summary(spans, 40, shown=1).endswith("40 chars at offset 7, and 3 more")
    assert _copies.summary([], 40) == "no copied spans of 40+ characters"


def test_a_style_without_an_index_says_so_in_the_panel(trained: str, hermetic: Path) -> None:
    (hermetic / "styles" / trained / "originality.npz").unlink()

    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await until(pilot, lambda: chat.session is not None, what="the style to load")
        chat.query_one("#max-length", Input).value = "30"
        await chat.run_action("toggle_copies")  # the palette's "Toggle copy check"
        hint = chat.query_one("#copy-hint", Static)
        await until(pilot, lambda: "no copy index" in text_of(hint), what="the hint")
        await enter(pilot, "#message", "the quick")
        await until(pilot, lambda: not chat.writing, what="the answer")
        view = chat.view
        assert view is not None
        await until(pilot, lambda: view.copies != "checking for copies…", what="the copy check")  # a worker
        assert view.marks == [] and view.copies == ""  # said once, in the panel

    drive(scenario, StylegenApp(trained, seed=1, preload=False))


def test_batched_sends_the_first_chunk_at_once_and_drains_after_stop() -> None:
    stop = threading.Event()
    seen: list[str] = []

    def chunks() -> Any:
        for c in "abcdef":
            seen.append(c)
            if c == "d":
                stop.set()
            yield c

    out = list(_streaming.batched(chunks(), stop.is_set, interval=60.0))
    assert out == ["a"]  # the first at once; the rest waited for the interval, then were dropped
    assert seen == list("abcdef")  # the producer was read to its end
    assert list(_streaming.batched(iter("xyz"), lambda: False, interval=0.0)) == ["x", "y", "z"]


# --------------------------------------------------------------------------- generate


def test_generate_streams_and_stops(trained: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("g")
        gen = app.screen
        assert isinstance(gen, GenerateScreen)
        await until(pilot, lambda: gen.style is not None, what="the style to load")
        gen.query_one("#gen-length", Input).value = "40"
        gen.query_one("#gen-seed", Input).value = "3"
        await enter(pilot, "#prime", "the")
        await until(pilot, lambda: not gen.writing, what="the text")
        first = gen.text
        assert first.startswith("the") and len(first) == len("the") + 40
        await pilot.press("ctrl+g")  # the same seed writes the same text
        await until(pilot, lambda: not gen.writing, what="the text again")
        assert gen.text == first

        gen.query_one("#gen-length", Input).value = "1000000"
        await gen.run_action("generate")  # ctrl+g, without waiting for the busy process to go idle
        await until(pilot, lambda: len(gen.text) > 100, what="a long text")
        await pilot.press("escape")
        assert not gen.writing
        shown = gen.text
        await pilot.pause(0.3)
        assert gen.text == shown and "stopped" in text_of(gen.query_one("#gen-status", Static))

    drive(scenario)


def test_generate_marks_spans_copied_from_the_corpus(trained: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("g")
        gen = app.screen
        assert isinstance(gen, GenerateScreen)
        await until(pilot, lambda: gen.style is not None, what="the style to load")
        gen.query_one("#gen-length", Input).value = "120"
        gen.query_one("#gen-seed", Input).value = "3"
        gen.query_one("#gen-copies #copy-min", Input).value = "48"
        await pilot.pause()
        assert gen.query_one(CopyCheckPanel).min_len == 48 and gen.query_one("#copy-on", Checkbox).value
        await enter(pilot, "#prime", "the quick brown fox")
        await until(pilot, lambda: not gen.writing, what="the text")
        output = gen.query_one("#gen-output", MarkedTextArea)
        await until(pilot, lambda: bool(output.marks), what="the copy check")
        prime = len("the quick brown fox")
        assert all(start >= prime and end - start >= 48 for start, end in output.marks)  # the prime is not checked
        status = text_of(gen.query_one("#gen-status", Static))
        assert status.startswith("done: ") and "copied span" in status and "(48+ chars)" in status
        reversed_chars = ""  # what the lines show in reverse video: the marked text, line by line
        for row in range(output.document.line_count):
            line = output.get_line(row)
            for span in line.spans:
                if "reverse" in str(span.style):
                    reversed_chars += line.plain[span.start : span.end]
        marked_text = "".join(output.text[a:b] for a, b in output.marks)
        assert reversed_chars == marked_text.replace("\n", "") and len(marked_text) >= 48

        await gen.run_action("toggle_copies")  # off: the marks go
        await pilot.pause()
        assert output.marks == [] and "copied" not in text_of(gen.query_one("#gen-status", Static))

    drive(scenario)


# --------------------------------------------------------------------------- corpus


def test_build_a_corpus_and_read_its_statistics(texts_dir: Path, hermetic: Path) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f4")
        screen = app.screen
        assert isinstance(screen, CorpusScreen)
        assert screen.query_one("#corpus-empty").display
        screen.query_one("#corpus-name", Input).value = "fox"
        screen.query_one("#corpus-sources", Input).value = str(tmp_missing := texts_dir / "missing")
        await pilot.press("ctrl+b")
        await until(pilot, lambda: not screen.building, what="the failed build")
        assert "no such file or folder" in text_of(screen.query_one("#corpus-error", Static))
        assert not tmp_missing.exists()

        screen.query_one("#corpus-sources", Input).value = f"'{texts_dir}'"
        screen.query_one("#corpus-include", Input).value = "*.txt"
        await pilot.press("ctrl+b")
        await until(pilot, lambda: not screen.building, what="the build")
        assert (hermetic / "corpora" / "fox" / "manifest.json").is_file()
        details = text_of(screen.query_one("#corpus-details", Static))
        assert "fox: 2 documents, built" in details and "excerpt:" in details and "quick brown fox" in details
        await pilot.press("ctrl+t")  # train on it: the Train screen with the corpus chosen
        assert isinstance(app.screen, TrainScreen)
        assert app.screen.query_one("#train-corpus", Select).value == "fox"

    drive(scenario)


# --------------------------------------------------------------------------- train


def test_train_options_become_train_arguments() -> None:
    options = TrainOptions(
        corpus="c", name="s", model="lstm", layers=1, hidden=32, max_minutes=0.5, max_steps=None, force=True
    )
    assert options.args() == [
        "c", "--name", "s", "--events", "jsonl", "--quiet", "--model", "lstm", "--tokenizer", "char",
        "--layers", "1", "--hidden", "32", "--device", "auto", "--max-minutes", "0.5", "--force",
    ]  # fmt: skip
    assert options.args(resume=True) == [
        "c", "--name", "s", "--events", "jsonl", "--quiet", "--resume", "--device", "auto", "--max-minutes", "0.5",
    ]  # fmt: skip
    assert failure(1, ["warning: x", "error: no corpus named 'c'"]) == "no corpus named 'c'"
    assert failure(-9, []) == "training was killed by SIGKILL"
    assert ending({"style": "s", "reason": "diverged", "step": 7}).startswith("s: diverged (the loss became NaN")
    assert ending({"style": "s", "reason": "max_steps", "step": 7, "train_seconds": 61, "best_val_bpc": 2.5}) == (
        "s: done (step limit) after 7 steps in 1m01s; best validation 2.500 bits/char"
    )


@pytest.fixture
def child_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Child processes import the same stylegen as this test run, and (tiny models, a busy
    machine) train on one thread, as the tests in this process do."""
    root = str(Path(stylegen.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def test_a_failing_run_reports_the_trainers_error(hermetic: Path, child_env: None) -> None:
    done = threading.Event()
    result: list[Any] = []

    def on_exit(code: int, tail: list[str]) -> None:
        result.extend([code, tail])
        done.set()

    TrainProcess(TrainOptions(corpus="nope", name="no/pe").args(), lambda e: None, on_exit)  # fails before torch
    assert done.wait(60)
    assert result[0] == 1 and failure(result[0], result[1]).startswith("invalid style name 'no/pe'")


def test_a_tiny_training_run_starts_reports_progress_and_stops(
    tiny_corpus: str, hermetic: Path, child_env: None
) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        assert screen.query_one("#train-corpus", Select).value == tiny_corpus  # the only corpus
        assert screen.query_one("#train-name", Input).value == tiny_corpus
        for field, value in {
            "layers": "1", "hidden": "16", "minutes": "", "steps": "100000", "eval": "1000", "batch": "2", "seq": "8",
        }.items():  # fmt: skip
            screen.query_one(f"#train-{field}", Input).value = value
        await pilot.press("ctrl+t")
        assert screen.running
        await until(pilot, lambda: "step " in text_of(screen.query_one("#train-stats", Static)), 90, "progress")
        assert "tok/s" in text_of(screen.query_one("#train-stats", Static))
        assert screen.query_one("#train-plot", LossPlot).train  # the loss plot has points
        assert tiny_corpus in app.training_badge
        await pilot.press("ctrl+s")  # stop: SIGINT, the trainer checkpoints and exits
        await until(pilot, lambda: not screen.running and app.training_badge == "", 60, "the run to stop")
        await pilot.pause()
        assert screen.ended is not None and screen.ended["reason"] == "stopped"
        assert "stopped after" in text_of(screen.query_one("#train-status", Static))
        assert text_of(screen.query_one("#train-sample", Static)).startswith("step ")  # the last validation's sample
        assert (hermetic / "styles" / tiny_corpus / "checkpoint" / "state.pt").is_file()
        assert not screen.query_one("#train-resume").disabled  # a stopped run can be resumed
        meta = json.loads((hermetic / "styles" / tiny_corpus / "style.json").read_text(encoding="utf-8"))
        assert meta["status"] == "stopped"

    drive(scenario)


# --------------------------------------------------------------------------- inspect


def test_inspect_screen_colours_a_neuron_and_searches_by_pattern(trained: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("i", "n")  # the Styles screen's details, then the neurons
        screen = app.screen
        assert isinstance(screen, InspectScreen) and screen.style_name == trained
        await until(pilot, lambda: screen.result is not None, what="the first colouring")
        assert "quick brown fox" in screen.query_one("#insp-text", TextArea).text
        assert text_of(screen.query_one("#insp-source", Static)).startswith("Text: corpus tiny from offset ")
        assert screen.query_one("#insp-kind", Select).value == "cell"  # the LSTM's default
        status = screen.query_one("#insp-status", Static)
        assert text_of(status).startswith("layer 0 neuron 0 (cell) · blue -1 … red +1 · ")
        shown = screen.query_one("#insp-view", Static).render()
        assert isinstance(shown, Content) and shown.plain == screen.query_one("#insp-text", TextArea).text
        assert len({str(span.style) for span in shown.spans}) > 5  # coloured, character by character

        screen.query_one("#insp-neuron", Input).value = "7"  # another neuron: recoloured, not read again
        await until(pilot, lambda: screen.result is not None and screen.result.neuron == 7, what="neuron 7")
        screen.query_one("#insp-neuron", Input).value = "48"
        await pilot.pause()
        assert screen.query_one("#insp-neuron", Input).has_class("-invalid") and "neurons are 0-47" in text_of(status)

        await enter(pilot, "#insp-pattern", "fox")
        await until(pilot, lambda: bool(screen.scores), what="the search")
        results = screen.query_one("#insp-results", OptionList)
        assert results.display and results.option_count == 10
        best = screen.scores[0]
        assert abs(best.r) >= max(abs(s.r) for s in screen.scores) and abs(best.r) > 0.3
        assert screen.result is not None and (screen.result.layer, screen.result.neuron) == (best.layer, best.neuron)
        assert f"0:{best.neuron} " in str(results.get_option_at_index(0).prompt)
        assert f"r {best.r:+.3f} with /fox/" in text_of(status)
        assert screen.query_one("#insp-neuron", Input).value == str(best.neuron)

        results.focus()
        await pilot.press("down")  # the second neuron of the list
        second = screen.scores[1]
        await until(pilot, lambda: screen.result is not None and screen.result.neuron == second.neuron, what="neuron 2")
        assert f"r {second.r:+.3f}" in text_of(status)

        screen.query_one("#insp-feature", Select).value = "line-position"
        await until(pilot, lambda: "feature line-position" in screen.search_label, what="the feature search")
        assert screen.query_one("#insp-pattern", Input).value == ""
        await enter(pilot, "#insp-pattern", "zzz")
        await until(pilot, lambda: "matches no character" in text_of(status), what="the error")
        assert screen.query_one("#insp-pattern", Input).has_class("-invalid")

        await pilot.press("f1", "f6")  # F6 comes back to the same screen, as it was
        assert app.screen is screen

    drive(scenario)


def test_inspect_feature_names_are_the_apis() -> None:
    from stylegen.inspect import FEATURES

    assert FEATURE_NAMES == tuple(FEATURES)


# --------------------------------------------------------------------------- the command line


def test_stylegen_alone_prints_help_when_not_in_a_terminal() -> None:
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_tui_command_refuses_an_unknown_style_and_a_pipe(trained: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["tui", "nope"])
    assert exit_info.value.code == 1 and "no style named 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["tui", trained])  # stdout is not a terminal here
    assert exit_info.value.code == 1 and "the app needs a terminal" in capsys.readouterr().err


def test_importing_the_app_imports_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys, stylegen.tui.app, stylegen.tui.screens.inspect, stylegen.tui.screens.generate; "
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False False"


# --------------------------------------------------------------------------- snapshots (80x24)


def still_cursor(pilot: Pilot[None]) -> None:
    """No blinking cursor in a snapshot."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def test_snapshot_styles_empty(hermetic: Path, snap_compare: Any) -> None:
    assert snap_compare(StylegenApp(preload=False), terminal_size=SIZE, run_before=still_cursor)


def test_snapshot_styles(trained: str, play: str, hermetic: Path, snap_compare: Any) -> None:
    freeze(hermetic, trained, play)
    assert snap_compare(StylegenApp(preload=False), terminal_size=SIZE, press=["down"], run_before=still_cursor)


def test_snapshot_inspect(trained: str, hermetic: Path, snap_compare: Any) -> None:
    freeze(hermetic, trained)
    assert snap_compare(StylegenApp(preload=False), terminal_size=SIZE, press=["i"])


def test_snapshot_chat(play: str, hermetic: Path, snap_compare: Any) -> None:
    freeze(hermetic, play)

    async def loaded(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: getattr(pilot.app.screen, "session", None) is not None, what="the style")
        still_cursor(pilot)

    assert snap_compare(StylegenApp(play, seed=1, preload=False), terminal_size=SIZE, run_before=loaded)


def test_snapshot_generate(trained: str, hermetic: Path, snap_compare: Any) -> None:
    freeze(hermetic, trained)

    async def loaded(pilot: Pilot[None]) -> None:
        await pilot.press("g")
        await until(pilot, lambda: getattr(pilot.app.screen, "style", None) is not None, what="the style")
        still_cursor(pilot)

    assert snap_compare(StylegenApp(preload=False), terminal_size=SIZE, run_before=loaded)


def test_snapshot_corpus(trained: str, hermetic: Path, snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    freeze(hermetic, trained)
    monkeypatch.setattr("stylegen.tui.screens.corpus.source_names", lambda: ["files"])

    async def opened(pilot: Pilot[None]) -> None:
        await pilot.press("f4")
        still_cursor(pilot)

    assert snap_compare(StylegenApp(preload=False), terminal_size=SIZE, run_before=opened)


def test_snapshot_train(trained: str, hermetic: Path, snap_compare: Any) -> None:
    freeze(hermetic, trained)

    async def opened(pilot: Pilot[None]) -> None:
        await pilot.press("f5")
        still_cursor(pilot)

    assert snap_compare(StylegenApp(preload=False), terminal_size=SIZE, run_before=opened)


#: The Inspect snapshot's text, and made-up activations for it: the picture does not depend
#: on a trained model's numbers.
INSPECT_TEXT = (
    'He said "come in, come in" and shut the door.\n'
    "    The quick brown fox jumps over the lazy dog.\n"
    'She asked, "Is it late?" It was.\n'
    "    And the fox ran on, over the hill and far away.\n"
) * 3


def fake_activations(style: Any, text: str, *, topk: int = 0, limit: int | None = None) -> Any:
    import numpy as np

    from stylegen.inspect import Activations

    t = np.arange(len(text), dtype=np.float32)[:, None]
    cell = np.sin(t * 0.15 + np.arange(8, dtype=np.float32)[None, :])[None]  # (1, T, 8)
    quoted = np.cumsum([ch == '"' for ch in text]) % 2
    cell[0, :, 3] = np.where(quoted, 0.9, -0.6)  # neuron 3 follows the quotes
    return Activations(text, {"hidden": np.tanh(2 * cell), "cell": cell}, np.arange(len(text)))


def test_snapshot_inspect_screen(
    trained: str, hermetic: Path, snap_compare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(hermetic, trained)
    monkeypatch.setattr(stylegen, "activations", fake_activations)  # what the app calls
    monkeypatch.setattr(
        "stylegen.tui.screens.inspect.default_text", lambda style, seed=0: (INSPECT_TEXT, "a fixed text")
    )

    async def searched(pilot: Pilot[None]) -> None:
        await pilot.press("f6")
        screen = pilot.app.screen
        await until(pilot, lambda: getattr(screen, "result", None) is not None, what="the colouring")
        await enter(pilot, "#insp-pattern", '"[^"]*"')
        await until(pilot, lambda: bool(getattr(screen, "scores", None)), what="the search")
        assert isinstance(screen, InspectScreen) and screen.scores[0].neuron == 3
        still_cursor(pilot)
        screen.query_one(TextArea).cursor_blink = False

    assert snap_compare(StylegenApp(preload=False), terminal_size=SIZE, run_before=searched)
