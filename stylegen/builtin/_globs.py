"""`--include` / `--exclude` globs, shared by the sources that walk folders (files, python)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence


def matches(rel: str, patterns: Sequence[str]) -> bool:
    """Whether the relative path `rel`, or its last part, matches one of the glob patterns."""
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def selected(rel: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Kept by the globs: matching `include` (when there is one) and not `exclude`."""
    return (not include or matches(rel, include)) and not matches(rel, exclude)
