"""Typed records for the JSON stylegen writes and reads: style.json, a corpus's manifest.json,
a style archive's manifest.json and `stylegen inspect --json`'s output.

Each is a frozen dataclass with `from_json(data, path)`, which checks every value and turns
the first bad one into a one-line error naming the file and the dotted key, and `to_json()`,
which gives back the same JSON (keys a newer stylegen added are kept in `extra`). Nothing
heavy is imported here: no torch, no numpy.
"""

from stylegen.records.archive import ArchiveFile, ArchiveManifest
from stylegen.records.inspection import Guess, InspectResult, NeuronTrace, NextAt, Score, Search
from stylegen.records.manifest import (
    BuildOptions,
    Cleaning,
    CorpusManifest,
    Sampling,
    SkippedEntry,
    SourceEntry,
    Split,
    Stats,
)
from stylegen.records.style import CorpusRef, ModelSpec, StyleRecord, TokenizerSpec, Turns, WarmStartRef

__all__ = [
    "ArchiveFile",
    "ArchiveManifest",
    "BuildOptions",
    "Cleaning",
    "CorpusManifest",
    "CorpusRef",
    "Guess",
    "InspectResult",
    "ModelSpec",
    "NeuronTrace",
    "NextAt",
    "Sampling",
    "Score",
    "Search",
    "SkippedEntry",
    "SourceEntry",
    "Split",
    "Stats",
    "StyleRecord",
    "TokenizerSpec",
    "Turns",
    "WarmStartRef",
]
