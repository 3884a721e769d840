from __future__ import annotations

from pathlib import Path

import pytest
from stylegen.protocols import SkipFile
from stylegen.testing import Registry, check_extractor


def test_comments_are_dropped(registry: Registry) -> None:
    text = check_extractor(registry.get("extractor", "PLUGIN_NAME"), b"# a comment\nkept line\n")
    assert text == "kept line\n"


def test_binary_files_are_skipped(registry: Registry) -> None:
    with pytest.raises(SkipFile, match="binary"):
        registry.get("extractor", "PLUGIN_NAME").extract(b"\x00\x01", "x.PLUGIN_NAME", "strict")


def test_corpus_build_reads_its_files_through_it(registry: Registry, tmp_path: Path) -> None:
    from stylegen import build_corpus

    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.PLUGIN_NAME").write_text("# not text\nthe quick brown fox.\n" * 30, encoding="utf-8")
    corpus = build_corpus("texts", [str(folder)])
    assert "not text" not in (corpus.path / "train.txt").read_text(encoding="utf-8")
