"""The `stylegen` command line, end to end.

In-process runs go through click's `CliRunner` (stdout and stderr kept apart); a few real
subprocess runs check the console script, `python -m stylegen`, exit codes, the streams
and that importing the CLI stays cheap. Every failure must be one `error: ...` line on
stderr, exit 1 (2 for usage errors), and leave the data home exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import stylegen
from stylegen.cli import cli

TEXT = "the quick brown fox jumps over the lazy dog.\n"
#: Tiny training settings for `stylegen train`: about a second on a 2-core CPU.
TINY_ARGS = [
    "--layers", "1", "--hidden", "32", "--embed", "16", "--batch-size", "4", "--seq-len", "16",
    "--max-steps", "20", "--eval-every", "10", "--device", "cpu",
]  # fmt: skip
KINDS = {"source", "extractor", "tokenizer", "model", "sampler", "observer"}


# --------------------------------------------------------------------------- helpers


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        return CliRunner()  # click >= 8.2 always keeps result.stderr apart from result.stdout


def invoke(*args: str, input: str | None = None) -> Result:
    return _runner().invoke(cli, list(args), input=input)


def snapshot(home: Path) -> dict[str, str]:
    """Every path under the data home (hidden leftovers included) with its content hash."""
    if not home.exists():
        return {}
    return {
        p.relative_to(home).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
        for p in sorted(home.rglob("*"))
    }


def assert_error(result: Result, code: int, *needles: str) -> str:
    """Exit `code`, nothing on stdout, one `error:` line on stderr that contains `needles`."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert result.stdout == "", result.stdout
    return lines[0]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def manifest(home: Path, name: str) -> dict[str, Any]:
    return json.loads((home / "corpora" / name / "manifest.json").read_text(encoding="utf-8"))


def stored_text(home: Path, name: str) -> str:
    folder = home / "corpora" / name
    return "".join((folder / f).read_text(encoding="utf-8") for f in ("train.txt", "val.txt"))


def origins(m: dict[str, Any], root: Path) -> list[str]:
    return [Path(s["origin"]).relative_to(root).as_posix() for s in m["sources"]]


@pytest.fixture
def mixed_dir(tmp_path: Path) -> Path:
    """A folder with one good file, one that is not valid UTF-8 and one binary file."""
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "good.txt").write_text(TEXT * 20, encoding="utf-8")
    (root / "bad.txt").write_bytes(b"caf\xe9 au lait\n" * 5)
    return root


# --------------------------------------------------------------------------- bad inputs


def test_missing_path(hermetic: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    assert_error(invoke("corpus", "build", "x", missing), 1, missing, "no such file")
    assert snapshot(hermetic) == {}


@pytest.mark.parametrize("content", ["", "  \n\t\n   \n"], ids=["empty-file", "whitespace-only"])
@pytest.mark.parametrize("as_folder", [True, False], ids=["folder", "file"])
def test_empty_corpus(hermetic: Path, tmp_path: Path, content: str, as_folder: bool) -> None:
    folder = tmp_path / "blank"
    folder.mkdir()
    (folder / "only.txt").write_text(content, encoding="utf-8")
    source = folder if as_folder else folder / "only.txt"
    assert_error(invoke("corpus", "build", "x", str(source)), 1, "corpus 'x'", "empty", str(source))
    assert snapshot(hermetic) == {}


def test_corpus_shorter_than_a_training_window(hermetic: Path, tmp_path: Path) -> None:
    src = tmp_path / "short.txt"
    src.write_text("just thirty characters long.\n", encoding="utf-8")
    ok(invoke("corpus", "build", "short", str(src)))
    before = snapshot(hermetic)
    assert_error(invoke("train", "short"), 1, "corpus 'short'", "too short")
    assert snapshot(hermetic) == before
    assert not (hermetic / "styles").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "nope"], "no corpus named 'nope'"),
        (["corpus", "show", "nope"], "no corpus named 'nope'"),
        (["corpus", "rm", "nope"], "no corpus named 'nope'"),
        (["generate", "nope"], "no style named 'nope'"),
        (["styles", "show", "nope"], "no style named 'nope'"),
        (["styles", "rm", "nope"], "no style named 'nope'"),
    ],
)
def test_unknown_corpus_or_style(trained: str, hermetic: Path, args: list[str], needle: str) -> None:
    before = snapshot(hermetic)
    assert_error(invoke(*args), 1, needle)
    assert snapshot(hermetic) == before


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--model", "nope"], ["unknown model 'nope'", "lstm"]),
        (["--tokenizer", "nope"], ["unknown tokenizer 'nope'", "char"]),
        (["--model-opt", "bogus=1"], ["unknown option 'bogus'"]),
    ],
)
def test_unknown_plugin_or_option_in_train(
    tiny_corpus: str, hermetic: Path, args: list[str], needles: list[str]
) -> None:
    before = snapshot(hermetic)
    assert_error(invoke("train", tiny_corpus, *TINY_ARGS, *args), 1, *needles)
    assert snapshot(hermetic) == before
    assert not (hermetic / "styles").exists()


