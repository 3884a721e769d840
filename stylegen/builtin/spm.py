"""The `spm` tokenizer: subword pieces learned by SentencePiece (BPE or unigram).

Set up so that no text is lost and every id has an exact length in characters:

- identity normalization, no dummy prefix, whitespace kept as it is (runs of spaces may be
  pieces of their own); `\\n`, `\\t` and `\\r` are symbols of their own;
- byte fallback (on by default): a character without a piece is spelled as its UTF-8 bytes,
  pieces `<0x00>`..`<0xFF>`, so `decode(encode(s)) == s` for any string. The two characters
  SentencePiece cannot take as they are, U+2581 (its own space mark) and lone surrogates
  (not UTF-8), are always spelled in bytes (a surrogate as its "surrogatepass" bytes);
- `token_lengths()` counts what each id stands for: a piece its characters, a byte its
  share of a character (1 for the first byte of a character, 0 for the bytes that continue
  it), control pieces 0; so bits per character is exact and compares with `char`'s.

Training reads the text line by line and samples at most `sample_lines` lines (lines longer
than `MAX_LINE_CHARS` are cut), so memory stays bounded however large the corpus is.
SentencePiece is imported inside methods: loading the plugin stays cheap.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stylegen import home, plugins
from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl

if TYPE_CHECKING:  # numpy is imported where it is used: the app's first frame lists plugins, not arrays
    import numpy as np

MODEL_FILE = "spm.model"
META_FILE = "tokenizer.json"
FORMAT_VERSION = 1
#: Options and their defaults (`stylegen train --tokenizer spm --tokenizer-opt KEY=VALUE`).
DEFAULTS: dict[str, Any] = {
    "type": "unigram",  # bpe | unigram
    "vocab_size": 2000,
    "character_coverage": 0.9995,
    "byte_fallback": True,
    "split_digits": True,  # each digit its own piece
    "sample_lines": 2_000_000,  # lines sampled (uniformly) from the corpus for training
    "max_piece_length": 16,  # characters
}
SYMBOLS = ("\n", "\t", "\r")  # pieces of their own, never merged with other text
MAX_LINE_CHARS = 1000  # training lines are cut to this (4 bytes a character fits SentencePiece's 4192)
SPACE_MARK = "\u2581"  # how SentencePiece writes a space inside pieces
_ROUTED = re.compile("[\u2581\ud800-\udfff]")  # characters always spelled in bytes
_SURROGATES = re.compile("[\ud800-\udfff]")
_ERRORS = "stylegen-spm"  # decoding: lone surrogates pass, other bad bytes become U+FFFD
_REPLACEMENT = "\ufffd".encode()
_SP_PREFIX = re.compile(r"^[A-Za-z_]+: \S+\(\d+\) \[[^\]]*\]\s*")  # "INTERNAL: src/x.cc(12) [cond] "


def _surrogatepass_or_replace(e: UnicodeError) -> tuple[str, int]:
    if not isinstance(e, UnicodeDecodeError):
        raise e
    try:
        text, end = codecs.lookup_error("surrogatepass")(e)  # a lone surrogate's bytes: the surrogate
    except UnicodeDecodeError:
        return "\ufffd", e.end  # any other bad bytes
    assert isinstance(text, str)
    return text, end


def _register_errors() -> None:
    try:
        codecs.lookup_error(_ERRORS)
    except LookupError:
        codecs.register_error(_ERRORS, _surrogatepass_or_replace)


def _incomplete_tail(data: bytes) -> int:
    """How many bytes at the end of `data` start a UTF-8 character not complete yet."""
    for k in range(1, min(3, len(data)) + 1):
        b = data[-k]
        if 0x80 <= b < 0xC0:
            continue  # a continuation byte: look further back for its lead byte
        need = 2 if 0xC0 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else 4 if 0xF0 <= b < 0xF8 else 1
        return k if need > k else 0
    return 0


class StreamDecoder:
    """Decodes ids one at a time, holding back the bytes of a character not complete yet.

    `"".join(push(i) for i in ids) + flush()` equals `decode(ids)`.
    """

    def __init__(self, table: Sequence[bytes]) -> None:
        self.table = table
        self.pending = b""

    def push(self, i: int) -> str:
        """The text that id `i` completes (maybe empty)."""
        data = self.pending + (self.table[i] if 0 <= i < len(self.table) else _REPLACEMENT)
        keep = _incomplete_tail(data)
        self.pending = data[len(data) - keep :]
        return data[: len(data) - keep].decode("utf-8", _ERRORS)

    def flush(self) -> str:
        """What is held back (an unfinished character decodes to U+FFFD)."""
        data, self.pending = self.pending, b""
        return data.decode("utf-8", _ERRORS)


class SpmTokenizer:
    name = "spm"

    def __init__(self, proto: bytes, options: dict[str, Any]) -> None:
        import numpy as np
        import sentencepiece as sp

        _register_errors()
        self.proto = proto
        self.options = dict(options)
        self._sp = sp.SentencePieceProcessor(model_proto=proto)
        sp_ = self._sp
        self.vocab_size: int = sp_.get_piece_size()
        unk = sp_.unk_id()
        self.unk_id: int | None = unk if 0 <= unk < self.vocab_size else None
        table: list[bytes] = []
        lengths = np.zeros(self.vocab_size, dtype=np.int64)
        never: list[int] = []
        self._byte_ids: list[int] | None = [0] * 256
        byte_count = 0
        for i in range(self.vocab_size):
            piece = sp_.id_to_piece(i)
            if sp_.is_byte(i):  # "<0xNN>"
                b = int(piece[3:5], 16)
                assert self._byte_ids is not None
                self._byte_ids[b], byte_count = i, byte_count + 1
                table.append(bytes([b]))
                lengths[i] = 0 if 0x80 <= b < 0xC0 else 1  # a continuation byte adds no character
            elif sp_.is_unknown(i):
                table.append(_REPLACEMENT)
                lengths[i] = 1  # an unknown character (byte fallback off: runs of them are one id)
                never.append(i)
            elif sp_.is_control(i) or sp_.is_unused(i):
                table.append(b"")
                never.append(i)
            else:
                text = piece.replace(SPACE_MARK, " ")
                table.append(text.encode("utf-8"))
                lengths[i] = len(text)
        if byte_count != 256:
            self._byte_ids = None  # no byte fallback
        self._table = table
        newline = sp_.piece_to_id("\n")
        self._newline: int | None = newline if sp_.id_to_piece(newline) == "\n" else None
        self._lengths = lengths
        self.never_ids: tuple[int, ...] = tuple(never)  # ids generation must never produce

    # --- encoding ---------------------------------------------------------------------------
    def _spell(self, char: str) -> list[int]:
        """Ids of a character SentencePiece cannot take as it is: its bytes (else unknown)."""
        if self._byte_ids is None:
            return [self.unk_id if self.unk_id is not None else 0]
        return [self._byte_ids[b] for b in char.encode("utf-8", "surrogatepass")]

    def _encode_lines(self, text: str) -> list[int]:
        """SentencePiece's ids for `text`, line by line (a line break is a piece of its own, so
        this is what the whole text would give; faster, and the same however text is chunked)."""
        if "\n" not in text or self._newline is None:
            return list(self._sp.encode(text))
        ids: list[int] = []
        for line in self._sp.encode(text.split("\n"), num_threads=1):
            ids += line
            ids.append(self._newline)
        ids.pop()  # the split made one line more than there are line breaks
        return ids

    def encode(self, text: str) -> np.ndarray:
        """Text -> ids (int32)."""
        import numpy as np

        if not _ROUTED.search(text):
            return np.asarray(self._encode_lines(text), dtype=np.int32)
        ids: list[int] = []
        start = 0
        for m in _ROUTED.finditer(text):
            if m.start() > start:
                ids += self._encode_lines(text[start : m.start()])
            ids += self._spell(m.group())
            start = m.end()
        if start < len(text):
            ids += self._encode_lines(text[start:])
        return np.asarray(ids, dtype=np.int32)

    # --- decoding ---------------------------------------------------------------------------
    def decode(self, ids: Sequence[int]) -> str:
        table, n = self._table, len(self._table)
        data = b"".join(table[i] if 0 <= i < n else _REPLACEMENT for i in ids)
        return data.decode("utf-8", _ERRORS)

    def decode_stream(self) -> StreamDecoder:
        """An incremental decoder that yields only complete characters (for generation)."""
        return StreamDecoder(self._table)

    def token_lengths(self) -> np.ndarray:
        return self._lengths.copy()

    def save(self, directory: Path) -> None:
        home.write_bytes(directory / MODEL_FILE, self.proto)
        meta = {"tokenizer": "spm", "version": FORMAT_VERSION, "vocab_size": self.vocab_size, "options": self.options}
        home.write_json(directory / META_FILE, meta)


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options merged over the defaults; an unknown or bad one is a one-line error."""
    for key in options:
        if key not in DEFAULTS:
            raise StylegenError(f"the spm tokenizer has no option {key!r} (its options: {', '.join(DEFAULTS)})")
    opts = {**DEFAULTS, **options}
    if opts["type"] not in ("bpe", "unigram"):
        raise StylegenError(f"spm tokenizer: type must be bpe or unigram (got {opts['type']!r})")
    for key in ("vocab_size", "sample_lines", "max_piece_length"):
        value = opts[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise StylegenError(f"spm tokenizer: {key} must be a positive integer (got {value!r})")
    coverage = opts["character_coverage"]
    if isinstance(coverage, bool) or not isinstance(coverage, int | float) or not 0 < coverage <= 1:
        raise StylegenError(f"spm tokenizer: character_coverage must be in (0, 1] (got {coverage!r})")
    opts["character_coverage"] = float(coverage)
    for key in ("byte_fallback", "split_digits"):
        if not isinstance(opts[key], bool):
            raise StylegenError(f"spm tokenizer: {key} must be true or false (got {opts[key]!r})")
    return opts


def training_lines(chunks: Iterable[str]) -> Iterator[str]:
    """The non-empty lines of the chunks, cut to MAX_LINE_CHARS (at a space when there is one),
    lone surrogates replaced (SentencePiece takes UTF-8 only)."""
    for chunk in [chunks] if isinstance(chunks, str) else chunks:
        if _SURROGATES.search(chunk):
            chunk = _SURROGATES.sub("\ufffd", chunk)
        for line in chunk.split("\n"):
            while len(line) > MAX_LINE_CHARS:
                cut = line.rfind(" ", MAX_LINE_CHARS // 2, MAX_LINE_CHARS) + 1 or MAX_LINE_CHARS
                yield line[:cut]
                line = line[cut:]
            if line:
                yield line


def _sp_message(e: Exception) -> str:
    """SentencePiece's error, without its source-location prefix, on one line."""
    return " ".join(_SP_PREFIX.sub("", str(e)).split())


class SpmTokenizerFactory:
    name = "spm"
    description = (
        "Subword pieces learned by SentencePiece (unigram or BPE) with byte fallback; "
        "options type, vocab_size, character_coverage, byte_fallback, split_digits"
    )

    def train(self, chunks: Iterable[str], **options: Any) -> SpmTokenizer:
        import sentencepiece as sp

        opts = _check_options(options)
        lines = training_lines(chunks)
        seen = 0
        failure: list[BaseException] = []

        def sentences() -> Iterator[str]:
            # An error while reading the text is kept and raised after SentencePiece returns.
            nonlocal seen
            try:
                for line in lines:
                    seen += 1
                    yield line
            except BaseException as e:
                failure.append(e)

        writer = io.BytesIO()
        sp.set_random_generator_seed(0)  # the same text gives the same tokenizer
        try:
            sp.SentencePieceTrainer.train(
                sentence_iterator=sentences(),
                model_writer=writer,
                model_type=opts["type"],
                vocab_size=opts["vocab_size"],
                character_coverage=opts["character_coverage"],
                byte_fallback=opts["byte_fallback"],
                split_digits=opts["split_digits"],
                max_sentencepiece_length=opts["max_piece_length"],
                input_sentence_size=opts["sample_lines"],
                shuffle_input_sentence=True,
                hard_vocab_limit=False,  # a text too small for vocab_size gives fewer pieces
                normalization_rule_name="identity",
                add_dummy_prefix=False,
                remove_extra_whitespaces=False,
                allow_whitespace_only_pieces=True,
                user_defined_symbols=list(SYMBOLS),
                unk_id=0,
                bos_id=-1,
                eos_id=-1,
                pad_id=-1,
                num_threads=max(1, min(16, os.cpu_count() or 1)),
                minloglevel=2,
            )
        except RuntimeError as e:
            if failure:
                raise failure[0] from None
            raise StylegenError(self._explain(e, opts, seen)) from None
        if failure:
            raise failure[0]
        tokenizer = SpmTokenizer(writer.getvalue(), opts)
        if tokenizer.vocab_size < opts["vocab_size"]:
            plugins.warn(
                f"spm tokenizer: the training text holds only {tokenizer.vocab_size} pieces, "
                f"not the {opts['vocab_size']} asked for; the vocabulary is {tokenizer.vocab_size}"
            )
        tokenizer.options["vocab_size"] = tokenizer.vocab_size
        return tokenizer

    @staticmethod
    def _explain(e: Exception, opts: dict[str, Any], seen: int) -> str:
        message = _sp_message(e)
        if seen == 0:
            return "spm tokenizer: the training text is empty"
        small = re.search(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)", message)
        if small:
            need = int(small.group(2))
            hint = "256 byte pieces, 3 line symbols and the characters" if opts["byte_fallback"] else "the characters"
            return (
                f"spm tokenizer: vocab_size {opts['vocab_size']} is too small for this text: it needs at least "
                f"{need} ({hint}); raise --vocab-size or lower --character-coverage"
            )
        return f"spm tokenizer: SentencePiece failed: {message}"

    def load(self, directory: Path) -> SpmTokenizer:
        import sentencepiece  # noqa: F401  # fail here, not halfway, if it is missing

        meta_path, model_path = directory / META_FILE, directory / MODEL_FILE
        meta = home.read_json(meta_path)
        if not isinstance(meta, dict) or meta.get("tokenizer") != "spm" or not isinstance(meta.get("options"), dict):
            raise StylegenError(f"{meta_path}: not an spm tokenizer description")
        if meta.get("version") != FORMAT_VERSION:
            raise StylegenError(f"{meta_path}: spm tokenizer format {meta.get('version')!r} is not {FORMAT_VERSION}")
        try:
            proto = model_path.read_bytes()
        except FileNotFoundError:
            raise StylegenError(f"{model_path}: file is missing") from None
        try:
            tokenizer = SpmTokenizer(proto, meta["options"])
        except (RuntimeError, UnicodeDecodeError, ValueError, IndexError) as e:  # damaged: pieces not UTF-8...
            raise StylegenError(f"{model_path}: not a SentencePiece model ({_sp_message(e)})") from None
        if tokenizer.vocab_size != meta.get("vocab_size"):
            raise StylegenError(
                f"{model_path}: {tokenizer.vocab_size} pieces, but {meta_path.name} says {meta.get('vocab_size')!r}"
            )
        return tokenizer


@hookimpl
def register_tokenizers(register: Register) -> None:
    register(SpmTokenizerFactory())
