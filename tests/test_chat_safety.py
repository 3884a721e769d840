"""The chat REPL survives its own commands, and writes no file it should not (issue 15, items 13-14).

`/save`, `/save-state` and `/load-state` with a folder, an unwritable path, a full disk or a
crafted state file print one line and leave the session as it was; an existing file is
replaced only by `/save!` or `/save-state!`; neither chat nor `styles export` writes inside
the data home.
"""

from __future__ import annotations

import errno
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from test_cli import invoke

from stylegen import home, styles
from stylegen._chat import ChatSession
from stylegen.cli.chat import Repl


def repl(style: Any) -> tuple[Repl, io.StringIO]:
    session = ChatSession(style, seed=0, max_tokens=6)
    err = io.StringIO()
    return Repl(session, io.StringIO(), io.StringIO(), err, interactive=False), err


def run(r: Repl, err: io.StringIO, *lines: str) -> list[str]:
    """Feed the REPL these lines; the lines it wrote to stderr."""
    r.stdin = io.StringIO("".join(f"{line}\n" for line in lines))
    before = err.tell()
    r.run()
    return err.getvalue()[before:].splitlines()


def fingerprint(session: ChatSession) -> Any:
    """What a failed command must leave unchanged."""
    d = session.decoder
    state = [t.clone() for t in d.state] if isinstance(d.state, (tuple, list)) else d.state
    return (
        state,
        None if d.last is None else d.last.clone(),
        d.generator.get_state(),
        [(t.speaker, t.text) for t in session.turns],
        session.sampler,
        dict(session.params or {}),
        session.user,
        session.penalties,
    )


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and bool((a == b).all())
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.fixture
def chat_repl(play: str) -> tuple[Repl, io.StringIO]:
    r, err = repl(styles.load_style(play))
    run(r, err, "Good morrow")  # a conversation with some state
    return r, err


def test_save_to_a_folder_or_an_unwritable_path_is_one_line(
    chat_repl: tuple[Repl, io.StringIO], tmp_path: Path
) -> None:
    r, err = chat_repl
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    before = fingerprint(r.session)
    for command in ("/save", "/save-state"):
        lines = run(r, err, f"{command} {tmp_path}", f"{command} {a_file}/under/it.txt")
        assert len(lines) == 2 and all(line.startswith("error: ") for line in lines), lines
        assert f"{tmp_path}: is a folder" in lines[0]
        assert f"{a_file}/under/it.txt: cannot write" in lines[1]
    assert same(before, fingerprint(r.session))
    assert run(r, err, "still here?") == []  # the session answers on