def test_unknown_sampler(trained: str, hermetic: Path) -> None:
    before = snapshot(hermetic)
    assert_error(invoke("generate", trained, "--sampler", "nope", "--seed", "1"), 1, "unknown sampler 'nope'")
    assert snapshot(hermetic) == before


def test_unknown_sampler_writes_nothing_to_stdout(trained: str) -> None:
    assert_error(
        invoke("generate", trained, "--prime", "Hello", "--sampler", "nope", "--seed", "1"), 1, "sampler 'nope'"
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "tiny", "--hidden", "0"], "--hidden"),
        (["train", "tiny", "--layers", "-1"], "--layers"),
        (["train", "tiny", "--max-steps", "0"], "--max-steps"),
        (["train", "tiny", "--resume", "--force"], "--resume and --force"),
        (["generate", "tiny", "--n", "0"], "--n"),
        (["corpus", "build", "x", "{dir}", "--val-fraction", "1.5"], "--val-fraction"),
        (["corpus", "build", "x", "{dir}", "--errors", "ignore"], "--errors"),
        (["corpus", "build", "x"], "SOURCES"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_usage_errors_exit_2(tiny_corpus: str, texts_dir: Path, hermetic: Path, args: list[str], needle: str) -> None:
    before = snapshot(hermetic)
    assert_error(invoke(*[a.format(dir=texts_dir) for a in args]), 2, needle, "--help")
    assert snapshot(hermetic) == before


@pytest.mark.parametrize("name", ["a/b", "../x", "a\\b", ".hidden"])
def test_style_name_with_path_separator(tiny_corpus: str, hermetic: Path, name: str) -> None:
    before = snapshot(hermetic)
    assert_error(invoke("train", tiny_corpus, "--name", name, *TINY_ARGS), 1, "invalid style name", repr(name))
    assert snapshot(hermetic) == before


@pytest.mark.parametrize("name", ["../x", "a/b", "/abs"])
def test_corpus_name_with_path_separator(hermetic: Path, texts_dir: Path, name: str) -> None:
    assert_error(invoke("corpus", "build", name, str(texts_dir)), 1, "invalid corpus name", repr(name))
    assert snapshot(hermetic) == {}
    assert not (hermetic.parent / "x").exists()


def test_train_bad_corpus_name_is_called_a_corpus(hermetic: Path) -> None:
    assert_error(invoke("train", "../x"), 1, "invalid corpus name")


def test_existing_corpus_is_refused_without_force(tiny_corpus: str, texts_dir: Path, hermetic: Path) -> None:
    before = snapshot(hermetic)
    assert_error(invoke("corpus", "build", tiny_corpus, str(texts_dir)), 1, "corpus 'tiny' already exists", "--force")
    assert snapshot(hermetic) == before
    ok(invoke("corpus", "build", tiny_corpus, str(texts_dir / "a.txt"), "--force"))
    assert manifest(hermetic, tiny_corpus)["stats"]["documents"] == 1


def test_existing_style_is_refused_without_resume_or_force(trained: str, hermetic: Path) -> None:
    before = snapshot(hermetic)
    assert_error(invoke("train", trained, *TINY_ARGS), 1, "style 'tiny' already exists", "--resume", "--force")
    assert snapshot(hermetic) == before


def test_force_replaces_and_resume_continues_an_existing_style(trained: str, hermetic: Path) -> None:
    meta_path = hermetic / "styles" / trained / "style.json"
    assert json.loads(meta_path.read_text(encoding="utf-8"))["steps"] == 120
    ok(invoke("train", trained, "--resume", "--max-steps", "130", "--quiet"))
    assert json.loads(meta_path.read_text(encoding="utf-8"))["steps"] == 130
    ok(invoke("train", trained, "--force", "--quiet", *TINY_ARGS))
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["steps"] == 20 and meta["model"]["config"]["hidden"] == 32
    assert sorted(p.name for p in (hermetic / "styles").iterdir()) == [trained]  # no leftovers beside it


def test_resume_a_style_that_does_not_exist(tiny_corpus: str, hermetic: Path) -> None:
    before = snapshot(hermetic)
    assert_error(invoke("train", tiny_corpus, "--name", "fresh", "--resume"), 1, "fresh", "no checkpoint")
    assert snapshot(hermetic) == before


def test_resume_a_style_without_checkpoint(trained: str, hermetic: Path) -> None:
    shutil.rmtree(hermetic / "styles" / trained / "checkpoint")
    before = snapshot(hermetic)
    assert_error(invoke("train", trained, "--resume", "--max-steps", "130"), 1, "state.pt", "no checkpoint")
    assert snapshot(hermetic) == before


def test_resume_with_model_options_is_a_usage_error(trained: str, hermetic: Path) -> None:
    before = snapshot(hermetic)
    assert_error(invoke("train", trained, "--resume", "--hidden", "64"), 2, "model options")
    assert snapshot(hermetic) == before


def test_resume_a_damaged_checkpoint_is_one_line(trained: str, hermetic: Path) -> None:
    (hermetic / "styles" / trained / "checkpoint" / "state.pt").write_bytes(b"not a checkpoint")
    before = snapshot(hermetic)
    assert_error(invoke("train", trained, "--resume", "--max-steps", "130"), 1, "state.pt", "damaged checkpoint")
    assert snapshot(hermetic) == before


def test_invalid_utf8_strict_names_the_file(mixed_dir: Path, hermetic: Path) -> None:
    assert_error(invoke("corpus", "build", "x", str(mixed_dir)), 1, str(mixed_dir / "bad.txt"), "UTF-8", "--errors")
    assert snapshot(hermetic) == {}


def test_invalid_utf8_skip_reports_the_file(mixed_dir: Path, hermetic: Path) -> None:
    result = ok(invoke("corpus", "build", "x", str(mixed_dir), "--errors", "skip"))
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: skipped ") and "bad.txt" in warnings[0]
    assert "1 file(s) skipped" in result.stdout
    m = manifest(hermetic, "x")
    assert origins(m, mixed_dir) == ["good.txt"]
    assert [Path(s["origin"]).name for s in m["skipped"]] == ["bad.txt"]
    assert "UTF-8" in m["skipped"][0]["reason"]
    shown = json.loads(ok(invoke("corpus", "show", "x", "--json")).stdout)
    assert [Path(s["origin"]).name for s in shown["skipped"]] == ["bad.txt"]


def test_invalid_utf8_replace_keeps_the_file(mixed_dir: Path, hermetic: Path) -> None:
    result = ok(invoke("corpus", "build", "x", str(mixed_dir), "--errors", "replace"))
    assert result.stderr == ""
    m = manifest(hermetic, "x")
    assert sorted(origins(m, mixed_dir)) == ["bad.txt", "good.txt"]
    assert m["skipped"] == []
    assert "caf\ufffd au lait" in stored_text(hermetic, "x")


def test_binary_file_in_a_folder_is_skipped_with_a_reason(mixed_dir: Path, hermetic: Path) -> None:
    (mixed_dir / "bad.txt").unlink()
    (mixed_dir / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = ok(invoke("corpus", "build", "x", str(mixed_dir), "--json"))
    m = json.loads(result.stdout)
    assert m == manifest(hermetic, "x")
    assert origins(m, mixed_dir) == ["good.txt"]
    assert [(Path(s["origin"]).name, s["reason"]) for s in m["skipped"]] == [
        ("blob.bin", "binary file (PNG image)")  # known formats are named by their signature
    ]
    assert re.fullmatch(r"warning: skipped .*blob\.bin: binary file \(PNG image\)\n", result.stderr)


# --------------------------------------------------------------------------- happy paths: corpora


def test_build_from_a_folder(texts_dir: Path, hermetic: Path) -> None:
    result = ok(invoke("corpus", "build", "books", str(texts_dir)))
    assert result.stdout.startswith("built corpus 'books': 3 documents")
    assert result.stderr == ""
    m = manifest(hermetic, "books")
    assert origins(m, texts_dir) == ["a.txt", "more/b.txt", "more/c.md"]  # recursive, sorted, .git left out
    assert m["stats"]["documents"] == 3
    assert [s["chars"] for s in m["sources"]] == [len(TEXT) * 100, len(TEXT) * 100, len(TEXT) * 50]
    stored = stored_text(hermetic, "books")
    assert m["stats"]["chars"] == len(stored) >= len(TEXT) * 250
    assert m["split"]["train_chars"] + m["split"]["val_chars"] == m["stats"]["chars"]
    assert stored.replace("\n\n", "\n") == TEXT * 250  # the three documents, in order
    assert "not corpus text" not in stored
    assert sorted(p.name for p in (hermetic / "corpora").iterdir()) == ["books"]  # no staging leftovers


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--include", "*.txt"], ["a.txt", "more/b.txt"]),
        (["--include", "*.md"], ["more/c.md"]),
        (["--exclude", "*.md"], ["a.txt", "more/b.txt"]),
        (["--exclude", "more/*"], ["a.txt"]),
        (["--include", "*.txt", "--exclude", "b.txt"], ["a.txt"]),
        (["--include", "*.txt", "--include", "*.md"], ["a.txt", "more/b.txt", "more/c.md"]),
    ],
)
def test_build_include_exclude(texts_dir: Path, hermetic: Path, options: list[str], expected: list[str]) -> None:
    ok(invoke("corpus", "build", "x", str(texts_dir), *options))
    m = manifest(hermetic, "x")
    assert origins(m, texts_dir) == expected
    assert m["stats"]["documents"] == len(expected)


