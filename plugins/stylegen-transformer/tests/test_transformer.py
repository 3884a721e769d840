"""The Transformer plugin: the stateful-step protocol with a sliding KV cache, trained and
sampled by stylegen's own commands."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from stylegen.errors import StylegenError
from stylegen.plugins import Registry
from stylegen.testing import check_model

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"layers": 2, "hidden": 16, "heads": 2, "context": 4}


def cli(*args: str, input: str | None = None) -> tuple[int, str, str]:
    from stylegen.cli import cli as command

    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click >= 8.2 keeps stderr apart
    result = runner.invoke(command, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_follows_the_stateful_step_protocol(registry: Registry, positions: str) -> None:
    # 12 tokens through a window of 4: the cache slides, and pieces still equal one call.
    model = check_model(registry.get("model", "transformer"), {**SMALL, "positions": positions})
    assert model.config()["positions"] == positions


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_each_token_sees_only_its_window(registry: Registry, positions: str) -> None:
    torch.manual_seed(0)
    model = registry.get("model", "transformer").build(11, **SMALL, positions=positions).eval()
    if positions == "learned":
        for block in model.blocks:
            torch.nn.init.normal_(block.attn.bias)  # zeros at first: make the positions matter
    ids = torch.randint(0, 11, (1, 20))
    changed = ids.clone()
    changed[0, 0] = (ids[0, 0] + 1) % 11
    with torch.no_grad():
        a, _ = model(ids, model.init_state(1, "cpu"))
        b, _ = model(changed, model.init_state(1, "cpu"))
        # relative positions: the same 12 tokens give the same logits wherever they start
        shifted, _ = model(ids[:, 2:], model.init_state(1, "cpu"))
    reach = SMALL["layers"] * (SMALL["context"] - 1)  # two layers of windows of 4: 6 tokens back
    differs = [t for t in range(20) if not torch.allclose(a[0, t], b[0, t])]
    assert differs[-1] == reach
    assert torch.allclose(a[0, 2 + reach :], shifted[0, reach:], atol=1e-5)


def test_the_cache_never_outgrows_the_window(registry: Registry) -> None:
    model = registry.get("model", "transformer").build(11, **SMALL).eval()
    state = model.init_state(2, "cpu")
    with torch.no_grad():
        _, state = model(torch.randint(0, 11, (2, 1000)), state)  # a long prime: chunks of `context`
        for _ in range(3):
            _, state = model(torch.zeros(2, 1, dtype=torch.long), state)
    assert tuple(state["k"].shape) == (2, 2, 2, SMALL["context"] - 1, 8)  # (L, B, H, context - 1, d)


def test_select_state_picks_rows_for_beam_search(registry: Registry) -> None:
    model = registry.get("model", "transformer").build(11, **SMALL).eval()
    _, state = model(torch.randint(0, 11, (3, 5)), model.init_state(3, "cpu"))
    picked = model.select_state(state, torch.tensor([2, 2, 0, 1]))
    assert torch.equal(picked["v"][:, 1], state["v"][:, 2]) and picked["k"].size(1) == 4


def test_bf16_autocast_trains(registry: Registry) -> None:
    """Under bf16 autocast (`--precision bf16`), over two windows (the second reads the first's
    cache): finite (B, T, V) logits, a finite gradient for every parameter, and a loss that falls
    as AdamW fits one fixed batch."""
    torch.manual_seed(0)
    model = registry.get("model", "transformer").build(11, **SMALL)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    ids = torch.randint(0, 11, (2, 13))
    losses = []
    for _ in range(10):
        state = model.init_state(2, "cpu")
        total = 0.0
        for start in (0, 6):
            inputs, targets = ids[:, start : start + 6], ids[:, start + 1 : start + 7]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits, state = model(inputs, state)
            assert logits.shape == (2, 6, 11) and bool(torch.isfinite(logits).all())
            loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, 11), targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            for name, parameter in model.named_parameters():
                assert parameter.grad is not None and bool(torch.isfinite(parameter.grad).all()), name
            optimizer.step()
            state = {k: v.detach() for k, v in state.items()}
            total += loss.item()
        losses.append(total)
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"embed": 32}, r"unknown option 'embed' \(the Transformer's width is --hidden\)"),
        ({"hidden": 30, "heads": 4}, "must be a multiple of heads"),
        ({"hidden": 12, "heads": 4}, "even head width"),
        ({"positions": "absolute"}, "positions must be rope or learned"),
        ({"context": 0}, "context must be a whole number >= 1"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_options_are_one_line_errors(registry: Registry, config: dict[str, object], message: str) -> None:
    with pytest.raises(StylegenError, match=message):
        registry.get("model", "transformer").build(11, **config)


def test_trains_generates_and_beams_through_the_cli(corpus: str) -> None:
    code, out, err = cli(
        "train", corpus, "--model", "transformer", "--layers", "2", "--hidden", "32", "--model-opt", "heads=2",
        "--model-opt", "context=16", "--batch-size", "4", "--seq-len", "32", "--max-steps", "120",
        "--eval-every", "60", "--warmup-steps", "5", "--lr", "3e-3", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"style {corpus!r}: validation")
    code, out, err = cli("styles", "show", corpus, "--json")
    shown = json.loads(out)
    assert shown["model"] == {"name": "transformer", "config": {**shown["model"]["config"], "context": 16}}
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
    not any(d.metadata["Name"] == "stylegen-transformer" for d in md.distributions()),
    reason="the package is not installed (pip install ./plugins/stylegen-transformer)",
)
def test_installed_package_is_listed_with_its_version(tmp_path: Path) -> None:
    env = {**os.environ, "STYLEGEN_HOME": str(tmp_path)}
    env.pop("STYLEGEN_LOAD_PLUGINS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "stylegen", "plugins", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    entry = next(e for e in json.loads(proc.stdout) if e["name"] == "transformer")
    assert (entry["kind"], entry["package"]) == ("model", "stylegen-transformer")
    assert entry["version"] == md.version("stylegen-transformer")


def test_entry_point_names_this_module() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["stylegen"]
    assert declared == {"transformer": "stylegen_transformer"}
