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


# --- 80x24 and 256 colours (issue 16, item 11) ---------------------------------------------


def _shown_whole(app: StylegenApp, widget: object) -> bool:
    """The widget's whole box is on screen, above the footer line."""
    from textual.widget import Widget

    assert isinstance(widget, Widget)
    region, size = widget.region, widget.outer_size
    return region.height == size.height and region.width == size.width and region.bottom <= app.size.height - 1


def test_at_80x24_the_actions_and_labels_are_in_view(hermetic: object) -> None:
    from textual.widgets import Button, Checkbox

    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f4")
        build = app.screen.query_one("#corpus-build", Button)
        assert _shown_whole(app, build)
        force = app.screen.query_one("#corpus-force", Checkbox)
        force.scroll_visible(animate=False)
        await pilot.pause()
        label = str(force.label)
        assert force.region.width >= len(label) + 3, (label, force.region)  # the box and the whole label
        await pilot.press("f5")
        assert _shown_whole(app, app.screen.query_one("#train-start", Button))
        assert isinstance(app.focused, Select)  # a field, where typing goes

    drive(scenario, StylegenApp(preload=False), size=(80, 24))


def test_at_80x24_the_styles_table_shows_every_column(real_shipped: object) -> None:
    from stylegen.tui.screens.styles import StyleTable

    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f1")
        table = app.screen.query_one(StyleTable)
        await pilot.pause()
        assert table.row_count >= 1
        assert table.virtual_size.width <= table.scrollable_content_region.width, table.virtual_size

    drive(scenario, StylegenApp(preload=False), size=(80, 24))


def test_the_focused_field_has_a_ring(play: str) -> None:
    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        screen = app.screen
        message, speak_as = screen.query_one("#message", Input), screen.query_one("#max-length", Input)
        assert app.focused is message
        width = message.size.width
        assert message.styles.border_left[0] == "outer" and speak_as.styles.border_left[0] == "blank"
        speak_as.focus()
        await pilot.pause()
        assert speak_as.styles.border_left[0] == "outer" and message.styles.border_left[0] == "blank"
        assert message.size.width == width  # nothing moved: the blank bar holds the ring's place
        transcript = screen.query_one(Transcript)
        transcript.focus()
        await pilot.pause()
        assert transcript.styles.border_left[0] == "outer"

    drive(scenario, StylegenApp(play, preload=False))


# --- the Train screen offers the recipe's options (issue 17: --from, --ema, the preset's model) ----


def test_train_options_leave_the_model_to_the_preset_and_pass_from_and_ema() -> None:
    from stylegen.tui._training import TrainOptions

    plain = TrainOptions(corpus="c", name="s").args()
    assert "--model" not in plain  # the preset's model: a QRNN for `cpu`, not always an LSTM
    args = TrainOptions(corpus="c", name="s", model="gru", init_from="shakespeare", ema=0.998).args()
    assert args[args.index("--from") + 1] == "shakespeare" and args[args.index("--ema") + 1] == "0.998"
    assert "--model" not in args  # --from takes that style's model (the CLI refuses both)
    assert TrainOptions(corpus="c", name="s", model="gru").args()[6:8] == ["--model", "gru"]


def test_the_train_screen_starts_from_a_style_and_sets_the_ema(trained: str) -> None:
    from stylegen.tui.screens.train import FROM_SCRATCH, PRESET_MODEL, TrainScreen

    async def scenario(app: StylegenApp, pilot: Pilot[None]) -> None:
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        start, model = screen.query_one("#train-from", Select), screen.query_one("#train-model", Select)
        assert start.value == FROM_SCRATCH and model.value == PRESET_MODEL
        start.value = trained
        await pilot.pause()
        assert model.disabled
        screen.query_one("#train-ema", Input).value = "0.99"
        options = screen._options()
        assert not isinstance(options, str)
        assert options.init_from == trained and options.ema == 0.99 and options.model is None
        screen.query_one("#train-ema", Input).value = "1.5"
        assert screen._options() == "the EMA decay must be from 0 (off) to below 1, e.g. 0.998"
        screen.query_one("#train-ema", Input).value = ""
        options = screen._options()
        assert not isinstance(options, str) and options.locked_dropout is None  # the preset's: it adapts
        assert "--locked-dropout" not in options.args()
        screen.query_one("#train-locked", Input).value = "0.15"
        options = screen._options()
        assert not isinstance(options, str) and options.args()[options.args().index("--locked-dropout") + 1] == "0.15"
        screen.query_one("#train-locked", Input).value = "1"
        assert screen._options() == "the locked dropout must be from 0 (off) to below 1, e.g. 0.1"
        screen.query_one("#train-locked", Input).value = ""
        assert "--optimizer" not in options.args()  # the preset's
        screen.query_one("#train-optimizer", Select).value = "muon"
        options = screen._options()
        assert not isinstance(options, str) and options.args()[options.args().index("--optimizer") + 1] == "muon"
        start.value = FROM_SCRATCH
        await pilot.pause()
        assert not model.disabled

    drive(scenario, StylegenApp(preload=False))
