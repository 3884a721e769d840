"""`stylegen train --preset`: the preset's settings, with options given on the command line winning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import invoke, ok

from stylegen.errors import StylegenError
from stylegen.training.presets import PRESETS, preset


def test_every_preset_is_complete_and_valid() -> None:
    from stylegen.training.config import TrainConfig

    for name in PRESETS:
        train, model = preset(name)
        TrainConfig(corpus="c", name="s", model_config=model, **train)  # checks the values
        assert {"layers", "hidden", "embed", "dropout"} <= set(model)
    with pytest.raises(StylegenError, match="unknown preset 'huge'"):
        preset("huge")


def test_preset_sets_the_run_and_given_options_win(tiny_corpus: str, hermetic: Path) -> None:
    ok(invoke("train", tiny_corpus, "--name", "p", "--preset", "tiny", "--hidden", "24", "--seq-len", "16",
              "--max-steps", "2", "--eval-every", "2"))  # fmt: skip
    meta = json.loads((hermetic / "styles" / "p" / "style.json").read_text())
    train, model = preset("tiny")
    assert meta["train"]["preset"] == "tiny"
    assert meta["train"]["batch_size"] == train["batch_size"] and meta["train"]["lr"] == train["lr"]
    assert meta["train"]["seq_len"] == 16  # given
    config = meta["model"]["config"]
    assert config["hidden"] == 24 and config["layers"] == model["layers"] and config["embed"] == model["embed"]


def test_the_cpu_preset_is_a_qrnn_and_has_a_recipe_for_the_recurrent_cells() -> None:
    train, model = preset("cpu")
    assert train["model"] == "qrnn" and train["ema"] > 0 and model["layers"] == 3
    for cell in ("lstm", "gru", "rnn"):
        train, model = preset("cpu", cell)
        assert train["model"] == cell and train["lr"] == 1.3e-2 and model == {**model, "layers": 2, "hidden": 256}
    train, model = preset("tiny", "qrnn")  # no recipe of its own: the preset's, for that model
    assert train["model"] == "qrnn" and model == preset("tiny")[1]


def test_preset_cpu_trains_its_model_unless_one_is_given(tiny_corpus: str, hermetic: Path) -> None:
    small = ["--seq-len", "16", "--batch-size", "4", "--hidden", "16", "--max-steps", "2", "--eval-every", "2"]
    ok(invoke("train", tiny_corpus, "--name", "q", "--preset", "cpu", *small))
    meta = json.loads((hermetic / "styles" / "q" / "style.json").read_text())
    assert meta["model"]["name"] == "qrnn" and meta["train"]["ema"] == 0.998
    ok(invoke("train", tiny_corpus, "--name", "l", "--preset", "cpu", "--model", "lstm", *small))
    meta = json.loads((hermetic / "styles" / "l" / "style.json").read_text())
    assert meta["model"]["name"] == "lstm" and meta["model"]["config"]["layers"] == 2 and meta["train"]["lr"] == 1.3e-2


def test_auto_preset_fits_the_device_and_the_corpus() -> None:
    from stylegen.training.presets import choose_preset

    assert choose_preset("cpu", 21_000) == "tiny"
    assert choose_preset("cpu", 5_000_000) == "cpu"
    assert choose_preset("cuda", 5_000_000) == "gpu"
    assert choose_preset("cuda:1", 21_000) == "tiny"


def test_train_without_a_preset_picks_one_and_says_so(tiny_corpus: str, hermetic: Path) -> None:
    result = invoke("train", tiny_corpus, "--name", "a", "--seq-len", "16", "--max-steps", "2", "--eval-every", "2")
    ok(result)
    assert "preset tiny (picked for cpu and a corpus of" in result.output and "--preset" in result.output
    meta = json.loads((hermetic / "styles" / "a" / "style.json").read_text())
    assert meta["train"]["preset"] == "tiny" and meta["train"]["batch_size"] == preset("tiny")[0]["batch_size"]
    assert 0 < meta["train"]["first_eval_minutes"] <= 1.0  # a sample within the first minute
    ok(invoke("train", tiny_corpus, "--name", "n", "--preset", "none", "--seq-len", "16", "--max-steps", "2"))
    meta = json.loads((hermetic / "styles" / "n" / "style.json").read_text())
    assert meta["train"]["preset"] is None and meta["train"]["lr"] == 3e-3  # TrainConfig's own defaults


def test_warm_up_ends_within_a_tenth_of_a_time_or_epoch_limited_run() -> None:
    from stylegen.training.config import TrainConfig
    from stylegen.training.schedule import lr_at

    cfg = TrainConfig(corpus="c", name="s", lr=1.0, warmup_steps=100, max_minutes=5.0)
    assert lr_at(cfg, 0, 0.0) == pytest.approx(0.01)
    assert lr_at(cfg, 40, 0.1) == lr_at(cfg, 400, 0.1)  # step 40 of a run that reaches 44: warm-up over
    assert lr_at(cfg, 5, 0.05) == pytest.approx(0.5)  # half way through its (shortened) warm-up


def test_first_validation_comes_after_first_eval_minutes(tiny_corpus: str) -> None:
    from collections.abc import Mapping
    from typing import Any

    from conftest import TINY

    from stylegen.training import TrainConfig, train

    evals: list[int] = []

    class Evals:
        def on_event(self, event: Mapping[str, Any]) -> None:
            if event["event"] == "eval":
                evals.append(int(event["step"]))

    settings = {**TINY, "eval_every": 1000, "log_every": 5}
    train(
        TrainConfig(corpus=tiny_corpus, name="f", max_steps=12, first_eval_minutes=1e-9, **settings),
        observers=[Evals()],
    )
    assert evals[0] == 5 and evals[-1] == 12  # the first at the first logged step past the time, then the end
    assert len(evals) == 2
