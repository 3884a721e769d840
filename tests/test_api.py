"""The package is the one front door: its public names are the real objects, every time."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

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
