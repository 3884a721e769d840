"""Plugin package skeletons: `stylegen plugin new NAME --kind KIND`.

A skeleton is a package a third party could publish: `pyproject.toml` with the entry point in
the `stylegen` group, a module with one working plugin of the kind, and a test (with the
`registry` fixture of `stylegen.testing`) that passes as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from stylegen import hookspecs, plugins
from stylegen.errors import StylegenError
from stylegen.scaffold.templates import CONFTEST, KINDS, PYPROJECT, README

_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


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


def render(name: str, kind: str, description: str | None = None) -> dict[str, str]:
    """The package's files, relative path -> text."""
    if kind not in KINDS:
        raise StylegenError(f"unknown plugin kind {kind!r} (kinds: {', '.join(KINDS)})")
    from stylegen._version import __version__

    names = Names.of(name)
    spec = KINDS[kind]
    values = {"name": names.name, "dist": names.dist, "module": names.module, "cls": names.cls, "kind": kind}
    values["description"] = Template(description or spec["description"]).safe_substitute(values)
    values["usage"] = Template(spec["usage"]).safe_substitute(values)
    values["usage_indented"] = "    " + values["usage"]
    values["hookspec_version"] = str(hookspecs.HOOKSPEC_VERSION)
    values["stylegen_version"] = __version__
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{names.module}/__init__.py": spec["module"],
        "tests/conftest.py": CONFTEST,
        f"tests/test_{names.module}.py": spec["test"],
    }
    files.update({f"{names.module}/{extra}": text for extra, text in spec.items() if extra.endswith(".py")})
    return {path: Template(text).substitute(values) for path, text in files.items()}


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
