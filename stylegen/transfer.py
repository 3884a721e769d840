"""`stylegen styles export` / `import`: a style as one zip archive, checked before it is used.

    manifest.json                   {"stylegen_archive": 1, "kind": "style", "name", "created",
                                     "stylegen", "files": {path: {"sha256", "bytes"}}}
    style.json  model.safetensors  tokenizer/...  metrics.jsonl
    originality.npz                 with --with-index (hashes of the training text's spans)
    checkpoint/state.safetensors    with --with-checkpoint: the resume state as tensors plus
    checkpoint/state.json           JSON (no pickle); import rebuilds checkpoint/state.pt

Zip rather than tar: its central directory lists every member with its declared size and
type before a byte is decompressed, so names, types and sizes are all checked up front and
the manifest is read first; zip has no hard links, and a symlink or device is only a mode
bit in the member's attributes, refused here; and every system opens a zip without tools.
Python's zipfile also stops each member at its declared size, so a "zip bomb" cannot
inflate a member past the limits checked against the central directory.

Import writes nothing until the whole archive has been read and checked: member names (no
`..`, absolute paths, backslashes, hidden or unknown files, duplicates), types (regular
files only), sizes (per file, every JSON file under 16 MiB, in total, the number of files,
declared against the manifest and against what is read), every sha256, style.json as a `StyleRecord`, no pickle
(refused by name and by its magic bytes; stylegen never unpickles anything from an archive).
Then the style is assembled in a hidden folder beside its place and loaded from there like
any style (safetensors only, every tensor's shape checked against the model style.json
describes, first on the meta device so a hostile config allocates nothing), its checkpoint
and index checked, and only then renamed into place, holding the style's lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import shutil
import stat
import time
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from stylegen import home, locks, styles
from stylegen.errors import StylegenError, one_line
from stylegen.records.archive import MAX_FILE_BYTES, MAX_FILES, ArchiveFile, ArchiveManifest
from stylegen.records.style import StyleRecord
from stylegen.training.portable import CKPT_JSON, CKPT_TENSORS

MANIFEST = "manifest.json"
METRICS = "metrics.jsonl"
INDEX = "originality.npz"
#: Limits on what an archive may hold besides MAX_FILES and MAX_FILE_BYTES (records/archive.py).
MAX_TOTAL_BYTES = 4 << 30
#: Every JSON member (style.json, manifest.json, checkpoint/state.json, tokenizer/*.json) is
#: parsed whole, so its declared size is refused above this before a byte of it is read.
MAX_JSON_BYTES = 16 << 20
#: Suffixes of pickle-based files (torch, joblib, numpy object arrays): refused by name.
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".dill", ".npy", ".pyc")
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_FIXED = {styles.STYLE_JSON, styles.WEIGHTS, METRICS, INDEX, CKPT_TENSORS, CKPT_JSON}


# ----------------------------------------------------------------------------- export


def _style_files(src: Path, with_index: bool) -> dict[str, Path]:
    """Archive path -> file, for the style folder `src`."""
    files = {styles.STYLE_JSON: src / styles.STYLE_JSON, styles.WEIGHTS: src / styles.WEIGHTS}
    if not files[styles.WEIGHTS].is_file():
        raise StylegenError(f"{files[styles.WEIGHTS]}: missing (the style has no validated weights yet)")
    tok = src / styles.TOKENIZER_DIR
    for path in sorted(tok.rglob("*")) if tok.is_dir() else []:
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise StylegenError(f"{path}: not a regular file; a style archive holds regular files only")
        if path.is_file() and not path.name.startswith("."):
            files[path.relative_to(src).as_posix()] = path
    if not any(p.startswith(f"{styles.TOKENIZER_DIR}/") for p in files):
        raise StylegenError(f"{tok}: the style has no tokenizer files")
    if (src / METRICS).is_file():
        files[METRICS] = src / METRICS
    if with_index:
        if not (src / INDEX).is_file():
            raise StylegenError(f"{src / INDEX}: the style has no originality index (--with-index)")
        files[INDEX] = src / INDEX
    for rel in files:
        problem = _name_problem(rel)
        if problem:
            raise StylegenError(f"{src / rel}: {problem}")
    return files


def export_style(
    name: str, file: Path, *, with_checkpoint: bool = False, with_index: bool = False, force: bool = False
) -> dict[str, Any]:
    """Write style `name` to the zip archive `file`; returns what was written.

    The checkpoint is left out unless `with_checkpoint` (then as safetensors + JSON), the
    originality index unless `with_index`. The style's lock is held while its files are read.
    """
    from stylegen._version import __version__

    file = Path(file)
    if file.is_dir():
        raise StylegenError(f"{file}: is a folder; give the archive's file name (e.g. {name}.zip)")
    if home.inside_data_home(file):
        raise StylegenError(
            f"{file}: is inside stylegen's data home ({home.data_home()}); export somewhere else "
            "(--force never replaces a style's own files)"
        )
    if file.exists() and not force:
        raise StylegenError(f"{file} already exists (use --force to replace it)")
    styles.read_meta(name)  # a one-line error for an unknown or damaged style
    src = styles.style_path(name)
    with locks.style_lock(name, "exporting it", reading=True):  # a read-only home can be exported from
        files: dict[str, Path | bytes] = dict(_style_files(src, with_index))
        if with_checkpoint:
            from stylegen.training import checkpoint, portable

            if not (src / checkpoint.CHECKPOINT).is_file():
                raise StylegenError(f"style {name!r} has no checkpoint to export (--with-checkpoint)")
            tensors, structure = portable.pack(checkpoint.load(src))
            files[CKPT_TENSORS], files[CKPT_JSON] = tensors, structure
        listing = {rel: _describe(item) for rel, item in files.items()}
        total = sum(d.bytes for d in listing.values())
        if total > MAX_TOTAL_BYTES or any(d.bytes > MAX_FILE_BYTES for d in listing.values()):
            raise StylegenError(f"style {name!r} is larger than an archive may be ({total:,} bytes)")
        created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        manifest = ArchiveManifest(name=name, created=created, stylegen=__version__, files=listing)
        with home.atomic_path(file) as tmp, zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            zf.writestr(_info(MANIFEST), json.dumps(manifest.to_json(), indent=2).encode("utf-8"))
            for rel, item in files.items():
                info = _info(rel)
                with zf.open(info, "w", force_zip64=True) as out:
                    if isinstance(item, bytes):
                        out.write(item)
                    else:
                        with open(item, "rb") as f:
                            shutil.copyfileobj(f, out, 1 << 20)
    return {"style": name, "file": str(file), "files": len(files), "bytes": total, "sha256": home.sha256_file(file)}


def _describe(item: Path | bytes) -> ArchiveFile:
    if isinstance(item, bytes):
        return ArchiveFile(sha256=hashlib.sha256(item).hexdigest(), bytes=len(item))
    return ArchiveFile(sha256=home.sha256_file(item), bytes=item.stat().st_size)


def _info(rel: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    compressed = rel.endswith((".safetensors", ".npz"))  # tensors barely compress: stored
    info.compress_type = zipfile.ZIP_STORED if compressed else zipfile.ZIP_DEFLATED
    return info


# ----------------------------------------------------------------------------- checks


def _name_problem(rel: str) -> str | None:
    """Why archive member `rel` may not be in a style archive (None: it may)."""
    if not rel or "\\" in rel or "\x00" in rel or rel.startswith("/") or re.match(r"[A-Za-z]:", rel):
        return "an absolute or malformed path"
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "a path that leaves the style folder" if ".." in parts else "a malformed path"
    if rel.lower().endswith(PICKLE_SUFFIXES):
        return "a pickle file (stylegen never loads pickles from an archive)"
    if not all(_PART.fullmatch(p) for p in parts):
        return "a hidden file or a name with unexpected characters"
    if rel in _FIXED or rel == MANIFEST or (parts[0] == styles.TOKENIZER_DIR and 2 <= len(parts) <= 4):
        return None
    return "not part of a style (an archive holds style.json, model.safetensors, tokenizer/, metrics.jsonl, originality.npz, checkpoint/state.*)"


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16  # the Unix mode, where the archive was made on Unix
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        what = "a symbolic link" if stat.S_ISLNK(mode) else "a device, pipe or socket"
        return f"{what}; an archive may hold regular files only"
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"compression method {info.compress_type} (only stored or deflated)"
    if info.file_size > MAX_FILE_BYTES:
        return f"{info.file_size:,} bytes, more than the {MAX_FILE_BYTES:,} a file may have"
    return None


def _check_members(archive: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Every member's name, type and declared size; the files by path."""
    infos = zf.infolist()
    if len(infos) > MAX_FILES + 1:
        raise StylegenError(f"{archive}: refused: {len(infos):,} members, more than {MAX_FILES:,}")
    files: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    total = 0
    for info in infos:
        rel = info.filename[:-1] if info.is_dir() else info.filename
        problem = _name_problem(rel) if not info.is_dir() else _dir_problem(rel)
        problem = problem or _member_problem(info)
        if problem:
            raise StylegenError(f"{archive}: refused: {info.filename!r}: {problem}")
        if rel.casefold() in seen:
            raise StylegenError(f"{archive}: refused: {info.filename!r} is in the archive twice")
        seen.add(rel.casefold())
        if info.is_dir():
            continue
        if rel.endswith(".json") and info.file_size > MAX_JSON_BYTES:  # parsed whole: bounded before it is read
            raise StylegenError(
                f"{archive}: refused: {rel!r} is {info.file_size:,} bytes, more than {MAX_JSON_BYTES:,} "
                "(a JSON file is read whole)"
            )
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise StylegenError(f"{archive}: refused: more than {MAX_TOTAL_BYTES:,} bytes in all")
        files[rel] = info
    return files


