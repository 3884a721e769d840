"""The TCN plugin: dilated causal convolutions whose buffers are the state, so generation is
one step per token; trained and sampled by stylegen's own commands."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from stylegen.errors import StylegenError
from stylegen.plugins import Registry
from stylegen.testing import check_model

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"layers": 3, "hidden": 16, "embed": 8, "kernel": 3}


def cli(*args: str, input: str | None = None) -> tuple[int, str, str]:
    from stylegen.cli import cli as command

    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2 keeps stderr apart
    result = runner.invoke(command, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("config", [SMALL, {**SMALL, "norm": "none", "kernel": 2}, {**SMALL, "kernel": 1}])
def test_follows_the_stateful_step_protocol(registry: Registry, config: dict[str, object]) -> None:
    check_model(registry.get("model", "tcn"), config, length=40)  # longer than the receptive field (29)


def test_receptive_field_is_as_in_the_paper(registry: Registry) -> None:
    torch.manual_seed(0)
    model = registry.get("model", "tcn").build(11, **{**SMALL, "hidden": 64}).eval()
    field = model.cfg.receptive_field()
    assert field == 1 + 2 * (3 - 1) * (1 + 2 + 4)
    ids = torch.randint(0, 11, (1, 40))
    changed = ids.clone()
    changed[0, 0] = (ids[0, 0] + 1) % 11
    with torch.no_grad():
        a, _ = model(ids, model.init_state(1, "cpu"))
        b, _ = model(changed, model.init_state(1, "cpu"))
    differs = [t for t in range(40) if not torch.equal(a[0, t], b[0, t])]
    assert differs[-1] == field - 1  # the last output that sees token 0


def test_equals_zero_padded_convolutions(registry: Registry) -> None:
    """From the initial state, the model is the paper's TCN: causal convolutions over left zero padding."""
    torch.manual_seed(0)
    model = registry.get("model", "tcn").build(11, **{**SMALL, "norm": "none"}).eval()
    ids = torch.randint(0, 11, (2, 30))
    x = model.embedding(ids).transpose(1, 2)
    for block in model.blocks:
        h = x
        for conv in (block.conv1.conv, block.conv2.conv):
            h = F.relu(conv(F.pad(h, (conv.dilation[0] * (conv.kernel_size[0] - 1), 0))))
        residual = x if block.skip is None else block.skip(x.transpose(1, 2)).transpose(1, 2)
        x = F.relu(residual + h)
    expected = model.head(x.transpose(1, 2))
    with torch.no_grad():
        logits, _ = model(ids, model.init_state(2, "cpu"))
    assert torch.allclose(logits, expected, atol=1e-5)


def test_a_step_costs_the_same_however_long_the_text(registry: Registry) -> None:
    model = registry.get("model", "tcn").build(11, **SMALL).eval()
    with torch.no_grad():
        _, state = model(torch.randint(0, 11, (1, 500)), model.init_state(1, "cpu"))
        _, after = model(torch.zeros(1, 1, dtype=torch.long), state)
    sizes = [t.shape for t in model.init_state(1, "cpu")]
    assert [t.shape for t in state] == sizes == [t.shape for t in after]  # (B, C, (k - 1) d) per convolution
    assert sum(t.size(2) for t in state) == model.cfg.receptive_field() - 1


def test_cached_weights_follow_changes_to_the_parameters(registry: Registry) -> None:
    """Generation caches each weight-normalised weight; training or loading must not leave it stale."""
    model = registry.get("model", "tcn").build(11, **SMALL).eval()
    ids = torch.randint(0, 11, (1, 5))
    with torch.no_grad():
        before, _ = model(ids, model.init_state(1, "cpu"))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    logits, _ = model.train()(ids, model.init_state(1, "cpu"))
    logits.sum().backward()
    optimizer.step()
    with torch.no_grad():
        stepped, _ = model.eval()(ids, model.init_state(1, "cpu"))
        fresh = registry.get("model", "tcn").build(11, **SMALL)
        fresh.load_state_dict(model.state_dict())
        assert torch.allclose(fresh.eval()(ids, fresh.init_state(1, "cpu"))[0], stepped, atol=1e-6)
        model.load_state_dict(registry.get("model", "tcn").build(11, **SMALL).state_dict())
        loaded, _ = model(ids, model.init_state(1, "cpu"))
    assert not torch.allclose(before, stepped) and not torch.allclose(stepped, loaded)


