"""Shipped styles: ready in the package, listed beside the user's, read-only, shadowable,
and the real `shakespeare` style chats in turns on a fresh machine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_cli import TINY_ARGS, assert_error, invoke, ok, snapshot

from stylegen import load_style, styles
from stylegen._chat import ChatSession


@pytest.fixture
def shipped(play: str, hermetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trained `play` style moved out of the data home into a stand-in shipped folder."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    shutil.move(str(hermetic / "styles" / "play"), folder / "play")
    monkeypatch.setattr(styles, "shipped_dir", lambda: folder)
    return folder


def test_shipped_style_is_listed_and_loads(shipped: Path) -> None:
    metas = json.loads(ok(invoke("styles", "--json")).stdout)
    assert [(m["name"], m["shipped"]) for m in metas] == [("play", True)]
    assert "shipped" in ok(invoke("styles")).stdout
    style = load_style("play")
    assert style.path == shipped / "play"
    assert ok(invoke("generate", "play", "--length", "20", "--seed", "1")).stdout


def test_shipped_style_cannot_be_removed(shipped: Path, hermetic: Path) -> None:
    before = snapshot(shipped)
    assert_error(invoke("styles", "rm", "play"), 1, "ships with stylegen")
    assert snapshot(shipped) == before


def test_a_trained_style_of_the_same_name_takes_its_place(shipped: Path, hermetic: Path) -> None:
    ok(invoke("train", "play", "--name", "play", *TINY_ARGS))
    metas = json.loads(ok(invoke("styles", "--json")).stdout)
    assert [(m["name"], m["shipped"]) for m in metas] == [("play", False)]
    assert styles.style_path("play") == hermetic / "styles" / "play"
    ok(invoke("styles", "rm", "play"))  # the user's goes; the shipped one is back
    assert styles.style_path("play") == shipped / "play"


REAL = Path(styles.__file__).parent / "shipped" / "shakespeare"


def test_the_shakespeare_style_ships_small_and_documented() -> None:
    assert (REAL / "style.json").is_file(), "the shipped shakespeare style is missing"
    size = sum(p.stat().st_size for p in REAL.rglob("*") if p.is_file())
    assert size < 8 * 2**20
    meta = json.loads((REAL / "style.json").read_text())
    assert meta["turns"]["kind"] == "speaker-line" and "JULIET" in meta["turns"]["speakers"]
    assert meta["val_bpc"] < 2.3 and meta["recipe"] == "recipe.toml" and "stylegen train" in meta["train_command"]


def test_the_shakespeare_style_chats_in_turns(hermetic: Path, real_shipped: Path) -> None:
    style = load_style("shakespeare")
    assert style.meta["shipped"] is True
    chat = ChatSession(style, user="ROMEO", to="JULIET", seed=3, max_tokens=300)
    answer = "".join(chat.send("Good morrow, fair lady. What news?"))
    assert answer.strip()
    assert chat.turns[-1].speaker == "JULIET" and chat.transcript().startswith("ROMEO:\nGood morrow")
    result = ok(invoke("chat", "shakespeare", "--as", "ROMEO", "--to", "JULIET", "--seed", "1", input="Good morrow\n"))
    assert result.stdout.strip()


PYTHON = Path(styles.__file__).parent / "shipped" / "python"


def test_the_python_style_ships_small_and_documented() -> None:
    assert (PYTHON / "style.json").is_file(), "the shipped python style is missing"
    size = sum(p.stat().st_size for p in PYTHON.rglob("*") if p.is_file())
    assert size < 8 * 2**20
    meta = json.loads((PYTHON / "style.json").read_text())
    assert meta["corpus"]["name"] == "python" and meta["turns"]["kind"] == "none"
    assert meta["val_bpc"] < 1.8 and meta["recipe"] == "recipe.toml" and "stylegen train" in meta["train_command"]


def test_the_python_style_writes_indented_code(hermetic: Path, real_shipped: Path) -> None:
    """What the style is for: from the start of a function, code in blocks indented by fours,
    with Python's words (at the default temperature; at 0.5 and below it can fall into long
    runs of spaces, a weakness the README's table notes)."""
    style = load_style("python")
    assert style.meta["shipped"] is True
    prime = "import os\n\n\ndef main():\n    "
    text = prime + "".join(style.generate(prime, length=400, seed=3))
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) >= 8, text
    by_fours = [line for line in lines if (len(line) - len(line.lstrip(" "))) % 4 == 0]
    assert len(by_fours) >= 0.6 * len(lines), text
    words = ("import", "def ", "return", "self", "None", "if ", ">>>", "print(", " = ")
    assert sum(word in text for word in words) >= 4, text
