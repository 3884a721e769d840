"""Errors that reach the user as one line, and the exit codes behind them."""

from __future__ import annotations


class StylegenError(Exception):
    """A failure the user can act on: printed as one line, exit code 1."""

    exit_code = 1


class NotFoundError(StylegenError):
    """An unknown corpus, style or plugin name."""


class PluginError(StylegenError):
    """A plugin is missing, broken, or clashes with another plugin."""
