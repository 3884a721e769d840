"""The built-in `qrnn` model: the plugin contract, its scan, and training, generation and inspect."""

from __future__ import annotations

import torch
from conftest import TINY

from stylegen import plugins, styles
from stylegen.models.qrnn import QRNNLayer, fo_pool
from stylegen.testing import check_model
from stylegen.training import TrainConfig, train


def test_qrnn_keeps_the_model_contract() -> None:
    check_model(plugins.get("model", "qrnn"), {"layers": 3, "hidden": 16, "embed": 8}, length=20)


def reference_pool(pre: torch.Tensor, c0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The QRNN's fo-pooling as the paper writes it, step by step, for autograd to differentiate."""
    z, f, o = pre.chunk(3, dim=-1)
    z, f, o = torch.tanh(z), torch.sigmoid(f), torch.sigmoid(o)
    c, cells = c0, []
    for t in range(pre.shape[0]):
        c = f[t] * c + (1 - f[t]) * z[t]
        cells.append(c)
    cell = torch.stack(cells)
    return o * cell, cell


def test_the_pooling_and_its_hand_written_backward_match_autograd() -> None:
    pre = torch.randn(7, 2, 3 * 4, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(2, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(fo_pool, (pre, c0))
    for got, want in zip(fo_pool(pre, c0), reference_pool(pre, c0), strict=True):
        assert torch.allclose(got, want)
    # Both outputs carry gradient (c is the state and inspect's cell), and so does c0.
    h, c = fo_pool(pre, c0)
    (h.sum() + c[-1].sum()).backward()
    assert pre.grad is not None and c0.grad is not None
    ours = pre.grad.clone(), c0.grad.clone()
    pre.grad, c0.grad = None, None
    h, c = reference_pool(pre, c0)
    (h.sum() + c[-1].sum()).backward()
    assert pre.grad is not None and c0.grad is not None
    assert torch.allclose(ours[0], pre.grad) and torch.allclose(ours[1], c0.grad)


def test_a_layer_is_the_gates_of_its_two_step_window() -> None:
    """Time-major, with W [x_t; x_{t-1}] split into two products: the same outputs and weight
    gradients as the window written out (batch-first, one product over the concatenation)."""
    torch.manual_seed(0)
    layer = QRNNLayer(5, 4).double()
    x = torch.randn(6, 3, 5, dtype=torch.double)
    c0, x0 = torch.randn(3, 4, dtype=torch.double), torch.randn(3, 5, dtype=torch.double)
    out, c_last, x_last = layer(x, c0, x0, gates=True)
    (out["hidden"] ** 2).sum().backward()
    assert layer.gates.weight.grad is not None
    ours = layer.gates.weight.grad.clone()
    layer.zero_grad()
    window = torch.cat([x, torch.cat([x0[None], x[:-1]])], dim=-1)  # (T, B, 2I)
    h, c = reference_pool(layer.gates(window), c0)
    (h**2).sum().backward()
    assert torch.allclose(out["hidden"], h) and torch.allclose(out["cell"], c)
    assert torch.allclose(c_last, c[-1]) and torch.equal(x_last, x[-1])
    assert torch.allclose(out["gate-f"], torch.sigmoid(layer.gates(window)[..., 4:8]))
    assert layer.gates.weight.grad is not None and torch.allclose(ours, layer.gates.weight.grad)


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