def _dir_problem(rel: str) -> str | None:
    parts = rel.split("/")
    if rel.startswith("/") or "\\" in rel or not all(_PART.fullmatch(p) for p in parts):
        return "a path that leaves the style folder" if ".." in parts else "a malformed folder name"
    return None


def _sniff(rel: str, head: bytes) -> str | None:
    """Why a file that starts with `head` is refused (a pickle, a zip inside the zip)."""
    if rel.endswith(".safetensors"):
        return None  # parsed as safetensors (its first 8 bytes are a length, any value)
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a pickle (its first bytes are pickle protocol bytes); stylegen never loads pickles from an archive"
    if head.startswith(b"PK\x03\x04") and rel != INDEX:
        return "a zip inside the archive (a torch checkpoint is one, holding a pickle)"
    return None


@contextmanager
def _reading(archive: Path, rel: str) -> Iterator[None]:
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as e:
        raise StylegenError(f"{archive}: {rel}: damaged ({one_line(e)})") from None


def _stream(archive: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str, sink: IO[bytes] | None) -> str:
    """Read member `rel` (to `sink` if given), checking its size and first bytes; its sha256."""
    digest = hashlib.sha256()
    size = 0
    with _reading(archive, rel), zf.open(info) as f:
        while block := f.read(1 << 20):
            if size == 0:  # the first block: what kind of file this is
                problem = _sniff(rel, block[:8])
                if problem:
                    raise StylegenError(f"{archive}: refused: {rel!r} is {problem}")
            size += len(block)
            if size > info.file_size:
                raise StylegenError(
                    f"{archive}: refused: {rel!r} holds more than the {info.file_size:,} bytes it declares"
                )
            digest.update(block)
            if sink is not None:
                sink.write(block)
    if size != info.file_size:
        raise StylegenError(f"{archive}: refused: {rel!r} holds {size:,} bytes, it declares {info.file_size:,}")
    return digest.hexdigest()


