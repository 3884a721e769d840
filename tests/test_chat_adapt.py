"""`stylegen chat --adapt`: dynamic evaluation in a conversation (issue 17). A copy of the
weights learns each turn; the style is untouched; regenerating and snapshots see the weights
as they were."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from test_cli import invoke, ok

from stylegen import load_style
from stylegen._chat import ChatSession
from stylegen.errors import StylegenError
from stylegen.training.dynamic import score_text


class _View:
    def __init__(self, style: Any, model: Any) -> None:
        self.tokenizer, self.model, self.device = style.tokenizer, model, style.device


def bpc(style: Any, model: Any, text: str) -> float:
    return score_text(_View(style, model), text).bpc


def weights(model: Any) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_a_conversation_makes_its_own_words_likelier_and_leaves_the_style(play: str) -> None:
    style = load_style(play)
    before = weights(style.model)
    session = ChatSession(style, user="ANNA", to="BOB", seed=0, adapt=True, max_tokens=20)
    probe = "BOB:\nbye bob, bye bob, bye bob.\n\n"  # the corpus's letters, a line it never had
    start = bpc(style, session.decoder.model, probe)
    for _ in range(4):
        session.reply("bye bob, bye bob, bye bob.")
    after = bpc(style, session.decoder.model, probe)
    assert after < start - 0.1  # the repeated line got cheaper
    assert all(torch.equal(a, b) for a, b in zip(before, weights(style.model), strict=True))  # the style's own
    assert bpc(style, style.model, probe) == pytest.approx(start)
    plain = ChatSession(style, user="ANNA", to="BOB", seed=0, max_tokens=20)
    assert plain.decoder.model is style.model  # without --adapt, nothing is copied


def test_a_restored_snapshot_puts_the_weights_back(play: str) -> None:
    session = ChatSession(load_style(play), user="ANNA", to="BOB", seed=0, adapt=True, max_tokens=20)
    session.reply("hello bob.")
    snap = session.snapshot()
    kept = weights(session.decoder.model)
    first = session.reply("how are you?")
    assert not all(torch.equal(a, b) for a, b in zip(kept, weights(session.decoder.model), strict=True))
    session.restore(snap)
    assert all(torch.equal(a, b) for a, b in zip(kept, weights(session.decoder.model), strict=True))
    assert session.reply("how are you?") == first  # the same weights, state and draw: the same answer


def test_adapt_needs_float32_weights(play: str) -> None:
    with pytest.raises(StylegenError, match="--adapt learns in float32: leave out --int8"):
        ChatSession(load_style(play, int8=True), adapt=True)


def test_chat_adapt_from_the_command_line(play: str) -> None:
    out = ok(invoke("chat", play, "--as", "ANNA", "--adapt", "--seed", "1", "--max-length", "10",
                    input="hello bob.\nhello again.\n"))  # fmt: skip
    assert len(out.stdout.strip().splitlines()) == 2
    assert "--adapt" in ok(invoke("chat", "--help")).stdout


def test_the_app_adapts_when_the_box_is_ticked(play: str) -> None:
    from test_tui import drive, enter, until
    from textual.widgets import Checkbox

    from stylegen.tui.app import StylegenApp
    from stylegen.tui.screens.chat import ChatScreen

    async def scenario(app: StylegenApp, pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await until(pilot, lambda: screen.session is not None, what="the style to load")
        session = screen.session
        assert not session.adapt and session.torchless  # the style's own weights, without torch
        screen.query_one("#chat-adapt", Checkbox).value = True
        await pilot.pause()
        assert session.adapt and not session.torchless and session.decoder.model is not session.style.model
        kept = weights(session.decoder.model)
        await enter(pilot, "#message", "hello bob.")
        await until(pilot, lambda: not screen.writing and len(session.turns) == 2, what="the answer")
        assert not all(torch.equal(a, b) for a, b in zip(kept, weights(session.decoder.model), strict=True))
        screen.query_one("#chat-adapt", Checkbox).value = False
        await pilot.pause()
        assert not session.adapt and session.decoder.model is session.style.model

    drive(scenario, StylegenApp(play, seed=1, preload=False))
