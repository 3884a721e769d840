"""Hostile and odd inputs (hypothesis): arbitrary bytes and Unicode (lone surrogates, RTL
marks, NUL, very long lines) through the corpus extractors, the turn-format detector, both
tokenizers, the chat REPL's commands, and corpus and style names everywhere they are taken.

The rule each test checks: no crash and no hang; a failure is a `StylegenError` (or, for an
extractor, `SkipFile`) with a message, which the command line prints as one line.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_cli import assert_error, invoke, ok, snapshot

from stylegen import home, plugins, styles
from stylegen._chat import ChatSession
from stylegen.builtin.char import CharTokenizerFactory
from stylegen.builtin.spm import SpmTokenizerFactory
from stylegen.cli.chat import Repl
from stylegen.corpus import build_corpus
from stylegen.corpus.turns import KINDS, TurnFormat, count_speakers, detect
from stylegen.errors import StylegenError
from stylegen.protocols import SkipFile

#: Examples per test; STYLEGEN_FUZZ_EXAMPLES=5000 for a deeper run (FEW: a tenth, for slow ones).
EXAMPLES = int(os.environ.get("STYLEGEN_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(
    max_examples=max(10, EXAMPLES // 6), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: Characters that break naive text code: lone surrogates, bidi controls, NUL and other
#: controls, BOM, line and paragraph separators, combining marks, astral characters.
ODD = "\ud800\udfff\u202e\u202d\u200f\u200e\u2066\u2069\x00\x1b\r\x0b\x0c\x85\u2028\u2029\ufeff\u0301😀漢▁:\n\t "
odd_text = st.lists(st.characters() | st.characters(categories=["Cs"]) | st.sampled_from(list(ODD)), max_size=300).map(
    "".join
)
odd_bytes = st.binary(max_size=600) | odd_text.map(lambda t: t.encode("utf-8", "surrogatepass"))

#: Very long lines of the characters markup parsers and regular expressions trip on.
LONG = [c * 200_000 for c in ("a", "<", "[", "*", "`", "|", '"', "{", "\\", "#", ">", "-", ":", " ", "\r", "\ud800")]
LONG += ["<a " * 50_000, "[x](" * 50_000, "A: " * 50_000, "A:\n" * 50_000, "\n\n" * 100_000, "<!--" * 50_000]


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM after `seconds` raises in the test."""

    def timeout(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def one_line(e: BaseException) -> None:
    assert " ".join(str(e).split()), f"{type(e).__name__} without a message"


# --------------------------------------------------------------------------- extractors


def extractors() -> list[Any]:
    return [e.obj for e in plugins.registry().of_kind("extractor")]


def run_extractor(extractor: Any, data: bytes, errors: str, **options: Any) -> None:
    try:
        text = extractor.extract(data, "fuzz.input", errors, **options)
    except (SkipFile, StylegenError) as e:
        one_line(e)
        return
    assert isinstance(text, str)


@FUZZ
@given(data=odd_bytes, errors=st.sampled_from(["strict", "skip", "replace"]))
@example(data=b"[" * 50_000 + b"]" * 50_000, errors="skip")  # nested JSON
@example(data=b'{"text": ' * 10_000, errors="skip")
@example(data="\ufeff\ud800x".encode("utf-8", "surrogatepass"), errors="strict")
def test_every_extractor_takes_any_bytes(data: bytes, errors: str) -> None:
    with within(20):
        for extractor in extractors():
            run_extractor(extractor, data, errors)


@FEW
@given(data=odd_bytes, field=odd_text, column=st.one_of(odd_text, st.integers(-5, 50)))
def test_extractor_options_take_any_value(data: bytes, field: str, column: Any) -> None:
    by_name = {getattr(e, "name", ""): e for e in extractors()}
    with within(20):
        run_extractor(by_name["jsonl"], data, "replace", field=field)
        run_extractor(by_name["csv"], data, "replace", column=column)


@pytest.mark.parametrize("text", LONG, ids=lambda t: f"{t[:6]!r}x{len(t)}")
def test_very_long_lines_finish(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    with within(30):
        for extractor in extractors():
            run_extractor(extractor, data, "replace")
        detect(text)


@FEW
@given(data=odd_bytes, suffix=st.sampled_from([".txt", ".md", ".html", ".jsonl", ".csv", ".srt", ".py", ""]))
def test_a_corpus_builds_or_fails_in_one_line_from_any_file(
    data: bytes, suffix: str, hermetic: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    src = tmp_path_factory.mktemp("fuzz") / f"input{suffix}"
    src.write_bytes(data)
    with within(30):
        result = invoke("corpus", "build", "fuzz", str(src), "--errors", "replace", "--force")
    if result.exit_code:
        assert_error(result, 1)


# --------------------------------------------------------------------------- turn formats


@FUZZ
@given(text=odd_text, kind=st.sampled_from(["auto", *KINDS]))
@example(text="A:\nx\n\n" * 2000, kind="auto")
def test_the_turn_detector_takes_any_text(text: str, kind: str) -> None:
    with within(20):
        fmt = detect(text, kind)
        speakers = count_speakers(fmt.kind, [text[: len(text) // 2], text[len(text) // 2 :]])
    assert fmt.kind in KINDS and all(isinstance(n, int) for n in speakers.values())
    if fmt.has_turns:
        turn = fmt.turn(fmt.resolve(text[:40] or "x"), text)
        assert turn.endswith(fmt.end)
        fmt.parse_header(text)


@FUZZ
@given(
    data=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_a_turn_format_from_any_json_is_a_format_or_an_error(data: Any) -> None:
    try:
        fmt = TurnFormat.from_json(data)
    except (StylegenError, TypeError, ValueError) as e:
        one_line(e)  # style.json's schema refuses these before a style is loaded
        return
    assert fmt.kind in KINDS


# --------------------------------------------------------------------------- tokenizers


@pytest.fixture(scope="module")
def spm() -> Any:
    text = "It was the best of times, it was the worst of times.\n" * 200 + "café naïve Ångström 😀\n"
    return SpmTokenizerFactory().train([text], vocab_size=300)


@FUZZ
@given(train=odd_text, text=odd_text, ids=st.lists(st.integers(-(2**40), 2**40), max_size=50))
def test_the_char_tokenizer_takes_any_text_and_ids(train: str, text: str, ids: list[int]) -> None:
    tok = CharTokenizerFactory().train([train])
    encoded = tok.encode(text)
    assert len(encoded) == len(text) and all(0 <= i < tok.vocab_size for i in encoded.tolist())
    assert isinstance(tok.decode(ids), str)
    if set(text) <= set(train):
        assert tok.decode(encoded.tolist()) == text


@FUZZ
@given(text=odd_text, ids=st.lists(st.integers(-(2**40), 2**40), max_size=50))
def test_the_spm_tokenizer_takes_any_text_and_ids(spm: Any, text: str, ids: list[int]) -> None:
    with within(20):
        encoded = spm.encode(text)
        assert spm.decode(encoded.tolist()) == text  # byte fallback: every string round-trips
        assert isinstance(spm.decode(ids), str)
        stream = spm.decode_stream()
        assert isinstance("".join(stream.push(i) for i in ids) + stream.flush(), str)


#: char vocabularies as `CharTokenizer.save` writes them, and the same with bytes overwritten or cut off
vocab_bytes = st.lists(st.characters(codec="utf-8"), unique=True, max_size=20).map(
    lambda chars: json.dumps({"tokenizer": "char", "version": 1, "unk_id": 0, "chars": sorted(chars)}).encode()
)
damaged_vocab_bytes = st.tuples(vocab_bytes, st.integers(0, 2**32 - 1), st.integers(0, 3), st.booleans()).map(
    lambda t: damage(*t)
)


def damage(data: bytes, seed: int, cuts: int, truncate: bool) -> bytes:
    """`data` with `cuts` random bytes overwritten, then cut off at a random length if `truncate`."""
    import random

    rng, out = random.Random(seed), bytearray(data)
    for _ in range(cuts):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out[: rng.randrange(len(out))] if truncate else out)


@FUZZ
@given(data=odd_bytes | vocab_bytes | damaged_vocab_bytes)
@example(data=b"[" * 100_000)
@example(data=b'{"chars": ["b", "a"]}')  # not sorted
@example(data=b'{"chars": ["a", "bc"]}')  # a piece of two characters
@example(data=b'{"chars": ["\\n", "a", "\\u00e9"]}')  # a vocabulary: loads
def test_a_damaged_char_vocabulary_is_named(data: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("vocab")
    (folder / "vocab.json").write_bytes(data)
    try:
        tok = CharTokenizerFactory().load(folder)
    except StylegenError as e:
        assert "vocab.json" in str(e)
        return
    # It loaded, so the file is a vocabulary: sorted distinct characters, each read as its own id.
    chars = json.loads(data)["chars"]
    assert all(isinstance(c, str) and len(c) == 1 for c in chars) and chars == sorted(set(chars))
    assert tok.vocab_size == len(chars) + 1  # and the unknown id
    text = "".join(chars)
    assert tok.decode(tok.encode(text).tolist()) == text


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), cuts=st.integers(1, 30), truncate=st.booleans())
@example(seed=0, cuts=0, truncate=False)  # intact: loads
def test_a_damaged_spm_model_is_named(
    spm: Any, seed: int, cuts: int, truncate: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("spm")
    spm.save(folder)
    (folder / "spm.model").write_bytes(damage(spm.proto, seed, cuts, truncate))
    try:
        tok = SpmTokenizerFactory().load(folder)
    except StylegenError as e:
        assert "spm.model" in str(e)
        return
    # It loaded, so it works: ids in the vocabulary, and every string round-trips (byte fallback).
    ids = tok.encode("hello wörld\n").tolist()
    assert all(0 <= i < tok.vocab_size for i in ids) and tok.decode(ids) == "hello wörld\n"


# --------------------------------------------------------------------------- the chat REPL

COMMANDS = ["/temp", "/sampler", "/set", "/as", "/to", "/speakers", "/reset", "/help", "/quit", "/exit", "/x", "/"]


def repl(style: Any) -> Repl:
    session = ChatSession(style, seed=0, max_tokens=8)
    return Repl(session, io.StringIO(), io.StringIO(), io.StringIO(), interactive=False)


@pytest.fixture
def chat_styles(trained: str, play: str) -> list[Any]:
    return [styles.load_style(trained), styles.load_style(play)]


@FUZZ
@given(name=st.sampled_from(COMMANDS), arg=odd_text, value=odd_text)
@example(name="/set", arg="temperature", value="nan")
@example(name="/set", arg="top_k", value="-1")
@example(name="/set", arg="repetition_penalty", value="inf")
@example(name="/temp", arg="1e309", value="")
@example(name="/as", arg="\u202eNNA", value="")
def test_chat_commands_take_any_argument(chat_styles: list[Any], name: str, arg: str, value: str) -> None:
    for style in chat_styles:
        r = repl(style)
        line = f"{name} {arg} {value}" if name == "/set" else f"{name} {arg}"
        try:
            assert r.command(line.strip()) in (None, "quit")
        except StylegenError as e:
            one_line(e)
        with within(20):
            r.answer("hello")  # the session still answers after any command


class AnswerLog(Repl):
    """A REPL that records the messages it answered (an answer writes at least its newline)."""

    answered: list[str]

    def answer(self, message: str) -> None:
        written = self.stdout.tell()
        super().answer(message)
        if self.stdout.tell() > written:
            self.answered.append(message)


@FEW
@given(lines=st.lists(odd_text | st.sampled_from(COMMANDS), max_size=6))
@example(lines=["hello", "/temp abc", "/x", "", "again", "/quit", "not read"])
def test_the_repl_runs_any_input(chat_styles: list[Any], lines: list[str]) -> None:
    """Every message up to /quit or /exit is answered, in order, whatever the commands between
    them did, and without one the input is read to its end."""
    fed = [line.replace("\n", " ") for line in lines]
    expected: list[str] = []
    quits = False
    for line in fed:
        if line.startswith("/") and line.strip().partition(" ")[0] in ("/quit", "/exit"):
            quits = True
            break
        if line.strip() and not line.startswith("/"):
            expected.append(line)
    for style in chat_styles:
        stdin, stderr = io.StringIO("\n".join(fed) + "\n"), io.StringIO()
        r = AnswerLog(ChatSession(style, seed=0, max_tokens=8), stdin, io.StringIO(), stderr, interactive=False)
        r.answered = []
        with within(30):
            r.run()
        assert r.answered == expected
        assert "Traceback" not in stderr.getvalue()
        if not quits:
            assert stdin.read() == ""  # every line was read


@FEW
@given(data=odd_bytes, name=st.from_regex(r"[a-z]{1,8}", fullmatch=True))
def test_load_state_takes_any_file(
    chat_styles: list[Any], data: bytes, name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("state") / name
    path.write_bytes(data)
    r = repl(chat_styles[1])
    with pytest.raises(StylegenError) as e:
        r.command(f"/load-state {path}")
    one_line(e.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)
#: What a crafted chat state file changes: a session key set to any JSON value (or removed), a
#: tensor replaced by one of another shape or dtype (or removed), or the nesting made deep.
STATE_KEYS = ["structure", "sampler_state", "turns", "user", "to", "sampler", "params", "penalties", "seed", "style"]
TENSOR_KEYS = ["state.0", "state.1", "last", "counts", "rng"]
session_edits = st.tuples(st.sampled_from(STATE_KEYS), st.none() | json_values, st.booleans())
tensor_edits = st.tuples(
    st.sampled_from(TENSOR_KEYS),
    st.lists(st.integers(0, 3), max_size=3),
    st.sampled_from(["float32", "float64", "uint8", "int64", "bfloat16", "drop"]),
)


@FEW
@given(
    edits=st.lists(session_edits, max_size=3),
    tensors=st.lists(tensor_edits, max_size=2),
    depth=st.sampled_from([0, 0, 0, 5_000, 50_000]),
)
def test_load_state_takes_any_crafted_session(
    chat_styles: list[Any], tmp_path_factory: pytest.TempPathFactory, edits: Any, tensors: Any, depth: int
) -> None:
    """A state file as `/save-state` writes it, with its description and tensors changed: it
    loads, or is refused in one line with the session as it was."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("crafted")
    r = repl(chat_styles[1])
    r.answer("hello")
    good, bad = folder / "good.state", folder / "bad.state"
    r.command(f"/save-state {good}")
    with safe_open(str(good), framework="pt") as f:
        meta = dict(f.metadata())
        data = {k: f.get_tensor(k) for k in f.keys()}
    session = json.loads(meta["session"])
    for key, value, remove in edits:
        if remove:
            session.pop(key, None)
        else:
            session[key] = value
    for key, shape, dtype in tensors:
        if dtype == "drop":
            data.pop(key, None)
        else:
            data[key] = torch.zeros(shape, dtype=getattr(torch, dtype))
    text = json.dumps(session)
    if depth:
        text = text[:-1] + ', "structure": ' + '{"t": "list", "items": [' * depth + "]}" * depth + "}"
    save_file(data, str(bad), metadata={**meta, "session": text})
    s = r.session
    before = (s.decoder.last.clone(), [(t.speaker, t.text) for t in s.turns], s.sampler, dict(s.params))
    try:
        r.command(f"/load-state {bad}")
    except StylegenError as e:
        one_line(e)
        after = (s.decoder.last, [(t.speaker, t.text) for t in s.turns], s.sampler, dict(s.params))
        assert bool((before[0] == after[0]).all()) and before[1:] == after[1:]  # unchanged
    with within(20):
        r.answer("and now")  # the session answers on, loaded or not


def test_chat_on_stdin_with_invalid_utf8(trained: str, hermetic: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stylegen", "chat", trained, "--seed", "1"],
        input=b"caf\xe9 \xff\xfe\x00 hello\n/temp \xff\n\xed\xa0\x80 surrogate\n",
        capture_output=True,
        env={"STYLEGEN_HOME": str(hermetic), "STYLEGEN_LOAD_PLUGINS": "", "OMP_NUM_THREADS": "1", "PATH": ""},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr


# --------------------------------------------------------------------------- names

BAD_NAMES = [
    "", ".", "..", "-rf", "--help", ".hidden", "a/b", "a\\b", "/abs", "../up", "a\n", "a\x00b", "a.", "a ",
    "con", "CON", "nul.txt", "Com1", "lpt9.log", "aux", "conin$", "é", "a" * 65, "\u202eevil", "a:b", "a*b",
]  # fmt: skip


@FUZZ
@given(name=odd_text | st.text(alphabet="abc.-_/\\:\n ", max_size=8))
@example(name="abc\n")
@example(name="con.tar.gz")
def test_a_name_is_safe_or_refused(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    try:
        checked = home.check_name(name, "style")
    except StylegenError as e:
        assert str(e).startswith("invalid style name")
        return
    assert checked == name and 1 <= len(name) <= 64 and name.isascii() and name.isprintable()
    assert not name.startswith((".", "-")) and not name.endswith(".") and "/" not in name and "\\" not in name
    assert name.split(".")[0].lower() not in home.RESERVED
    base = tmp_path_factory.getbasetemp().resolve()
    assert (base / name).resolve().parent == base


@pytest.mark.parametrize("name", BAD_NAMES)
def test_every_entry_point_refuses_a_bad_name(trained: str, hermetic: Path, tmp_path: Path, name: str) -> None:
    before = snapshot(hermetic)
    archive = tmp_path / "a.zip"
    if not archive.exists():
        ok(invoke("styles", "export", trained, str(archive)))
    commands = [
        (["corpus", "build", name, str(tmp_path)], "corpus"),
        (["corpus", "show", name], "corpus"),
        (["corpus", "rm", name], "corpus"),
        (["train", name], "corpus"),
        (["train", trained, "--name", name], "style"),
        (["generate", name], "style"),
        (["chat", name], "style"),
        (["inspect", name, "--topk", "3", "--", "x"], "style"),
        (["styles", "show", name], "style"),
        (["styles", "rm", name], "style"),
        (["styles", "export", name, str(tmp_path / "b.zip")], "style"),
        (["styles", "import", str(archive), "--name", name], "style"),
        (["tui", name], "style"),
    ]
    for args, what in commands:
        result = invoke(*args)
        if name.startswith("-") and result.exit_code in (0, 2):  # click read it as an option
            continue
        assert_error(result, 1, f"invalid {what} name")
    assert snapshot(hermetic) == before
    assert not (tmp_path / "b.zip").exists()


@pytest.mark.parametrize("name", ["../up", "con", "a\n", "-x"])
def test_every_api_function_refuses_a_bad_name(trained: str, hermetic: Path, tmp_path: Path, name: str) -> None:
    from stylegen import locks, transfer
    from stylegen.corpus import load_corpus, remove_corpus
    from stylegen.training import TrainConfig, train

    ok(invoke("styles", "export", trained, str(tmp_path / "a.zip")))
    before = snapshot(hermetic)
    calls = [
        lambda: build_corpus(name, [str(tmp_path)]),
        lambda: load_corpus(name),
        lambda: remove_corpus(name),
        lambda: styles.load_style(name),
        lambda: styles.read_meta(name),
        lambda: styles.remove_style(name),
        lambda: styles.user_style_path(name),
        lambda: train(TrainConfig(corpus=trained, name=name)),
        lambda: train(TrainConfig(corpus=name, name="ok")),
        lambda: transfer.export_style(name, tmp_path / "b.zip"),
        lambda: transfer.import_style(tmp_path / "a.zip", name=name),
        lambda: locks.style_lock(name),
        lambda: locks.corpus_lock(name),
    ]
    for call in calls:
        with pytest.raises(StylegenError, match=r"invalid (corpus|style) name"):
            call()
    assert snapshot(hermetic) == before


def test_names_in_json_outputs_round_trip(trained: str) -> None:
    meta = json.loads(ok(invoke("styles", "show", trained, "--json")).stdout)
    assert home.check_name(meta["name"], "style") == trained


# --------------------------------------------------------------------------- import shapes (issue 15, item 11)

#: Where a packed checkpoint's payload is changed: every field that import and --resume check.
CHECKPOINT_PATHS: list[tuple[Any, ...]] = [
    ("step",),
    ("epoch",),
    ("stale",),
    ("seconds",),
    ("best_bpc",),
    ("rng",),
    ("world",),
    ("config",),
    ("config", "lr"),
    ("model",),
    ("state",),
    ("state", 0),
    ("ema",),
    ("optimizer",),
    ("optimizer", "state"),
    ("optimizer", "state", 0, "exp_avg"),
    ("optimizer", "state", 0, "step"),
    ("optimizer", "param_groups"),
    ("optimizer", "param_groups", 0, "params"),
    ("optimizer", "param_groups", 0, "lr"),
    ("optimizer", "param_groups", 0, "betas"),
]


def _tensor(shape: tuple[int, ...], dtype: str) -> Any:
    import torch

    return torch.zeros(shape, dtype=getattr(torch, dtype))


tensors = st.builds(
    _tensor,
    st.lists(st.integers(0, 5), max_size=3).map(tuple),
    st.sampled_from(["uint8", "float32", "int64", "bool"]),
)
odd_values = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=5)
    | tensors
    | st.lists(st.integers(-1, 3) | tensors, max_size=3)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


def _replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`node` with the item at `path` replaced by `value` (tuples rebuilt; a missing step adds it)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        key = head if head in node or not node or not isinstance(next(iter(node)), int) else next(iter(node))
        return {**node, key: _replaced(node.get(key), rest, value)}
    if isinstance(node, list | tuple) and isinstance(head, int) and head < len(node):
        items = list(node)
        items[head] = _replaced(items[head], rest, value)
        return type(node)(items)
    return value


@pytest.fixture
def packed_archive(trained: str, tmp_path: Path) -> tuple[Path, dict[str, bytes], Any]:
    """Style `tiny` exported with its checkpoint: the archive, its members and the payload."""
    import zipfile

    from safetensors.torch import load

    from stylegen.training import portable

    archive = tmp_path / "tiny.zip"
    ok(invoke("styles", "export", trained, str(archive), "--with-checkpoint"))
    with zipfile.ZipFile(archive) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    payload = portable.unpack(load(files[portable.CKPT_TENSORS]), json.loads(files[portable.CKPT_JSON]))
    return archive, files, payload


@FEW
@given(path=st.sampled_from(CHECKPOINT_PATHS), value=odd_values)
@example(path=("rng",), value=_tensor((9,), "uint8"))
@example(path=("stale",), value="x")
@example(path=("optimizer", "state", 0, "exp_avg"), value=_tensor((3,), "float32"))
@example(path=("optimizer", "param_groups", 0, "params"), value=[0])
@example(path=("ema",), value=_tensor((0,), "int64"))  # an empty tensor beside another of another type
def test_import_takes_any_checkpoint_shape(
    packed_archive: tuple[Path, dict[str, bytes], Any],
    path: tuple[Any, ...],
    value: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A packed checkpoint changed anywhere import checks is refused in one line, or imports
    and then resumes: nothing accepted fails later."""
    from test_transfer import rezip

    from stylegen import transfer
    from stylegen.training import checkpoint, portable

    _, files, payload = packed_archive
    try:
        tensors_bytes, structure = portable.pack(_replaced(payload, path, value))
    except StylegenError:
        return  # a value an archive cannot carry
    changed = rezip(
        tmp_path_factory.mktemp("fuzz") / "x.zip",
        {**files, portable.CKPT_TENSORS: tensors_bytes, portable.CKPT_JSON: structure},
    )
    try:
        transfer.import_style(changed, name="fuzzed", force=True)
    except StylegenError as e:
        one_line(e)
        return
    from stylegen.training import TrainConfig, train

    step = int(checkpoint.load(styles.style_path("fuzzed"))["step"])
    train(TrainConfig(corpus="tiny", name="fuzzed", max_steps=step + 1), resume=True)  # no error at all
