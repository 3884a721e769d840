"""PLUGIN_DIST: PLUGIN_DESCRIPTION.

Once installed (`pip install -e .` here):

    PLUGIN_USAGE
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stylegen.hookspecs import Register, hookimpl

__version__ = "0.1.0"
#: The plugin contract this package was written for (stylegen.hookspecs.HOOKSPEC_VERSION).
STYLEGEN_HOOKSPEC_VERSION = 1


class ValidationCSV:
    """Writes one CSV row per validation: step, seconds, bits per character, nats per token."""

    def __init__(self, path: str | Path = "validation.csv") -> None:
        self.path = Path(path)

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Events are dicts with an `event` key: start, step, eval, checkpoint, end ..."""
        if event["event"] == "start":
            with self.path.open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(["step", "seconds", "val_bpc", "val_loss"])
        elif event["event"] == "eval":
            with self.path.open("a", newline="", encoding="utf-8") as f:
                row = [event["step"], round(event["elapsed"], 3), event["val_bpc"], event["val_loss"]]
                csv.writer(f).writerow(row)


class PluginClass:
    name = "PLUGIN_NAME"
    description = "PLUGIN_DESCRIPTION"

    def create(self, **options: Any) -> ValidationCSV:
        return ValidationCSV(**options)


@hookimpl
def register_observers(register: Register) -> None:
    register(PluginClass())
