"""Chat answers that reach the length cap end at a sentence, line or word boundary; --as a
name that is not a speaker of the corpus warns with the close names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stylegen import load_style
from stylegen._chat import cut_point
from stylegen.corpus.turns import TurnFormat


def test_cut_point_prefers_a_sentence_or_line_then_a_word() -> None:
    assert cut_point("all. And then the") == len("all.")
    assert cut_point("well\nand so") == len("well\n")
    assert cut_point("and so it go") == len("and so it ")
    assert cut_point("nowhitespace") == 0
    assert cut_point("pi is 3.14 or so") == len("pi is 3.14 or ")  # a decimal point ends no sentence


def test_an_answer_cut_by_the_cap_ends_at_a_word(play: str) -> None:
    session = load_style(play).chat(user="ANNA", to="BOB", sampler="greedy", params={}, max_tokens=12)
    assert session.reply("hello bob.") == "hi anna, "  # not "hi anna, how"
    assert session.turns[-1].text == "hi anna,"
    assert session.reply("hello bob.") == "hi anna, "  # the next turn still starts cleanly


def test_unknown_speaker_names_close_ones() -> None:
    fmt = TurnFormat("speaker-line", {"ROMEO": 10, "JULIET": 9, "NURSE": 3})
    assert fmt.unknown_speaker("romeo") is None
    hint = fmt.unknown_speaker("ROMOE")
    assert hint is not None and "'ROMOE' is not a speaker of the corpus" in hint and "ROMEO" in hint
    hint = fmt.unknown_speaker("NOBODY")
    assert hint is not None and "ROMEO" in hint  # no close name: the most frequent ones


def test_chat_as_an_unknown_speaker_warns(play: str, hermetic: Path) -> None:
    env = {**os.environ, "STYLEGEN_HOME": str(hermetic), "STYLEGEN_LOAD_PLUGINS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "stylegen", "chat", play, "--as", "NOBODY", "--temperature", "0", "--max-length", "5"],
        input="hello\n", capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "warning: 'NOBODY' is not a speaker of the corpus" in result.stderr and "ANNA" in result.stderr