def _read_json(
    archive: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str, manifest: ArchiveManifest | None = None
) -> Any:
    """A small JSON member, its hash checked against `manifest` (when given) before it is parsed."""
    if info.file_size > MAX_JSON_BYTES:
        raise StylegenError(f"{archive}: refused: {rel!r} is {info.file_size:,} bytes, more than {MAX_JSON_BYTES:,}")
    buffer = io.BytesIO()
    digest = _stream(archive, zf, info, rel, buffer)
    if manifest is not None:
        _check_hash(archive, rel, digest, manifest)
    try:
        return json.loads(buffer.getvalue().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise StylegenError(f"{archive}: {rel}: not valid JSON ({one_line(e)[:200]})") from None


def _check_manifest(archive: Path, zf: zipfile.ZipFile, files: dict[str, zipfile.ZipInfo]) -> ArchiveManifest:
    if MANIFEST not in files:
        raise StylegenError(f"{archive}: not a stylegen style archive (it has no {MANIFEST})")
    data = _read_json(archive, zf, files[MANIFEST], MANIFEST)
    manifest = ArchiveManifest.from_json(data, f"{archive}: {MANIFEST}", archive)
    listed = manifest.files
    present = set(files) - {MANIFEST}
    unlisted, missing = sorted(present - set(listed)), sorted(set(listed) - present)
    if unlisted:
        raise StylegenError(f"{archive}: refused: {unlisted[0]!r} is not listed in {MANIFEST}")
    if missing:
        raise StylegenError(f"{archive}: {missing[0]!r} is listed in {MANIFEST} but missing from the archive")
    for rel, entry in listed.items():
        if entry.bytes != files[rel].file_size:
            raise StylegenError(
                f"{archive}: refused: {rel!r} declares {files[rel].file_size:,} bytes, {MANIFEST} says {entry.bytes:,}"
            )
    for required in (styles.STYLE_JSON, styles.WEIGHTS):
        if required not in listed:
            raise StylegenError(f"{archive}: {required} is missing from the archive")
    if not any(rel.startswith(f"{styles.TOKENIZER_DIR}/") for rel in listed):
        raise StylegenError(f"{archive}: the archive has no tokenizer files")
    if (CKPT_TENSORS in listed) != (CKPT_JSON in listed):
        raise StylegenError(f"{archive}: {CKPT_TENSORS} and {CKPT_JSON} come together or not at all")
    return manifest


def _check_hash(archive: Path, rel: str, digest: str, manifest: ArchiveManifest) -> None:
    if digest != manifest.files[rel].sha256:
        raise StylegenError(f"{archive}: refused: {rel!r} does not match its sha256 in {MANIFEST} (altered or damaged)")


# ----------------------------------------------------------------------------- import


def _open(archive: Path) -> zipfile.ZipFile:
    if not archive.is_file():
        raise StylegenError(f"{archive}: no such file" if not archive.exists() else f"{archive}: not a file")
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise StylegenError(f"{archive}: not a zip archive ({one_line(e)})") from None


def import_style(archive: Path, *, name: str | None = None, force: bool = False) -> dict[str, Any]:
    """Check the zip archive `archive` completely, then install it as style `name` (default:
    the name it was exported under); returns what was installed. `force` replaces an
    existing style of that name (only once the new one is complete)."""
    from stylegen import plugins
    from stylegen.training import portable

    archive = Path(archive)
    with _open(archive) as zf:
        files = _check_members(archive, zf)
        manifest = _check_manifest(archive, zf, files)
        target = home.check_name(name if name is not None else manifest.name, "style")
        data = _read_json(archive, zf, files[styles.STYLE_JSON], styles.STYLE_JSON, manifest)
        meta = StyleRecord.from_json(data, f"{archive}: {styles.STYLE_JSON}")
        plugins.get("tokenizer", meta.tokenizer.name)  # a one-line error if not installed
        plugins.get("model", meta.model.name)
        listed = sorted(manifest.files)
        for rel in listed:  # every byte read and checked before anything is written
            _check_hash(archive, rel, _stream(archive, zf, files[rel], rel, None), manifest)
        final = styles.user_style_path(target)
        total = sum(files[rel].file_size for rel in listed)
        _check_space(final.parent, total)
        with locks.style_lock(target, "importing it"):
            if final.exists() and not force:
                raise StylegenError(f"style {target!r} already exists (use --force to replace it, or --name)")
            with home.staged_dir(final, replace=force) as tmp:
                for rel in listed:
                    dest = tmp / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with open(dest, "xb") as out:  # x: never through a file already there
                        _check_hash(archive, rel, _stream(archive, zf, files[rel], rel, out), manifest)
                if meta.name != target:
                    meta = dataclasses.replace(meta, name=target)
                    home.write_json(tmp / styles.STYLE_JSON, meta.to_json())
                try:
                    _check_loadable(tmp, target, meta)
                    if CKPT_JSON in manifest.files:
                        portable.install(tmp, target, meta)
                    if INDEX in manifest.files:
                        _check_index(tmp / INDEX)
                except StylegenError as e:  # name the file in the archive, not the staging folder
                    raise StylegenError(f"{archive}: refused: {str(e).replace(f'{tmp}/', '')}") from None
    return {
        "style": target,
        "path": str(final),
        "files": len(listed),
        "bytes": total,
        "checkpoint": CKPT_JSON in manifest.files,
        "index": INDEX in manifest.files,
    }


def _check_space(folder: Path, needed: int) -> None:
    probe = folder
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed * 2 + (64 << 20) > free:  # the files, and a checkpoint rebuilt beside its parts
        raise StylegenError(f"{folder}: the style needs about {needed:,} bytes, only {free:,} are free")


def _check_loadable(folder: Path, name: str, meta: StyleRecord) -> None:
    """Load the staged style as `stylegen generate` would (its shapes first on the meta device,
    `styles.check_shapes`), and check that its vocabulary can be written out."""
    style = styles.load_style_at(folder, name, "cpu")
    _check_vocabulary(style.tokenizer)


def _check_vocabulary(tokenizer: Any) -> None:
    """Every token must decode to text that UTF-8 can write (a vocabulary with a lone
    surrogate such as "\\ud800" would crash generate and chat at the first such token)."""
    for i in range(tokenizer.vocab_size):
        piece = tokenizer.decode([i])
        try:
            piece.encode("utf-8")
        except UnicodeEncodeError:
            raise StylegenError(
                f"{styles.TOKENIZER_DIR}/: token {i} is {piece!r}, which is not text UTF-8 can write (a lone surrogate)"
            ) from None


def _check_index(path: Path) -> None:
    """The originality index: an uncompressed npz of three plain arrays (no pickle)."""
    from stylegen.originality import OriginalityIndex

    try:
        with zipfile.ZipFile(path) as inner:
            for info in inner.infolist():
                if info.filename not in ("meta.npy", "keys.npy", "offsets.npy") or info.compress_type != 0:
                    raise StylegenError(f"{INDEX}: unexpected member {info.filename!r}")
                if info.file_size > path.stat().st_size:
                    raise StylegenError(f"{INDEX}: member {info.filename!r} declares more bytes than the file has")
    except zipfile.BadZipFile as e:
        raise StylegenError(f"{INDEX}: damaged originality index ({e})") from None
    OriginalityIndex.load(path)
