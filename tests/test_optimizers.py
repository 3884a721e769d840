"""`stylegen train --optimizer`: AdamW as before, and Muon on the hidden matrices."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from click.testing import CliRunner
from conftest import TINY, train_stopped_and_resumed

from stylegen import styles
from stylegen.cli import cli
from stylegen.errors import StylegenError
from stylegen.models.qrnn import QRNNConfig, QRNNLanguageModel
from stylegen.models.rnn import RNNConfig, RNNLanguageModel
from stylegen.training import TrainConfig, checkpoint, optimizers, train


def _singular_values(m: torch.Tensor) -> torch.Tensor:
    return torch.linalg.svdvals(m.double())


def test_orthogonalise_flattens_the_spectrum_gate_by_gate() -> None:
    torch.manual_seed(0)
    # three gates of very different scales and spreads, stacked as a QRNN stacks them
    spread = torch.logspace(0, 1, 40)  # column scales over a factor of 10
    g = torch.cat([torch.randn(24, 40) * 100, torch.randn(24, 40) * spread, torch.randn(24, 40) * 1e-3])
    out = optimizers.orthogonalise(g, blocks=3)
    assert out.shape == g.shape and out.dtype == g.dtype
    for k in range(3):
        s = _singular_values(out[24 * k : 24 * (k + 1)])
        # the quintic iteration leaves every singular value near 1 (about 0.7 to 1.2), whatever
        # the gate's scale and spread before
        assert s.min() > 0.6 and s.max() < 1.25, (k, s)
    # done on the whole matrix instead, the small gate's directions stay small
    whole = optimizers.orthogonalise(g, blocks=1)
    assert _singular_values(whole[48:]).max() < 0.1


def test_a_tall_matrix_is_orthogonalised_on_its_wide_side() -> None:
    torch.manual_seed(1)
    g = torch.randn(64, 16)
    out = optimizers.orthogonalise(g)
    s = _singular_values(out)
    assert len(s) == 16 and s.min() > 0.6 and s.max() < 1.25


def test_hidden_matrices_leave_out_the_embedding_and_the_head() -> None:
    qrnn = QRNNLanguageModel(50, QRNNConfig(layers=2, hidden=16, embed=8))
    found = {name: optimizers.hidden_matrices(qrnn).get(id(p)) for name, p in qrnn.named_parameters()}
    assert found == {
        "embedding.weight": None,
        "layers.0.gates.weight": 3,
        "layers.0.gates.bias": None,
        "layers.1.gates.weight": 3,
        "layers.1.gates.bias": None,
        "head.weight": None,
        "head.bias": None,
    }
    # a vocabulary as large as the gates' rows (3 x 16): the head is still the only one left out
    same = QRNNLanguageModel(48, QRNNConfig(layers=2, hidden=16, embed=8))
    blocks = optimizers.hidden_matrices(same)
    assert [name for name, p in same.named_parameters() if id(p) in blocks] == [
        "layers.0.gates.weight",
        "layers.1.gates.weight",
    ]
    for cell, gates in (("lstm", 4), ("gru", 3), ("rnn", 1)):
        model = RNNLanguageModel(cell, 50, RNNConfig(layers=2, hidden=16, embed=8))
        blocks = optimizers.hidden_matrices(model)
        named = {name: blocks[id(p)] for name, p in model.named_parameters() if id(p) in blocks}
        assert set(named) == {f"rnn.weight_{kind}_l{k}" for kind in ("ih", "hh") for k in (0, 1)}, cell
        assert set(named.values()) == {gates}, cell


def test_adamw_is_torchs_as_before() -> None:
    model = QRNNLanguageModel(30, QRNNConfig(layers=1, hidden=8, embed=4))
    opt = optimizers.make(model, "adamw", 1e-3, 0.1)
    assert type(opt) is torch.optim.AdamW
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    assert all(p.dim() >= 2 for p in opt.param_groups[0]["params"])


def test_muons_other_groups_step_as_torchs_adamw() -> None:
    """Everything Muon does not take (embedding, head, vectors) moves exactly as under AdamW."""
    torch.manual_seed(2)
    a = QRNNLanguageModel(30, QRNNConfig(layers=2, hidden=8, embed=4))
    b = QRNNLanguageModel(30, QRNNConfig(layers=2, hidden=8, embed=4))
    b.load_state_dict(a.state_dict())
    muon, adamw = optimizers.make(a, "muon", 1e-2, 0.1), optimizers.make(b, "adamw", 1e-2, 0.1)
    hidden = optimizers.hidden_matrices(a)
    for step in range(4):
        torch.manual_seed(step)  # the same gradients for both (the hidden weights part ways at once)
        grads = [torch.randn_like(p) for p in a.parameters()]
        for model in (a, b):
            for p, g in zip(model.parameters(), grads, strict=True):
                p.grad = g.clone()
        muon.step()
        adamw.step()
    moved = 0
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        if id(p) in hidden:
            assert not torch.allclose(p, q), name  # Muon's own update
            moved += 1
        else:
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
    assert moved == 2


def test_muons_update_has_adamws_rms() -> None:
    """Scaled by 0.2 sqrt(max side), an orthogonal update's RMS is 0.2 per unit of lr: the size
    of a typical AdamW step, so the same learning rate and schedule serve both."""
    torch.manual_seed(3)
    p = torch.nn.Parameter(torch.zeros(96, 64))
    opt = optimizers.MuonAdamW([{"params": [p], "weight_decay": 0.0, "muon": True, "blocks": 3}], lr=0.01)
    p.grad = torch.randn(96, 64)
    opt.step()
    rms = float(p.detach().pow(2).mean().sqrt())
    assert 0.01 * 0.2 * 0.6 < rms < 0.01 * 0.2 * 1.25


def test_an_unknown_optimizer_is_refused() -> None:
    with pytest.raises(StylegenError, match="optimizer must be adamw or muon"):
        TrainConfig(corpus="c", name="n", optimizer="sgd")
    with pytest.raises(StylegenError, match="optimizer must be one of adamw, muon"):
        optimizers.make(torch.nn.Linear(2, 2), "sgd", 1e-3, 0.0)


@pytest.mark.parametrize("model", ["qrnn", "lstm"])
def test_a_muon_run_learns_and_resumes_bit_for_bit(tiny_corpus: str, model: str) -> None:
    settings: dict[str, Any] = {**TINY, "model": model, "optimizer": "muon", "lr": 1e-2, "log_every": 1}
    whole = train(TrainConfig(corpus=tiny_corpus, name="whole", max_steps=12, seed=1, **settings))
    assert whole["train"]["optimizer"] == "muon"
    ckpt = checkpoint.load(styles.style_path("whole"))
    kinds = {key for entry in ckpt["optimizer"]["state"].values() for key in entry}
    assert {"momentum_buffer", "exp_avg", "exp_avg_sq", "step"} <= kinds

    train_stopped_and_resumed(tiny_corpus, "split", 12, stop_at=5, **settings)
    a, b = checkpoint.load(styles.style_path("whole")), checkpoint.load(styles.style_path("split"))
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key


def test_a_damaged_momentum_buffer_is_named(tiny_corpus: str) -> None:
    settings: dict[str, Any] = {**TINY, "model": "qrnn", "optimizer": "muon"}
    train(TrainConfig(corpus=tiny_corpus, name="m", max_steps=3, **settings))
    path = styles.style_path("m") / checkpoint.CHECKPOINT
    ckpt = checkpoint.load(styles.style_path("m"))
    index, entry = next((i, e) for i, e in ckpt["optimizer"]["state"].items() if "momentum_buffer" in e)
    entry["momentum_buffer"] = torch.zeros(2, 2)
    torch.save(ckpt, path)
    with pytest.raises(StylegenError, match=rf"optimizer\.state\[{index}\]\.momentum_buffer is \(2, 2\)"):
        train(TrainConfig(corpus=tiny_corpus, name="m", max_steps=6), resume=True)


def test_the_cli_takes_the_optimizer(tiny_corpus: str) -> None:
    result = CliRunner().invoke(
        cli,
        ["train", tiny_corpus, "--name", "viacli", "--preset", "tiny", "--optimizer", "muon", "--max-steps", "3"],
    )
    assert result.exit_code == 0, result.output
    assert styles.read_meta("viacli")["train"]["optimizer"] == "muon"
    refused = CliRunner().invoke(cli, ["train", tiny_corpus, "--optimizer", "sgd"])
    assert refused.exit_code == 2 and "'sgd' is not one of 'adamw', 'muon'" in refused.output
