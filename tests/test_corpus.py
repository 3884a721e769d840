"""Corpus building: sources, manifest, split, and nothing half-written on failure."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from conftest import PHRASE

from stylegen.corpus import build_corpus, list_corpora, load_corpus, remove_corpus
from stylegen.corpus.build import split_text
from stylegen.errors import NotFoundError, StylegenError


def test_build_from_a_folder_is_recursive_and_skips_hidden(texts_dir: Path) -> None:
    corpus = build_corpus("c", [str(texts_dir)])
    origins = [Path(s["origin"]).name for s in corpus.manifest["sources"]]
    assert origins == ["a.txt", "b.txt", "c.md"]
    m = corpus.manifest
    assert m["stats"]["documents"] == 3
    assert m["stats"]["chars"] == len(PHRASE) * 250 + 2  # documents joined by a blank line
    assert m["split"]["val_chars"] + m["split"]["train_chars"] == m["stats"]["chars"]
    assert corpus.train_text() + corpus.val_text() == (PHRASE * 100 + "\n") * 2 + PHRASE * 50
    for key in ("sha256", "bytes", "chars", "words", "lines"):
        assert key in m["sources"][0]


def test_include_and_exclude_globs(texts_dir: Path) -> None:
    only_md = build_corpus("md", [str(texts_dir)], include=["*.md"])
    assert [Path(s["origin"]).name for s in only_md.manifest["sources"]] == ["c.md"]
    no_more = build_corpus("nomore", [str(texts_dir)], exclude=["more/*"])
    assert [Path(s["origin"]).name for s in no_more.manifest["sources"]] == ["a.txt"]


def test_build_from_a_glob_and_from_stdin(texts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    globbed = build_corpus("g", [str(texts_dir / "**" / "*.txt")])
    assert len(globbed.manifest["sources"]) == 2
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(("from stdin\n" * 50).encode())))
    piped = build_corpus("stdin", ["-"])
    assert piped.manifest["sources"][0]["origin"] == "<stdin>"
    assert (piped.train_text() + piped.val_text()) == "from stdin\n" * 50


def test_validation_is_the_last_fraction() -> None:
    train, val = split_text("abcdefghij", 0.3)
    assert (train, val) == ("abcdefg", "hij")


def test_binary_files_are_skipped_with_a_reason(texts_dir: Path) -> None:
    (texts_dir / "image.png").write_bytes(b"\x89PNG\x00\x00\x01binary")
    corpus = build_corpus("b", [str(texts_dir)])
    assert corpus.manifest["skipped"] == [
        {"origin": str(texts_dir / "image.png"), "reason": "binary file (contains NUL bytes)"}
    ]


def test_invalid_utf8_fails_or_is_skipped_or_replaced(texts_dir: Path) -> None:
    bad = texts_dir / "latin1.txt"
    bad.write_bytes("café au lait\n".encode("latin-1"))
    with pytest.raises(StylegenError, match=r"latin1.txt: not valid UTF-8 at byte 3"):
        build_corpus("u", [str(texts_dir)])
    assert list_corpora() == []
    skipped = build_corpus("u", [str(texts_dir)], errors="skip")
    assert skipped.manifest["skipped"][0]["origin"].endswith("latin1.txt")
    replaced = build_corpus("r", [str(bad)], errors="replace", val_fraction=0.5)
    assert "caf\ufffd au lait" in replaced.train_text() + replaced.val_text()


def test_a_failed_rebuild_keeps_the_old_corpus(texts_dir: Path, tmp_path: Path) -> None:
    old = build_corpus("keep", [str(texts_dir)])
    with pytest.raises(StylegenError, match="no such file"):
        build_corpus("keep", [str(tmp_path / "missing")], replace=True)
    assert load_corpus("keep").manifest == old.manifest
    assert [p.name for p in old.path.parent.iterdir()] == ["keep"]  # no temporary folders left


def test_existing_corpus_needs_force(texts_dir: Path) -> None:
    build_corpus("x", [str(texts_dir)])
    with pytest.raises(StylegenError, match="already exists"):
        build_corpus("x", [str(texts_dir)])
    assert build_corpus("x", [str(texts_dir)], include=["a.txt"], replace=True).manifest["stats"]["documents"] == 1


def test_empty_input_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("  \n\n", encoding="utf-8")
    with pytest.raises(StylegenError, match="would be empty"):
        build_corpus("e", [str(tmp_path / "blank.txt")])


@pytest.mark.parametrize("name", ["a/b", "..", "", "-x", "a b", "con"])
def test_bad_names_are_refused(name: str, texts_dir: Path) -> None:
    with pytest.raises(StylegenError, match="invalid corpus name"):
        build_corpus(name, [str(texts_dir)])


def test_list_and_remove(texts_dir: Path) -> None:
    build_corpus("one", [str(texts_dir)])
    build_corpus("two", [str(texts_dir)])
    assert [c.name for c in list_corpora()] == ["one", "two"]
    remove_corpus("one")
    assert [c.name for c in list_corpora()] == ["two"]
    with pytest.raises(NotFoundError, match="no corpus named 'one'"):
        load_corpus("one")


def test_word_counts_are_str_split_s_for_any_text() -> None:
    """The vectorised word count (a corpus's `words`) agrees with `len(text.split())`,
    whitespace outside ASCII and lone surrogates included."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from stylegen.corpus.counts import count_words

    alphabet = st.sampled_from([" ", "\n", "\t", "\r", "\x0b", "\x1c", "a", "é", "日", "\u3000", "\xa0", "\x85",
                                "\u2028", "\u200a", "\ud800", "\U0001f600"])  # fmt: skip

    @settings(max_examples=400, deadline=None)
    @given(st.lists(alphabet, max_size=40).map("".join) | st.text(max_size=60))
    def check(text: str) -> None:
        assert count_words(text, text.encode("utf-8", "surrogatepass")) == len(text.split())

    check()


def test_the_split_is_the_last_fraction_of_the_characters_for_any_text(tmp_path: Path) -> None:
    """The byte-level split (characters counted by their first bytes, both parts copied as
    bytes) cuts where the characters say, multi-byte characters and lone surrogates included."""
    import math

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from stylegen.corpus import build as build_module

    alphabet = st.sampled_from(["a", "\n", "é", "日", "\U0001f600", "\ud800", " "])

    @settings(max_examples=200, deadline=None)
    @given(st.lists(alphabet, max_size=60).map("".join), st.sampled_from([0.0, 0.05, 0.1, 0.5, 1.0]))
    def check(text: str, fraction: float) -> None:
        src, train, val = tmp_path / "t", tmp_path / "train", tmp_path / "val"
        src.write_bytes(text.encode("utf-8", "surrogatepass"))
        n_train, n_val = build_module._split_file(src, len(text), fraction, train, val)
        cut = len(text) - math.ceil(len(text) * fraction)
        assert (n_train, n_val) == (cut, len(text) - cut)
        assert train.read_bytes().decode("utf-8", "surrogatepass") == text[:cut]
        assert val.read_bytes().decode("utf-8", "surrogatepass") == text[cut:]

    check()
