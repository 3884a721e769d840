"""The training levers that cost no steps: averaged weights (--ema) and the AWD-LSTM regularisers."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from conftest import TINY, train_stopped_and_resumed

from stylegen import plugins, styles
from stylegen.training import TrainConfig, checkpoint, train
from stylegen.training.averaging import Averager


def test_the_average_warms_up_then_follows_the_weights_slowly() -> None:
    model = torch.nn.Linear(3, 2)
    avg = Averager(model, decay=0.99)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.fill_(1.0)
    avg.update()  # decay (1 + 0) / 10 = 0.1: mostly the new weights
    assert torch.allclose(avg.average[0], 0.1 * start + 0.9)
    before = [a.clone() for a in avg.average]
    for _ in range(1000):
        avg.update()
    assert torch.allclose(avg.average[0], torch.ones(2, 3), atol=1e-3)
    assert not torch.equal(before[0], avg.average[0])


def test_swapped_in_restores_the_raw_weights() -> None:
    model = torch.nn.Linear(3, 2)
    avg = Averager(model, decay=0.9)
    raw = model.weight.detach().clone()
    avg.average[0].zero_()
    with avg.swapped_in():
        assert torch.count_nonzero(model.weight) == 0
    assert torch.equal(model.weight, raw)


def test_ema_validates_and_saves_the_average_and_resumes_bit_for_bit(tiny_corpus: str) -> None:
    settings: dict[str, Any] = {**TINY, "ema": 0.9, "log_every": 1, "eval_every": 7}
    whole = train(TrainConfig(corpus=tiny_corpus, name="whole", max_steps=14, seed=1, **settings))
    ckpt = checkpoint.load(styles.style_path("whole"))
    average = ckpt["ema"]["average"]
    saved = styles.load_style("whole").model
    params = [p for p in saved.parameters()]
    # the style's weights are the average (best at step 14 or 7: either way not the raw weights)
    raw = list(ckpt["model"].values())
    assert any(not torch.equal(p, r) for p, r in zip(params, raw, strict=True))
    if whole["best_step"] == 14:
        assert all(torch.allclose(p.float(), a) for p, a in zip(params, average, strict=True))

    train_stopped_and_resumed(tiny_corpus, "split", 14, stop_at=5, **settings)
    a, b = checkpoint.load(styles.style_path("whole")), checkpoint.load(styles.style_path("split"))
    assert a["ema"]["updates"] == b["ema"]["updates"] == 14
    for x, y in zip(a["ema"]["average"], b["ema"]["average"], strict=True):
        assert torch.equal(x, y)


def test_without_ema_the_checkpoint_has_none(tiny_corpus: str) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="plain", max_steps=5, **TINY))
    assert checkpoint.load(styles.style_path("plain"))["ema"] is None


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_regularisers_train_and_leave_evaluation_deterministic(cell: str) -> None:
    options = {"layers": 2, "hidden": 24, "embed": 8, "locked_dropout": 0.3, "weight_drop": 0.4, "embed_dropout": 0.2}
    model = plugins.get("model", cell).build(30, **options)
    ids = torch.randint(0, 30, (3, 12))
    state = model.init_state(3, "cpu")
    model.train()
    torch.manual_seed(0)
    a, _ = model(ids, state)
    torch.manual_seed(1)
    b, _ = model(ids, state)
    assert not torch.equal(a, b)  # masks are drawn in training
    a.sum().backward()
    assert all(p.grad is not None and torch.count_nonzero(p.grad) > 0 for p in model.parameters())
    model.eval()
    c, _ = model(ids, state)
    d, _ = model(ids, state)
    assert torch.equal(c, d)
    assert model.config()["weight_drop"] == 0.4


def test_locked_dropout_keeps_one_mask_per_sequence() -> None:
    from stylegen.models.rnn import locked_dropout

    x = torch.ones(4, 50, 8)
    y = locked_dropout(x, 0.5, training=True)
    assert torch.equal(y, y[:, :1].expand_as(y))  # the same channels dropped at every step
    assert set(torch.unique(y).tolist()) <= {0.0, 2.0}
    assert torch.equal(locked_dropout(x, 0.5, training=False), x)


def test_regularisers_off_are_left_out_of_the_config() -> None:
    model = plugins.get("model", "lstm").build(30, layers=1, hidden=8, embed=4)
    assert set(model.config()) == {"hidden", "layers", "embed", "dropout"}


def test_ema_out_of_range_is_refused() -> None:
    from stylegen.errors import StylegenError

    with pytest.raises(StylegenError, match="ema must be in"):
        TrainConfig(corpus="c", name="s", ema=1.0)


def test_events_read_back_as_typed_records_and_as_their_json() -> None:
    from stylegen import EndEvent, EvalEvent, event_from_json

    line = {
        "event": "eval",
        "step": 5,
        "tokens_seen": 80,
        "val_loss": 1.0,
        "val_bpc": 1.44,
        "best": True,
        "elapsed": 2.0,
    }
    event = event_from_json(line)
    assert isinstance(event, EvalEvent) and event.val_bpc == 1.44 and event["event"] == "eval"
    assert event.to_json() == line  # no sample: the key stays out, as the trainer writes it
    end = EndEvent(step=3, reason="max_steps", style="s", best_val_bpc=2.0, train_seconds=1.0)
    assert dict(end) == {
        "event": "end",
        "step": 3,
        "reason": "max_steps",
        "style": "s",
        "best_val_bpc": 2.0,
        "train_seconds": 1.0,
    }
    from stylegen.tui._training import _typed

    assert isinstance(_typed(end.to_json()), EndEvent)
    partial = {"event": "step", "step": 1}  # a line that fits no record is passed on as it is
    assert _typed(partial) is partial
