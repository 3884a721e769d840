"""One writer per style (and per corpus) at a time, and repairs after a writer was killed.

A lock is a file beside the folder it guards (`styles/.NAME.lock`, `corpora/.NAME.lock`)
held with `fcntl.flock` (POSIX) or `msvcrt.locking` (Windows). The operating system drops
the lock when its holder's process ends however it ends (`kill -9`, a power cut ends every
process), so a lock never outlives its holder and there is nothing stale to clean by hand;
unlike a pid file, it cannot be fooled by a reused pid. The holder writes who it is into the
file (pid, host, what it does, since when) for the message that refuses a second writer. A
clean release deletes the file (safely: a process that locked a file that was deleted
meanwhile notices it and locks the new one); a killed holder leaves the file, unlocked.

Taking a style's or corpus's lock also repairs what a killed writer left in its folder, now
that no writer can be at work there: temporary files of interrupted atomic writes, and an
interrupted swap of a new version for an old one (the old one is put back, see `recover`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

from stylegen import home
from stylegen.errors import StylegenError


class Lock:
    """A held lock; `release()` (or leaving the `with` block) lets the next writer in."""

    def __init__(self, path: Path, fd: int, made_parent: bool) -> None:
        self.path, self._fd, self._made_parent = path, fd, made_parent

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        if self._fd < 0:
            return
        # Delete while still holding: whoever opened this file meanwhile sees it is gone.
        with contextlib.suppress(OSError):
            self.path.unlink()
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = -1
        if self._made_parent:
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()  # only if empty: a failed first run leaves no folder

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # the first byte; released when the process ends
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def holder(path: Path) -> dict[str, Any]:
    """What the lock file at `path` says about its holder ({} if it says nothing readable).

    The file is a space, then JSON: the first byte is the one Windows locks (and no other
    process may read), so the JSON starts after it."""
    try:
        with open(path, "rb") as f:
            f.seek(1)
            info = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _describe(info: dict[str, Any]) -> str:
    parts = [f"pid {info['pid']}" if isinstance(info.get("pid"), int) else "another process"]
    if isinstance(info.get("host"), str) and info["host"] != socket.gethostname():
        parts.append(f"on {info['host']}")
    if isinstance(info.get("since"), str):
        parts.append(f"since {info['since']}")
    doing = info.get("doing") if isinstance(info.get("doing"), str) else "using it"
    return f"{doing} ({', '.join(parts)})"


def acquire(path: Path, what: str, doing: str) -> Lock:
    """Lock `path` for this process, or raise a one-line error naming the holder.

    `what` names the guarded thing in that error ("style 'x'"), `doing` says what this
    process does with it ("training"), for the error another process would get.
    """
    made_parent = not path.parent.exists()
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT):
                raise home.write_failure(e, path, f"{what} was not changed") from None
            raise
        if not _try_lock(fd):
            os.close(fd)
            info = holder(path)
            raise StylegenError(
                f"{what} is busy: another stylegen process is {_describe(info)}; try again when it is done"
            )
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        _unlock(fd)  # the holder before us deleted the file we locked: lock the new one
        os.close(fd)
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "doing": doing,
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b" " + json.dumps(info).encode("utf-8"))  # see `holder`
    except OSError:
        pass  # a full disk: the lock holds all the same (a refused writer is told "another process")
    return Lock(path, fd, made_parent)


def _read_only(folder: Path) -> bool:
    """Whether no file can be made in `folder`: a read-only file system, or (not as root) a
    folder without write permission."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        pass
    return folder.is_dir() and not os.access(folder, os.W_OK)


# ----------------------------------------------------------------------------- repairs


def _tmp_pattern(name: str) -> re.Pattern[str]:
    # `tempfile.mkstemp/mkdtemp(prefix=f".{name}.", suffix=".tmp")`: 8 random characters
    return re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")


def recover(parent: Path, name: str) -> list[str]:
    """Repair what a killed writer of `parent/name` left; call it holding that name's lock.

    - temporary files of atomic writes (`.FILE.xxxxxxxx.tmp`) inside the folder and its
      subfolders, and half-built folders (`.NAME.xxxxxxxx.tmp`) beside it, are deleted;
    - a swap interrupted between moving the old version aside (`.NAME.old-PID`) and moving
      the new one in leaves no `NAME`: the old version is put back (the new one, never
      finished being swapped in, is dropped); with `NAME` in place the old copy is deleted.

    Returns what it did, one line each.
    """
    done: list[str] = []
    final = parent / name
    olds = sorted(parent.glob(f".{name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    olds = [p for p in olds if re.fullmatch(rf"\.{re.escape(name)}\.old-\d+", p.name)]
    if olds and not final.exists():
        os.replace(olds.pop(0), final)
        done.append(f"restored {final} from an interrupted replacement")
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
        done.append(f"removed {old.name}")
    staged = _tmp_pattern(name)
    for path in list(parent.glob(f".{name}.*.tmp")):
        if staged.fullmatch(path.name) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {path.name}")
    if final.is_dir():
        for folder in [final, *(p for p in final.iterdir() if p.is_dir() and not p.is_symlink())]:
            for path in folder.glob(".*.tmp"):
                if path.is_file() and not path.is_symlink() and re.fullmatch(r"\..+\.[a-z0-9_]{8}\.tmp", path.name):
                    path.unlink(missing_ok=True)
                    done.append(f"removed {path.relative_to(parent)}")
    return done


def sweep_staged(parent: Path, kind: str, held: str) -> list[str]:
    """Repair what killed writers of any name left in `parent` (half-built folders
    `.NAME.xxxxxxxx.tmp`, interrupted swaps): each such name whose lock is free is locked,
    repaired (`recover`) and unlocked; a name another process holds, and `held` (this
    process's own), are left alone. Returns what it did, one line each."""
    done: list[str] = []
    names = set()
    for path in parent.glob(".*.tmp") if parent.is_dir() else ():
        match = re.fullmatch(r"\.(.+)\.[a-z0-9_]{8}\.tmp", path.name)
        if match and match.group(1) != held and path.is_dir() and not path.is_symlink():
            names.add(match.group(1))
    for name in sorted(names):
        try:
            home.check_name(name, kind)
            lock = acquire(home.lock_path(parent / name), f"{kind} {name!r}", "repairing it")
        except StylegenError:  # not a name stylegen made, or busy: its writer is at work
            continue
        try:
            done += recover(parent, name)
        except OSError:
            pass
        finally:
            lock.release()
    return done


def style_lock(name: str, doing: str = "training it", *, reading: bool = False) -> Lock:
    """The lock on style `name` (training, importing over or removing it), its folder repaired.

    `reading` (exporting it): on a read-only data home, where no lock file can be made, the
    style is read without one; no writer can change a read-only home meanwhile."""
    return _folder_lock(home.styles_dir(), "style", name, doing, reading)


def corpus_lock(name: str, doing: str = "building it") -> Lock:
    """The lock on corpus `name` (building or replacing it), its folder repaired."""
    return _folder_lock(home.corpora_dir(), "corpus", name, doing)


def _folder_lock(parent: Path, kind: str, name: str, doing: str, reading: bool = False) -> Lock:
    """The lock on folder `parent/name` (a `kind`), then what a crash left there repaired."""
    home.check_name(name, kind)
    path = home.lock_path(parent / name)
    if reading and _read_only(parent):
        return Lock(path, -1, False)  # not held: releasing it does nothing
    lock = acquire(path, f"{kind} {name!r}", doing)
    try:
        recover(parent, name)
    except OSError:
        pass  # a repair that fails changes nothing the run relies on
    return lock
