"""A fresh data home and a registry holding the built-ins and this plugin (installed or not)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from stylegen.testing import Registry, plugin_registry

import plugin_module


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with plugin_registry({"PLUGIN_NAME": plugin_module}, home=tmp_path / "home") as reg:
        yield reg
