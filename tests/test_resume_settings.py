"""--resume keeps the saved settings: limits not given again stay, and the same command with
--resume appended is accepted (only a different value is refused, naming it)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from click.testing import CliRunner
from conftest import TINY, StopAt

from stylegen import styles
from stylegen.cli import cli
from stylegen.training import TrainConfig, train


class Starts:
    """Keeps the start events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def on_event(self, event: Mapping[str, Any]) -> None:
        if event["event"] == "start":
            self.events.append(dict(event))


def test_resume_without_limits_keeps_the_saved_ones(tiny_corpus: str) -> None:
    settings = {**TINY, "log_every": 1, "eval_every": 100}
    flag = threading.Event()
    stopped = train(
        TrainConfig(corpus=tiny_corpus, name="k", max_steps=12, patience=3, **settings),
        observers=[StopAt(5, flag)],
        stop=flag,
    )
    assert stopped["status"] == "stopped" and stopped["steps"] == 5
    starts = Starts()
    resumed = train(TrainConfig(corpus=tiny_corpus, name="k"), resume=True, observers=[starts])
    assert resumed["steps"] == 12 and resumed["status"] == "done"
    saved = styles.read_meta("k")["train"]
    assert saved["max_steps"] == 12 and saved["max_epochs"] is None and saved["patience"] == 3
    assert starts.events[0]["max_steps"] == 12 and starts.events[0]["patience"] == 3


def test_resume_with_a_new_limit_replaces_the_saved_limits(tiny_corpus: str) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="m", max_steps=6, **TINY))
    meta = train(TrainConfig(corpus=tiny_corpus, name="m", max_epochs=50.0, max_steps=9), resume=True)
    assert meta["steps"] == 9 and meta["train"]["max_epochs"] == 50.0


SHAPE = ["--layers", "1", "--hidden", "32", "--embed", "8", "--batch-size", "4", "--seq-len", "16"]


def test_cli_resume_keeps_max_steps(tiny_corpus: str) -> None:
    args = ["train", tiny_corpus, "--name", "c", *SHAPE, "--eval-every", "3", "--quiet", "--max-steps", "4"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    # the run was stopped early: simulate by resuming a finished run without limits: it stays put
    result = CliRunner().invoke(cli, ["train", tiny_corpus, "--name", "c", "--resume", "--quiet"])
    assert result.exit_code == 0, result.output
    meta = styles.read_meta("c")
    assert meta["steps"] == 4 and meta["train"]["max_steps"] == 4 and meta["train"]["max_epochs"] is None


def test_cli_resume_accepts_the_same_command(tiny_corpus: str) -> None:
    args = ["train", tiny_corpus, "--name", "s", *SHAPE, "--lr", "0.01", "--seed", "3", "--quiet"]
    assert CliRunner().invoke(cli, [*args, "--max-steps", "4", "--eval-every", "2"]).exit_code == 0
    result = CliRunner().invoke(cli, [*args, "--max-steps", "6", "--eval-every", "2", "--resume"])
    assert result.exit_code == 0, result.output
    assert styles.read_meta("s")["steps"] == 6


def test_cli_resume_accepts_the_same_preset_and_model(tiny_corpus: str) -> None:
    args = ["train", tiny_corpus, "--name", "p", "--preset", "tiny", "--model", "lstm", "--hidden", "32"]
    args += ["--batch-size", "4", "--seq-len", "16", "--quiet"]
    assert CliRunner().invoke(cli, [*args, "--max-steps", "3", "--eval-every", "3"]).exit_code == 0
    result = CliRunner().invoke(cli, [*args, "--max-steps", "5", "--eval-every", "3", "--resume"])
    assert result.exit_code == 0, result.output


def test_cli_resume_names_a_different_value(tiny_corpus: str) -> None:
    args = ["train", tiny_corpus, "--name", "d", *SHAPE, "--quiet", "--max-steps", "3", "--eval-every", "3"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    wider = ["train", tiny_corpus, "--name", "d", *SHAPE[:2], "--hidden", "64", "--resume", "--quiet"]
    result = CliRunner().invoke(cli, wider)
    assert result.exit_code == 2
    assert "--hidden 64" in result.output and "32" in result.output
    assert "--layers" not in result.output  # an equal value is not named
    result = CliRunner().invoke(cli, ["train", tiny_corpus, "--name", "d", "--resume", "--lr", "0.5"])
    assert result.exit_code == 2 and "--lr 0.5" in result.output
