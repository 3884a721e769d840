"""The app keeps track of who you are and where you type (issue 16, item 11), through Pilot."""

from __future__ import annotations

from test_tui import drive, until
from textual.pilot import Pilot
from textual.widgets import Input, Select

from stylegen.tui.app import StylegenApp
from stylegen.tui.screens.chat import ChatScreen
from stylegen.tui.screens.generate import GenerateScreen
from stylegen.tui.widgets import Transcript


def test_the_hint_follows_you_speak_as(play: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await until(pilot, lambda: screen.session is not None, what="the style to load")
        screen.query_one("#speak-as", Input).value = "BOB"
        await pilot.pause()
        assert screen.session is not None and screen.session.user == "BOB"
        assert "You speak as BOB." in screen.query_one(Transcript).empty_text

    drive(scenario, StylegenApp(play, preload=False))


def test_ctrl_l_goes_back_to_the_message_and_the_prime(play: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        screen.query_one("#style-select", Select).focus()
        await pilot.pause()
        await pilot.press("ctrl+l")
        assert app.focused is screen.query_one("#message", Input)
        await pilot.press("f3")
        generate = app.screen
        assert isinstance(generate, GenerateScreen)
        generate.query_one("#gen-style", Select).focus()
        await pilot.press("ctrl+l")
        assert app.focused is generate.query_one("#prime", Input)

    drive(scenario, StylegenApp(play, preload=False))


def test_generate_starts_on_the_style_in_use_in_chat(play: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, ChatScreen) and app.screen.style_name == play
        await pilot.press("f3")
        assert isinstance(app.screen, GenerateScreen)
        assert app.screen.style_name == play

    drive(scenario, StylegenApp(play, preload=False))