def test_build_from_stdin(hermetic: Path) -> None:
    text = "from standard input, line by line.\n" * 30
    result = ok(invoke("corpus", "build", "piped", "-", input=text))
    assert "built corpus 'piped': 1 documents" in result.stdout
    m = manifest(hermetic, "piped")
    assert [s["origin"] for s in m["sources"]] == ["<stdin>"]
    assert m["stats"]["chars"] == len(text)
    assert stored_text(hermetic, "piped") == text


def test_corpus_list_show_rm(tiny_corpus: str, hermetic: Path) -> None:
    listed = ok(invoke("corpus", "list")).stdout.splitlines()
    assert listed[0].split()[:4] == ["NAME", "CHARS", "WORDS", "DOCS"]
    assert [line.split()[0] for line in listed[1:]] == [tiny_corpus]
    as_json = json.loads(ok(invoke("corpus", "list", "--json")).stdout)
    assert [c["name"] for c in as_json] == [tiny_corpus]

    shown = ok(invoke("corpus", "show", tiny_corpus)).stdout
    assert shown.startswith(f"corpus {tiny_corpus}")
    assert "distinct characters" in shown and "excerpt:" in shown

    info = json.loads(ok(invoke("corpus", "show", tiny_corpus, "--json")).stdout)
    for key in ("chars", "words", "lines", "documents", "vocabulary", "most_frequent", "rarest", "excerpt", "split"):
        assert key in info, key
    stored = stored_text(hermetic, tiny_corpus)
    assert info["chars"] == len(stored)
    assert info["documents"] == 3
    assert info["lines"] == stored.count("\n")
    assert info["vocabulary"] == len(set(TEXT))
    assert info["most_frequent"][0] == [" ", TEXT.count(" ") * 250]
    assert [c for c, _ in info["rarest"]] and all(n >= 1 for _, n in info["rarest"])
    assert info["excerpt"] and info["excerpt"] in stored
    assert info["split"]["train_chars"] + info["split"]["val_chars"] == info["chars"]

    result = ok(invoke("corpus", "rm", tiny_corpus))
    assert f"removed corpus '{tiny_corpus}'" in result.stdout
    assert not (hermetic / "corpora" / tiny_corpus).exists()
    empty = ok(invoke("corpus", "list"))
    assert empty.stdout == "" and "no corpora yet" in empty.stderr
    assert json.loads(ok(invoke("corpus", "list", "--json")).stdout) == []


