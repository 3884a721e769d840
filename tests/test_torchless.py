"""Generation without torch (stylegen/torchless.py): the same text as the torch path."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

from stylegen import (
    ChatSession,
    Decoder,
    Penalties,
    TorchlessDecoder,
    home,
    load_style,
    plugins,
    stream,
    styles,
    torchless_style,
)
from stylegen.cli import cli
from stylegen.errors import StylegenError
from stylegen.records.style import StyleRecord
from stylegen.torchless import TorchRandom

CELLS = [
    ("lstm", {"hidden": 40, "layers": 2, "embed": 16}),
    ("gru", {"hidden": 40, "layers": 2, "embed": 16}),
    ("rnn", {"hidden": 40, "layers": 3, "embed": 16}),
    ("qrnn", {"hidden": 40, "layers": 3, "embed": 16}),
]
SAMPLERS = [
    ("temperature", {"temperature": 0.8}),
    ("greedy", {}),
    ("top-k", {"temperature": 1.2, "top_k": 5}),
    ("top-p", {"temperature": 1.0, "top_p": 0.7, "top_k": 20}),
    ("min-p", {"temperature": 1.5, "min_p": 0.2}),
    ("typical", {"temperature": 1.0, "typical_p": 0.6}),
]


def save_random_style(name: str, cell: str, config: dict[str, Any], scale: float = 3.0) -> None:
    """A style of random weights (scaled up so that the logits are far from uniform)."""
    tokenizer = plugins.get("tokenizer", "char").train(string.ascii_letters + " .,\n")
    torch.manual_seed(1)
    model = plugins.get("model", cell).build(tokenizer.vocab_size, **config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    meta = {
        "format_version": styles.FORMAT_VERSION,
        "name": name,
        "corpus": {"name": "none"},
        "model": {"name": cell, "config": config},
        "tokenizer": {"name": "char", "vocab_size": tokenizer.vocab_size},
        "params": sum(p.numel() for p in model.parameters()),
        "steps": 1,
        "val_bpc": 4.0,
        "status": "done",
    }
    path = styles.style_path(name)
    path.mkdir(parents=True)
    tokenizer.save(path / styles.TOKENIZER_DIR)
    styles.save_weights(path, model)
    home.write_json(path / styles.STYLE_JSON, StyleRecord.from_json(meta, name).to_json())


def both_texts(name: str, prime: str, sampler: str, params: dict[str, Any], seed: int, **kw: Any) -> tuple[str, str]:
    light = torchless_style(name, "cpu", sampler)
    assert light is not None
    texts = []
    for decoder in (
        Decoder(load_style(name), sampler=sampler, params=params, seed=seed, **kw),
        TorchlessDecoder(light, sampler=sampler, params=params, seed=seed, **kw),
    ):
        texts.append("".join(chunks[0] for chunks in stream(decoder, prime, 120)))
    return texts[0], texts[1]


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 - 1, 2**40 + 7])
def test_torch_random_draws_torchs_numbers(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    mine = TorchRandom(seed)
    expected = [float(torch.rand((1, 1), generator=generator)) for _ in range(300)]
    assert [float(mine.rand()) for _ in range(300)] == expected


@pytest.mark.parametrize(("cell", "config"), CELLS, ids=[c[0] for c in CELLS])
def test_same_text_as_the_torch_path_for_every_sampler(cell: str, config: dict[str, Any]) -> None:
    save_random_style("r", cell, config)
    for sampler, params in SAMPLERS:
        for seed in (0, 7):
            torch_text, light_text = both_texts("r", "", sampler, params, seed)
            assert light_text == torch_text, (sampler, seed)
    texts = {both_texts("r", "", "temperature", {"temperature": 1.0}, seed)[1] for seed in range(4)}
    assert len(texts) == 4  # the seeds matter: the check above compares real samples


@pytest.mark.parametrize(("cell", "config"), CELLS, ids=[c[0] for c in CELLS])
def test_same_text_after_a_long_prime_and_with_penalties(cell: str, config: dict[str, Any]) -> None:
    """A prime of many tokens goes through forward in the torch path, the step here."""
    save_random_style("r", cell, config)
    penalties = Penalties(repetition=1.3, presence=0.2, frequency=0.1)
    prime = "The quick brown fox, and the lazy dog.\nThen "
    torch_text, light_text = both_texts("r", prime, "temperature", {"temperature": 0.9}, 3, penalties=penalties)
    assert light_text == torch_text
    light = torchless_style("r", "cpu", "temperature")
    assert light is not None
    mine, theirs = TorchlessDecoder(light), Decoder(load_style("r"))
    mine.feed_text(prime)
    theirs.feed_text(prime)
    assert theirs.last is not None and mine.last is not None
    assert np.allclose(mine.last, theirs.last[0].numpy(), atol=1e-4)


def test_the_shipped_style_writes_the_same_text_without_torch(real_shipped: Path) -> None:
    runner = CliRunner()
    args = ["generate", "shakespeare", "--length", "300", "--seed", "5", "--device", "cpu", "--json"]
    light = runner.invoke(cli, args)
    os.environ["STYLEGEN_TORCH"] = "1"
    try:
        heavy = runner.invoke(cli, args)
    finally:
        del os.environ["STYLEGEN_TORCH"]
    assert light.exit_code == 0 and heavy.exit_code == 0, light.output + heavy.output
    assert json.loads(light.output) == json.loads(heavy.output)
    assert torchless_style("shakespeare", "cpu", "temperature") is not None


def run_generate(env: dict[str, str], *args: str) -> tuple[str, bool]:
    """`stylegen generate ...` in a fresh process: (stdout, whether torch was imported)."""
    code = (
        "import sys\nfrom stylegen.cli import main\nsys.argv = ['stylegen', 'generate', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO TORCH', file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout, "NO TORCH" not in done.stderr


def test_generate_imports_no_torch_and_falls_back_where_it_must(hermetic: Path) -> None:
    save_random_style("r", "lstm", CELLS[0][1])
    env = {**os.environ, "STYLEGEN_HOME": str(hermetic)}
    text, imported = run_generate(env, "r", "--length", "80", "--seed", "2", "--device", "cpu")
    assert not imported and len(text) > 50
    same, imported = run_generate(
        {**env, "STYLEGEN_TORCH": "1"}, "r", "--length", "80", "--seed", "2", "--device", "cpu"
    )
    assert imported and same == text
    for extra in (["--int8"], ["--n", "2"], ["--beam", "2"]):
        _, imported = run_generate(env, "r", "--length", "10", "--seed", "2", "--device", "cpu", *extra)
        assert imported, extra


def test_anything_unexpected_leaves_the_style_to_the_torch_path(hermetic: Path) -> None:
    save_random_style("r", "gru", CELLS[1][1])
    assert torchless_style("r", "cpu", "temperature") is not None
    assert torchless_style("r", "cuda", "temperature") is None
    assert torchless_style("r", "cpu", "no-such-sampler") is None
    os.environ["STYLEGEN_TORCH"] = "1"
    try:
        assert torchless_style("r", "cpu", "temperature") is None
    finally:
        del os.environ["STYLEGEN_TORCH"]
    path = styles.style_path("r")
    meta = json.loads((path / styles.STYLE_JSON).read_text())
    meta["model"]["config"]["hidden"] = 41  # the weights no longer fit
    (path / styles.STYLE_JSON).write_text(json.dumps(meta))
    assert torchless_style("r", "cpu", "temperature") is None
    result = CliRunner().invoke(cli, ["generate", "r", "--length", "5", "--device", "cpu"])
    assert result.exit_code != 0 and "model.safetensors" in result.output  # the torch path's own error
    meta["model"]["config"]["hidden"] = 40
    (path / styles.STYLE_JSON).write_text(json.dumps(meta))
    weights = {k: v.clone() for k, v in load_style("r").model.state_dict().items()}
    weights["head.bias"][0] = float("nan")
    save_file(weights, str(path / styles.WEIGHTS))
    assert torchless_style("r", "cpu", "temperature") is None


def sessions(name: str, **options: Any) -> tuple[ChatSession, ChatSession]:
    """The same conversation through torch and without it."""
    light: Any = torchless_style(name, "cpu", options.get("sampler", "temperature"))  # ChatSession takes either
    assert light is not None
    return ChatSession(load_style(name), **options), ChatSession(light, **options)


MESSAGES = ["hello bob.", "hi anna, how are you?", "bye all."]


def test_chat_without_torch_answers_as_the_torch_path(play: str) -> None:
    heavy, light = sessions(play, seed=4, params={"temperature": 1.0})
    for message in MESSAGES:
        assert light.reply(message) == heavy.reply(message)
        assert light.speaker == heavy.speaker
    assert light.torchless and not heavy.torchless and light.forward_tokens == heavy.forward_tokens
    heavy, light = sessions(play, seed=9, to="BOB", sampler="top-k", params={"temperature": 1.5, "top_k": 4})
    assert [light.reply(m) for m in MESSAGES] == [heavy.reply(m) for m in MESSAGES]


def test_a_light_session_restores_snapshots_and_hands_over_to_torch_exactly(play: str, tmp_path: Path) -> None:
    heavy, light = sessions(play, seed=2, params={"temperature": 1.2})
    light.reply(MESSAGES[0])
    snapshot = light.snapshot()
    first = light.reply(MESSAGES[1])
    light.restore(snapshot)
    assert light.reply(MESSAGES[1]) == first  # the same draw again
    light.restore(snapshot, rng=False)
    light.reply(MESSAGES[1])  # a new draw: the generator went on
    light.restore(snapshot)
    light.reply(MESSAGES[1])
    heavy.reply(MESSAGES[0])
    heavy.reply(MESSAGES[1])
    light.save_state(tmp_path / "chat.state")  # needs torch: the conversation moves over, exactly
    assert not light.torchless
    resumed = ChatSession(load_style(play), seed=0)
    resumed.load_state(tmp_path / "chat.state")
    expected = heavy.reply(MESSAGES[2])
    assert light.reply(MESSAGES[2]) == expected and resumed.reply(MESSAGES[2]) == expected


def test_a_light_session_keeps_its_sampler_rules(play: str) -> None:
    _, light = sessions(play, seed=1)
    light.set_sampler("min-p", {"min_p": 0.1})
    assert light.torchless and light.params is not None and light.params["min_p"] == 0.1
    with pytest.raises(StylegenError, match="unknown sampler"):
        light.set_sampler("no-such-sampler")
    assert light.torchless and light.sampler == "min-p"
    light.set_adapt(True)  # dynamic evaluation learns with torch
    assert not light.torchless and light.adaptation is not None
    assert light.reply(MESSAGES[0])


def test_chat_from_the_command_line_imports_no_torch(play: str, hermetic: Path) -> None:
    code = (
        "import sys\nfrom stylegen.cli import main\nsys.argv = ['stylegen', 'chat', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO TORCH', file=sys.stderr)\n"
    )
    env = {**os.environ, "STYLEGEN_HOME": str(hermetic)}
    args = [sys.executable, "-c", code, play, "--seed", "3", "--device", "cpu"]
    runs = [
        subprocess.run(args, input="hello bob.\nbye all.\n", env={**env, "STYLEGEN_TORCH": flag},
                       capture_output=True, text=True, check=True)
        for flag in ("0", "1")
    ]  # fmt: skip
    assert "NO TORCH" in runs[0].stderr and "NO TORCH" not in runs[1].stderr
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.strip()


def test_a_light_style_generates_as_the_loaded_one(trained: str) -> None:
    light = torchless_style(trained, "cpu")
    assert light is not None
    options: dict[str, Any] = {
        "length": 80,
        "seed": 6,
        "sampler": "top-p",
        "params": {"top_p": 0.8, "temperature": 1.1},
    }
    assert "".join(light.generate("the ", **options)) == "".join(load_style(trained).generate("the ", **options))
    with pytest.raises(StylegenError, match="--length"):
        list(light.generate("", length=-1))


def test_two_decoders_on_one_light_style_keep_their_own_state(trained: str) -> None:
    light = torchless_style(trained, "cpu")
    assert light is not None
    alone = "".join(c[0] for c in stream(TorchlessDecoder(light, seed=3), "the ", 60))
    first, second = TorchlessDecoder(light, seed=3), TorchlessDecoder(light, seed=8)
    first.feed_text("the ")
    second.feed_text("a quite different prime ")  # the app's Generate screen beside a chat
    assert "".join(first.step()[0] for _ in range(60)) == alone
