"""The `files` source: files, folders (recursive), glob patterns, and `-` for stdin."""

from __future__ import annotations

import glob
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from stylegen.builtin._globs import matches, selected
from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import Document, SkipFile, Skipped, SourceOptions

_GLOB_CHARS = set("*?[")


def _walk(folder: Path, seen: set[tuple[int, int]] | None = None) -> Iterator[Path]:
    """Everything below `folder` that is not a folder, in sorted order, skipping hidden files
    and folders (.git ...). A folder reached twice through symbolic links (a loop) is walked
    once; a folder that cannot be listed is yielded itself, for the reader to report."""
    seen = set() if seen is None else seen
    try:
        st = folder.stat()
        entries = sorted(folder.iterdir())
    except OSError:
        yield folder
        return
    if (st.st_dev, st.st_ino) in seen:
        return
    seen.add((st.st_dev, st.st_ino))
    for path in entries:
        if path.name.startswith("."):
            continue
        if path.is_dir():
            yield from _walk(path, seen)
        else:
            yield path  # files, and broken links or special files, which are reported as skipped


def expand(args: Sequence[str], options: SourceOptions) -> list[Path | None]:
    """Resolve arguments to files in order; `None` stands for stdin. Errors name the argument."""
    out: list[Path | None] = []
    for arg in args:
        if arg == "-":
            out.append(None)
            continue
        path = Path(arg).expanduser()
        if path.is_dir():
            files = [
                p for p in _walk(path) if selected(p.relative_to(path).as_posix(), options.include, options.exclude)
            ]
            out.extend(files)
        elif path.is_file():
            out.append(path)
        elif _GLOB_CHARS & set(arg):
            hits = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            files = [p for p in hits if p.is_file() and not matches(p.as_posix(), options.exclude)]
            if not files:
                raise StylegenError(f"{arg}: no files match this pattern")
            out.extend(files)
        elif path.exists():
            raise StylegenError(f"{arg}: not a regular file or folder")
        else:
            raise StylegenError(f"{arg}: no such file or folder")
    return out


def _not_a_file(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "broken symbolic link"
    if path.is_dir():
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
                from stylegen.builtin.extractors import decode_text

                try:
                    yield Document(decode_text(sys.stdin.buffer.read(), "<stdin>", options.errors), "<stdin>")
                except SkipFile as e:
                    yield Skipped("<stdin>", str(e))
                continue
            if not path.is_file():
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