# --------------------------------------------------------------------------- happy paths: train, styles, generate


def test_train_then_list_show_and_remove_the_style(tiny_corpus: str, hermetic: Path) -> None:
    result = ok(invoke("train", tiny_corpus, "--name", "mine", *TINY_ARGS))
    assert re.fullmatch(r"style 'mine': validation \d+\.\d{4} bits/char after 20 steps\n", result.stdout)
    assert "training mine: lstm" in result.stderr  # progress goes to stderr
    assert "validation" in result.stderr and "done (max_steps)" in result.stderr

    table = ok(invoke("styles")).stdout.splitlines()
    assert table[0].split()[:6] == ["NAME", "CORPUS", "TOKENIZER", "MODEL", "PARAMS", "VAL"]
    row = next(line for line in table[1:] if line.split()[0] == "mine")
    assert row.split()[1:5] == [tiny_corpus, "char", "lstm", "1x32"]
    assert re.search(r"\s\d+\.\d{3}\s+20\s+done\s", row), row
    assert ok(invoke("styles", "list")).stdout == "\n".join(table) + "\n"

    meta = json.loads(ok(invoke("styles", "show", "mine", "--json")).stdout)
    for key in ("val_bpc", "val_loss", "tokenizer", "model", "params", "steps", "train_seconds"):
        assert key in meta, key
    assert isinstance(meta["val_bpc"], float) and 0 < meta["val_bpc"] < 10
    assert isinstance(meta["val_loss"], float) and meta["val_loss"] > 0
    assert meta["tokenizer"]["name"] == "char"
    assert meta["model"] == {"name": "lstm", "config": {"layers": 1, "hidden": 32, "embed": 16, "dropout": 0.0}}
    assert meta["params"] > 0 and meta["steps"] == 20 and meta["train_seconds"] >= 0
    assert meta["status"] == "done" and meta["corpus"]["name"] == tiny_corpus
    listed = json.loads(ok(invoke("styles", "--json")).stdout)
    assert [m["name"] for m in listed] == ["mine"]
    assert listed[0]["val_bpc"] == meta["val_bpc"]

    text = ok(invoke("styles", "show", "mine")).stdout
    assert text.startswith("style mine") and "bits/char" in text

    result = ok(invoke("styles", "rm", "mine"))
    assert "removed style 'mine'" in result.stdout
    assert not (hermetic / "styles" / "mine").exists()
    empty = ok(invoke("styles"))
    assert empty.stdout == "" and "no styles yet" in empty.stderr


