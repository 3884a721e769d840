"""Originality check: hashed 16-grams of the training text, spans of copied text, the saved index."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from conftest import PHRASE, TINY

from stylegen import load_style, styles
from stylegen.errors import StylegenError
from stylegen.originality import (
    BASE,
    INDEX_FILE,
    K,
    OriginalityIndex,
    Span,
    build_index,
    find_copies,
    load_for_style,
    mark,
    window_hashes,
)

MASK = 2**64 - 1


def _mix_ref(c: int) -> int:
    x = (c + 0x243F6A8885A308D3) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _hash_ref(window: str) -> int:
    h = 0
    for ch in window:
        h = (h * int(BASE) + _mix_ref(ord(ch))) & MASK
    return h


def _words(n_words: int, seed: int) -> str:
    rng = random.Random(seed)
    vocab = ["river", "stone", "light", "under", "quietly", "the", "of", "a", "moss", "window", "far", "and"]
    return " ".join(rng.choice(vocab) for _ in range(n_words))


def _random_text(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ,.\n") for _ in range(n))


CORPUS = _words(3000, seed=1)


def test_window_hashes_match_a_python_reference() -> None:
    text = "Ünïcode ☃ text, \ud800 a lone surrogate, and 𝄞 beyond the BMP: " + PHRASE
    hashes = window_hashes(text)
    assert hashes.dtype == np.uint64
    assert len(hashes) == len(text) - K + 1
    assert [int(h) for h in hashes] == [_hash_ref(text[i : i + K]) for i in range(len(text) - K + 1)]
    # equal windows, equal hashes; shorter than a window, no hashes
    assert window_hashes("x" * (K + 3)).tolist() == [_hash_ref("x" * K)] * 4
    assert len(window_hashes("x" * (K - 1))) == 0 and len(window_hashes("")) == 0


def test_index_holds_every_window_sorted_with_its_offset() -> None:
    text = PHRASE * 20
    index = build_index(text)
    assert len(index) == len(text) - K + 1
    assert np.all(index.keys[1:] >= index.keys[:-1])
    assert sorted(index.offsets.tolist()) == list(range(len(index)))
    assert index.offsets.dtype == np.int32
    assert np.array_equal(index.keys, window_hashes(text)[index.offsets])
    assert np.array_equal(index.hashes, window_hashes(text))


def test_a_copied_span_is_reported_with_its_corpus_offset() -> None:
    index = build_index(CORPUS)
    at = 1234
    copied = CORPUS[at : at + 50]
    before, after = "Xq#1 zz!! ", " @@ 9 qqq #z!"
    text = before + copied + after
    spans = find_copies(index, text)
    assert spans == [Span(len(before), len(before) + 50, CORPUS.find(copied), copied)]
    assert CORPUS.find(copied) <= at  # the first place the text occurs
    assert mark(text, spans) == f"{before}«{copied}»{after}"


def test_min_len_filters_short_copies() -> None:
    index = build_index(CORPUS)
    short, long = CORPUS[100:130], CORPUS[2000:2060]
    text = "#% " + short + " ##%% " + long + " %#"
    assert [len(s) for s in find_copies(index, text, min_len=40)] == [60]
    assert sorted(len(s) for s in find_copies(index, text, min_len=16)) == [30, 60]
    assert find_copies(index, text, min_len=61) == []
    with pytest.raises(StylegenError, match="--check-copy must be at least 16"):
        find_copies(index, text, min_len=15)


def test_text_stitched_from_two_corpus_places_is_two_overlapping_spans() -> None:
    r = [_random_text(200, seed) for seed in range(10)]
    a, shared, b, c, d = r[5][:30], r[6][:20], r[7][:30], r[8][:30], r[9][:30]
    corpus = r[0] + a + shared + b + r[1] + c + shared + d + r[2]
    text = "#@" + a + shared + d + "@#"  # every 16-gram occurs in the corpus, the whole does not
    spans = find_copies(build_index(corpus), text)
    assert spans == [
        Span(2, 52, corpus.index(a + shared), a + shared),
        Span(32, 82, corpus.index(shared + d), shared + d),
    ]
    assert mark(text, spans) == f"#@«{a}{shared}{d}»@#"
    assert find_copies(build_index(corpus), text, min_len=51) == []


def _markov(corpus: str, order: int, n: int, seed: int) -> str:
    """Text from a character n-gram model of `corpus`: stitched from its fragments."""
    follow: dict[str, list[str]] = {}
    for i in range(len(corpus) - order):
        follow.setdefault(corpus[i : i + order], []).append(corpus[i + order])
    rng = random.Random(seed)
    out = corpus[:order]
    while len(out) < n:
        out += rng.choice(follow.get(out[-order:], [" "]))
    return out


def _covered(spans: list[tuple[int, int]]) -> set[int]:
    return {i for start, end in spans for i in range(start, end)}


@pytest.mark.parametrize("order", [4, 8, 12])
def test_spans_are_exactly_the_maximal_copies(order: int) -> None:
    corpus = _words(1500, seed=3)
    text = _markov(corpus, order, 1500, seed=order)
    min_len = 24
    spans = find_copies(build_index(corpus), text, min_len)
    for s in spans:
        assert s.text == text[s.start : s.end] and len(s) >= min_len
        assert corpus.find(s.text) == s.corpus_offset  # occurs there, and nowhere before
        assert s.start == 0 or text[s.start - 1 : s.end] not in corpus  # maximal to the left
        assert s.end == len(text) or text[s.start : s.end + 1] not in corpus  # and to the right
    assert [s.start for s in spans] == sorted(s.start for s in spans)
    # brute force: the longest copy starting at each character; those of min_len or more
    longest = []
    for start in range(len(text)):
        end = start
        while end < len(text) and text[start : end + 1] in corpus:
            end += 1
        if end - start >= min_len:
            longest.append((start, end))
    assert _covered([(s.start, s.end) for s in spans]) == _covered(longest)
    assert {(s.start, s.end) for s in spans} <= set(longest)


def test_no_false_hits_on_random_text() -> None:
    index = build_index(_random_text(200_000, seed=1))
    assert find_copies(index, _random_text(50_000, seed=2), min_len=K) == []
    assert find_copies(index, "short", min_len=K) == []
    assert find_copies(build_index("tiny"), CORPUS) == []


def test_mark_merges_overlaps_and_keeps_text() -> None:
    text = "abcdefghij"
    assert mark(text, []) == text
    spans = [Span(6, 9, 0, "ghi"), Span(0, 3, 0, "abc"), Span(2, 5, 0, "cde")]
    assert mark(text, spans) == "«abcde»f«ghi»j"


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = build_index(CORPUS)
    path = tmp_path / "style" / INDEX_FILE
    index.save(path)
    assert [p.name for p in path.parent.iterdir()] == [INDEX_FILE]  # no temporary file left
    loaded = OriginalityIndex.load(path)
    assert np.array_equal(loaded.keys, index.keys) and loaded.keys.dtype == np.uint64
    assert np.array_equal(loaded.offsets, index.offsets) and loaded.offsets.dtype == index.offsets.dtype
    assert loaded.chars == len(CORPUS)
    text = "!!" + CORPUS[500:560] + "!!"
    assert find_copies(loaded, text) == find_copies(index, text)
    empty = tmp_path / "empty.npz"
    build_index("").save(empty)
    assert len(OriginalityIndex.load(empty)) == 0
    assert load_for_style(path.parent) is not None
    assert load_for_style(tmp_path) is None  # a style from before the check


def test_damaged_or_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / INDEX_FILE
    build_index(CORPUS).save(path)
    data = path.read_bytes()
    with pytest.raises(StylegenError, match=r"originality\.npz: originality index is missing"):
        OriginalityIndex.load(tmp_path / "nothing" / INDEX_FILE)
    for damaged in (data[: len(data) // 2], b"", b"not an index at all\n" * 10):
        path.write_bytes(damaged)
        with pytest.raises(StylegenError, match=r"originality\.npz: damaged originality index"):
            OriginalityIndex.load(path)
        with pytest.raises(StylegenError, match=r"originality\.npz: damaged"):
            load_for_style(tmp_path)
    # readable arrays that do not make an index: keys out of order
    index = build_index(CORPUS)
    OriginalityIndex(index.keys[::-1].copy(), index.offsets[::-1].copy(), index.chars).save(path)
    with pytest.raises(StylegenError, match="arrays do not fit together"):
        OriginalityIndex.load(path)
    # another format version
    with open(path, "wb") as f:
        np.savez(f, meta=np.array([99, K, 10]), keys=index.keys, offsets=index.offsets)
    with pytest.raises(StylegenError, match="format 99"):
        OriginalityIndex.load(path)


def test_training_writes_the_index(tiny_corpus: str) -> None:
    from stylegen.corpus import load_corpus
    from stylegen.training import TrainConfig, train

    train(TrainConfig(corpus=tiny_corpus, name="fresh", max_steps=5, **TINY))
    style_dir = styles.style_path("fresh")
    index = load_for_style(style_dir)
    assert index is not None
    train_text = load_corpus(tiny_corpus).train_text()
    assert index.chars == len(train_text)
    assert find_copies(index, "zz " + train_text[:80] + " zz") == [Span(3, 83, 0, train_text[:80])]


def test_greedy_text_of_a_trained_style_is_reported_as_copied(trained: str) -> None:
    from stylegen._generate import generate

    style = load_style(trained)
    index = load_for_style(style.path)
    assert index is not None
    text = "".join(generate(style, "the quick ", length=120, sampler="greedy"))
    assert PHRASE.strip() in "the quick " + text  # the model repeats its sentence
    spans = find_copies(index, text)
    assert len(spans) == 1 and spans[0].start == 0 and spans[0].end >= 100
    assert spans[0].corpus_offset == PHRASE.index(text[:K])
    assert "«" in mark(text, spans)


def test_generate_and_chat_check_copies_from_the_cli(trained: str, hermetic: Path) -> None:
    import json as json_module

    from click.testing import CliRunner

    from stylegen.cli import cli

    args = ["generate", trained, "--prime", "the quick", "--temperature", "0", "--length", "90", "--check-copy", "40"]
    as_json = CliRunner().invoke(cli, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.stderr
    copies = json_module.loads(as_json.stdout)["copies"]
    assert copies and all(c["end"] - c["start"] >= 40 and {"corpus_offset", "text"} <= set(c) for c in copies)
    text = CliRunner().invoke(cli, args)
    assert "copied [" in text.stderr and "from corpus offset" in text.stderr
    chat = CliRunner().invoke(cli, ["chat", trained, "--temperature", "0", "--check-copy", "20"], input="the quick\n")
    assert chat.exit_code == 0 and "copied from the training text" in chat.stderr
    (hermetic / "styles" / trained / "originality.npz").unlink()
    missing = CliRunner().invoke(cli, args)
    assert missing.exit_code == 1 and "no originality index" in missing.stderr