def test_bf16_autocast_trains(registry: Registry) -> None:
    """Under bf16 autocast (`--precision bf16`), on both paths: finite (B, T, V) logits, a finite
    gradient for every parameter, and a loss that falls as AdamW fits one fixed batch."""
    torch.manual_seed(0)
    model = registry.get("model", "tcn").build(11, **SMALL)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    ids = torch.randint(0, 11, (2, 44))
    losses = []
    for _ in range(10):
        state = model.init_state(2, "cpu")
        total = 0.0
        for start, length in ((0, 40), (40, 3)):  # conv1d, then the short (matmul) path on the carried buffers
            inputs, targets = ids[:, start : start + length], ids[:, start + 1 : start + length + 1]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits, state = model(inputs, state)
            assert logits.shape == (2, length, 11) and bool(torch.isfinite(logits).all())
            loss = F.cross_entropy(logits.float().reshape(-1, 11), targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            for name, parameter in model.named_parameters():
                assert parameter.grad is not None and bool(torch.isfinite(parameter.grad).all()), name
            optimizer.step()
            state = tuple(t.detach() for t in state)
            total += loss.item()
        losses.append(total)
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"heads": 2}, "unknown option 'heads'"),
        ({"kernel": 0}, "kernel must be a whole number >= 1"),
        ({"norm": "batch"}, "norm must be weight or none"),
        ({"layers": 20}, "layers must be <= 16"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_options_are_one_line_errors(registry: Registry, config: dict[str, object], message: str) -> None:
    with pytest.raises(StylegenError, match=message):
        registry.get("model", "tcn").build(11, **config)


def test_trains_generates_and_beams_through_the_cli(corpus: str) -> None:
    code, out, err = cli(
        "train", corpus, "--model", "tcn", "--layers", "4", "--hidden", "32", "--embed", "16",
        "--batch-size", "4", "--seq-len", "32", "--max-steps", "120", "--eval-every", "60",
        "--warmup-steps", "5", "--lr", "3e-3", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"style {corpus!r}: validation")
    shown = json.loads(cli("styles", "show", corpus, "--json")[1])
    assert shown["model"]["name"] == "tcn" and shown["model"]["config"]["layers"] == 4
    assert shown["val_bpc"] < 1.0  # one sentence, learned
    code, out, err = cli("generate", corpus, "--prime", "the quick", "--length", "40", "--temperature", "0")
    assert code == 0, err
    assert "brown fox" in out
    code, out, err = cli("generate", corpus, "--prime", "the quick", "--length", "12", "--beam", "3")
    assert (code, out) == (0, "the quick brown fox j\n")
    code, out, err = cli("generate", corpus, "--prime", "the ", "--length", "30", "--int8", "--seed", "1")
    assert code == 0, err
    code, out, err = cli("chat", corpus, input="the quick\n")
    assert code == 0, err


@pytest.mark.skipif(
    not any(d.metadata["Name"] == "stylegen-tcn" for d in md.distributions()),
    reason="the package is not installed (pip install ./plugins/stylegen-tcn)",
)
def test_installed_package_is_listed_with_its_version(tmp_path: Path) -> None:
    env = {**os.environ, "STYLEGEN_HOME": str(tmp_path)}
    env.pop("STYLEGEN_LOAD_PLUGINS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "stylegen", "plugins", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    entry = next(e for e in json.loads(proc.stdout) if e["name"] == "tcn")
    assert (entry["kind"], entry["package"]) == ("model", "stylegen-tcn")
    assert entry["version"] == md.version("stylegen-tcn")


def test_entry_point_names_this_module() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["stylegen"]
    assert declared == {"tcn": "stylegen_tcn"}
