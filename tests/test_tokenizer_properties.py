"""Properties every built-in tokenizer keeps, checked on generated strings (hypothesis).

- `decode(encode(s)) == s`: for `char`, for strings of the characters it was trained on; for
  `spm` with byte fallback, for any string at all (lone surrogates included);
- the lengths of an encoded text's ids sum to its length in characters (exact bits/char);
- decoding id by id through `decode_stream()` gives what `decode` gives for the same ids.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stylegen.builtin.char import CharTokenizer, CharTokenizerFactory
from stylegen.builtin.spm import SpmTokenizer, SpmTokenizerFactory

TEXT = (
    "It was the best of times, it was the worst of times; it was the age of wisdom...\n"
    "\tQuoth the Raven: «Nevermore» — 1845, café, naïve, Ångström, ÆØÅ.\n\n"
    'She said, "Don\'t!" (twice)   and left at 10:45 [sic] {x} <y> 50% #tag @name ~/path_to\n'
) * 30
FAST = settings(max_examples=150, deadline=None)
#: Any code point, with lone surrogates, astral characters, SentencePiece's space mark and
#: whitespace drawn often (`st.text` alone never draws surrogates, and astral ones rarely).
any_text = st.lists(
    st.characters() | st.characters(categories=["Cs"]) | st.sampled_from("😀漢▁\n\t\r "), max_size=60
).map("".join)
valid_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)


@pytest.fixture(scope="module")
def char() -> CharTokenizer:
    return CharTokenizerFactory().train([TEXT])


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def spm(request: pytest.FixtureRequest) -> SpmTokenizer:
    return SpmTokenizerFactory().train([TEXT], type=request.param, vocab_size=400)


def _lengths_sum(tok: Any, text: str) -> int:
    return int(tok.token_lengths()[tok.encode(text)].sum())


@FAST
@given(text=st.text(st.sampled_from(sorted(set(TEXT))), max_size=80))
def test_char_round_trips_its_alphabet(char: CharTokenizer, text: str) -> None:
    ids = char.encode(text)
    assert 0 not in ids.tolist()
    assert char.decode(ids.tolist()) == text
    assert _lengths_sum(char, text) == len(text)


@FAST
@given(text=any_text)
def test_spm_round_trips_any_string(spm: SpmTokenizer, text: str) -> None:
    assert spm.decode(spm.encode(text).tolist()) == text
    assert _lengths_sum(spm, text) == len(text)


@FAST
@given(text=st.text(st.sampled_from(sorted(set(TEXT))), max_size=80), extra=valid_text)
def test_spm_round_trips_corpus_text_mixed_with_anything(spm: SpmTokenizer, text: str, extra: str) -> None:
    mixed = text + extra + text
    assert spm.decode(spm.encode(mixed).tolist()) == mixed
    assert _lengths_sum(spm, mixed) == len(mixed)


@FAST
@given(data=st.data())
def test_spm_streaming_decode_equals_decode_for_any_ids(spm: SpmTokenizer, data: st.DataObject) -> None:
    # Any ids at all, byte pieces favoured, so that characters are cut and bytes go astray.
    byte_ids = [int(i) for i in spm.encode("😀é漢\ud800")]
    ids = data.draw(st.lists(st.sampled_from(byte_ids) | st.integers(0, spm.vocab_size - 1), max_size=30))
    stream = spm.decode_stream()
    assert "".join(stream.push(i) for i in ids) + stream.flush() == spm.decode(ids)
