"""The data home's layout (where corpora, styles, caches and locks live), name rules and
atomic file writes. The one module that knows the layout; it imports nothing of stylegen's
but its errors, so every other module may use it.

    $STYLEGEN_HOME/                         default: the platform's user data folder
      corpora/<name>/                       a corpus: manifest.json, train.txt, val.txt
      corpora/<name>/tokens/<key>/          its token arrays, per tokenizer (`token_cache`)
      corpora/.<name>.lock                  held by the corpus's one writer (`lock_path`)
      styles/<name>/                        a style: style.json, model.safetensors, tokenizer/ ...
      styles/.<name>.lock                   held by the style's one writer
      cache/                                built on demand: originality indexes of shipped styles
    stylegen/shipped/<name>/                styles that ship inside the package (read-only)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stylegen.errors import StylegenError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Windows device names: a file `con` or `con.txt` there is the console, not a file.
RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$", "clock$"}
    | {f"{dev}{n}" for dev in ("com", "lpt") for n in "0123456789"}
)
#: A style's description, in its folder.
STYLE_JSON = "style.json"
#: A corpus's token arrays, in its folder.
TOKENS_DIR = "tokens"
LOCK_SUFFIX = ".lock"
#: errno values that mean "the disk cannot take this write" rather than a bug.
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


def data_home() -> Path:
    """The folder that holds corpora and styles: `$STYLEGEN_HOME`, else the user data dir."""
    env = os.environ.get("STYLEGEN_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("stylegen", appauthor=False))


def corpora_dir() -> Path:
    return data_home() / "corpora"


def styles_dir() -> Path:
    return data_home() / "styles"


def cache_dir() -> Path:
    """What stylegen rebuilds on demand (the originality indexes of shipped styles)."""
    return data_home() / "cache"


def plugin_warnings_file() -> Path:
    """When each plugin warning was last printed (so a broken plugin warns once a day)."""
    return cache_dir() / "plugin-warnings.json"


def inside_data_home(path: Path) -> bool:
    """Whether `path` (resolved, links followed) is inside the data home or the shipped styles:
    where only stylegen's own writers may write (an export or a transcript must never replace
    a style's files)."""
    target = Path(path).expanduser().resolve()
    for root in (data_home(), shipped_dir()):
        if target.is_relative_to(Path(root).expanduser().resolve()):
            return True
    return False


def shipped_dir() -> Path:
    """Styles that ship inside the package (read-only), e.g. `shakespeare`."""
    return Path(__file__).parent / "shipped"


def user_style_path(name: str) -> Path:
    """Where the user's own style `name` lives (or would live)."""
    return styles_dir() / check_name(name, "style")


def token_cache(corpus_dir: Path, key: str) -> Path:
    """The folder of a corpus's token arrays for the tokenizer whose files hash to `key`."""
    return Path(corpus_dir) / TOKENS_DIR / key


def lock_path(folder: Path) -> Path:
    """The lock file guarding `folder` (a corpus or a style): beside it, hidden."""
    return folder.parent / f".{folder.name}{LOCK_SUFFIX}"


