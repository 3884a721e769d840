"""Errors that reach the user as one line, the exit codes behind them, and `one_line` to word them."""

from __future__ import annotations


class StylegenError(Exception):
    """A failure the user can act on: printed as one line, exit code 1."""

    exit_code = 1


class NotFoundError(StylegenError):
    """An unknown corpus, style or plugin name."""


class PluginError(StylegenError):
    """A plugin is missing, broken, or clashes with another plugin."""


def one_line(error: BaseException | str, *, typed: bool = False) -> str:
    """An error's message on one line: every run of whitespace, newlines included, becomes one space.

    An exception without a message gives its type's name; with `typed`, the type's name comes
    first (`ValueError: bad value`), for errors from code that is not stylegen's own.
    """
    if isinstance(error, str):
        return " ".join(error.split())
    text = " ".join(str(error).split())
    name = type(error).__name__
    if not text:
        return name
    return f"{name}: {text}" if typed else text