def test_train_events_jsonl(tiny_corpus: str) -> None:
    result = ok(invoke("train", tiny_corpus, "--name", "ev", "--events", "jsonl", "--quiet", *TINY_ARGS))
    events = [json.loads(line) for line in result.stdout.splitlines()]  # every stdout line is JSON
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert set(kinds) <= {"start", "step", "eval", "end"}
    assert kinds.count("eval") == 2  # --eval-every 10 over 20 steps
    assert events[0]["style"] == "ev" and events[0]["corpus"] == tiny_corpus and events[0]["max_steps"] == 20
    assert [e["step"] for e in events if e["event"] == "eval"] == [10, 20]
    assert events[-1]["step"] == 20 and events[-1]["reason"] == "max_steps"
    assert "training ev" not in result.stderr  # --quiet: no progress line


def test_train_is_deterministic(tiny_corpus: str) -> None:
    first = json.loads(
        ok(invoke("train", tiny_corpus, "--name", "one", *TINY_ARGS, "--events", "jsonl")).stdout.splitlines()[-1]
    )
    second = json.loads(
        ok(invoke("train", tiny_corpus, "--name", "two", *TINY_ARGS, "--events", "jsonl")).stdout.splitlines()[-1]
    )
    assert first["best_val_bpc"] == second["best_val_bpc"]


