"""The Textual app: styles, chat, generation, corpora and training in one terminal window.

Importing this package is cheap: Textual is imported by `run` (and by `stylegen.tui.app`),
torch only inside worker threads, when a style is loaded.
"""

from __future__ import annotations


def run(style: str | None = None) -> None:
    """Open the app; with `style`, straight on the Chat screen with that style."""
    from stylegen.tui.app import StylegenApp

    StylegenApp(style=style).run()
