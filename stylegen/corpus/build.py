"""Build a corpus: sources -> documents -> one text -> train/val split -> files + manifest.

On disk, `$STYLEGEN_HOME/corpora/<name>/` holds `train.txt`, `val.txt` and `manifest.json`.
The folder is assembled under a temporary name and renamed into place, so a failed build
leaves nothing behind and never damages an older corpus of the same name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stylegen import home, locks, plugins
from stylegen.builtin.extract_text import lone_surrogates, read_document
from stylegen.corpus.clean import Cleaner, CleanOptions, rare_table
from stylegen.corpus.counts import CharCounts, count_words
from stylegen.corpus.turns import TurnFormat, count_turns
from stylegen.corpus.turns import detect as detect_turns
from stylegen.errors import NotFoundError, StylegenError
from stylegen.protocols import Document, ReadsOptions, SkipFile, Skipped, SourceOptions
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
from stylegen.records.style import Turns

MANIFEST = "manifest.json"
CHUNK_CHARS = 4_000_000  # characters per chunk when text is read back (about 16 MB as UTF-32)
TURN_SAMPLE = 1_000_000  # characters the turn-format detector reads
FORMAT_VERSION = 1
SEED_MAX = 2**64 - 1  # the sampling order's seed: what numpy (and torch) accept


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_chunks(path: Path, size: int | None = None) -> Iterator[str]:
    """The text of `path` in pieces of about `size` characters, each ending at a line break
    (so a tokenizer that works line by line never sees a line cut in two)."""
    size = size or CHUNK_CHARS
    with path.open("r", encoding="utf-8", errors="surrogatepass", newline="") as f:
        while True:
            chunk = f.read(size)
            if not chunk:
                return
            if not chunk.endswith("\n"):
                chunk += f.readline()
            yield chunk


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
    # The built-in extractors read text: a binary file is told by its first bytes, unread. A
    # plugin's extractor may read binary formats (PDF ...): it gets every file.
    text_only = type(extractor).__module__.startswith("stylegen.builtin.")
    try:
        with path.open("rb") as f:
            data = read_document(f, str(path), sniff=text_only)
    except OSError as e:
        raise SkipFile(f"cannot read ({e.strerror or e})") from None
    known = extractor.options if isinstance(extractor, ReadsOptions) else ()
    wanted = {k: v for k, v in (options or {}).items() if v is not None and k in known}
    text: str = extractor.extract(data, str(path), errors, **wanted)
    return text


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """The validation split is the last `val_fraction` of the text (as char-rnn and nanoGPT)."""
    n_val = math.ceil(len(text) * val_fraction)
    return text[: len(text) - n_val], text[len(text) - n_val :]


@dataclass
class Corpus:
    """A built corpus on disk."""

    name: str
    path: Path
    manifest: CorpusManifest = field(repr=False)

    def train_text(self) -> str:
        return self._read("train.txt")

    def val_text(self) -> str:
        return self._read("val.txt")

    def _read(self, filename: str) -> str:
        path = self.path / filename
        try:
            with path.open(encoding="utf-8", errors="surrogatepass", newline="") as f:
                return f.read()
        except FileNotFoundError:
            raise StylegenError(f"{path}: file is missing; rebuild the corpus") from None

    @property
    def sha256(self) -> str:
        return self.manifest.sha256


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
    extract_options: Mapping[str, Any] | None = None,
    source_options: Mapping[str, Any] | None = None,
    clean: CleanOptions | None = None,
    target_words: int | None = None,
    max_chars: int | None = None,
    seed: int = 0,
) -> Corpus:
    """Build corpus `name` from `sources` (paths, globs, `-`, or a registered source name).

    Streaming: documents are cleaned and written one at a time, so memory holds one document
    (and the duplicate-detection hashes), however large the corpus. `target_words` and
    `max_chars` sample whole documents in a seeded random order until the size is reached
    (the last one cut at a paragraph break), keeping the documents' original order.
    """
    home.check_name(name, "corpus")
    if not sources:
        raise StylegenError("corpus build needs at least one source (a file, folder, glob, - or a source name)")
    if not 0.0 < val_fraction < 1.0:
        raise StylegenError(f"--val-fraction must be between 0 and 1 (got {val_fraction})")
    if errors not in ("strict", "skip", "replace"):
        raise StylegenError(f"--errors must be strict, skip or replace (got {errors!r})")
    for label, limit in (("--target-words", target_words), ("--max-chars", max_chars)):
        if limit is not None and (not _is_int(limit) or limit < 1):
            raise StylegenError(f"{label} must be a whole number >= 1 (got {limit!r})")
    if not _is_int(seed) or not 0 <= seed <= SEED_MAX:
        raise StylegenError(f"--seed must be a whole number from 0 to {SEED_MAX} (got {seed!r})")
    for label, globs in (("--include", include), ("--exclude", exclude)):
        if isinstance(globs, str) or not all(isinstance(g, str) for g in globs):
            raise StylegenError(f"{label} must be a list of glob patterns (strings) (got {list(globs)!r})")
    final = home.corpora_dir() / name
    if final.exists() and not replace:
        raise StylegenError(f"corpus {name!r} already exists at {final} (use --force to replace it)")
    clean = clean or CleanOptions()
    extract_options = {k: v for k, v in (extract_options or {}).items() if v is not None}
    source_options = dict(source_options or {})
    options = SourceOptions(
        include=tuple(include),
        exclude=tuple(exclude),
        errors=errors,
        extract=file_extractor(extract_options),
        extra=source_options,
    )
    reg = plugins.registry()
    groups = _group_sources(sources, reg.names("source"))
    # One build of a name at a time: a second is refused (the OS drops the lock if this dies).
    with locks.corpus_lock(name), home.staged_dir(final, replace=replace) as tmp:
        locks.sweep_staged(final.parent, "corpus", name)  # what killed builds of other names left
        cleaner = Cleaner(clean)
        every = CharCounts()  # over every document as cleaned: the rare characters, and often the table
        docs, skipped = _write_documents(
            tmp / "documents.tmp",
            (item for source, args in groups for item in reg.get("source", source).documents(args, options)),
            cleaner,
            errors,
            every,
        )
        if not docs:
            where = ", ".join(sources)
            why = f" ({len(skipped)} skipped, e.g. {skipped[0].origin}: {skipped[0].reason})" if skipped else ""
            raise StylegenError(f"corpus {name!r} would be empty: no text found in {where}{why}")
        chosen = _sample(docs, target_words, max_chars, seed)
        rare_map: dict[int, str | None] | None = None
        rare: list[str] = []
        if clean.rare_chars != "keep":
            rare_map, rare = rare_table(every.flush(), clean)
        text_file = tmp / "text.tmp"
        unchanged = chosen is docs and not rare_map  # every document, as cleaned: copied as bytes
        counts = every if unchanged else CharCounts()
        stats, digest = _write_text(tmp / "documents.tmp", chosen, rare_map, text_file, counts, unchanged)
        (tmp / "documents.tmp").unlink()
        train_chars, val_chars = _split_file(
            text_file, stats["chars"], val_fraction, tmp / "train.txt", tmp / "val.txt"
        )
        with text_file.open(encoding="utf-8", errors="surrogatepass", newline="") as f:
            sample = f.read(TURN_SAMPLE)
        turn_format = detect_turns(sample, turns)
        # The kind from a sample; the speakers and turn lengths from all the text (for text
        # without turns, the paragraph lengths of the sample: what sizes chat's answer cap).
        chunks = read_chunks(text_file) if turn_format.has_turns else [sample]
        speakers, lengths = count_turns(turn_format.kind, chunks)
        turn_format = TurnFormat(turn_format.kind, speakers, lengths)
        text_file.unlink()
        table = counts.table()
        manifest = CorpusManifest(
            format_version=FORMAT_VERSION,
            name=name,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            sources=[d.describe() for d in docs],
            skipped=[SkippedEntry(origin=s.origin, reason=s.reason) for s in skipped],
            options=BuildOptions(
                sources=list(sources),
                include=list(include),
                exclude=list(exclude),
                errors=errors,
                extract=extract_options,
                source=source_options,
            ),
            cleaning=Cleaning(options=clean.to_json(), changes=cleaner.counts, rare_chars=rare),
            sampling=Sampling(
                target_words=target_words,
                max_chars=max_chars,
                seed=seed,
                documents=len(chosen),
                of_documents=len(docs),
            ),
            stats=Stats(
                bytes=stats["bytes"],
                chars=stats["chars"],
                words=stats["words"],
                lines=stats["lines"],
                documents=len(chosen),
                vocabulary=len(table),
            ),
            characters=table,
            split=Split(val_fraction=val_fraction, train_chars=train_chars, val_chars=val_chars),
            turns=Turns(kind=turn_format.kind, speakers=turn_format.speakers, lengths=turn_format.lengths or None),
            sha256=digest,
        )
        home.write_json(tmp / MANIFEST, manifest.to_json())
    return Corpus(name, final, manifest)


@dataclass
class _Doc:
    """Where a cleaned document sits in the build's scratch file, and its counts."""

    origin: str
    offset: int  # bytes
    size: int  # bytes
    chars: int
    words: int
    lines: int
    sha256: str
    cut: tuple[int, int] | None = None  # (words, chars) to keep of the last sampled document

    def describe(self) -> SourceEntry:
        return SourceEntry(
            origin=self.origin,
            sha256=self.sha256,
            bytes=self.size,
            chars=self.chars,
            words=self.words,
            lines=self.lines,
        )