def check_name(name: str, what: str) -> str:
    """Return `name` if it is a safe corpus/style name, else raise a one-line error.

    Safe: 1-64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit (so
    never `.`, `..`, a hidden name or one read as an option), not ending with `.`, and not a
    Windows device name (`con`, `nul.txt`, `com1` ...). Every command and API function that
    takes a corpus or style name calls this before it touches the disk.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name.endswith("."):
        raise StylegenError(
            f"invalid {what} name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no path separators)"
        )
    if name.split(".")[0].lower() in RESERVED:
        raise StylegenError(
            f"invalid {what} name {name!r}: {name.split('.')[0]!r} is a reserved device name on Windows"
        )
    return name


def write_failure(e: OSError, path: Path, kept: str = "the previous version is unchanged") -> StylegenError:
    """A one-line error for a failed write (disk full, quota, read-only disk), naming the file."""
    why = e.strerror or str(e)
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        why = f"{why} (free some space and try again)"
    return StylegenError(f"{path}: cannot write: {why}; {kept}")


#: How libraries that do not raise OSError word a full or read-only disk (safetensors: "No
#: space left on device (os error 28)"), with the errno each stands for.
_DISK_WORDS = (
    ("no space left on device", errno.ENOSPC),
    ("os error 28", errno.ENOSPC),
    ("disk quota exceeded", errno.EDQUOT),
    ("read-only file system", errno.EROFS),
    ("os error 30", errno.EROFS),
)


def disk_error(e: BaseException, folder: Path) -> OSError | None:
    """The disk problem behind an exception from a writer, as an OSError (ENOSPC, EROFS ...), or
    None when the disk is not why it failed. OSErrors speak for themselves; a library's own
    exception (torch's checkpoint writer says `[enforce fail at inline_container.cc] unexpected
    pos`, safetensors `SafetensorError`) is read by its wording, else by asking the file system
    of `folder` whether it is read-only or full."""
    if isinstance(e, OSError):
        return e if e.errno in _WRITE_ERRORS else None
    if isinstance(e, StylegenError):  # already says what is wrong
        return None
    text = str(e).lower()
    for words, number in _DISK_WORDS:
        if words in text:
            return OSError(number, os.strerror(number))
    try:
        fs = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return None
    if fs.f_flag & os.ST_RDONLY:
        return OSError(errno.EROFS, os.strerror(errno.EROFS))
    if fs.f_bavail * fs.f_frsize < FULL_BELOW or (fs.f_files and not fs.f_favail):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return None


#: A file system with less free space than this, after a failed write, is taken to be full.
FULL_BELOW = 1 << 20


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`.

    A crash or an exception leaves the old file untouched and removes the temporary one (a
    `kill -9` leaves it behind: `stylegen.locks` sweeps such leftovers from a style's folder).
    A full or read-only disk is a one-line `StylegenError` naming the file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        if e.errno in _WRITE_ERRORS:
            raise write_failure(e, path) from None
        raise
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except Exception as e:  # a library's writer may word a full disk its own way: see `disk_error`
        problem = disk_error(e, path.parent)
        if problem is not None:
            raise write_failure(problem, path) from None
        raise
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file, turning a damaged file into a one-line error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StylegenError(f"{path}: file is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StylegenError(f"{path}: not valid JSON ({e})") from None
    except RecursionError:
        raise StylegenError(f"{path}: not valid JSON (nested too deeply)") from None
    except IsADirectoryError:
        raise StylegenError(f"{path}: a folder, not a file") from None


@contextmanager
def staged_dir(final: Path, *, replace: bool) -> Iterator[Path]:
    """Build a directory under a temporary name; rename it to `final` when the block succeeds.

    With `replace`, an existing `final` is swapped out only after the new one is complete. A
    full or read-only disk while building is a one-line `StylegenError`; nothing is kept.
    """
    made_parent = not final.parent.exists()
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as e:
        if e.errno in _WRITE_ERRORS:
            raise write_failure(e, final, "nothing was changed") from None
        raise
    done = False
    try:
        try:
            yield tmp
        except Exception as e:
            problem = disk_error(e, tmp)
            if problem is not None:  # disk full while building: nothing of it is kept
                raise write_failure(problem, final, "nothing was changed") from None
            raise
        old = None
        if final.exists():
            if not replace:
                raise StylegenError(f"{final} already exists")
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
        try:
            os.replace(tmp, final)
        except OSError:
            if old is not None:
                os.replace(old, final)  # put the old version back (a crash here: `locks.recover`)
            raise
        _fsync_dir(final.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        done = True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if made_parent and not done:
            with contextlib.suppress(OSError):
                final.parent.rmdir()  # a failed first build leaves no empty folder behind


def remove_tree(folder: Path, what: str) -> None:
    """Delete `folder` (a corpus or style) whole or not at all: it is first renamed to a hidden
    temporary name beside it (no new file is written, so this works on a full disk), then
    deleted; what a crash leaves of it is swept by the next lock of that name
    (`locks.recover`). A read-only disk is a one-line error, with nothing removed."""
    import secrets

    letters = "abcdefghijklmnopqrstuvwxyz0123456789_"
    doomed = folder.with_name(f".{folder.name}.{''.join(secrets.choice(letters) for _ in range(8))}.tmp")
    try:
        os.replace(folder, doomed)
    except OSError as e:
        raise StylegenError(f"{folder}: cannot remove {what}: {e.strerror or e}; nothing was removed") from None
    _fsync_dir(folder.parent)
    shutil.rmtree(doomed, ignore_errors=True)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
