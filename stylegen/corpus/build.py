"""Build a corpus: sources -> documents -> one text -> train/val split -> files + manifest.

On disk, `$STYLEGEN_HOME/corpora/<name>/` holds `train.txt`, `val.txt` and `manifest.json`.
The folder is assembled under a temporary name and renamed into place, so a failed build
leaves nothing behind and never damages an older corpus of the same name.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stylegen import home, plugins
from stylegen.corpus.turns import detect as detect_turns
from stylegen.errors import NotFoundError, StylegenError
from stylegen.protocols import Document, Skipped, SourceOptions

MANIFEST = "manifest.json"
TURN_SAMPLE = 10_000_000  # characters the turn-format detector reads
FORMAT_VERSION = 1


def corpora_dir() -> Path:
    return home.data_home() / "corpora"


def file_extractor(options: Mapping[str, Any] | None = None) -> Callable[[Path, str], str]:
    """A function (path, errors) -> text that reads a file through the extractor registered
    for its suffix (`*` as the fallback); the suffix table is built once, not per file.
    `options` (`--field`, `--column` ...) reach the extractors that declare them."""
    by_suffix = {s: e.obj for e in plugins.registry().of_kind("extractor") for s in e.obj.suffixes}
    return lambda path, errors: extract_file(path, errors, by_suffix, options or {})


def extract_file(path: Path, errors: str, by_suffix: dict[str, Any], options: Mapping[str, Any] | None = None) -> str:
    """Read one file through the extractor in `by_suffix` for its suffix (`*` as the fallback)."""
    suffix = path.suffix.lower()
    extractor = by_suffix.get(suffix) or by_suffix.get("*")
    if extractor is None:
        raise StylegenError(f"{path}: no extractor for {suffix or 'files without a suffix'}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StylegenError(f"{path}: cannot read ({e.strerror or e})") from None
    wanted = {k: v for k, v in (options or {}).items() if v is not None and k in getattr(extractor, "options", ())}
    text: str = extractor.extract(data, str(path), errors, **wanted)
    return text


def text_stats(text: str) -> dict[str, int]:
    """Counts shown by `corpus show` and kept in the manifest."""
    return {
        "bytes": len(text.encode("utf-8", errors="surrogatepass")),
        "chars": len(text),
        "words": len(text.split()),
        "lines": text.count("\n") + (0 if text.endswith("\n") or not text else 1),
    }


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """The validation split is the last `val_fraction` of the text (as char-rnn and nanoGPT)."""
    n_val = math.ceil(len(text) * val_fraction)
    return text[: len(text) - n_val], text[len(text) - n_val :]


@dataclass
class Corpus:
    """A built corpus on disk."""

    name: str
    path: Path
    manifest: dict[str, Any] = field(repr=False)

    def train_text(self) -> str:
        return self._read("train.txt")

    def val_text(self) -> str:
        return self._read("val.txt")

    def _read(self, filename: str) -> str:
        path = self.path / filename
        try:
            return path.read_text(encoding="utf-8", errors="surrogatepass")
        except FileNotFoundError:
            raise StylegenError(f"{path}: file is missing; rebuild the corpus") from None

    @property
    def sha256(self) -> str:
        return str(self.manifest.get("sha256", ""))


def build_corpus(
    name: str,
    sources: Sequence[str],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    errors: str = "strict",
    val_fraction: float = 0.1,
    turns: str = "auto",
    replace: bool = False,
) -> Corpus:
    """Build corpus `name` from `sources` (paths, globs, `-`, or a registered source name)."""
    home.check_name(name, "corpus")
    if not sources:
        raise StylegenError("corpus build needs at least one source (a file, folder, glob, - or a source name)")
    if not 0.0 < val_fraction < 1.0:
        raise StylegenError(f"--val-fraction must be between 0 and 1 (got {val_fraction})")
    if errors not in ("strict", "skip", "replace"):
        raise StylegenError(f"--errors must be strict, skip or replace (got {errors!r})")
    final = corpora_dir() / name
    if final.exists() and not replace:
        raise StylegenError(f"corpus {name!r} already exists at {final} (use --force to replace it)")

    options = SourceOptions(include=tuple(include), exclude=tuple(exclude), errors=errors, extract=file_extractor())
    docs: list[Document] = []
    skipped: list[Skipped] = []
    reg = plugins.registry()
    for group_name, args in _group_sources(sources, reg.names("source")):
        for item in reg.get("source", group_name).documents(args, options):
            (skipped if isinstance(item, Skipped) else docs).append(item)

    kept = [d for d in docs if d.text.strip()]
    # Each document ends with a line break; a blank line separates documents.
    text = "\n".join(d.text if d.text.endswith("\n") else d.text + "\n" for d in kept)
    if not text.strip():
        where = ", ".join(sources)
        why = f" ({len(skipped)} file(s) skipped, e.g. {skipped[0].origin}: {skipped[0].reason})" if skipped else ""
        raise StylegenError(f"corpus {name!r} would be empty: no text found in {where}{why}")
    train, val = split_text(text, val_fraction)
    turn_format = detect_turns(text[:TURN_SAMPLE], turns)
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sources": [{"origin": d.origin, "sha256": _sha256(d.text), **text_stats(d.text)} for d in docs],
        "skipped": [{"origin": s.origin, "reason": s.reason} for s in skipped],
        "options": {"include": list(include), "exclude": list(exclude), "errors": errors},
        "stats": {**text_stats(text), "documents": len(kept)},
        "split": {"val_fraction": val_fraction, "train_chars": len(train), "val_chars": len(val)},
        "turns": turn_format.to_json(),
        "sha256": _sha256(text),
    }
    with home.staged_dir(final, replace=replace) as tmp:
        (tmp / "train.txt").write_text(train, encoding="utf-8", errors="surrogatepass")
        (tmp / "val.txt").write_text(val, encoding="utf-8", errors="surrogatepass")
        home.write_json(tmp / MANIFEST, manifest)
    return Corpus(name, final, manifest)


def _group_sources(sources: Sequence[str], source_names: list[str]) -> list[tuple[str, list[str]]]:
    """Split arguments into runs for each source: a registered source name that is not an
    existing path starts its own run (its following `key=value`-free args are paths again)."""
    groups: list[tuple[str, list[str]]] = []
    for arg in sources:
        if arg in source_names and arg != "files" and not Path(arg).exists():
            groups.append((arg, []))
        elif groups and groups[-1][0] == "files":
            groups[-1][1].append(arg)
        else:
            groups.append(("files", [arg]))
    return groups


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def load_corpus(name: str) -> Corpus:
    """Open corpus `name`; a one-line error if it does not exist or its manifest is damaged."""
    home.check_name(name, "corpus")
    path = corpora_dir() / name
    if not (path / MANIFEST).is_file():
        raise NotFoundError(f"no corpus named {name!r} (see `stylegen corpus list`)")
    manifest = home.read_json(path / MANIFEST)
    if not isinstance(manifest, dict) or "stats" not in manifest:
        raise StylegenError(f"{path / MANIFEST}: not a stylegen corpus manifest")
    return Corpus(name, path, manifest)


def list_corpora() -> list[Corpus]:
    root = corpora_dir()
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not (path / MANIFEST).is_file():
            continue
        try:
            out.append(load_corpus(path.name))
        except StylegenError as e:
            plugins.warn(str(e))
    return out


def remove_corpus(name: str) -> Path:
    path = load_corpus(name).path
    shutil.rmtree(path)
    return path
