"""`ArchiveManifest`: the manifest.json inside a style archive (`stylegen styles export`).

    {"stylegen_archive": 1, "kind": "style", "name", "created", "stylegen",
     "files": {path: {"sha256", "bytes"}}}

Read before any other member of an archive, so every value is checked and bounded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stylegen.records import _check as c
from stylegen.records._check import Fields

ARCHIVE_FORMAT = 1
#: Limits on what an archive may hold (a gpu-large LSTM's weights are about 230 MB).
MAX_FILES = 1_000
MAX_FILE_BYTES = 2 << 30


@dataclass(frozen=True, kw_only=True)
class ArchiveFile:
    """One member of the archive: its sha256 and size."""

    sha256: str
    bytes: int
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> ArchiveFile:
        return cls(
            sha256=f.need("sha256", c.string(64, "[0-9a-f]{64}", "a sha256 in hex")),
            bytes=f.need("bytes", c.integer(0, MAX_FILE_BYTES)),
            extra=f.rest(),
        )

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "bytes": self.bytes, **self.extra}


@dataclass(frozen=True, kw_only=True)
class ArchiveManifest:
    """What a style archive holds: the style's name, who wrote it, and every file's sha256 and size."""

    stylegen_archive: int = ARCHIVE_FORMAT
    kind: str = "style"
    name: str
    created: str | None = None
    stylegen: str | None = None  # the version that wrote it
    files: dict[str, ArchiveFile]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> ArchiveManifest:
        return cls(
            stylegen_archive=f.need("stylegen_archive", c.integer(1)),
            kind=f.need("kind", c.one_of("style")),
            name=f.need("name", c.string(200)),
            created=f.get("created", c.string(100)),
            stylegen=f.get("stylegen", c.string(100)),
            files=f.need("files", c.mapping(c.record(ArchiveFile.read), max_items=MAX_FILES, key_len=300)),
            extra=f.rest(),
        )

    @classmethod
    def from_json(cls, data: Any, path: Path | str, archive: Path | str | None = None) -> ArchiveManifest:
        """The record in `data`, read from `path` (a newer archive format is refused naming `archive`)."""
        c.check_version(data, archive if archive is not None else path, "archive", "stylegen_archive", ARCHIVE_FORMAT)
        return c.load(cls.read, data, path)

    def to_json(self) -> dict[str, Any]:
        pairs = {
            "stylegen_archive": self.stylegen_archive,
            "kind": self.kind,
            "name": self.name,
            "created": self.created,
            "stylegen": self.stylegen,
            "files": {rel: entry.to_json() for rel, entry in self.files.items()},
        }
        return c.present(pairs, self.extra)
