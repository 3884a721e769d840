"""`stylegen tui [STYLE]`: the Textual app (also what `stylegen` alone opens in a terminal)."""

from __future__ import annotations

import click


@click.command("tui")
@click.argument("style", required=False)
def tui_command(style: str | None) -> None:
    """Open the app; with STYLE, straight in a chat with it."""
    import sys

    from stylegen.errors import StylegenError
    from stylegen.tui import run

    if style is not None:
        from stylegen import read_meta

        read_meta(style)  # an unknown style is a one-line error here, not an empty chat
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise StylegenError("the app needs a terminal (use `stylegen chat` or `stylegen generate` in pipes)")
    run(style)


COMMANDS = [tui_command]
