"""Training you can trust: bit-for-bit resume, Ctrl-C, NaN roll-back, early stopping, metrics,
samples at validation and TensorBoard logs."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from conftest import TINY

from stylegen import plugins, styles
from stylegen.builtin.observers import ProgressLine
from stylegen.cli import cli
from stylegen.errors import StylegenError
from stylegen.hookspecs import hookimpl
from stylegen.training import TrainConfig, checkpoint, evaluate, loop, train


def metrics(style: str) -> list[dict[str, Any]]:
    path = styles.style_path(style) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


class Record:
    """An observer that keeps every event; with `stop_at`, asks the run to stop at that step."""

    def __init__(self, stop_at: int | None = None, flag: threading.Event | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.stop_at, self.flag = stop_at, flag

    def on_event(self, event: Mapping[str, Any]) -> None:
        self.events.append(dict(event))
        if self.flag is not None and event["event"] == "step" and event["step"] >= (self.stop_at or 0):
            self.flag.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == kind]


def test_resume_continues_bit_for_bit(tiny_corpus: str) -> None:
    # Dropout on, so the random state matters; validations (and their samples) at steps the
    # uninterrupted run never validates at, so they must not disturb the training either.
    settings = {
        **TINY,
        "model_config": {"layers": 2, "hidden": 32, "embed": 16, "dropout": 0.2},
        "log_every": 1,
        "eval_every": 7,
    }
    train(TrainConfig(corpus=tiny_corpus, name="whole", max_steps=20, seed=3, **settings))
    flag = threading.Event()
    first = train(
        TrainConfig(corpus=tiny_corpus, name="split", max_steps=20, seed=3, **settings),
        observers=[Record(10, flag)],
        stop=flag,
    )
    assert first["status"] == "stopped" and first["steps"] == 10
    second = train(TrainConfig(corpus=tiny_corpus, name="split", max_steps=20), resume=True)
    assert second["steps"] == 20 and second["status"] == "done"

    whole, split = metrics("whole"), metrics("split")
    losses = {e["step"]: e["loss"] for e in whole if e["event"] == "step"}
    assert {e["step"]: e["loss"] for e in split if e["event"] == "step"} == losses  # exactly equal
    evals = {e["step"]: e["val_loss"] for e in split if e["event"] == "eval"}
    assert {e["step"]: e["val_loss"] for e in whole if e["event"] == "eval"}.items() <= evals.items()
    a = checkpoint.load(styles.style_path("whole"))
    b = checkpoint.load(styles.style_path("split"))
    for key in ("model",):
        assert a[key].keys() == b[key].keys()
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), "weights differ"
    assert torch.equal(a["rng"], b["rng"])
    exp_a = [s["exp_avg"] for s in a["optimizer"]["state"].values()]
    exp_b = [s["exp_avg"] for s in b["optimizer"]["state"].values()]
    assert all(torch.equal(x, y) for x, y in zip(exp_a, exp_b, strict=True))


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tiny_corpus: str) -> None:
    args = ["train", tiny_corpus, "--name", "cc", "--max-steps", "100000", "--batch-size", "4", "--seq-len", "16"]
    args += ["--layers", "1", "--hidden", "32", "--embed", "8", "--eval-every", "100000", "--events", "jsonl"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stylegen", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until it trains
        if json.loads(line)["event"] == "step":
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"stylegen train {tiny_corpus} --name cc --resume" in err
    meta = styles.load_style("cc").meta
    assert meta["status"] == "stopped" and meta["steps"] >= 10
    end = [json.loads(x) for x in out.splitlines() if json.loads(x)["event"] == "end"]
    assert end and end[0]["reason"] == "stopped"
    resumed = train(TrainConfig(corpus=tiny_corpus, name="cc", max_steps=meta["steps"] + 3), resume=True)
    assert resumed["steps"] == meta["steps"] + 3


class Poison:
    """A model plugin `poisoned`: the built-in LSTM, whose logits become NaN from training call `at` on."""

    def __init__(self, at: int) -> None:
        self.at = at

    @hookimpl
    def register_models(self, register: Any) -> None:
        at = self.at

        class Factory:
            name = "poisoned"
            description = "an LSTM that goes NaN"

            def build(self, vocab_size: int, **config: Any) -> Any:
                model = plugins.get("model", "lstm").build(vocab_size, **config)
                calls = [0]
                forward = model.forward

                def poisoned(ids: torch.Tensor, state: Any) -> Any:
                    logits, state = forward(ids, state)
                    if model.training:
                        calls[0] += 1
                        if calls[0] >= at:
                            logits = logits * float("nan")
                    return logits, state

                model.forward = poisoned
                return model

        register(Factory())


def poisoned_registry(at: int) -> None:
    plugins.reset(extra={"poison": Poison(at)})


def test_nan_loss_stops_and_rolls_back_to_the_last_checkpoint(tiny_corpus: str) -> None:
    poisoned_registry(at=26)  # step 26 is the first bad one
    rec = Record()
    settings = {**TINY, "eval_every": 10, "log_every": 5}
    meta = train(
        TrainConfig(corpus=tiny_corpus, name="nan", model="poisoned", max_steps=60, **settings), observers=[rec]
    )
    assert meta["status"] == "diverged"
    assert meta["diverged"] == {"from_step": 26, "by_step": 30, "rolled_back_to": 20}
    on_disk = styles.load_style("nan").meta
    assert on_disk["status"] == "diverged" and on_disk["steps"] == 20 and on_disk["end_reason"] == "diverged"
    ckpt = checkpoint.load(styles.style_path("nan"))
    assert ckpt["step"] == 20
    assert all(torch.isfinite(t).all() for t in ckpt["model"].values())
    assert rec.of("end")[0]["reason"] == "diverged"
    assert [e["step"] for e in rec.of("step")] == [5, 10, 15, 20, 25]  # the bad interval is not logged


def test_nan_loss_on_the_command_line_is_one_line_and_exit_1(tiny_corpus: str) -> None:
    poisoned_registry(at=12)
    args = ["train", tiny_corpus, "--name", "n", "--model", "poisoned", "--max-steps", "40", "--batch-size", "4"]
    args += ["--seq-len", "16", "--layers", "1", "--hidden", "32", "--embed", "8", "--eval-every", "10", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "training diverged: the loss became NaN or infinite between steps 11 and 20" in result.output
    assert "rolled back to the checkpoint of step 10" in result.output


def test_nan_before_the_first_validation_leaves_nothing(tiny_corpus: str) -> None:
    poisoned_registry(at=3)
    with pytest.raises(StylegenError, match="before the first validation, so nothing was saved"):
        train(TrainConfig(corpus=tiny_corpus, name="gone", model="poisoned", max_steps=30, **TINY))
    assert not styles.user_style_path("gone").exists()
    assert not list(styles.styles_dir().glob(".gone*"))


def test_patience_stops_after_validations_without_a_better_one(
    tiny_corpus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted = iter([3.0, 2.0, 2.5, 2.2, 2.1, 1.0])  # best at the 2nd validation, then 3 worse ones

    def fake_evaluate(*args: Any, **kwargs: Any) -> tuple[float, float]:
        bpc = next(scripted)
        return bpc * 0.69, bpc

    monkeypatch.setattr(loop, "evaluate", fake_evaluate)
    rec = Record()
    meta = train(TrainConfig(corpus=tiny_corpus, name="pat", max_steps=200, patience=3, **TINY), observers=[rec])
    assert rec.of("end")[0]["reason"] == "patience"
    assert meta["steps"] == 5 * TINY["eval_every"] and meta["best_step"] == 2 * TINY["eval_every"]
    assert meta["val_bpc"] == 2.0 and meta["end_reason"] == "patience" and meta["status"] == "done"


def test_metrics_hold_tokens_seen_and_each_validation_a_sample(tiny_corpus: str) -> None:
    out = io.StringIO()
    train(TrainConfig(corpus=tiny_corpus, name="m", max_steps=40, **TINY), observers=[ProgressLine(out)])
    events = metrics("m")
    per_step = TINY["batch_size"] * TINY["seq_len"]
    steps = [e for e in events if e["event"] == "step"]
    evals = [e for e in events if e["event"] == "eval"]
    assert [e["step"] for e in evals] == [20, 40]
    for e in steps + evals:
        assert e["tokens_seen"] == e["step"] * per_step
    for e in steps:
        assert {"loss", "lr", "tokens_per_s", "elapsed"} <= e.keys()
    for e in evals:
        assert {"val_loss", "val_bpc", "elapsed"} <= e.keys()
        assert 0 < len(e["sample"]) <= evaluate.SAMPLE_CHARS
    assert "  | " + evals[-1]["sample"].split("\n")[0][:100] in out.getvalue()


def test_sample_text_is_seeded_and_leaves_the_model_training() -> None:
    tokenizer = plugins.get("tokenizer", "char").train(["hello world\n"])
    model = plugins.get("model", "lstm").build(tokenizer.vocab_size, layers=1, hidden=16, embed=8)
    model.train()
    rng = torch.get_rng_state()
    a = evaluate.sample_text(model, tokenizer, "cpu", seed=1, length=50)
    assert a == evaluate.sample_text(model, tokenizer, "cpu", seed=1, length=50)
    assert len(a) == 50 and model.training
    assert torch.equal(rng, torch.get_rng_state())  # the training's random state is untouched


def test_tensorboard_logs(tiny_corpus: str, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = tmp_path / "tb"
    board = plugins.get("observer", "tensorboard").create(log_dir=str(logs))
    train(TrainConfig(corpus=tiny_corpus, name="tb", max_steps=20, **TINY), observers=[board])
    acc = EventAccumulator(str(logs))
    acc.Reload()
    scalars = acc.Tags()["scalars"]
    assert {"train/loss", "train/lr", "train/tokens_per_s", "val/loss", "val/bpc"} <= set(scalars)
    assert [s.step for s in acc.Scalars("val/bpc")] == [20]


def test_tensorboard_missing_is_one_line(tiny_corpus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    result = CliRunner().invoke(cli, ["train", tiny_corpus, "--name", "x", "--max-steps", "2", "--tensorboard", "tb"])
    assert result.exit_code == 1
    assert "pip install tensorboard" in result.output
    assert not styles.user_style_path("x").exists()


def test_resume_may_change_patience_but_not_the_learning_rate(tiny_corpus: str) -> None:
    args = ["train", tiny_corpus, "--name", "r", "--batch-size", "4", "--seq-len", "16", "--layers", "1"]
    args += ["--hidden", "32", "--embed", "8", "--eval-every", "5", "--quiet"]
    assert CliRunner().invoke(cli, [*args, "--max-steps", "5"]).exit_code == 0
    base = ["train", tiny_corpus, "--name", "r", "--resume", "--quiet"]
    result = CliRunner().invoke(cli, [*base, "--max-steps", "10", "--patience", "2"])
    assert result.exit_code == 0, result.output
    assert styles.load_style("r").meta["train"]["patience"] == 2
    result = CliRunner().invoke(cli, [*base, "--lr", "0.1"])
    assert result.exit_code == 2 and "--patience" in result.output
