"""The `files` source: files, folders (recursive), glob patterns, and `-` for stdin."""

from __future__ import annotations

import glob
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from stylegen.builtin._globs import matches, selected
from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import Document, SkipFile, Skipped, SourceOptions

_GLOB_CHARS = set("*?[")


def _stat(path: Path, follow: bool = True) -> os.stat_result | None:
    """`path`'s status, or None when it cannot be had (no permission to enter a folder on
    the way, a broken link, a /proc entry ...)."""
    try:
        return path.stat() if follow else path.lstat()
    except OSError:
        return None


def _link_problem(path: Path, root: Path, seen: set[tuple[int, int]]) -> str | None:
    """Why the symbolic link `path` to a folder is not followed: it leads out of the source
    folder `root` (into the system: `/`, `/proc` ...), or back into a folder being walked."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop on Python < 3.13
        return "symbolic link loop: not followed"
    if target != root and root not in target.parents:
        return f"symbolic link out of the source folder (to {target}): not followed"
    st = _stat(target)
    if st is not None and (st.st_dev, st.st_ino) in seen:
        return "symbolic link loop: not followed"
    return None


def _walk(folder: Path, root: Path, seen: set[tuple[int, int]]) -> Iterator[Path | Skipped]:
    """Everything below `folder` that is not a folder, in sorted order, skipping hidden files
    and folders (.git ...). A folder that cannot be listed or entered, and a symbolic link to a
    folder out of the source folder `root` or back into one being walked (a loop), is yielded
    as `Skipped` with the reason; nothing of it is read. Files (and broken links or special
    files, which the reader reports) are yielded as paths."""
    st = _stat(folder)
    try:
        entries = sorted(folder.iterdir())
    except OSError as e:
        yield Skipped(str(folder), f"folder cannot be listed ({e.strerror or e})")
        return
    if st is None:
        yield Skipped(str(folder), "folder cannot be entered (permission denied)")
        return
    if (st.st_dev, st.st_ino) in seen:
        return
    seen.add((st.st_dev, st.st_ino))
    for path in entries:
        if path.name.startswith("."):
            continue
        target = _stat(path)
        if target is None and _stat(path, follow=False) is None:
            yield Skipped(str(path), "cannot be read (permission denied: its folder cannot be entered)")
            continue
        if target is not None and stat.S_ISDIR(target.st_mode):
            if path.is_symlink() and (why := _link_problem(path, root, seen)) is not None:
                yield Skipped(str(path), why)
                continue
            yield from _walk(path, root, seen)
        else:
            yield path  # files, and broken links or special files, which are reported as skipped


def expand(args: Sequence[str], options: SourceOptions) -> list[Path | Skipped | None]:
    """Resolve arguments to files in order; `None` stands for stdin, `Skipped` for what a
    folder holds that cannot be read. Errors name the argument."""
    out: list[Path | Skipped | None] = []
    for arg in args:
        if arg == "-":
            out.append(None)
            continue
        path = Path(arg).expanduser()
        if path.is_dir():
            root = path.resolve()
            for item in _walk(path, root, set()):
                if isinstance(item, Skipped):
                    rel = Path(item.origin).relative_to(path).as_posix()
                    if selected(rel, (), options.exclude):
                        out.append(item)
                elif selected(item.relative_to(path).as_posix(), options.include, options.exclude):
                    out.append(item)
        elif path.is_file():
            out.append(path)
        elif _GLOB_CHARS & set(arg):
            hits = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            files: list[Path] = [p for p in hits if _is_file(p) and not matches(p.as_posix(), options.exclude)]
            if not files:
                raise StylegenError(f"{arg}: no files match this pattern")
            out.extend(files)
        elif path.exists():
            raise StylegenError(f"{arg}: not a regular file or folder")
        else:
            raise StylegenError(f"{arg}: no such file or folder")
    return out


def _is_file(path: Path) -> bool:
    st = _stat(path)
    return st is not None and stat.S_ISREG(st.st_mode)


def _not_a_file(path: Path) -> str:
    if path.is_symlink() and _stat(path) is None:
        return "broken symbolic link"
    st = _stat(path)
    if st is not None and stat.S_ISDIR(st.st_mode):
        return "folder cannot be listed (permission denied?)"
    return "not a regular file (a pipe, socket or device)"


class FilesSource:
    name = "files"
    description = "Text files, folders (recursive, --include/--exclude globs), glob patterns, or - for stdin"

    def documents(self, args: Sequence[str], options: SourceOptions) -> Iterator[Document | Skipped]:
        if options.extract is None:
            raise StylegenError("the files source needs an extractor")
        for path in expand(args, options):
            if path is None:
                from stylegen.builtin.extractors import decode_text, read_document

                try:
                    data = read_document(sys.stdin.buffer, "<stdin>")
                    yield Document(decode_text(data, "<stdin>", options.errors), "<stdin>")
                except SkipFile as e:
                    yield Skipped("<stdin>", str(e))
                continue
            if isinstance(path, Skipped):
                yield path
                continue
            if not _is_file(path):
                yield Skipped(str(path), _not_a_file(path))
                continue
            try:
                yield Document(options.extract(path, options.errors), str(path))
            except SkipFile as e:
                yield Skipped(str(path), str(e))


@hookimpl
def register_sources(register: Register) -> None:
    from stylegen.builtin.shakespeare import ShakespeareSource
    from stylegen.builtin.stdlib import PythonSource

    register(FilesSource())
    register(ShakespeareSource())
    register(PythonSource())
