"""The built-in `qrnn` model: the plugin contract, its scan, and training, generation and inspect."""

from __future__ import annotations

import torch
from conftest import TINY

from stylegen import plugins, styles
from stylegen.models.qrnn import linear_scan
from stylegen.testing import check_model
from stylegen.training import TrainConfig, train


def test_qrnn_keeps_the_model_contract() -> None:
    check_model(plugins.get("model", "qrnn"), {"layers": 3, "hidden": 16, "embed": 8}, length=20)


def test_the_scan_and_its_hand_written_backward_match_autograd() -> None:
    a = torch.rand(7, 2, 3, dtype=torch.double, requires_grad=True)
    b = torch.randn(7, 2, 3, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(linear_scan, (a, b, c0))
    c, expect = c0, []
    for t in range(7):
        c = a[t] * c + b[t]
        expect.append(c)
    assert torch.allclose(linear_scan(a, b, c0), torch.stack(expect))


def test_qrnn_trains_generates_and_is_inspected(tiny_corpus: str) -> None:
    settings = {
        **TINY,
        "model": "qrnn",
        "model_config": {"layers": 2, "hidden": 32, "embed": 16, "locked_dropout": 0.1},
    }
    meta = train(TrainConfig(corpus=tiny_corpus, name="q", max_steps=60, **settings))
    assert meta["status"] == "done" and meta["val_bpc"] < 3.5
    style = styles.load_style("q")
    assert len("".join(style.generate("the ", length=40, seed=1))) == 40
    from stylegen.inspect import activations

    acts = activations(style, "the quick brown fox")
    assert set(acts.per_token) == {"hidden", "cell", "gate-f", "gate-o"}
    assert acts.per_token["hidden"].shape == (2, len("the quick brown fox"), 32)