def test_generate_same_seed_same_text(trained: str, hermetic: Path) -> None:
    before = snapshot(hermetic)
    args = ["generate", trained, "--prime", "the ", "--length", "60", "--seed", "1"]
    first, second = ok(invoke(*args)), ok(invoke(*args))
    assert first.stdout == second.stdout
    assert first.stdout.startswith("the ")
    assert len(first.stdout) == len("the ") + 60 + 1 and first.stdout.endswith("\n")
    assert first.stderr == ""  # with --seed, nothing is said on stderr
    assert snapshot(hermetic) == before  # generating writes nothing


def test_generate_without_seed_prints_a_reusable_seed(trained: str) -> None:
    result = ok(invoke("generate", trained, "--prime", "the ", "--length", "40"))
    match = re.fullmatch(r"seed: (\d+)\n", result.stderr)
    assert match, result.stderr
    again = ok(invoke("generate", trained, "--prime", "the ", "--length", "40", "--seed", match.group(1)))
    assert again.stdout == result.stdout


def test_generate_n_samples(trained: str) -> None:
    result = ok(invoke("generate", trained, "--prime", "the", "--length", "30", "--n", "2", "--seed", "5"))
    parts = re.split(r"--- sample (\d) of 2 ---\n", result.stdout)
    assert parts[0] == "" and parts[1::2] == ["1", "2"]
    samples = parts[2::2]
    assert len(samples) == 2
    for sample in samples:
        assert sample.startswith("the") and sample.endswith("\n")
        assert len(sample) == len("the") + 30 + 1


@pytest.mark.parametrize(
    "options", [[], ["--temperature", "0"], ["--top-k", "3"], ["--top-p", "0.9"], ["--sampler", "greedy"]]
)
def test_generate_samplers(trained: str, options: list[str]) -> None:
    result = ok(invoke("generate", trained, "--prime", "the", "--length", "20", "--seed", "2", *options))
    assert result.stdout.startswith("the") and len(result.stdout) == 3 + 20 + 1


@pytest.mark.parametrize("prime", ["✓ζ", "日本語 ✓", "\U0001f600"])
def test_generate_with_characters_never_seen_in_training(trained: str, prime: str) -> None:
    result = ok(invoke("generate", trained, "--prime", prime, "--length", "30", "--seed", "1"))
    assert result.stdout.startswith(prime)
    generated = result.stdout[len(prime) : -1]
    assert len(generated) == 30
    assert "\ufffd" not in generated  # the unknown token is never produced
    assert set(generated) <= set(TEXT)
    two = ok(invoke("generate", trained, "--prime", prime, "--length", "10", "--seed", "1", "--n", "2"))
    assert two.stdout.count(prime) == 2


def test_generate_with_an_empty_prime(trained: str) -> None:
    result = ok(invoke("generate", trained, "--length", "25", "--seed", "1"))
    assert len(result.stdout) == 25 + 1


def test_plugins(hermetic: Path) -> None:
    rows = ok(invoke("plugins")).stdout.splitlines()
    assert rows[0].split()[:4] == ["NAME", "KIND", "PACKAGE", "VERSION"]
    assert {row.split()[1] for row in rows[1:]} == KINDS
    assert all(row.split()[2] == "stylegen" for row in rows[1:])

    entries = json.loads(ok(invoke("plugins", "--json")).stdout)
    assert {e["kind"] for e in entries} == KINDS
    assert {e["package"] for e in entries} == {"stylegen"}
    assert all(e["version"] == stylegen.__version__ for e in entries)
    names = {(e["kind"], e["name"]) for e in entries}
    for expected in [
        ("source", "files"),
        ("extractor", "text"),
        ("tokenizer", "char"),
        ("model", "lstm"),
        ("sampler", "top-p"),
        ("observer", "jsonl"),
    ]:
        assert expected in names
    assert snapshot(hermetic) == {}


