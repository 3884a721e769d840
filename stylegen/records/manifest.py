"""`CorpusManifest`: a corpus's manifest.json as a typed record (what `stylegen corpus build` writes).

    manifest = CorpusManifest.from_json(home.read_json(path), path)
    manifest.stats.words, manifest.split.val_fraction, manifest.turns.kind
    home.write_json(path, manifest.to_json())                     # the same JSON, byte for byte

The parts written since the first stylegen (name, sources, skipped, stats, split, sha256)
must be there; the later ones (options, cleaning, sampling, characters, turns) may be
missing from an older corpus and are None then. Unknown keys are kept in `extra`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stylegen.records import _check as c
from stylegen.records._check import Fields, JsonView
from stylegen.records.style import Turns

FORMAT_VERSION = 1
_MANY = 1 << 24  # a corpus's own files are not size-limited like an archive: any real count fits
_TEXT = c.string(1 << 16)
_COUNT = c.integer(0)
_STRINGS = c.array(_TEXT, _MANY)


@dataclass(frozen=True, kw_only=True)
class SourceEntry:
    """One document that went in: where from, its sha256 and sizes (after cleaning)."""

    origin: str
    sha256: str
    bytes: int | None = None
    chars: int | None = None
    words: int | None = None
    lines: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> SourceEntry:
        return cls(
            origin=f.need("origin", _TEXT),
            sha256=f.need("sha256", c.string(128)),
            bytes=f.get("bytes", _COUNT),
            chars=f.get("chars", _COUNT),
            words=f.get("words", _COUNT),
            lines=f.get("lines", _COUNT),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        sizes = {"bytes": self.bytes, "chars": self.chars, "words": self.words, "lines": self.lines}
        return c.present({"origin": self.origin, "sha256": self.sha256, **sizes}, self.extra)


@dataclass(frozen=True, kw_only=True)
class SkippedEntry:
    """A file or document left out, and why (binary, not UTF-8, empty, a duplicate...)."""

    origin: str
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> SkippedEntry:
        return cls(origin=f.need("origin", _TEXT), reason=f.need("reason", _TEXT), extra=f.rest())

    def to_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "reason": self.reason, **self.extra}


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """The build's arguments: sources, include/exclude globs, --errors, extractor and source options."""

    sources: list[str] | None = None
    include: list[str] | None = None
    exclude: list[str] | None = None
    errors: str | None = None
    extract: dict[str, Any] | None = None
    source: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> BuildOptions:
        return cls(
            sources=f.get("sources", _STRINGS),
            include=f.get("include", _STRINGS),
            exclude=f.get("exclude", _STRINGS),
            errors=f.get("errors", c.string(100)),
            extract=f.get("extract", c.CONFIG),
            source=f.get("source", c.CONFIG),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        pairs = {"sources": self.sources, "include": self.include, "exclude": self.exclude, "errors": self.errors}
        return c.present({**pairs, "extract": self.extract, "source": self.source}, self.extra)


@dataclass(frozen=True, kw_only=True)
class Cleaning:
    """The cleaning options (`CleanOptions.to_json()`), what each step changed, the rare characters."""

    options: dict[str, Any] | None = None
    changes: dict[str, int] | None = None
    rare_chars: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> Cleaning:
        return cls(
            options=f.get("options", c.CONFIG),
            changes=f.get("changes", c.mapping(_COUNT, max_items=1_000, key_len=200)),
            rare_chars=f.get("rare_chars", _STRINGS),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        return c.present({"options": self.options, "changes": self.changes, "rare_chars": self.rare_chars}, self.extra)


@dataclass(frozen=True, kw_only=True)
class Sampling:
    """Sampling down to a size: the limits asked for (None: none), the seed, documents kept of all."""

    target_words: int | None = None  # written as null when not asked for
    max_chars: int | None = None
    seed: int | None = None
    documents: int | None = None
    of_documents: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> Sampling:
        return cls(
            target_words=f.get("target_words", c.nullable(c.integer(1))),
            max_chars=f.get("max_chars", c.nullable(c.integer(1))),
            seed=f.get("seed", c.integer()),
            documents=f.get("documents", _COUNT),
            of_documents=f.get("of_documents", _COUNT),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        counts = {"seed": self.seed, "documents": self.documents, "of_documents": self.of_documents}
        return {"target_words": self.target_words, "max_chars": self.max_chars, **c.present(counts, self.extra)}


@dataclass(frozen=True, kw_only=True)
class Stats:
    """The corpus text's sizes: UTF-8 bytes, characters, words, lines, documents, distinct characters."""

    bytes: int | None = None
    chars: int
    words: int
    lines: int | None = None
    documents: int
    vocabulary: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> Stats:
        return cls(
            bytes=f.get("bytes", _COUNT),
            chars=f.need("chars", _COUNT),
            words=f.need("words", _COUNT),
            lines=f.get("lines", _COUNT),
            documents=f.need("documents", _COUNT),
            vocabulary=f.get("vocabulary", _COUNT),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        pairs = {"bytes": self.bytes, "chars": self.chars, "words": self.words, "lines": self.lines}
        return c.present({**pairs, "documents": self.documents, "vocabulary": self.vocabulary}, self.extra)


@dataclass(frozen=True, kw_only=True)
class Split:
    """The validation split: the last `val_fraction` of the text."""

    val_fraction: float
    train_chars: int
    val_chars: int
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> Split:
        return cls(
            val_fraction=f.need("val_fraction", c.number(0)),
            train_chars=f.need("train_chars", _COUNT),
            val_chars=f.need("val_chars", _COUNT),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "val_fraction": self.val_fraction,
            "train_chars": self.train_chars,
            "val_chars": self.val_chars,
            **self.extra,
        }


def _char_count(value: Any, where: str) -> tuple[str, int]:
    """One `[char, count]` pair of the character table."""
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and len(value[0]) == 1):
        raise c.fail(where, "a [character, count] pair", value)
    return value[0], _COUNT(value[1], f"{where}[1]")


@dataclass(frozen=True, kw_only=True)
class CorpusManifest(JsonView):
    """manifest.json: where the text came from, how it was cleaned and sampled, its sizes and split."""

    format_version: int = FORMAT_VERSION
    name: str
    created: str | None = None
    sources: list[SourceEntry]
    skipped: list[SkippedEntry]
    options: BuildOptions | None = None
    cleaning: Cleaning | None = None
    sampling: Sampling | None = None
    stats: Stats
    characters: list[tuple[str, int]] | None = None  # most frequent first
    split: Split
    turns: Turns | None = None
    sha256: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> CorpusManifest:
        return cls(
            format_version=f.need("format_version", c.integer(1)),
            name=f.need("name", c.string(200)),
            created=f.get("created", c.string(100)),
            sources=f.need("sources", c.array(c.record(SourceEntry.read), _MANY)),
            skipped=f.need("skipped", c.array(c.record(SkippedEntry.read), _MANY)),
            options=f.get("options", c.record(BuildOptions.read)),
            cleaning=f.get("cleaning", c.record(Cleaning.read)),
            sampling=f.get("sampling", c.record(Sampling.read)),
            stats=f.need("stats", c.record(Stats.read)),
            characters=f.get("characters", c.array(_char_count, _MANY)),
            split=f.need("split", c.record(Split.read)),
            turns=f.get("turns", c.record(Turns.read)),
            sha256=f.need("sha256", c.string(128)),
            extra=f.rest(),
        )

    @classmethod
    def from_json(cls, data: Any, path: Path | str) -> CorpusManifest:
        """The record in `data`, read from `path`; a one-line error naming `path` and the bad key."""
        c.check_version(data, path, "corpus", "format_version", FORMAT_VERSION)
        return c.load(cls.read, data, path)

    def to_json(self) -> dict[str, Any]:
        def part(value: Any) -> Any:
            return value.to_json() if value is not None else None

        pairs = {
            "format_version": self.format_version,
            "name": self.name,
            "created": self.created,
            "sources": [s.to_json() for s in self.sources],
            "skipped": [s.to_json() for s in self.skipped],
            "options": part(self.options),
            "cleaning": part(self.cleaning),
            "sampling": part(self.sampling),
            "stats": self.stats.to_json(),
            "characters": [list(pair) for pair in self.characters] if self.characters is not None else None,
            "split": self.split.to_json(),
            "turns": part(self.turns),
            "sha256": self.sha256,
        }
        return c.present(pairs, self.extra)