def _write_documents(
    path: Path,
    items: Iterable[Document | Skipped],
    cleaner: Cleaner,
    errors: str = "strict",
    counts: CharCounts | None = None,
) -> tuple[list[_Doc], list[Skipped]]:
    """Clean each document, count its characters into `counts` and append it to `path` (each
    ending with a line break). A lone surrogate in a document's text (from any source or
    extractor) is handled by `errors`."""
    docs: list[_Doc] = []
    skipped: list[Skipped] = []
    offset = 0
    with path.open("wb") as out:
        for item in items:
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            if not item.text.strip():
                skipped.append(Skipped(item.origin, "empty (no text)"))
                continue
            text, reason = cleaner.clean(item.text)
            if reason is not None:
                skipped.append(Skipped(item.origin, reason))
                continue
            if not text.endswith("\n"):
                text += "\n"
            try:  # strict: a lone surrogate (no character, from JSON's "\ud83d" say) fails here
                data = text.encode("utf-8")
            except UnicodeEncodeError:  # the rare text with one: handled by `errors`
                whole = lone_surrogates(text, item.origin, errors)
                if whole is None:
                    skipped.append(Skipped(item.origin, "holds a lone surrogate (not a character)"))
                    continue
                text, data = whole, whole.encode("utf-8", errors="surrogatepass")
            if counts is not None:
                counts.add(text)
            out.write(data)
            docs.append(
                _Doc(
                    origin=item.origin,
                    offset=offset,
                    size=len(data),
                    chars=len(text),
                    words=count_words(text, data),
                    lines=text.count("\n"),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
            offset += len(data)
    return docs, skipped


def _read_doc(f: Any, doc: _Doc) -> str:
    f.seek(doc.offset)
    text: str = f.read(doc.size).decode("utf-8", errors="surrogatepass")
    return text


def _sample(docs: list[_Doc], target_words: int | None, max_chars: int | None, seed: int) -> list[_Doc]:
    """Documents in a seeded random order until `target_words` / `max_chars` is reached; the
    last one is marked to be cut. The documents keep their original order."""
    if target_words is None and max_chars is None:
        return docs
    order = np.random.default_rng(seed).permutation(len(docs))
    chosen: dict[int, _Doc] = {}
    words = chars = 0
    for i in order.tolist():
        doc = docs[i]
        words_left = None if target_words is None else target_words - words
        chars_left = None if max_chars is None else max_chars - chars - 1  # a blank line joins documents
        if (words_left is not None and words_left <= 0) or (chars_left is not None and chars_left <= 0):
            break
        fits = (words_left is None or doc.words <= words_left) and (chars_left is None or doc.chars <= chars_left)
        if fits:
            chosen[i] = doc
            words, chars = words + doc.words, chars + doc.chars + 1
            continue
        chosen[i] = dataclasses.replace(doc, cut=(words_left or 0, chars_left or 0))
        break
    return [chosen[i] for i in sorted(chosen)]


def _cut(text: str, words_left: int, chars_left: int) -> str:
    """The longest run of whole paragraphs (else lines, else characters) of `text` that keeps
    within the words and characters left."""
    if chars_left > 0:
        text = text[:chars_left]
    if words_left > 0:
        spans = list(re.finditer(r"\S+", text))
        if len(spans) > words_left:
            text = text[: spans[words_left - 1].end()]
    for sep in ("\n\n", "\n"):
        cut = text.rfind(sep)
        if cut > len(text) // 2:
            return text[: cut + 1]
    return text.rstrip() + "\n"


def _write_text(
    src: Path,
    docs: list[_Doc],
    rare_map: dict[int, str | None] | None,
    dest: Path,
    counts: CharCounts,
    unchanged: bool = False,
) -> tuple[dict[str, int], str]:
    """The corpus text: the chosen documents, a blank line between them, rare characters
    handled; returns its stats and sha256. `unchanged` (every document, no rare characters
    changed, `counts` already holding them): the documents' bytes are copied as they are, the
    stats added up from what the first pass measured, only the joining line breaks counted."""
    digest = hashlib.sha256()
    stats = {"bytes": 0, "chars": 0, "words": 0, "lines": 0}
    with src.open("rb") as f, dest.open("wb") as out:
        if unchanged:
            for i, doc in enumerate(docs):
                f.seek(doc.offset)
                data = (b"\n" if i else b"") + f.read(doc.size)
                out.write(data)
                digest.update(data)
                stats["bytes"] += len(data)
                stats["chars"] += doc.chars + (1 if i else 0)
                stats["words"] += doc.words
                stats["lines"] += doc.lines + (1 if i else 0)
            counts.add("\n" * max(0, len(docs) - 1))
            return stats, digest.hexdigest()
        for i, doc in enumerate(docs):
            text = _read_doc(f, doc)
            if doc.cut is not None:  # the sampled document that reached the size
                text = _cut(text, *doc.cut)
            changed = doc.cut is not None or bool(rare_map)
            if rare_map:
                text = text.translate(rare_map)
            if i:
                text = "\n" + text
            data = text.encode("utf-8", errors="surrogatepass")
            out.write(data)
            digest.update(data)
            counts.add(text)
            stats["bytes"] += len(data)
            stats["chars"] += len(text)
            stats["words"] += len(text.split()) if changed else doc.words
            stats["lines"] += text.count("\n")
    return stats, digest.hexdigest()


def _split_file(src: Path, total: int, val_fraction: float, train: Path, val: Path) -> tuple[int, int]:
    """Copy `src` (UTF-8, `total` characters) into train and validation files: the validation
    split is the last `val_fraction` of the characters (as char-rnn and nanoGPT). The split's
    byte offset is found by counting the bytes that start a character (all but 0x80-0xBF),
    block by block; both parts are copied as bytes."""
    n_train = total - math.ceil(total * val_fraction)
    offset = seen = 0
    with src.open("rb") as f:
        while seen < n_train and (block := f.read(1 << 22)):
            is_start = (np.frombuffer(block, dtype=np.uint8) & 0xC0) != 0x80
            here = int(np.count_nonzero(is_start))
            if seen + here <= n_train:
                seen += here
                offset += len(block)
                continue
            offset += int(np.flatnonzero(is_start)[n_train - seen])  # the first byte of character n_train
            seen = n_train
        f.seek(0)
        with train.open("wb") as out:
            _copy_bytes(f, out, offset)
        with val.open("wb") as out:
            shutil.copyfileobj(f, out, 1 << 22)
    return n_train, total - n_train


def _copy_bytes(src: Any, dest: Any, n: int) -> None:
    while n > 0:
        block = src.read(min(n, 1 << 22))
        if not block:
            break
        dest.write(block)
        n -= len(block)


def _group_sources(sources: Sequence[str], source_names: list[str]) -> list[tuple[str, list[str]]]:
    """Split arguments into runs for each source. A registered source name that is not an
    existing path is that source (`NAME:a,b` passes it the arguments a and b); the other
    arguments are paths, globs or `-` for the `files` source."""
    groups: list[tuple[str, list[str]]] = []
    for arg in sources:
        head, sep, rest = arg.partition(":")
        if head in source_names and head != "files" and not Path(arg).exists():
            groups.append((head, [a for a in rest.split(",") if a] if sep else []))
        elif groups and groups[-1][0] == "files":
            groups[-1][1].append(arg)
        else:
            groups.append(("files", [arg]))
    return groups


def load_corpus(name: str) -> Corpus:
    """Open corpus `name`; a one-line error if it does not exist or its manifest is damaged."""
    home.check_name(name, "corpus")
    path = home.corpora_dir() / name
    if not (path / MANIFEST).is_file():
        raise NotFoundError(f"no corpus named {name!r} (see `stylegen corpus list`)")
    return Corpus(name, path, CorpusManifest.from_json(home.read_json(path / MANIFEST), path / MANIFEST))


def list_corpora() -> list[Corpus]:
    root = home.corpora_dir()
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
    home.remove_tree(path, f"corpus {name!r}")
    return path
