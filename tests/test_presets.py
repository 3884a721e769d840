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