def test_version_and_bare_group() -> None:
    assert stylegen.__version__ in ok(invoke("--version")).stdout
    assert "Usage:" in ok(invoke()).stdout


# --------------------------------------------------------------------------- real subprocesses


@pytest.fixture
def sub_env(hermetic: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["STYLEGEN_HOME"] = str(hermetic)
    env["STYLEGEN_LOAD_PLUGINS"] = ""
    env.pop("STYLEGEN_DEBUG", None)
    # The subprocess imports the same stylegen as this test run does.
    root = str(Path(stylegen.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def console_script() -> str:
    found = shutil.which("stylegen", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the `stylegen` console script is not installed next to this Python")
    return found


def command(how: str) -> list[str]:
    return [sys.executable, "-m", "stylegen"] if how == "module" else [console_script()]


def run(how: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(how), *args], env=env, cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=120
    )


@pytest.mark.parametrize("how", ["module", "script"])
def test_subprocess_help(how: str, sub_env: dict[str, str], tmp_path: Path) -> None:
    proc = run(how, ["--help"], sub_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: stylegen")
    for noun in ("corpus", "train", "generate", "styles", "plugins"):
        assert noun in proc.stdout
    assert proc.stderr == ""


def test_subprocess_importing_the_cli_is_cheap(sub_env: dict[str, str], tmp_path: Path) -> None:
    code = (
        "import sys, stylegen.cli; from stylegen import plugins; plugins.registry(); "
        "print(sorted(m for m in ('torch','textual','sentencepiece') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=sub_env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert proc.stderr == ""


@pytest.mark.parametrize("how", ["module", "script"])
def test_subprocess_errors(how: str, sub_env: dict[str, str], tmp_path: Path, hermetic: Path) -> None:
    proc = run(how, ["styles", "show", "nope"], sub_env, tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == ["error: no style named 'nope' (see `stylegen styles`)"]

    proc = run(how, ["train", "x", "--hidden", "0"], sub_env, tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--hidden" in lines[0]
    assert lines[0].endswith("(see 'stylegen train --help')")
    assert snapshot(hermetic) == {}


def test_subprocess_debug_shows_the_traceback(sub_env: dict[str, str], tmp_path: Path) -> None:
    proc = run("module", ["styles", "show", "nope"], {**sub_env, "STYLEGEN_DEBUG": "1"}, tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("Traceback (most recent call last):")
    assert "NotFoundError" in proc.stderr and "read_meta" in proc.stderr
    assert proc.stderr.splitlines()[-1] == "error: no style named 'nope' (see `stylegen styles`)"


def test_subprocess_build_train_generate(sub_env: dict[str, str], tmp_path: Path, hermetic: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_text(TEXT * 200, encoding="utf-8")

    built = run("module", ["corpus", "build", "fox", str(src)], sub_env, tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("built corpus 'fox': 1 documents") and built.stderr == ""

    trained = run("script", ["train", "fox", *TINY_ARGS], sub_env, tmp_path)
    assert trained.returncode == 0, trained.stderr
    # stdout: only the result line; the progress went to stderr
    assert re.fullmatch(r"style 'fox': validation \d+\.\d{4} bits/char after 20 steps\n", trained.stdout)
    assert "training fox: lstm" in trained.stderr
    assert re.search(r"step 20: validation \d+\.\d{4} bits/char", trained.stderr)
    assert "done (max_steps)" in trained.stderr
    assert (hermetic / "styles" / "fox" / "model.safetensors").is_file()

    args = ["generate", "fox", "--prime", "the ", "--length", "80", "--seed", "7"]
    first = run("module", args, sub_env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("the ") and len(first.stdout) == len("the ") + 80 + 1
    assert first.stderr == ""  # nothing but the text on stdout, and nothing else said
    second = run("script", args, sub_env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout  # same seed, same text, whichever entry point


def test_resume_with_changed_training_settings_is_a_usage_error(trained: str, hermetic: Path) -> None:
    before = snapshot(hermetic)
    assert_error(
        invoke("train", trained, "--resume", "--lr", "0.1", "--seq-len", "8"), 2, "--seq-len", "--lr", "saved settings"
    )
    assert snapshot(hermetic) == before
