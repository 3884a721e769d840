"""The `python` source: the running interpreter's own standard library `.py` files.

A code corpus every machine with stylegen already has (about 20 MB for CPython 3.11).
Installed third-party packages (site-packages) and caches are never included; the
standard library's own test suite is left out unless the option `tests=keep` is given.
`--include` / `--exclude` globs apply to paths relative to the library folder.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator, Sequence
from pathlib import Path

from stylegen.builtin._globs import selected
from stylegen.builtin.shakespeare import flag
from stylegen.errors import StylegenError
from stylegen.protocols import Document, SkipFile, Skipped, SourceOptions

_NEVER = {"site-packages", "dist-packages", "__pycache__"}
_TESTS = {"test", "tests", "idle_test"}


def stdlib_folder() -> Path:
    folder = Path(sysconfig.get_paths()["stdlib"])
    if not folder.is_dir():
        raise StylegenError(f"{folder}: this Python's standard library folder is missing")
    return folder


def stdlib_files(folder: Path, tests: bool) -> Iterator[Path]:
    """`.py` files below `folder` in sorted order, without third-party packages and caches."""
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name in _NEVER:
            continue
        if path.is_dir() and not path.is_symlink():
            if tests or path.name not in _TESTS:
                yield from stdlib_files(path, tests)
        elif path.suffix == ".py" and path.is_file():
            yield path


class PythonSource:
    name = "python"
    description = "This Python's standard library .py files (option tests=keep adds its test suite)"

    def documents(self, args: Sequence[str], options: SourceOptions) -> Iterator[Document | Skipped]:
        if args:
            raise StylegenError(f"the python source takes no arguments (got {', '.join(args)})")
        if options.extract is None:
            raise StylegenError("the python source needs an extractor")
        root = stdlib_folder()
        tests = flag(options.extra, "tests", False)
        for path in stdlib_files(root, tests):
            rel = path.relative_to(root).as_posix()
            if not selected(rel, options.include, options.exclude):
                continue
            try:
                # The interpreter's own files are not the user's to fix: undecodable ones are skipped.
                errors = "skip" if options.errors == "strict" else options.errors
                yield Document(options.extract(path, errors), f"python:{rel}")
            except SkipFile as e:
                yield Skipped(str(path), str(e))