def test_a_full_disk_is_one_line_and_writes_nothing(
    chat_repl: tuple[Repl, io.StringIO], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r, err = chat_repl

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    lines = run(r, err, f"/save {tmp_path / 'a.txt'}", f"/save-state {tmp_path / 'a.state'}")
    assert len(lines) == 2, lines
    for line, name in zip(lines, ("a.txt", "a.state"), strict=True):
        assert line.startswith(f"error: {tmp_path / name}: cannot write: No space left on device (free some space"), (
            line
        )
    monkeypatch.undo()

    def safetensors_full(*args: Any, **kwargs: Any) -> None:
        raise Exception("Error while serializing: IoError(No space left on device (os error 28))")

    monkeypatch.setattr("safetensors.torch.save_file", safetensors_full)
    (line,) = run(r, err, f"/save-state {tmp_path / 'b.state'}")
    assert line.startswith(f"error: {tmp_path / 'b.state'}: cannot write: ") and "No space left on device" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # the data home only: nothing written


def test_no_silent_overwrites_and_the_bang_forms_replace(chat_repl: tuple[Repl, io.StringIO], tmp_path: Path) -> None:
    r, err = chat_repl
    kept = tmp_path / "kept.txt"
    kept.write_text("mine")
    for command in ("/save", "/save-state"):
        (line,) = run(r, err, f"{command} {kept}")
        assert line == f"error: {kept} already exists (use /save! or /save-state! to replace it)"
        assert kept.read_text() == "mine"
    assert run(r, err, f"/save! {kept}") == [f"saved {kept}"]
    assert "Good morrow" in kept.read_text()
    assert run(r, err, f"/save-state! {kept}") == [f"saved {kept}"]
    assert run(r, err, f"/load-state {kept}") == [f"loaded {kept}"]


def test_chat_never_writes_inside_the_data_home(chat_repl: tuple[Repl, io.StringIO], play: str) -> None:
    r, err = chat_repl
    weights = styles.style_path(play) / "model.safetensors"
    data = weights.read_bytes()
    for command in ("/save!", "/save-state!", "/save"):
        (line,) = run(r, err, f"{command} {weights}")
        assert line.startswith(f"error: {weights}: is inside stylegen's data home")
    (line,) = run(r, err, f"/save {home.data_home() / 'new.txt'}")
    assert "is inside stylegen's data home" in line
    assert weights.read_bytes() == data and not (home.data_home() / "new.txt").exists()


def test_export_never_replaces_a_styles_own_files(trained: str) -> None:
    weights = styles.style_path(trained) / "model.safetensors"
    data = weights.read_bytes()
    out = invoke("styles", "export", trained, str(weights), "--force")
    assert out.exit_code == 1
    assert out.stderr.startswith(f"error: {weights}: is inside stylegen's data home")
    assert weights.read_bytes() == data


# --- crafted /load-state files -------------------------------------------------------------------


def rewrite(
    good: Path, bad: Path, tensors: Callable[[dict[str, Any]], None], session: Callable[[dict[str, Any]], Any]
) -> None:
    """`good` with its tensors and its session description changed."""
    with safe_open(str(good), framework="pt") as f:
        meta = dict(f.metadata())
        t = {k: f.get_tensor(k) for k in f.keys()}
    tensors(t)
    s = json.loads(meta["session"])
    changed = session(s)
    meta["session"] = changed if isinstance(changed, str) else json.dumps(s if changed is None else changed)
    save_file(t, str(bad), metadata=meta)


def deep(n: int) -> str:
    return '{"t": "list", "items": [' * n + "]}" * n


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda s: s.__setitem__(key, value)


def _keep(s: dict[str, Any]) -> None:
    return None


CRAFTED: dict[str, tuple[Callable[[dict[str, Any]], None], Callable[[dict[str, Any]], Any], str]] = {
    "missing rng": (lambda t: t.pop("rng"), _keep, "no random generator state"),
    "short rng": (
        lambda t: t.__setitem__("rng", torch.zeros(9, dtype=torch.uint8)),
        _keep,
        "no random generator state",
    ),
    "wrong-shaped state": (lambda t: t.__setitem__("state.0", torch.zeros(1, 1, 3)), _keep, "its model state is"),
    "wrong dtype": (lambda t: t.__setitem__("state.0", t["state.0"].double()), _keep, "its model state is"),
    "counts shape": (lambda t: t.__setitem__("counts", torch.zeros(2, 3)), _keep, "'counts' is"),
    "negative counts": (lambda t: t.__setitem__("counts", -t["counts"] - 1), _keep, "negative or non-finite"),
    "deep structure": (
        lambda t: None,
        lambda s: json.dumps(s)[:-1] + ', "structure": ' + deep(50_000) + "}",
        "damaged chat state",
    ),
    "a list": (lambda t: None, lambda s: [1, 2, 3], "not an object"),
    "bad turns": (lambda t: None, _set("turns", [["A", 3]]), "'turns' must be"),
    "unknown penalty": (lambda t: None, _set("penalties", {"loudness": 2}), "'penalties' must hold only"),
    "bad penalty": (lambda t: None, _set("penalties", {"repetition": -1}), "repetition penalty must be > 0"),
    "unknown sampler": (lambda t: None, _set("sampler", "nope"), "unknown sampler 'nope'"),
    "bad parameter": (lambda t: None, _set("params", {"temperature": "hot"}), "temperature must be a float"),
    "bad seed": (lambda t: None, _set("seed", "x"), "'seed' must be a whole number"),
    "bad user": (lambda t: None, _set("user", ["A"]), "'user' and 'to' must be names"),
    "tensor missing": (lambda t: t.pop("state.0"), _keep, "does not match its description"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_state_file_is_one_line_and_changes_nothing(
    chat_repl: tuple[Repl, io.StringIO], tmp_path: Path, case: str
) -> None:
    r, err = chat_repl
    good, bad = tmp_path / "good.state", tmp_path / "bad.state"
    assert run(r, err, f"/save-state {good}") == [f"saved {good}"]
    tensors, session, needle = CRAFTED[case]
    rewrite(good, bad, tensors, session)
    run(r, err, "/sampler greedy")
    before = fingerprint(r.session)
    (line,) = run(r, err, f"/load-state {bad}")
    assert line.startswith(f"error: {bad}: ") and needle in line, line
    assert same(before, fingerprint(r.session))
    assert run(r, err, "and now?") == []  # the session answers on
    assert run(r, err, f"/load-state {good}") == [f"loaded {good}"]  # the good file still loads
