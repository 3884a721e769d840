"""The `spm` tokenizer plugin: training, options and their errors, saving and loading, exact
lengths for bits per character, streaming decoding in generation, and the CLI end to end."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

from stylegen._generate import Decoder, banned_ids, stream
from stylegen.builtin.spm import (
    MAX_LINE_CHARS,
    META_FILE,
    MODEL_FILE,
    SpmTokenizer,
    SpmTokenizerFactory,
    training_lines,
)
from stylegen.cli import cli
from stylegen.errors import StylegenError

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have "
    "an they you were her she there been one all would their we him more when who will no if out so said "
    "what up its about than into them can only other time new some could these two may first then do any "
    "like my now over such our man me even most made after also did many before must through back years "
    "where much your way well down should because each just those people how too little state good very "
    "make world still own see men work long get here between both life being under never day same another "
    "know while last might us great old year off come since against go came right used take three café "
    "naïve façade"
).split()


def prose(sentences: int, seed: int = 0) -> str:
    """Deterministic English-looking text: sentences of common words, paragraphs, a few numbers."""
    rng = random.Random(seed)
    out = []
    for i in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 16))]
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words)), str(rng.randint(1, 1999)))
        sentence = " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!", ","])
        out.append(sentence + ("\n\n" if i % 7 == 6 else " "))
    return "".join(out).rstrip(" ") + "\n"


TEXT = prose(600)  # about 40 KB
ODD = "Emoji 😀 and 漢字 and ▁ and \t tabs\r\n, a lone \ud800 surrogate, NUL \x00 and \u2028 and é"


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def tok(request: pytest.FixtureRequest) -> SpmTokenizer:
    return SpmTokenizerFactory().train([TEXT], type=request.param, vocab_size=600)


# --------------------------------------------------------------------------- training


def test_trains_subwords_that_shorten_the_text(tok: SpmTokenizer) -> None:
    assert tok.vocab_size == 600
    ids = tok.encode(TEXT)
    assert ids.dtype == np.int32
    assert len(ids) < len(TEXT) / 2.5  # real subwords, not characters
    assert tok.decode(ids.tolist()) == TEXT


@pytest.mark.parametrize("text", [TEXT[:500], ODD, "", "\n", "▁▁ ▁", "\udfff", "😀" * 3])
def test_round_trip_and_lengths_sum_to_the_characters(tok: SpmTokenizer, text: str) -> None:
    ids = tok.encode(text)
    assert tok.decode(ids.tolist()) == text
    assert int(tok.token_lengths()[ids].sum()) == len(text)


def test_encoding_in_chunks_that_end_at_line_breaks_gives_the_same_ids(tok: SpmTokenizer) -> None:
    lines = TEXT.splitlines(keepends=True)
    chunks = ["".join(lines[i : i + 5]) for i in range(0, len(lines), 5)]
    assert np.array_equal(np.concatenate([tok.encode(c) for c in chunks]), tok.encode(TEXT))


def test_byte_pieces_count_one_character_per_lead_byte(tok: SpmTokenizer) -> None:
    ids = tok.encode("😀")  # not in the training text: four byte pieces
    assert len(ids) == 4
    assert tok.token_lengths()[ids].tolist() == [1, 0, 0, 0]


def test_unknown_id_is_never_generated(tok: SpmTokenizer) -> None:
    assert tok.unk_id == 0 and banned_ids(tok) == [0]


def test_without_byte_fallback_unknown_characters_become_the_unknown_id() -> None:
    tok = SpmTokenizerFactory().train([TEXT], vocab_size=300, byte_fallback=False)
    ids = tok.encode("the 😀")
    assert tok.unk_id in ids.tolist()
    assert tok.decode(ids.tolist()) == "the \ufffd"


def test_training_reads_lines_cut_to_a_bounded_length() -> None:
    long_line = ("word " * 1000) + "x" * 2500
    lines = list(training_lines(iter([f"a\n\n{long_line}\n", "b\ud800c\n"])))
    assert lines[0] == "a" and lines[-1] == "b\ufffdc"
    assert all(0 < len(line) <= MAX_LINE_CHARS for line in lines)
    assert "".join(lines[1:-1]) == long_line
    tok = SpmTokenizerFactory().train([TEXT, long_line + "\n"], vocab_size=400)  # no crash on a long line
    assert tok.decode(tok.encode(long_line).tolist()) == long_line


def test_a_text_too_small_for_the_vocabulary_lowers_it_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    tok = SpmTokenizerFactory().train(["the cat sat on the mat.\n"] * 3)
    assert 256 < tok.vocab_size < 2000
    assert tok.options["vocab_size"] == tok.vocab_size
    err = capsys.readouterr().err
    assert err.startswith("warning: spm tokenizer:") and f"vocabulary is {tok.vocab_size}" in err


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"bogus": 1}, "no option 'bogus'"),
        ({"type": "wordpiece"}, "type must be bpe or unigram"),
        ({"vocab_size": 0}, "vocab_size must be a positive integer"),
        ({"vocab_size": True}, "vocab_size must be a positive integer"),
        ({"character_coverage": 1.5}, "character_coverage must be in (0, 1]"),
        ({"byte_fallback": "no"}, "byte_fallback must be true or false"),
        ({"vocab_size": 100}, "vocab_size 100 is too small for this text: it needs at least"),
    ],
)
def test_bad_options_are_one_line_errors(options: dict[str, Any], needle: str) -> None:
    with pytest.raises(StylegenError) as e:
        SpmTokenizerFactory().train([TEXT[:2000]], **options)
    assert needle in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("text", ["", "\n\n\n"])
def test_empty_text_is_a_clear_error(text: str) -> None:
    with pytest.raises(StylegenError, match="training text is empty"):
        SpmTokenizerFactory().train([text])


def test_a_sentencepiece_failure_becomes_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import sentencepiece

    def fail(**kwargs: Any) -> None:
        for _ in kwargs["sentence_iterator"]:
            pass
        raise RuntimeError("INTERNAL: src/trainer_interface.cc(1) [x == y] Something broke.\nMore.")

    monkeypatch.setattr(sentencepiece.SentencePieceTrainer, "train", fail)
    with pytest.raises(StylegenError, match=r"^spm tokenizer: SentencePiece failed: Something broke\. More\.$"):
        SpmTokenizerFactory().train([TEXT])


def test_an_error_while_reading_the_text_is_raised_as_it_is() -> None:
    def chunks() -> Iterator[str]:
        yield TEXT
        raise StylegenError("train.txt: disk on fire")

    with pytest.raises(StylegenError, match="disk on fire"):
        SpmTokenizerFactory().train(chunks(), vocab_size=400)


def test_training_is_deterministic() -> None:
    a = SpmTokenizerFactory().train([TEXT[:8000]], vocab_size=400)
    b = SpmTokenizerFactory().train([TEXT[:8000]], vocab_size=400)
    assert a.proto == b.proto


# --------------------------------------------------------------------------- saving and loading


def test_save_and_load_round_trip(tok: SpmTokenizer, tmp_path: Path) -> None:
    tok.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    assert meta["tokenizer"] == "spm" and meta["vocab_size"] == tok.vocab_size
    assert meta["options"]["type"] == tok.options["type"]
    again = SpmTokenizerFactory().load(tmp_path)
    assert again.vocab_size == tok.vocab_size and again.options == tok.options
    assert np.array_equal(again.encode(ODD), tok.encode(ODD))
    assert np.array_equal(again.token_lengths(), tok.token_lengths())


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda d: (d / META_FILE).unlink(), f"{META_FILE}: file is missing"),
        (lambda d: (d / MODEL_FILE).unlink(), f"{MODEL_FILE}: file is missing"),
        (lambda d: (d / MODEL_FILE).write_bytes(b"not a model"), f"{MODEL_FILE}: not a SentencePiece model"),
        (lambda d: (d / META_FILE).write_text('{"tokenizer": "char"}'), f"{META_FILE}: not an spm tokenizer"),
        (lambda d: (d / META_FILE).write_text("{oops"), f"{META_FILE}: not valid JSON"),
    ],
)
def test_a_damaged_tokenizer_is_a_one_line_error_naming_the_file(
    tok: SpmTokenizer, tmp_path: Path, damage: Any, needle: str
) -> None:
    tok.save(tmp_path)
    damage(tmp_path)
    with pytest.raises(StylegenError) as e:
        SpmTokenizerFactory().load(tmp_path)
    assert needle in str(e.value) and "\n" not in str(e.value)


# --------------------------------------------------------------------------- streaming decoding


def test_stream_decoder_holds_back_part_of_a_character(tok: SpmTokenizer) -> None:
    ids = tok.encode("😀漢").tolist()  # neither is in the training text: 4 + 3 byte pieces
    assert len(ids) == 7
    d = tok.decode_stream()
    assert [d.push(i) for i in ids] == ["", "", "", "😀", "", "", "漢"]
    assert d.flush() == ""
    d.push(ids[0])  # an unfinished character at the end becomes U+FFFD
    assert d.flush() == "\ufffd"


class BigramModel:
    """Scripted 'language model': the next id is `table[last id]` (greedy decoding follows it)."""

    def __init__(self, vocab: int, table: dict[int, int]) -> None:
        self.vocab, self.table = vocab, table

    def init_state(self, batch: int, device: Any) -> None:
        return None

    def __call__(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        logits = torch.zeros(*ids.shape, self.vocab)  # (B, T, V)
        for b, row in enumerate(ids.tolist()):
            for t, i in enumerate(row):
                logits[b, t, self.table.get(i, 0)] = 10.0  # 0 is the unknown id: masked
        return logits, state


def test_generation_yields_only_complete_characters(tok: SpmTokenizer) -> None:
    newline = int(tok.encode("\n")[0])
    emoji = tok.encode("😀").tolist()
    script = [newline, *emoji, newline]
    model = BigramModel(tok.vocab_size, dict(itertools.pairwise(script)))

    class Style:
        tokenizer, device = tok, "cpu"

    Style.model = model  # type: ignore[attr-defined]
    decoder = Decoder(Style, sampler="greedy")  # type: ignore[arg-type]
    chunks = [c[0] for c in stream(decoder, "\n", 5)]
    assert chunks == ["", "", "", "😀", "\n"]
    decoder.reset()
    cut = [c[0] for c in stream(decoder, "\n", 2)]  # stops halfway through the emoji
    assert cut == ["", "\ufffd"]


# --------------------------------------------------------------------------- the command line


def _invoke(*args: str) -> Result:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, list(args))


TINY_ARGS = [
    "--layers", "1", "--hidden", "32", "--embed", "16", "--batch-size", "4", "--seq-len", "16",
    "--max-steps", "20", "--eval-every", "10", "--device", "cpu", "--quiet",
]  # fmt: skip


def test_train_and_generate_with_spm_from_the_command_line(tiny_corpus: str, hermetic: Path) -> None:
    trained = _invoke("train", tiny_corpus, "--name", "sub", "--tokenizer", "spm", "--vocab-size", "300", *TINY_ARGS)
    assert trained.exit_code == 0, (trained.stdout, trained.stderr, trained.exception)
    meta = json.loads((hermetic / "styles" / "sub" / "style.json").read_text(encoding="utf-8"))
    assert meta["tokenizer"]["name"] == "spm" and meta["tokenizer"]["vocab_size"] <= 300
    assert meta["val_bpc"] > 0
    assert (hermetic / "styles" / "sub" / "tokenizer" / MODEL_FILE).is_file()
    out = _invoke("generate", "sub", "--length", "40", "--seed", "1", "--prime", "the")
    assert out.exit_code == 0, (out.stdout, out.stderr, out.exception)
    assert out.stdout.startswith("the") and len(out.stdout) > 10


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--tokenizer-opt", "bogus=1"], "no option 'bogus'"),
        (["--vocab-size", "50"], "vocab_size 50 is too small"),
    ],
)
def test_spm_option_errors_from_the_command_line(tiny_corpus: str, args: list[str], needle: str) -> None:
    result = _invoke("train", tiny_corpus, "--tokenizer", "spm", *args, *TINY_ARGS)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and needle in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_the_plugin_does_not_import_sentencepiece() -> None:
    code = (
        "import sys, stylegen.cli, stylegen.builtin.spm; from stylegen import plugins; plugins.registry(); "
        "assert plugins.get('tokenizer', 'spm'); assert 'sentencepiece' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
