"""The app's sampler panel follows the rule of `stylegen.sampler_choice` (issue 16, item 4): a
newly chosen sampler starts from its own defaults, with only the values the user set carried."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Input, Select

from stylegen.tui.widgets.sampler import DEFAULT_PARAMS, DEFAULT_SAMPLER, SamplerPanel


class PanelApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SamplerPanel(DEFAULT_SAMPLER, dict(DEFAULT_PARAMS), id="panel")  # as the screens build it


async def choose(pilot: Any, panel: SamplerPanel, name: str) -> None:
    panel.query_one("#sampler-name", Select).value = name
    await pilot.pause()


def test_a_new_sampler_gets_its_own_defaults_and_the_values_the_user_set() -> None:
    asyncio.run(_a_new_sampler_gets_its_own_defaults())


async def _a_new_sampler_gets_its_own_defaults() -> None:
    app = PanelApp()
    async with app.run_test() as pilot:
        panel = app.query_one("#panel", SamplerPanel)
        assert panel.params == {"temperature": 0.8}  # the app's default sampler, as the CLI's
        await choose(pilot, panel, "top-k")
        assert panel.params == {"temperature": 1.0, "top_k": 40}  # top-k's own defaults, as --sampler top-k
        field = panel.query(Input).first()
        field.value = "0.5"
        await pilot.pause()
        assert panel.params["temperature"] == 0.5
        await choose(pilot, panel, "min-p")
        assert panel.params == {"temperature": 0.5, "min_p": 0.05}  # what the user set is carried
