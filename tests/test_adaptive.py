"""--adaptive-dropout: the run's locked dropout is chosen from the passes its budget allows."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY, StopAt
from test_cli import invoke, ok

from stylegen import styles
from stylegen.training import TrainConfig, checkpoint, train
from stylegen.training.adaptive import (
    DECIDE_AT,
    MEASURE_FROM,
    PASSES_FOR_DROPOUT,
    TIERS,
    DropoutPlanner,
    dropout_for,
)


def test_the_dropout_follows_the_passes() -> None:
    assert dropout_for(0.5) == dropout_for(PASSES_FOR_DROPOUT - 0.01) == 0.0
    assert dropout_for(PASSES_FOR_DROPOUT) == 0.1 == dropout_for(14.9)
    assert dropout_for(15.0) == 0.2 == dropout_for(400.0)
    assert [p for _, p in TIERS] == sorted((p for _, p in TIERS), reverse=True)  # more passes, more dropout


@pytest.mark.parametrize("rate", [0.01, 0.5])  # progress per epoch: 100 passes, 2 passes
def test_the_planner_extrapolates_passes_from_progress(rate: float) -> None:
    planner = DropoutPlanner(start_step=100)  # a resumed run: counted from where it starts
    epochs = 3.0
    for step in range(101, 101 + DECIDE_AT):
        epochs += 0.001
        # a slower start must not matter: only steps from MEASURE_FROM on are measured
        answer = planner.on_step(step, epochs, 0.2 + (epochs - 3.0) * rate)
        if step - 100 < DECIDE_AT:
            assert answer is None
    progress = 0.2 + (epochs - 3.0) * rate
    assert answer == pytest.approx(epochs + (1 - progress) / rate)
    assert planner.mark is not None and planner.mark[0] == pytest.approx(3.0 + 0.001 * MEASURE_FROM)


def _run(name: str, corpus: str, epochs: float, **more: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {**TINY, "log_every": 1, "eval_every": 1000, **more}
    cfg = TrainConfig(corpus=corpus, name=name, max_epochs=epochs, adaptive_dropout=True, **settings)
    return train(cfg).to_json()


@pytest.mark.parametrize("epochs, expected", [(40.0, 0.2), (10.0, 0.1), (3.0, 0.0)])
def test_a_run_sets_records_and_saves_its_choice(tiny_corpus: str, epochs: float, expected: float) -> None:
    meta = _run("a", tiny_corpus, epochs)
    adapted = meta["train"]["adapted"]
    assert adapted["step"] == DECIDE_AT and adapted["passes"] == pytest.approx(epochs, rel=1e-6)
    assert adapted["locked_dropout"] == expected
    # what the model trained with (style.json leaves a training-only option out while it is 0)
    assert meta["model"]["config"].get("locked_dropout", 0.0) == expected
    assert meta["train"]["model_config"]["locked_dropout"] == expected  # what a resumed run builds
    events = [json.loads(line) for line in (styles.style_path("a") / "metrics.jsonl").read_text().splitlines()]
    said = [e for e in events if e.get("adapted")]
    assert len(said) == 1 and said[0]["step"] == DECIDE_AT  # logged once, at the step it was chosen


def test_a_resumed_run_keeps_the_choice(tiny_corpus: str) -> None:
    flag = threading.Event()
    settings: dict[str, Any] = {**TINY, "log_every": 1, "eval_every": 1000}
    cfg = TrainConfig(corpus=tiny_corpus, name="r", max_epochs=40.0, adaptive_dropout=True, **settings)
    assert train(cfg, observers=[StopAt(DECIDE_AT + 2, flag)], stop=flag)["status"] == "stopped"
    saved = checkpoint.load(styles.style_path("r"))["config"]
    assert saved["adapted"]["locked_dropout"] == 0.2
    # resumed with a limit that allows few passes: the choice stays, nothing is chosen again
    resumed = train(TrainConfig(corpus=tiny_corpus, name="r", max_steps=DECIDE_AT + 40), resume=True).to_json()
    assert resumed["train"]["adapted"] == saved["adapted"]
    assert resumed["model"]["config"]["locked_dropout"] == 0.2


def test_cpu_preset_adapts_unless_a_dropout_is_given(tiny_corpus: str, hermetic: Path) -> None:
    small = ["--seq-len", "16", "--batch-size", "4", "--hidden", "16", "--max-steps", "30", "--eval-every", "30"]
    result = ok(invoke("train", tiny_corpus, "--name", "q", "--preset", "cpu", *small))
    meta = json.loads((hermetic / "styles" / "q" / "style.json").read_text())
    assert meta["train"]["adaptive_dropout"] is True and meta["train"]["adapted"]["step"] == DECIDE_AT
    assert "adaptive dropout: about" in result.output
    ok(invoke("train", tiny_corpus, "--name", "g", "--preset", "cpu", "--locked-dropout", "0.3", *small))
    meta = json.loads((hermetic / "styles" / "g" / "style.json").read_text())
    assert meta["train"]["adaptive_dropout"] is False and meta["train"]["adapted"] is None
    assert meta["model"]["config"]["locked_dropout"] == 0.3
    ok(invoke("train", tiny_corpus, "--name", "n", "--preset", "cpu", "--no-adaptive-dropout", *small))
    meta = json.loads((hermetic / "styles" / "n" / "style.json").read_text())
    assert meta["train"]["adapted"] is None and meta["model"]["config"].get("locked_dropout", 0.0) == 0.0


def test_a_model_without_the_option_is_left_as_it_is(tiny_corpus: str) -> None:
    from stylegen.training.adaptive import apply

    class Bare:
        pass

    cfg = TrainConfig(corpus=tiny_corpus, name="b", model_config={"hidden": 8})
    assert apply(Bare(), cfg, 50.0, 25)["locked_dropout"] is None
    assert cfg.model_config == {"hidden": 8} and cfg.adapted == {"step": 25, "passes": 50.0, "locked_dropout": None}


def test_the_callers_model_options_are_left_alone(tiny_corpus: str) -> None:
    options = {**TINY["model_config"]}
    settings = {**{k: v for k, v in TINY.items() if k != "model_config"}, "log_every": 1, "eval_every": 1000}
    cfg = TrainConfig(corpus=tiny_corpus, name="c", model_config=options, max_epochs=40.0, adaptive_dropout=True,
                      **settings)  # fmt: skip
    meta = train(cfg).to_json()
    assert meta["model"]["config"]["locked_dropout"] == 0.2 and options == TINY["model_config"]
