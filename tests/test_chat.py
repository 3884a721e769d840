"""Chat: turn formats, state kept across turns, answers that end with their turn, the REPL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from stylegen import load_style
from stylegen._chat import HoldBack
from stylegen.corpus.turns import TurnFormat, detect
from stylegen.errors import StylegenError
from stylegen.processors import Penalties
from stylegen.state import flatten_state

PLAY_TEXT = "ANNA:\nhello bob.\n\nBOB:\nhi anna.\nhow are you?\n\nCARL:\nbye all.\n\n"


def test_detects_a_play() -> None:
    fmt = detect(PLAY_TEXT * 3 + "First Citizen:\nBefore we proceed.\n\n")
    assert fmt.kind == "speaker-line"
    assert fmt.speakers == {"ANNA": 3, "BOB": 3, "CARL": 3, "First Citizen": 1}


def test_detects_a_chat_log() -> None:
    log = "alice: are you coming?\nbob: yes, at eight\nalice: great\ncarol: me too\n"
    fmt = detect(log)
    assert fmt.kind == "inline" and fmt.speakers == {"alice": 2, "bob": 1, "carol": 1}
    assert fmt.turn("bob", "see\nyou") == "bob: see you\n"


def test_plain_prose_has_no_turns() -> None:
    assert detect("It was a dark night.\n\nRain fell: hard and cold.\n\nThe end.\n").kind == "none"
    assert detect("plain", "speaker-line").kind == "speaker-line"  # --turns forces the format
    with pytest.raises(StylegenError, match="--turns"):
        detect("x", "bogus")


def test_turn_format_writes_turns_like_the_corpus() -> None:
    fmt = TurnFormat("speaker-line", {"ROMEO": 5, "JULIET": 4})
    assert fmt.turn("ROMEO", "  But soft!\n\n\nWhat light?  ") == "ROMEO:\nBut soft!\nWhat light?\n\n"
    assert fmt.resolve("romeo") == "ROMEO" and fmt.resolve("Tybalt") == "Tybalt"
    assert fmt.default_user() == "YOU"
    assert fmt.parse_header("JULIET:") == "JULIET" and fmt.parse_header("and then") is None


def test_hold_back_releases_text_before_a_stop() -> None:
    hold = HoldBack(["\n\n", "END"])
    assert hold.push("ab\n") == ("ab", False)  # "\n" may start a stop: held
    assert hold.push("c") == ("\nc", False)
    assert hold.push("E") == ("", False)
    assert hold.push("ND tail") == ("", True)


def test_answer_is_the_next_turn_by_the_next_speaker(play: str) -> None:
    session = load_style(play).chat(user="anna", sampler="greedy", params={})
    assert session.user == "ANNA"
    assert session.reply("hello bob.") == "hi anna, how are you?"
    assert session.speaker == "BOB"
    assert session.transcript() == "ANNA:\nhello bob.\n\nBOB:\nhi anna, how are you?\n\n"


def test_to_chooses_who_answers(play: str) -> None:
    session = load_style(play).chat(user="ANNA", to="CARL", sampler="greedy", params={})
    answer = session.reply("hello bob.")
    assert session.speaker == "CARL"
    assert "\n\n" not in answer and "BOB:" not in answer


def test_second_turn_feeds_only_the_new_text(play: str) -> None:
    style = load_style(play)
    session = style.chat(user="ANNA", to="BOB", sampler="greedy", params={})
    calls: list[int] = []
    real = style.model.forward

    def spy(ids: torch.Tensor, state: Any) -> Any:
        calls.append(ids.size(1))
        return real(ids, state)

    style.model.forward = spy
    style.model.token_stepper = lambda batch, precision: None  # every call through forward, to count them
    session.reply("hello bob.")
    first_turn = len("ANNA:\nhello bob.\n\nBOB:\n")
    assert calls[0] == first_turn and set(calls[1:]) == {1}
    calls.clear()
    session.reply("and you?")
    assert calls[0] == len("ANNA:\nand you?\n\nBOB:\n")  # not the whole history again
    assert set(calls[1:]) <= {1}


def test_length_limit_closes_the_turn(play: str) -> None:
    session = load_style(play).chat(user="ANNA", to="BOB", sampler="greedy", params={}, max_tokens=3)
    assert session.reply("hello bob.") == "hi "
    assert session.reply("hello bob.") == "hi "  # the next turn starts cleanly after a closed one


def test_stop_sequences_end_an_answer(play: str) -> None:
    session = load_style(play).chat(user="ANNA", to="BOB", sampler="greedy", params={}, stops=[","])
    assert session.reply("hello bob.") == "hi anna"


def test_saved_state_continues_the_same_conversation(play: str, tmp_path: Path) -> None:
    style = load_style(play)
    a = style.chat(user="ANNA", seed=3, params={"temperature": 1.5})
    a.reply("hello bob.")
    a.save_state(tmp_path / "talk.state")
    expected = a.reply("who are you?")

    b = style.chat(seed=99)
    b.load_state(tmp_path / "talk.state")
    assert b.reply("who are you?") == expected
    assert b.turns[0].text == "hello bob."


def test_penalties_apply_in_chat_and_travel_with_the_saved_state(play: str, tmp_path: Path) -> None:
    style = load_style(play)
    plain = style.chat(user="ANNA", to="BOB", sampler="greedy", params={})
    penalised = style.chat(user="ANNA", to="BOB", sampler="greedy", params={}, penalties=Penalties(presence=5.0))
    assert plain.reply("hello bob.") != penalised.reply("hello bob.")

    a = style.chat(user="ANNA", seed=3, penalties=Penalties(frequency=0.7))
    a.reply("hello bob.")
    a.save_state(tmp_path / "talk.state")
    expected = a.reply("who are you?")
    b = style.chat(seed=99)
    b.load_state(tmp_path / "talk.state")
    assert b.penalties == Penalties(frequency=0.7)
    assert b.reply("who are you?") == expected  # same counts, same penalties, same answer

    b.set_penalty("repetition", 1.5)
    assert b.decoder.penalties == Penalties(repetition=1.5, frequency=0.7)
    with pytest.raises(StylegenError, match="unknown penalty"):
        b.set_penalty("boredom", 1.0)


def test_snapshot_and_restore_rewind_the_conversation(play: str) -> None:
    session = load_style(play).chat(
        user="ANNA", seed=3, params={"temperature": 1.5}, penalties=Penalties(frequency=0.5)
    )
    session.reply("hello bob.")
    snap = session.snapshot()
    state = {k: t.clone() for k, t in flatten_state(session.decoder.state)[0].items()}
    first = session.reply("who are you?")
    speaker, turns, tokens = session.speaker, list(session.turns), session.forward_tokens
    assert len(turns) == 4

    session.restore(snap)  # everything back, the random generator too: the same answer again
    assert len(session.turns) == 2 and session.turns[0].text == "hello bob."
    restored = flatten_state(session.decoder.state)[0]
    assert restored.keys() == state.keys() and all(torch.equal(state[k], restored[k]) for k in state)
    assert session.reply("who are you?") == first
    assert (session.speaker, session.turns, session.forward_tokens) == (speaker, turns, tokens)

    session.restore(snap)  # a snapshot can be restored again: the answer did not change it
    assert session.reply("who are you?") == first
    answers = set()
    for _ in range(4):  # the generator goes on: new draws from the same point
        session.restore(snap, rng=False)
        answers.add(session.reply("who are you?"))
        assert len(session.turns) == 4
    assert len(answers - {first}) >= 1


def test_damaged_state_file_is_a_clear_error(play: str, tmp_path: Path) -> None:
    (tmp_path / "bad.state").write_bytes(b"nonsense")
    with pytest.raises(StylegenError, match=r"bad\.state"):
        load_style(play).chat().load_state(tmp_path / "bad.state")


def test_without_turns_chat_continues_the_text(trained: str) -> None:
    session = load_style(trained).chat(sampler="greedy", params={}, max_tokens=20)
    assert session.reply("the quick ") == "brown fox jumps over"
    with pytest.raises(StylegenError, match="no turn structure"):
        load_style(trained).chat(to="BOB")


def run_chat(home: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STYLEGEN_HOME": str(home), "STYLEGEN_LOAD_PLUGINS": ""}
    return subprocess.run(
        [sys.executable, "-m", "stylegen", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_repl_in_a_pipe(play: str, hermetic: Path, tmp_path: Path) -> None:
    script = f"hello bob.\n/temp 0\n/to carl\nhello bob.\n/nope\n/save {tmp_path / 't.txt'}\n"
    result = run_chat(hermetic, script, play, "--as", "ANNA", "--temperature", "0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == ["BOB: hi anna, how are you?", f"CARL: {lines[1].split(': ', 1)[1]}"]
    assert "error: unknown command /nope" in result.stderr
    assert (tmp_path / "t.txt").read_text().startswith("ANNA:\nhello bob.\n\nBOB:\nhi anna, how are you?\n\n")


def test_repl_penalty_options_and_set(play: str, hermetic: Path) -> None:
    script = "hello bob.\n/set presence_penalty 4\nhello bob.\n/set presence_penalty x\n"
    result = run_chat(hermetic, script, play, "--as", "ANNA", "--to", "BOB", "--temperature", "0",
                      "--repetition-penalty", "1.2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "penalties {'repetition': 1.2, 'presence': 4.0, 'frequency': 0.0}" in result.stderr + result.stdout
    assert "error:" in result.stderr  # the bad value is refused, the chat goes on


def test_repl_with_empty_stdin_exits_cleanly(play: str, hermetic: Path) -> None:
    result = run_chat(hermetic, "", play)
    assert result.returncode == 0 and result.stdout == ""
