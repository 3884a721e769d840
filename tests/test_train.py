"""Training: overfitting a tiny corpus, resume equivalence, checkpoints and the style on disk."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TINY, StopAt

from stylegen import load_style, styles
from stylegen.errors import StylegenError
from stylegen.training import TrainConfig, train
from stylegen.training.data import StreamBatches, fit_batch
from stylegen.training.schedule import lr_at, progress_of


def step_losses(style: str) -> dict[int, float]:
    path = styles.style_path(style) / "metrics.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return {e["step"]: e["loss"] for e in events if e["event"] == "step"}


def test_stream_batches_are_contiguous_and_shifted() -> None:
    tokens = np.arange(100, dtype=np.uint16)
    data = StreamBatches(tokens, batch=4, seq_len=5)
    assert data.stream_len == 25 and data.windows == 4
    x0, y0 = data.window(0, "cpu")
    x1, _ = data.window(1, "cpu")
    assert x0.shape == (4, 5) and x0.dtype.is_floating_point is False
    assert x0[1].tolist() == [25, 26, 27, 28, 29]  # stream 1 starts a quarter in
    assert y0[1].tolist() == [26, 27, 28, 29, 30]  # targets: the next token
    assert x1[1].tolist() == [30, 31, 32, 33, 34]  # the next window continues the stream
    assert fit_batch(100, 64, 5) == 16


def test_lr_warms_up_then_decays_by_cosine() -> None:
    cfg = TrainConfig(corpus="c", name="s", lr=1.0, min_lr_ratio=0.1, warmup_steps=10, max_steps=1000)
    assert lr_at(cfg, 0, 0.0) == pytest.approx(0.1)
    assert lr_at(cfg, 9, 0.01) == pytest.approx(1.0)
    assert lr_at(cfg, 500, 0.5) == pytest.approx(0.55)
    assert lr_at(cfg, 1000, 1.0) == pytest.approx(0.1)
    assert progress_of(TrainConfig(corpus="c", name="s", max_minutes=2.0, max_steps=100), 10, 0.0, 60.0) == 0.5


def test_tiny_model_overfits_a_tiny_corpus(tiny_corpus: str) -> None:
    # The corpus repeats one 45-character sentence. Its unigram entropy is about 4.2 bits/char,
    # so a validation figure under 0.5 bits/char means the model predicts from context: it has
    # learned the sentence. 120 steps reach about 0.05 here.
    meta = train(TrainConfig(corpus=tiny_corpus, name="fit", max_steps=120, **TINY))
    assert meta["val_bpc"] < 0.5
    assert meta["steps"] == 120 and meta["status"] == "done"
    losses = step_losses("fit")
    assert losses[120] < losses[10] / 5


@pytest.mark.parametrize("model", ["lstm", "gru", "rnn"])
def test_every_builtin_model_trains_and_saves_a_style(tiny_corpus: str, model: str) -> None:
    meta = train(TrainConfig(corpus=tiny_corpus, name=model, model=model, max_steps=30, **TINY))
    path = styles.style_path(model)
    assert (path / "model.safetensors").is_file()
    assert (path / "tokenizer" / "vocab.json").is_file()
    assert (path / "checkpoint" / "state.pt").is_file()
    on_disk = json.loads((path / "style.json").read_text())
    for key in ("val_bpc", "val_loss", "tokenizer", "model", "params", "steps", "train_seconds", "versions", "corpus"):
        assert key in on_disk
    assert on_disk["model"]["name"] == model
    assert math.isfinite(meta["val_bpc"]) and meta["val_bpc"] > 0
    assert not list(path.rglob("*.tmp")), "no temporary files left behind"
    # bits per char and nats per token agree for a char tokenizer: bpc = nats / ln 2
    assert meta["val_bpc"] == pytest.approx(meta["val_loss"] / math.log(2))


def test_resume_after_a_stop_matches_an_uninterrupted_run(tiny_corpus: str) -> None:
    settings = {
        **TINY,
        "model_config": {"layers": 2, "hidden": 32, "embed": 16, "dropout": 0.2},
        "log_every": 1,
        "eval_every": 100,
    }
    train(TrainConfig(corpus=tiny_corpus, name="whole", max_steps=20, seed=7, **settings))

    flag = threading.Event()
    stopped = train(
        TrainConfig(corpus=tiny_corpus, name="split", max_steps=20, seed=7, **settings),
        observers=[StopAt(10, flag)],
        stop=flag,
    )
    assert stopped["status"] == "stopped" and stopped["steps"] == 10
    resumed = train(TrainConfig(corpus=tiny_corpus, name="split", max_steps=20), resume=True)
    assert resumed["steps"] == 20 and resumed["status"] == "done"

    whole, split = step_losses("whole"), step_losses("split")
    assert sorted(split) == list(range(1, 21))
    assert split[11] == pytest.approx(whole[11], rel=1e-6, abs=1e-7)  # the next step after the stop
    assert split[20] == pytest.approx(whole[20], rel=1e-5)


def test_resume_can_extend_a_finished_run(tiny_corpus: str) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="more", max_steps=10, **TINY))
    meta = train(TrainConfig(corpus=tiny_corpus, name="more", max_steps=25), resume=True)
    assert meta["steps"] == 25
    assert meta["train"]["batch_size"] == TINY["batch_size"]  # saved settings are kept


def test_existing_style_is_not_overwritten_without_force(tiny_corpus: str) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="once", max_steps=5, **TINY))
    before = (styles.style_path("once") / "model.safetensors").read_bytes()
    with pytest.raises(StylegenError, match="already exists"):
        train(TrainConfig(corpus=tiny_corpus, name="once", max_steps=5, **TINY))
    assert (styles.style_path("once") / "model.safetensors").read_bytes() == before
    train(TrainConfig(corpus=tiny_corpus, name="once", max_steps=5, seed=1, **TINY), replace=True)


def test_too_short_corpus_is_refused_before_anything_is_written(hermetic: Path, tmp_path: Path) -> None:
    from stylegen.corpus import build_corpus

    src = tmp_path / "short.txt"
    src.write_text("just a few words here\n" * 2, encoding="utf-8")
    build_corpus("short", [str(src)])
    with pytest.raises(StylegenError, match=r"corpus 'short' is too short: \d+ training tokens"):
        train(TrainConfig(corpus="short", name="short", max_steps=5))
    assert not styles.style_path("short").exists()


def test_small_corpus_lowers_the_batch(tiny_corpus: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings = {**TINY, "batch_size": 1000}
    meta = train(TrainConfig(corpus=tiny_corpus, name="small", max_steps=2, **settings))
    assert meta["train"]["batch_size"] < 1000
    assert "batch lowered" in capsys.readouterr().err


def test_max_epochs_stops_at_the_end_of_the_data(tiny_corpus: str) -> None:
    meta = train(TrainConfig(corpus=tiny_corpus, name="ep", max_epochs=1.0, **TINY))
    assert meta["epochs"] == pytest.approx(1.0)


def test_observer_that_raises_is_dropped_not_fatal(tiny_corpus: str, capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        def on_event(self, event: Mapping[str, Any]) -> None:
            raise RuntimeError("sink down")

    meta = train(TrainConfig(corpus=tiny_corpus, name="obs", max_steps=5, **TINY), observers=[Broken()])
    assert meta["steps"] == 5
    assert capsys.readouterr().err.count("sink down") == 1


def test_force_keeps_the_old_style_until_the_new_run_validates(tiny_corpus: str) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="keep", max_steps=5, **TINY))
    old = (styles.style_path("keep") / "model.safetensors").read_bytes()

    class Crash:
        def on_event(self, event: Mapping[str, Any]) -> None:
            if event["event"] == "step":
                raise KeyboardInterrupt  # the run dies before its first validation

    settings = {**TINY, "log_every": 1}
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(corpus=tiny_corpus, name="keep", max_steps=50, **settings), observers=[Crash()], replace=True)
    assert (styles.style_path("keep") / "model.safetensors").read_bytes() == old
    assert styles.load_style("keep").meta["steps"] == 5
    meta = train(TrainConfig(corpus=tiny_corpus, name="keep", max_steps=7, **TINY), replace=True)
    assert meta["steps"] == 7
    assert sorted(p.name for p in styles.styles_dir().iterdir()) == ["keep"]


def test_resume_refuses_another_corpus(tiny_corpus: str, texts_dir: Path) -> None:
    from stylegen.corpus import build_corpus

    train(TrainConfig(corpus=tiny_corpus, name="r", max_steps=5, **TINY))
    build_corpus("other", [str(texts_dir)])
    with pytest.raises(StylegenError, match="trained on corpus 'tiny', not 'other'"):
        train(TrainConfig(corpus="other", name="r", max_steps=10), resume=True)


def test_precision_auto_follows_the_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    from stylegen.training import precision

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert precision.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert precision.resolve_precision("auto", "cpu") == "fp32"
    assert precision.resolve_precision("bf16", "cpu") == "bf16" and precision.resolve_precision("fp32", "cpu") == "fp32"


def test_bf16_autocast_trains_on_the_cpu(tiny_corpus: str) -> None:
    cfg = TrainConfig(corpus=tiny_corpus, name="half", max_steps=40, **{**TINY, "precision": "bf16"})
    meta = train(cfg)
    assert meta["precision"] == "bf16"
    assert meta["val_bpc"] is not None and meta["val_bpc"] < 4.0  # it learns the phrase under bf16 too
    assert "".join(load_style("half").generate("the", length=20, seed=1))
