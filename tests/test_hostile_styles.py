"""Hostile and huge input to styles (issue 15, items 1, 2, 3, 5, 6, 11): every JSON member of
an archive bounded before it is read, long texts through the model in bounded pieces with the
same result, inspect reading only what --limit needs, model sizes checked from the config,
--beam and --n bounded, and checkpoints checked before import or --resume restores them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from test_cli import assert_error, invoke, ok
from test_transfer import members, refused, rezip

from stylegen import styles, transfer
from stylegen._generate import Decoder
from stylegen.errors import StylegenError
from stylegen.training import TrainConfig, checkpoint, portable, train


@pytest.fixture
def exported(trained: str, tmp_path: Path) -> Path:
    """Style `tiny` exported with its checkpoint, then removed from the data home."""
    archive = tmp_path / "tiny.zip"
    ok(invoke("styles", "export", trained, str(archive), "--with-checkpoint"))
    ok(invoke("styles", "rm", trained))
    return archive


def peak_kib(code: str, home: Path) -> int:
    """Run `code` in a child Python with STYLEGEN_HOME=home; its peak RSS in KiB."""
    script = f"{code}\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    env = {**os.environ, "STYLEGEN_HOME": str(home), "STYLEGEN_LOAD_PLUGINS": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- 1: JSON members


@pytest.mark.parametrize("member", ["checkpoint/state.json", "tokenizer/vocab.json"])
def test_every_json_member_is_refused_over_its_limit_before_it_is_read(
    exported: Path, hermetic: Path, member: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = members(exported)
    files[member] = files[member] + b" " * (transfer.MAX_JSON_BYTES + 1 - len(files[member]))  # deflates to ~17 KB
    archive = rezip(exported, files)
    real_stream = transfer._stream

    def stream(archive: Path, zf: Any, info: Any, rel: str, sink: Any) -> str:
        assert rel != member, f"{member} was read before its size was refused"
        return real_stream(archive, zf, info, rel, sink)

    monkeypatch.setattr(transfer, "_stream", stream)
    refused(hermetic, archive, repr(member), f"{transfer.MAX_JSON_BYTES + 1:,} bytes, more than 16,777,216")


# --------------------------------------------------------------------------- 2: bounded pieces


def test_a_long_text_is_fed_in_bounded_pieces_with_the_same_result(
    trained: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    style = styles.load_style(trained)
    ids = style.tokenizer.encode("the quick brown fox jumps over the lazy dog. " * 3)
    x = torch.as_tensor(ids, dtype=torch.long)[None]
    with torch.no_grad():
        logits, (h, c) = style.model(x, style.model.init_state(1, "cpu"))  # the whole text in one call
    monkeypatch.setattr("stylegen.chunked.CHUNK_TOKENS", 14)  # 7 tokens a row for 2 rows
    calls: list[int] = []
    model = style.model
    forward = model.forward

    def counting(piece: torch.Tensor, state: Any) -> Any:
        calls.append(piece.size(1))
        return forward(piece, state)

    monkeypatch.setattr(model, "forward", counting)
    decoder = Decoder(style, n=2)
    decoder.feed(ids)
    assert max(calls) == 7 and sum(calls) == len(ids)
    assert decoder.last is not None and decoder.counts is not None
    torch.testing.assert_close(decoder.last, logits[:, -1].expand(2, -1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(decoder.state[0], h.expand(-1, 2, -1).contiguous(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(decoder.state[1], c.expand(-1, 2, -1).contiguous(), rtol=1e-4, atol=1e-5)
    expected = torch.bincount(x[0], minlength=style.tokenizer.vocab_size).float()
    assert torch.equal(decoder.counts, expected.expand(2, -1))


def test_inspect_runs_the_model_in_bounded_pieces_with_the_same_result(
    trained: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stylegen.inspect import activations

    style = styles.load_style(trained)
    text = "the quick brown fox jumps over the lazy dog. " * 2
    whole = activations(style, text, topk=3)
    monkeypatch.setattr("stylegen.chunked.CHUNK_TOKENS", 10)
    calls: list[int] = []
    real = style.model.step_states

    def counting(piece: torch.Tensor, state: Any) -> Any:
        calls.append(piece.size(1))
        return real(piece, state)

    monkeypatch.setattr(style.model, "step_states", counting)
    pieces = activations(style, text, topk=3)
    assert max(calls) == 10 and sum(calls) == len(text)
    for kind in whole.kinds:
        assert pieces.per_token[kind].shape == whole.per_token[kind].shape
        assert abs(pieces.per_token[kind] - whole.per_token[kind]).max() < 1e-4
    assert pieces.top_probs is not None and whole.top_probs is not None
    assert abs(pieces.top_probs - whole.top_probs).max() < 1e-4


def test_a_long_chat_message_and_prime_keep_memory_flat(trained: str, hermetic: Path) -> None:
    code = (
        "import torch; torch.set_num_threads(1)\n"
        "from stylegen import load_style\n"
        "style = load_style('tiny')\n"
        "session = style.chat(max_tokens=3, seed=1)\n"
        "session.reply('the of and ' * {n})\n"
        "''.join(style.generate('the of and ' * {n}, length=3, seed=1))\n"
    )
    small = peak_kib(code.format(n=100), hermetic)
    large = peak_kib(code.format(n=100_000), hermetic)  # 1.1 million tokens: about 1.2 GB in one call
    assert large - small < 150 << 10, (small, large)


# --------------------------------------------------------------------------- 3: inspect --limit


def test_inspect_reads_only_what_limit_needs(trained: str, hermetic: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(300 << 20)  # 300 MiB of NUL characters (valid UTF-8), sparse: no disk used
    code = (
        "import sys\nfrom stylegen.cli import main\n"
        f"sys.argv = ['stylegen', 'inspect', 'tiny', '--text', {str(big)!r}, '--neuron', '0', '--limit', '500', '--json']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
    )
    small = tmp_path / "small.txt"
    small.write_bytes(b"\0" * 600)
    base = peak_kib(code.replace(str(big), str(small)), hermetic)
    peak = peak_kib(code, hermetic)
    assert peak - base < 50 << 10, (base, peak)  # reading it whole would cost at least 300 MiB


def test_inspect_limit_is_bounded(trained: str) -> None:
    assert_error(invoke("inspect", trained, "--neuron", "0", "--limit", "1000001", "--", "x"), 2, "--limit")
    from stylegen.inspect import MAX_LIMIT, activations

    assert MAX_LIMIT == 1_000_000
    with pytest.raises(StylegenError, match="--limit must be from 1 to 1,000,000"):
        activations(styles.load_style(trained), "x", limit=MAX_LIMIT + 1)


# --------------------------------------------------------------------------- 5: sizes from the config


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ({"hidden": 15_000}, ["hidden 15,000", "parameters, more than the 536,870,912"]),
        ({"layers": 10**6}, ["layers is 1,000,000, more than the 256"]),
        ({"hidden": 10**9}, ["hidden 1,000,000,000"]),
        ({"hidden": 64}, ["model.safetensors", "do not fit the model"]),  # under the limits: shapes on meta
    ],
)
def test_a_local_style_json_asking_for_a_huge_model_is_refused_from_its_config(
    trained: str, change: dict[str, int], needles: list[str]
) -> None:
    path = styles.style_path(trained) / "style.json"
    meta = json.loads(path.read_text())
    meta["model"]["config"].update(change)
    path.write_text(json.dumps(meta))
    line = assert_error(invoke("generate", trained, "--length", "5"), 1, *needles)
    if "model.safetensors" not in line:
        assert "style.json" in line


def test_an_archive_asking_for_too_many_layers_is_refused(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    meta = json.loads(files["style.json"])
    meta["model"]["config"]["layers"] = 20_000
    refused(
        hermetic, rezip(exported, {**files, "style.json": json.dumps(meta).encode()}), "style.json", "layers is 20,000"
    )


# --------------------------------------------------------------------------- 6: --beam, --n


@pytest.mark.parametrize("option", ["--beam", "--n"])
def test_beam_and_n_are_bounded(trained: str, option: str) -> None:
    assert_error(invoke("generate", trained, option, "100000000"), 2, option, "1<=x<=1000")
    from stylegen._generate import MAX_ROWS
    from stylegen.beam import MAX_WIDTH, beams
    from stylegen.cli import generate as cli_generate

    assert (cli_generate.MAX_BEAM, cli_generate.MAX_SAMPLES) == (MAX_WIDTH, MAX_ROWS) == (1_000, 1_000)
    style = styles.load_style(trained)
    with pytest.raises(StylegenError, match="--beam must be from 1 to 1,000"):
        beams(style, "x", length=2, width=100_000_000)
    with pytest.raises(StylegenError, match="--n must be from 1 to 1,000"):
        Decoder(style, n=100_000_000)


# --------------------------------------------------------------------------- 11: what import installs


def repacked(archive: Path, change: Any) -> Path:
    """`archive` with its packed checkpoint changed by `change(payload)` (and the manifest to match)."""
    from safetensors.torch import load

    files = members(archive)
    payload = portable.unpack(load(files[portable.CKPT_TENSORS]), json.loads(files[portable.CKPT_JSON]))
    change(payload)
    files[portable.CKPT_TENSORS], files[portable.CKPT_JSON] = portable.pack(payload)
    return rezip(archive, files)


def _moment(p: dict[str, Any]) -> None:
    first = next(iter(p["optimizer"]["state"].values()))
    first["exp_avg"] = torch.zeros(3)


def _groups(p: dict[str, Any]) -> None:
    p["optimizer"]["param_groups"] = p["optimizer"]["param_groups"][:1]


def _lr(p: dict[str, Any]) -> None:
    p["optimizer"]["param_groups"][0]["lr"] = "fast"


def _carried(p: dict[str, Any]) -> None:
    p["state"] = (p["state"][0][:, :, :3], p["state"][1])


BAD_CHECKPOINTS = [
    (lambda p: p.update(rng=torch.zeros(9, dtype=torch.uint8)), ["rng is not a valid random generator state"]),
    (lambda p: p.update(stale="x"), ["stale must be a whole number"]),
    (lambda p: p.update(step=-1), ["step must be a whole number"]),
    (lambda p: p.update(seconds=float("nan")), ["seconds must be a number"]),
    (_moment, ["optimizer.state[", "exp_avg is (3,)"]),
    (_groups, ["optimizer.param_groups: 1 groups"]),
    (_lr, ["optimizer.param_groups[0].lr"]),
    (_carried, ["state has a tensor of shape"]),
]


@pytest.mark.parametrize(("change", "needles"), BAD_CHECKPOINTS, ids=[n[0] for _, n in BAD_CHECKPOINTS])
def test_import_refuses_a_checkpoint_that_resume_could_not_use(
    exported: Path, hermetic: Path, change: Any, needles: list[str]
) -> None:
    refused(hermetic, repacked(exported, change), "checkpoint/state.json", *needles)


def test_import_refuses_a_vocabulary_that_utf8_cannot_write(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    vocab = json.loads(files["tokenizer/vocab.json"])
    vocab["chars"] = sorted([*vocab["chars"], "\ud800"])
    files["tokenizer/vocab.json"] = json.dumps(vocab).encode()
    meta = json.loads(files["style.json"])
    meta["tokenizer"]["vocab_size"] += 1
    files["style.json"] = json.dumps(meta).encode()
    # The weights are of the old vocabulary: grow them so only the vocabulary is wrong.
    from safetensors.torch import load, save

    tensors = load(files["model.safetensors"])
    tensors = {
        k: torch.cat([v, v[:1]]) if v.size(0) == meta["tokenizer"]["vocab_size"] - 1 else v for k, v in tensors.items()
    }
    files["model.safetensors"] = save(tensors)
    files.pop(portable.CKPT_TENSORS), files.pop(portable.CKPT_JSON)
    refused(hermetic, rezip(exported, files), "tokenizer/", "'\\ud800'", "UTF-8")


@pytest.mark.parametrize(("change", "needles"), BAD_CHECKPOINTS, ids=[n[0] for _, n in BAD_CHECKPOINTS])
def test_resume_refuses_a_damaged_local_checkpoint_and_says_what_to_do(
    trained: str, change: Any, needles: list[str]
) -> None:
    folder = styles.style_path(trained)
    payload = checkpoint.load(folder)
    change(payload)
    checkpoint.save(folder, payload)
    with pytest.raises(StylegenError) as e:
        train(TrainConfig(corpus=trained, name=trained, max_steps=125), resume=True)
    line = str(e.value)
    assert "\n" not in line and "checkpoint/state.pt" in line, line
    assert all(n in line for n in needles), line
    assert "--force starts the style over" in line and "--resume continues" not in line, line
