"""The Train screen after a stop and when corpora appear (issue 16, item 10), through Pilot."""

from __future__ import annotations

from pathlib import Path

from test_tui import drive, text_of, until
from textual.pilot import Pilot
from textual.widgets import ProgressBar, Select, Static

from stylegen.tui.app import StylegenApp
from stylegen.tui.screens.train import NO_CORPUS, TrainScreen
from stylegen.tui.widgets import LossPlot


def test_a_stopped_run_shows_a_finished_bar_no_eta_and_bits_per_char(hermetic: Path) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        run = screen.run_id
        step = {"event": "step", "step": 40, "progress": 0.89, "eta": 13.0, "loss": 1.9, "tokens_per_s": 900.0}
        screen.post_message(TrainScreen.Event(run, step))
        screen.post_message(TrainScreen.Event(run, {"event": "eval", "step": 40, "val_loss": 2.73, "val_bpc": 3.939}))
        await pilot.pause()
        assert "ETA 0m13s" in text_of(screen.query_one("#train-stats", Static))
        end = {"event": "end", "style": "s", "reason": "stopped", "step": 41, "best_val_bpc": 3.939}
        screen.post_message(TrainScreen.Event(run, end))
        await until(pilot, lambda: screen.ended is not None, what="the end event")
        await pilot.pause()
        assert screen.query_one("#train-progress", ProgressBar).percentage == 1.0
        stats = text_of(screen.query_one("#train-stats", Static))
        assert "ETA" not in stats
        plot = " ".join(text_of(label) for label in screen.query_one(LossPlot).query(".plot-label"))
        assert "2.73" not in plot and "3.939 bits/char" in plot  # one unit: no nats beside bits/char

    drive(scenario)


def test_building_a_corpus_clears_no_corpora_yet(hermetic: Path, texts_dir: Path) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        assert text_of(screen.query_one("#train-status", Static)) == NO_CORPUS
        from stylegen import build_corpus

        build_corpus("fox", [str(texts_dir)])
        screen.corpora_changed()
        await pilot.pause()
        assert screen.query_one("#train-corpus", Select).value == "fox"
        assert "No corpora yet" not in text_of(screen.query_one("#train-status", Static))

    drive(scenario)


def test_the_app_picks_a_preset_shows_it_and_lets_it_change(hermetic: Path, tiny_corpus: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        select = screen.query_one("#train-preset", Select)
        assert select.value == "auto"
        await until(pilot, lambda: "tiny" in text_of(screen.query_one("#train-preset-note", Static)), what="note")
        assert "cpu" in text_of(screen.query_one("#train-preset-note", Static))
        options = screen._options()
        assert not isinstance(options, str) and "--preset" in options.args()
        assert options.args()[options.args().index("--preset") + 1] == "auto"
        select.value = "cpu"
        await pilot.pause()
        options = screen._options()
        assert not isinstance(options, str) and options.preset == "cpu"

    drive(scenario)
