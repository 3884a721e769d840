"""PLUGIN_DIST: PLUGIN_DESCRIPTION.

Once installed (`pip install -e .` here):

    PLUGIN_USAGE
"""

from __future__ import annotations

from typing import Any

from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import SkipFile

__version__ = "0.1.0"
#: The plugin contract this package was written for (stylegen.hookspecs.HOOKSPEC_VERSION).
STYLEGEN_HOOKSPEC_VERSION = 1


class PluginClass:
    """Files named *.PLUGIN_NAME: UTF-8 text whose lines starting with `#` are comments, dropped."""

    name = "PLUGIN_NAME"
    description = "PLUGIN_DESCRIPTION"
    suffixes = (".PLUGIN_NAME",)

    def extract(self, data: bytes, origin: str, errors: str, **options: Any) -> str:
        """The text a reader sees in `data`; `errors` is strict, skip or replace (--errors)."""
        if b"\0" in data:
            raise SkipFile("binary file (contains NUL bytes)")
        try:
            text = data.decode("utf-8", errors="replace" if errors == "replace" else "strict")
        except UnicodeDecodeError as e:
            if errors == "skip":
                raise SkipFile(f"not UTF-8 (byte {e.start})") from None
            raise StylegenError(f"{origin}: not UTF-8 (byte {e.start}); use --errors skip or replace") from None
        return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


@hookimpl
def register_extractors(register: Register) -> None:
    register(PluginClass())
