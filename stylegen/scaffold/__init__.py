"""Plugin package skeletons: `stylegen plugin new NAME --kind KIND`.

A skeleton is a package a third party could publish: `pyproject.toml` with the entry point in
the `stylegen` group, a module with one working plugin of the kind, and a test (with the
`registry` fixture of `stylegen.testing`) that passes as written.

The files are real files under `templates/`: `common/` (pyproject.toml, README.md,
tests/conftest.py) goes into every package, and one tree per kind adds the module
(`plugin_module/`) and its test. Each tree is a valid package as it stands, written for a plugin
whose names are placeholders, so ruff and mypy check the templates as they are (`tox -e lint`,
`tox -e type`). Rendering replaces each placeholder, in file paths too (see `Names`):

    PLUGIN_NAME         the registered object's name and its entry point's   my-sampler
    PLUGIN_DIST         the distribution                                     stylegen-my-sampler
    plugin_module       the module                                           stylegen_my_sampler
    PluginClass         the plugin's class                                   MySampler
    PLUGIN_KIND, PLUGIN_DESCRIPTION, PLUGIN_USAGE: the kind, a one-line description, a command using it

and stamps two versions: `"stylegen>=X"` with the running stylegen's, `STYLEGEN_HOOKSPEC_VERSION = N`
with the plugin contract's (`hookspecs.HOOKSPEC_VERSION`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from stylegen import hookspecs, plugins
from stylegen.errors import StylegenError

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_PLACEHOLDER = re.compile(r"PLUGIN_(?:NAME|DIST|KIND|DESCRIPTION|USAGE)|plugin_module|PluginClass")
_REQUIRES = re.compile(r'"stylegen>=[^"]*"')
_CONTRACT = re.compile(r"^STYLEGEN_HOOKSPEC_VERSION = \d+$", re.MULTILINE)
_SUFFIXES = (".py", ".toml", ".md")  # template files (not caches, not the templates' own ruff.toml)


@dataclass(frozen=True)
class Kind:
    """A kind of plugin the scaffold writes; its files are templates/KIND/ (and templates/common/)."""

    description: str  # the default description (placeholders allowed)
    usage: str  # a command line that uses the plugin, for the README and the module docstring


KINDS: dict[str, Kind] = {
    "sampler": Kind(
        "temperature sampling among the k likeliest tokens",
        "stylegen generate STYLE --sampler PLUGIN_NAME --param top_k=20",
    ),
    "model": Kind("a stacked GRU language model", "stylegen train CORPUS --model PLUGIN_NAME --hidden 256 --layers 2"),
    "tokenizer": Kind(
        "characters, the most frequent ones",
        "stylegen train CORPUS --tokenizer PLUGIN_NAME --tokenizer-opt max_vocab=128",
    ),
    "source": Kind(
        "the paragraphs of text files",
        "stylegen corpus build NAME PLUGIN_NAME:notes.txt,more.txt --source-opt min_words=3",
    ),
    "extractor": Kind(
        "text of .PLUGIN_NAME files, # comments dropped", "stylegen corpus build NAME ./folder-with-PLUGIN_NAME-files/"
    ),
    "observer": Kind(
        "each validation as a CSV row",
        "# from Python: stylegen.training.train(cfg, observers=[factory.create(path='v.csv')])",
    ),
}


@dataclass(frozen=True)
class Names:
    """What a plugin called `name` is called where: object, entry point, distribution, module, class."""

    name: str  # the registered object's name and the entry point's
    dist: str  # stylegen-NAME
    module: str  # stylegen_NAME
    cls: str  # CamelCase

    @classmethod
    def of(cls, name: str) -> Names:
        short = name.removeprefix("stylegen-")
        if not _NAME.fullmatch(short):
            raise StylegenError(
                f"plugin name {name!r}: use lower-case letters, digits and single hyphens, starting with a letter"
            )
        dist = f"stylegen-{short}"
        return cls(short, dist, dist.replace("-", "_"), "".join(p.capitalize() for p in short.split("-")))


def check_free(names: Names, kind: str) -> None:
    """A one-line error if a loaded plugin already uses the name (for this kind, or as a plugin)."""
    reg = plugins.registry()
    for entry in reg.of_kind(kind):
        if entry.name == names.name:
            raise StylegenError(
                f"a {kind} named {names.name!r} already exists (from {entry.package}); choose another name"
            )
    taken = {e.plugin: e.package for e in reg.entries}
    if names.name in taken:
        raise StylegenError(f"the plugin name {names.name!r} is taken by {taken[names.name]}; choose another name")


def templates(kind: str) -> dict[str, str]:
    """The template files of a kind as they are on disk, relative path -> text."""
    if kind not in KINDS:
        raise StylegenError(f"unknown plugin kind {kind!r} (kinds: {', '.join(KINDS)})")
    folder = files(__name__) / "templates"
    return dict(_tree(folder / "common")) | dict(_tree(folder / kind))


def _tree(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, str]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from _tree(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(_SUFFIXES):
            yield prefix + entry.name, entry.read_text(encoding="utf-8")


def render(name: str, kind: str, description: str | None = None) -> dict[str, str]:
    """The package's files, relative path -> text."""
    from stylegen._version import __version__

    sources = templates(kind)
    names = Names.of(name)
    spec = KINDS[kind]
    values = {
        "PLUGIN_NAME": names.name,
        "PLUGIN_DIST": names.dist,
        "plugin_module": names.module,
        "PluginClass": names.cls,
        "PLUGIN_KIND": kind,
    }

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: values[m.group()], text)

    if description:  # `$name`, `$module` ... in a description of one's own are filled in too
        legacy = {"name": names.name, "dist": names.dist, "module": names.module, "cls": names.cls, "kind": kind}
        values["PLUGIN_DESCRIPTION"] = Template(description).safe_substitute(legacy)
    else:
        values["PLUGIN_DESCRIPTION"] = fill(spec.description)
    values["PLUGIN_USAGE"] = fill(spec.usage)

    def stamp(text: str) -> str:
        text = _REQUIRES.sub(f'"stylegen>={__version__}"', text)
        return _CONTRACT.sub(f"STYLEGEN_HOOKSPEC_VERSION = {hookspecs.HOOKSPEC_VERSION}", text)

    return {fill(path): stamp(fill(text)) for path, text in sources.items()}


def write(name: str, kind: str, directory: Path, description: str | None = None) -> Path:
    """Write the package into `directory`/stylegen-NAME (which must not exist); return its path."""
    names = Names.of(name)
    target = directory / names.dist
    if target.exists():
        raise StylegenError(f"{target} already exists")
    files = render(name, kind, description)
    for path, text in files.items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_text(text, encoding="utf-8")
    return target
