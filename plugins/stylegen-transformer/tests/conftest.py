"""A fresh data home and a registry holding the built-ins and this plugin, installed or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stylegen_transformer
import torch

from stylegen.plugins import Registry
from stylegen.testing import plugin_registry

torch.set_num_threads(1)  # tiny models: one thread is faster, and steadier on a busy machine


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with plugin_registry({"transformer": stylegen_transformer}, home=tmp_path / "home") as reg:
        yield reg


@pytest.fixture
def corpus(registry: Registry, tmp_path: Path) -> str:
    """Corpus `fox`: one sentence, repeated."""
    from stylegen import build_corpus

    source = tmp_path / "fox.txt"
    source.write_text("the quick brown fox jumps over the lazy dog.\n" * 200, encoding="utf-8")
    build_corpus("fox", [str(source)])
    return "fox"
