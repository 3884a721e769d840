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


# --- who answers, and how long an answer may run (issue 16, item 12) ----------------------


def test_the_model_answers_only_as_a_speaker_of_the_corpus(play: str) -> None:
    """At a temperature that makes the model's choice of characters nearly uniform, the header
    it writes would be an invented name (`?`, `THERGaUN`); chat draws it among the corpus's."""
    session = load_style(play).chat(user="ANNA", sampler="temperature", params={"temperature": 4.0}, seed=0,
                                    max_tokens=8)  # fmt: skip
    speakers = set(session.format.speakers)
    assert speakers == {"ANNA", "BOB", "CARL"}
    seen = []
    for _ in range(12):
        session.reply("hello bob.")
        seen.append(session.speaker)
        assert session.turns[-1].speaker in speakers
    assert set(seen) <= speakers and len(set(seen)) >= 2  # still the model's choice, not one fixed name


def test_without_speakers_the_model_names_whoever_it_writes() -> None:
    fmt = TurnFormat("speaker-line", {})
    assert fmt.header_choices() == []
    assert TurnFormat("inline", {"ann": 3, "bob": 1}).header_choices() == ["ann: ", "bob: "]


def test_corpus_records_its_turn_lengths(play: str) -> None:
    from stylegen.corpus import load_corpus
    from stylegen.corpus.turns import count_turns

    speakers, lengths = count_turns("speaker-line", ["ANNA:\nab\n\nBOB:\nabcd\n\nANNA:\n" + "x" * 100 + "\n\n"])
    assert speakers == {"ANNA": 2, "BOB": 1}
    assert lengths == {"p50": 4, "p90": 100, "p99": 100, "max": 100, "turns": 3}
    assert count_turns("inline", ["a: one two\nb: three\n"])[1]["max"] == len("one two")
    assert count_turns("none", ["para one\n\npara two is longer\n"])[1] == {
        "p50": 8, "p90": 18, "p99": 18, "max": 18, "turns": 2,
    }  # fmt: skip
    turns = load_corpus(play).manifest.turns
    assert turns is not None and turns.lengths is not None
    assert turns.lengths["max"] == len("hi anna, how are you?") and turns.lengths["turns"] > 100


def test_the_default_answer_cap_comes_from_the_corpus(play: str) -> None:
    from stylegen._chat import FALLBACK_MAX_TOKENS, default_max_tokens

    fmt = TurnFormat("speaker-line", {"A": 1}, {"p50": 60, "p90": 300, "p99": 1000, "max": 3000, "turns": 9})
    assert default_max_tokens(fmt, {}) == 1500  # characters are tokens for a char tokenizer
    # a subword style: 3 characters per token (its loss per token is 3x its loss per character)
    assert default_max_tokens(fmt, {"val_bpc": 1.0, "val_loss": 3 * 0.6931471805599453}) == 500
    assert default_max_tokens(TurnFormat("speaker-line", {"A": 1}), {}) == FALLBACK_MAX_TOKENS  # an older style
    tiny = TurnFormat("inline", {}, {"p50": 2, "p90": 3, "p99": 4, "max": 5, "turns": 9})
    assert default_max_tokens(tiny, {}) == 64  # never below the range
    session = load_style(play).chat(user="ANNA")
    assert session.max_tokens == 64  # this corpus's longest turn is 21 characters


def test_shipped_style_caps_answers_from_its_plays(real_shipped: Path) -> None:
    session = load_style("shakespeare").chat()
    lengths = session.format.lengths
    assert lengths["p99"] > 600  # Shakespeare's long speeches: 600 tokens cut some short
    assert session.max_tokens == round(1.5 * lengths["p99"])
