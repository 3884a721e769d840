"""`stylegen tui [STYLE]`: the Textual app (also what `stylegen` alone opens in a terminal)."""

from __future__ import annotations

import click


@click.command("tui")
@click.argument("style", required=False)
def tui_command(style: str | None) -> None:
    """Open the app; with STYLE, straight in a chat with it."""
    from stylegen.tui import run

    if style is not None:
        from stylegen.styles import read_meta

        read_meta(style)  # an unknown style is a one-line error here, not an empty chat
    run(style)


COMMANDS = [tui_command]
