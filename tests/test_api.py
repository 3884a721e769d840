"""The package is the one front door: its public names are the real objects, every time."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import stylegen

FUNCTIONS = (
    "build_corpus",
    "load_corpus",
    "list_corpora",
    "train",
    "load_style",
    "list_styles",
    "generate",
    "samples",
    "chat",
)


def test_public_names_stay_functions_after_every_submodule_is_imported() -> None:
    for info in pkgutil.walk_packages(stylegen.__path__, "stylegen."):
        if ".tui" in info.name or info.name.endswith("__main__"):
            continue  # the app needs textual; __main__ runs the CLI
        importlib.import_module(info.name)
    for _ in range(2):
        for name in FUNCTIONS:
            value = getattr(stylegen, name)
            assert callable(value) and not isinstance(value, type(stylegen)), (name, value)
            assert value.__name__ == name
    from stylegen import chat, generate, train

    assert (train, generate, chat) == (stylegen.train, stylegen.generate, stylegen.chat)


def test_every_exported_name_resolves() -> None:
    for name in stylegen.__all__:
        assert getattr(stylegen, name) is not None
    assert set(stylegen.__all__) == {"__version__", *stylegen._API}
    assert set(stylegen.__all__) <= set(dir(stylegen))


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = "import stylegen, sys; print(sorted(m for m in ('torch', 'numpy', 'textual') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_apps_first_frame_needs_neither_torch_nor_numpy() -> None:
    """What the app's first screen uses (the app's module, the plugin registry for the sampler
    list) loads neither: they come in the background after the first frame (issue 18)."""
    code = (
        "import sys, stylegen.tui.app, stylegen; stylegen.plugin_registry(); "
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    env = {**os.environ, "STYLEGEN_LOAD_PLUGINS": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"


def test_the_type_checkers_view_is_the_runtime_one() -> None:
    """The facade's TYPE_CHECKING imports name the same objects as its lazy `_API` table."""
    tree = ast.parse(Path(stylegen.__file__).read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    seen = {}
    for node in ast.walk(block):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                public = alias.asname or alias.name
                seen[public] = node.module if public == alias.name else f"{node.module}:{alias.name}"
    assert seen == stylegen._API


#: What a front-end may import besides the facade and its own package: the plugin contract.
CONTRACT = {"stylegen.hookspecs", "stylegen.protocols", "stylegen.errors"}
FRONT_ENDS = {
    "stylegen.cli": {"stylegen.tui": {"run"}},  # the command opens the app: its entry point only
    "stylegen.tui": {},
}


def reaches_past_the_facade(package: str) -> list[str]:
    """Each import, in any module of `package` and at any depth, of a stylegen module other
    than the facade (public names only), the plugin contract and the package itself."""
    folder = Path(stylegen.__file__).parent / package.split(".", 1)[1]
    extra = FRONT_ENDS[package]
    public = set(stylegen.__all__)
    bad = []
    for path in sorted(folder.rglob("*.py")):
        parts = [package, *path.relative_to(folder).with_suffix("").parts]
        here = ".".join(parts[:-1])  # the package relative imports start from
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found: list[tuple[str, set[str]]] = [(a.name, set()) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here.split(".")[: len(here.split(".")) - node.level + 1] if node.level else []
                module = ".".join([*base, node.module] if node.module else base) if node.level else node.module
                found = [(module or "", {a.name for a in node.names})]
            else:
                continue
            for module, names in found:
                if module != "stylegen" and not module.startswith("stylegen."):
                    continue
                allowed = (
                    (module == "stylegen" and names <= public)
                    or module in CONTRACT
                    or module == package
                    or module.startswith(package + ".")
                    or (module in extra and names <= extra[module])
                )
                if not allowed:
                    what = f"from {module} import {', '.join(sorted(names))}" if names else f"import {module}"
                    bad.append(f"{path.relative_to(folder.parent.parent)}:{node.lineno}: {what}")
    return bad


def test_the_cli_goes_through_the_front_door() -> None:
    bad = reaches_past_the_facade("stylegen.cli")
    assert not bad, "the CLI imports stylegen internals (use the facade, `from stylegen import ...`):\n" + "\n".join(
        bad
    )


def test_the_app_goes_through_the_front_door() -> None:
    bad = reaches_past_the_facade("stylegen.tui")
    assert not bad, "the app imports stylegen internals (use the facade, `from stylegen import ...`):\n" + "\n".join(
        bad
    )


def test_the_layering_check_sees_what_it_should(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "stylegen"
    (root / "cli" / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "cli" / "__init__.py").write_text("from stylegen import train\nfrom stylegen.cli import sub\n")
    (root / "cli" / "sub" / "__init__.py").write_text(
        "def f():\n    from stylegen import plugins\n    from ... import styles\n    from .. import _output\n"
    )
    (root / "cli" / "x.py").write_text("import stylegen.home\nfrom stylegen.errors import StylegenError\n")
    monkeypatch.setattr(stylegen, "__file__", str(root / "__init__.py"))
    assert reaches_past_the_facade("stylegen.cli") == [
        "stylegen/cli/sub/__init__.py:2: from stylegen import plugins",
        "stylegen/cli/sub/__init__.py:3: from stylegen import styles",
        "stylegen/cli/x.py:1: import stylegen.home",
    ]
