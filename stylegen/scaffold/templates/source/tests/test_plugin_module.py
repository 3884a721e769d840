from __future__ import annotations

from pathlib import Path

from stylegen.protocols import SourceOptions
from stylegen.testing import Registry, check_source


def test_paragraphs_become_documents(registry: Registry, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("One two three.\n\nFour.\n\nFive six.\n", encoding="utf-8")
    docs = check_source(registry.get("source", "PLUGIN_NAME"), [str(notes)], SourceOptions(extra={"min_words": 2}))
    assert [d.text for d in docs] == ["One two three.\n", "Five six.\n"]
    assert docs[0].origin.endswith("notes.txt#1")


def test_a_missing_file_is_skipped_not_fatal(registry: Registry, tmp_path: Path) -> None:
    found = list(registry.get("source", "PLUGIN_NAME").documents([str(tmp_path / "nope.txt")], SourceOptions()))
    assert len(found) == 1 and "cannot read" in found[0].reason


def test_builds_a_corpus(registry: Registry, tmp_path: Path) -> None:
    from stylegen import build_corpus

    notes = tmp_path / "notes.txt"
    notes.write_text("the quick brown fox.\n\njumps over the lazy dog.\n" * 20, encoding="utf-8")
    corpus = build_corpus("notes", [f"PLUGIN_NAME:{notes}"])
    assert corpus.name == "notes"
