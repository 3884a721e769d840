"""Hostile and careless input (issue 15, items 4, 7, 8, 9, 10, 12, 15): bounded reads before
the binary check, one-line errors for a really full or read-only disk, every number and recipe
field validated where it is read, lone surrogates, folders that cannot be entered and links
out of the source folder, --resume on a rebuilt corpus, SIGTERM, and swept build leftovers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_cli import TINY_ARGS, assert_error, invoke, ok

from stylegen import home, locks
from stylegen.corpus import build_corpus
from stylegen.errors import StylegenError
from stylegen.training import TrainConfig, checkpoint

TEXT = "the quick brown fox jumps over the lazy dog.\n"


def run_stylegen(*args: str, prelude: str = "", stdin: int | None = None, timeout: float = 120) -> tuple[int, str, int]:
    """`stylegen ARGS` in a child process: (exit code, stderr, the child's peak RSS in KiB)."""
    code = (
        "import resource, sys\n"
        f"{prelude}\n"
        "from stylegen.cli import main\n"
        "sys.argv = ['stylegen', *sys.argv[1:]]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    sys.stderr.write(f'\\nPEAK {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    lines = done.stderr.rstrip("\n").split("\n")
    peak = int(lines[-1].split()[1]) if lines and lines[-1].startswith("PEAK ") else 0
    return done.returncode, "\n".join(line for line in lines[:-1] if line), peak


def baseline_kib() -> int:
    """The peak RSS of `stylegen corpus sources` (imports and plugins, no corpus)."""
    return run_stylegen("corpus", "sources")[2]


# --------------------------------------------------------------------------- 4: bounded reads


def test_a_sparse_binary_file_is_skipped_without_being_read(tmp_path: Path, hermetic: Path) -> None:
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text(TEXT * 50, encoding="utf-8")
    with open(texts / "zeros.dat", "wb") as f:
        f.truncate(400 << 20)  # 400 MiB of NUL bytes, sparse: no disk used
    rc, err, peak = run_stylegen("corpus", "build", "c", str(texts))
    assert rc == 0, err
    m = json.loads((hermetic / "corpora" / "c" / "manifest.json").read_text(encoding="utf-8"))
    assert [s["reason"] for s in m["skipped"]] == ["binary file (contains NUL bytes)"]
    assert peak < baseline_kib() + (100 << 10), peak  # reading it whole would cost 400 MiB


def test_binary_stdin_is_skipped_after_its_first_bytes(tmp_path: Path, hermetic: Path) -> None:
    zeros = tmp_path / "zeros"
    with open(zeros, "wb") as f:
        f.truncate(400 << 20)
    with open(zeros, "rb") as stdin:
        rc, err, peak = run_stylegen("corpus", "build", "z", "-", stdin=stdin.fileno())
    assert rc == 1
    assert "no text found in - (1 skipped, e.g. <stdin>: binary file (contains NUL bytes))" in err
    assert peak < baseline_kib() + (100 << 10), peak


def test_dev_zero_on_stdin_ends(hermetic: Path) -> None:
    with open("/dev/zero", "rb") as stdin:
        rc, err, _ = run_stylegen("corpus", "build", "z", "-", stdin=stdin.fileno(), timeout=60)
    assert rc == 1 and "binary file" in err, err


def test_a_text_stream_without_an_end_is_refused_at_the_limit(hermetic: Path) -> None:
    prelude = "from stylegen.builtin import extract_text\nextract_text.MAX_DOCUMENT_BYTES = 4 << 20"
    yes = subprocess.Popen(["yes", "the quick brown fox"], stdout=subprocess.PIPE)
    try:
        assert yes.stdout is not None
        rc, err, _ = run_stylegen("corpus", "build", "y", "-", prelude=prelude, stdin=yes.stdout.fileno(), timeout=60)
    finally:
        yes.kill()
        yes.wait()
    assert rc == 1
    assert err.startswith("error: <stdin>: more than 4.0 MiB without an end"), err
    assert not (hermetic / "corpora" / "y").exists()


def test_a_file_over_the_limit_is_skipped_unread(
    tmp_path: Path, hermetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stylegen.builtin import extract_text

    monkeypatch.setattr(extract_text, "MAX_DOCUMENT_BYTES", 1000)
    (tmp_path / "big.txt").write_text(TEXT * 100, encoding="utf-8")
    (tmp_path / "small.txt").write_text(TEXT * 10, encoding="utf-8")
    corpus = build_corpus("c", [str(tmp_path / "big.txt"), str(tmp_path / "small.txt")])
    assert [s.reason for s in corpus.manifest.skipped] == [
        "larger than 1,000 bytes (4,500 bytes); split it into smaller files"
    ]


# --------------------------------------------------------------------------- 7: a real full or read-only disk


def _tmpfs_script(body: str, size: str = "3m") -> subprocess.CompletedProcess[str]:
    """`body` (bash) in a private mount namespace with a tmpfs of `size` mounted at $M and the
    data home on it; skipped where no such namespace or mount can be made."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare here")
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here ({probe.stderr.strip()})")
    script = f"""
set -u
M=$(mktemp -d)
mount -t tmpfs -o size={size} tmpfs "$M"
export STYLEGEN_HOME="$M/home" OMP_NUM_THREADS=1 STYLEGEN_LOAD_PLUGINS=
stylegen() {{ echo "== $*" >&2; "{sys.executable}" -m stylegen "$@" >&2; echo "rc=$?" >&2; }}
fill() {{ dd if=/dev/zero of="$M/fill" bs=16k 2>/dev/null; dd if=/dev/zero of="$M/fill2" bs=512 2>/dev/null; true; }}
{textwrap.dedent(body)}
"""
    return subprocess.run(["unshare", "-rm", "bash", "-c", script], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def full_and_read_only(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """One tiny corpus and style on a small tmpfs, then each command on it full (the lines up
    to `--- read-only`) and remounted read-only. stderr, split at each command's `rc=` line."""
    texts = tmp_path_factory.mktemp("texts")
    (texts / "a.txt").write_text(TEXT * 300, encoding="utf-8")
    out = tmp_path_factory.mktemp("out")
    tiny = " ".join(TINY_ARGS)
    done = _tmpfs_script(f"""
        stylegen corpus build c {texts} >/dev/null
        stylegen train c --name s {tiny} --quiet >/dev/null
        stylegen train c --name s2 {tiny} --quiet >/dev/null
        fill
        stylegen train c --name s --resume --max-steps 30 --quiet
        stylegen styles rm s2
        fill
        stylegen corpus build c2 {texts}
        rm -f "$M/fill" "$M/fill2"
        stylegen corpus build c3 {texts} >/dev/null
        fill
        stylegen corpus rm c3
        rm -f "$M/fill" "$M/fill2"
        mount -o remount,ro "$M"
        stylegen styles export s {out}/s.zip
        stylegen styles rm s
        stylegen corpus rm c
        stylegen train c --name s --resume --max-steps 30 --quiet
        echo "== ls" >&2
        ls -a "$M/home/styles" "$M/home/corpora" >&2
    """)
    # one block per command: "== ARGS", what it printed, "rc=N"; kept: its last line and rc
    blocks = [b.strip().splitlines() for b in done.stderr.split("== ")[1:]]
    if len(blocks) != 13:
        pytest.fail(done.stderr)
    return [f"{b[-2]} {b[-1]}" if len(b) > 2 else b[-1] for b in blocks] + [done.stderr, str(out)]


def test_training_on_a_full_disk_says_so(full_and_read_only: list[str]) -> None:
    line = full_and_read_only[3]
    assert line.startswith("error: ") and "No space left on device" in line and line.endswith("rc=1"), line
    assert "/home/styles/s/" in line


def test_styles_rm_frees_space_on_a_full_disk(full_and_read_only: list[str]) -> None:
    assert full_and_read_only[4].startswith("removed style 's2'"), full_and_read_only[4]


def test_corpus_build_on_a_full_disk_says_so(full_and_read_only: list[str]) -> None:
    line = full_and_read_only[5]
    assert line.startswith("error: ") and "No space left on device" in line and line.endswith("rc=1"), line


def test_corpus_rm_frees_space_on_a_full_disk(full_and_read_only: list[str]) -> None:
    assert full_and_read_only[7].startswith("removed corpus 'c3'"), full_and_read_only[7]


def test_export_from_a_read_only_home(full_and_read_only: list[str]) -> None:
    assert full_and_read_only[8].startswith("exported style 's'"), full_and_read_only[8]
    assert (Path(full_and_read_only[-1]) / "s.zip").is_file()


@pytest.mark.parametrize(("step", "what"), [(9, "style 's'"), (10, "corpus 'c'"), (11, "style 's'")])
def test_writers_on_a_read_only_home_say_so(full_and_read_only: list[str], step: int, what: str) -> None:
    line = full_and_read_only[step]
    assert line.startswith("error: ") and "Read-only file system" in line and line.endswith("rc=1"), line
    assert f"{what} was not changed" in line
    # nothing was removed
    assert "\ns\n" in full_and_read_only[-2] and "\nc\n" in full_and_read_only[-2]


@pytest.mark.parametrize("writer", ["checkpoint", "safetensors"])
def test_library_writers_on_a_full_disk_name_the_file(writer: str) -> None:
    """torch's zip writer and safetensors raise their own errors on a full disk."""
    code = {
        "checkpoint": "checkpoint.save(d, {'model': {'w': torch.zeros(400_000)}})",
        "safetensors": "styles.save_weights(d, torch.nn.Linear(1000, 400))",
    }[writer]
    script = f"""
import pathlib, sys, torch
from stylegen import styles
from stylegen.errors import StylegenError
from stylegen.training import checkpoint
d = pathlib.Path(sys.argv[1]) / "s"
d.mkdir()
try:
    {code}
except StylegenError as e:
    print("ONE LINE:", e)
print(sorted(p.name for p in d.rglob("*")))
"""
    done = _tmpfs_script(f'"{sys.executable}" - "$M" <<\'PY\'\n{script}\nPY\n', size="1m")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ONE LINE: ") and "No space left on device" in lines[0], done.stdout + done.stderr
    name = "checkpoint/state.pt" if writer == "checkpoint" else "model.safetensors"
    assert f"/s/{name}: cannot write" in lines[0]
    assert lines[1] in ("[]", "['checkpoint']")  # no temporary file left


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_export_from_a_home_without_write_permission(trained: str, hermetic: Path, tmp_path: Path) -> None:
    folders = [hermetic / "styles", hermetic / "styles" / trained]
    for folder in folders:
        folder.chmod(0o555)
    try:
        ok(invoke("styles", "export", trained, str(tmp_path / "s.zip")))
    finally:
        for folder in folders:
            folder.chmod(0o755)


# --------------------------------------------------------------------------- 8: numbers and recipe fields


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["corpus", "build", "x", "FILE", "--seed", "-1"], "--seed"),
        (["generate", "s", "--seed", str(2**64)], "--seed"),
        (["chat", "s", "--seed", "-5"], "--seed"),
        (["train", "c", "--lr", "nan"], "--lr': nan is not a finite number"),
        (["train", "c", "--lr", "inf"], "--lr': inf is not a finite number"),
        (["train", "c", "--max-minutes", "nan"], "--max-minutes': nan is not a finite number"),
        (["train", "c", "--seed", str(2**64)], "--seed"),
        (["generate", "s", "--presence-penalty", "-inf"], "not a finite number"),
        (["train", "c", "--model-opt", "dropout=NaN"], "--model-opt"),
        (["train", "c", "--model-opt", "dropout=1e999"], "--model-opt"),
    ],
)
def test_bad_numbers_are_usage_errors(tmp_path: Path, hermetic: Path, args: list[str], needle: str) -> None:
    (tmp_path / "f.txt").write_text(TEXT * 10, encoding="utf-8")
    args = [str(tmp_path / "f.txt") if a == "FILE" else a for a in args]
    assert_error(invoke(*args), 2, needle)
    assert not (hermetic / "corpora").exists() and not (hermetic / "styles").exists()


def test_the_largest_seed_is_taken(tmp_path: Path, hermetic: Path) -> None:
    (tmp_path / "f.txt").write_text(TEXT * 10, encoding="utf-8")
    ok(invoke("corpus", "build", "x", str(tmp_path / "f.txt"), "--seed", str(2**64 - 1), "--max-chars", "100"))


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("seed = -1", "seed must be >= 0"),
        (f"seed = {2**64}", "seed must be at most"),
        ("include = [1]", "include must be a list of strings"),
        ("exclude = [{a = 1}]", "exclude must be a list of strings"),
        ("val_fraction = nan", "val_fraction must be a finite number"),
        ("max_chars = 0", "max_chars must be >= 1"),
        ("[clean]\nmin_doc_chars = -3", "clean.min_doc_chars must be >= 0"),
        ("[source]\nplays = {a = 1}", "source.plays must be"),
    ],
)
def test_bad_recipe_fields_name_the_file_and_field(tmp_path: Path, hermetic: Path, body: str, needle: str) -> None:
    (tmp_path / "f.txt").write_text(TEXT * 10, encoding="utf-8")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'sources = ["f.txt"]\n{body}\n', encoding="utf-8")
    assert_error(invoke("corpus", "build", "--recipe", str(recipe)), 1, f"{recipe}: ", needle)


def test_a_source_option_of_the_wrong_kind_is_named(hermetic: Path) -> None:
    assert_error(invoke("corpus", "build", "q", "shakespeare", "--source-opt", "plays=12"), 1, "plays=12")


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"seed": -1}, "--seed"),
        ({"seed": 2**64}, "--seed"),
        ({"include": [1]}, "--include"),
        ({"exclude": "*.md"}, "--exclude"),
        ({"max_chars": 1.5}, "--max-chars"),
    ],
)
def test_build_corpus_checks_its_arguments(tmp_path: Path, options: dict[str, object], needle: str) -> None:
    (tmp_path / "f.txt").write_text(TEXT * 10, encoding="utf-8")
    with pytest.raises(StylegenError, match=needle):
        build_corpus("x", [str(tmp_path / "f.txt")], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"lr": float("nan")},
        {"grad_clip": float("inf")},
        {"max_minutes": float("nan")},
        {"max_epochs": 0.0},
        {"weight_decay": float("nan")},
        {"seed": -1},
        {"seed": 2**64},
    ],
)
def test_train_config_checks_its_numbers(options: dict[str, object]) -> None:
    with pytest.raises(StylegenError):
        TrainConfig(corpus="c", name="s", **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- 9: lone surrogates


@pytest.fixture
def surrogate_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "chat.jsonl"
    path.write_text('{"text": "a good line of text"}\n{"text": "bad \\ud83d here"}\n', encoding="utf-8")
    return path


def test_a_lone_surrogate_with_errors_strict_names_the_file_and_line(surrogate_jsonl: Path, hermetic: Path) -> None:
    assert_error(invoke("corpus", "build", "j", str(surrogate_jsonl)), 1, f"{surrogate_jsonl}:2: a lone surrogate")
    assert not (hermetic / "corpora" / "j").exists()


def test_a_lone_surrogate_with_errors_replace_is_replaced(surrogate_jsonl: Path) -> None:
    corpus = build_corpus("j", [str(surrogate_jsonl)], errors="replace")
    text = corpus.train_text() + corpus.val_text()
    assert "bad \ufffd here" in text
    assert "\ufffd" in [char for char, _ in corpus.manifest.characters or []]


def test_a_lone_surrogate_with_errors_skip_leaves_the_record_out(surrogate_jsonl: Path) -> None:
    corpus = build_corpus("j", [str(surrogate_jsonl)], errors="skip")
    assert "bad" not in corpus.train_text() + corpus.val_text()


def test_a_lone_surrogate_from_any_source_is_handled(tmp_path: Path) -> None:
    from stylegen.corpus import build as build_module
    from stylegen.corpus.clean import Cleaner, CleanOptions
    from stylegen.protocols import Document

    docs = [Document("fine text\n", "a"), Document("odd \udc00 text\n", "b")]
    with pytest.raises(StylegenError, match="b: a lone surrogate"):
        build_module._write_documents(tmp_path / "d", docs, Cleaner(CleanOptions()), "strict")
    kept, skipped = build_module._write_documents(tmp_path / "d", docs, Cleaner(CleanOptions()), "skip")
    assert [d.origin for d in kept] == ["a"] and [s.origin for s in skipped] == ["b"]


# --------------------------------------------------------------------------- 10: folders and links


def test_a_link_out_of_the_source_folder_is_reported_not_followed(tmp_path: Path, hermetic: Path) -> None:
    texts, outside = tmp_path / "texts", tmp_path / "outside"
    texts.mkdir()
    outside.mkdir()
    (texts / "a.txt").write_text(TEXT * 20, encoding="utf-8")
    (outside / "secret.txt").write_text("not to be read\n", encoding="utf-8")
    (texts / "out").symlink_to(outside, target_is_directory=True)
    (texts / "root").symlink_to("/", target_is_directory=True)
    corpus = build_corpus("c", [str(texts)])
    assert "not to be read" not in corpus.train_text() + corpus.val_text()
    reasons = {Path(s.origin).name: s.reason for s in corpus.manifest.skipped}
    assert reasons["out"].startswith("symbolic link out of the source folder")
    assert reasons["root"] == "symbolic link out of the source folder (to /): not followed"


def test_a_symlink_loop_is_reported(tmp_path: Path, hermetic: Path) -> None:
    texts = tmp_path / "texts"
    (texts / "sub").mkdir(parents=True)
    (texts / "sub" / "a.txt").write_text(TEXT * 20, encoding="utf-8")
    (texts / "sub" / "loop").symlink_to(texts, target_is_directory=True)
    corpus = build_corpus("c", [str(texts)])
    assert [(Path(s.origin).name, s.reason) for s in corpus.manifest.skipped] == [
        ("loop", "symbolic link loop: not followed")
    ]
    assert corpus.manifest.stats.documents == 1


def test_a_folder_that_can_be_listed_but_not_entered_is_skipped(tmp_path: Path) -> None:
    """As root (which enters every folder), run without the capabilities that override file
    permissions (`setpriv --bounding-set`): still the owner of the environment and the
    checkout, wherever they are, but held to the locked folder's mode like anyone else."""
    texts = tmp_path / "texts"
    (texts / "locked").mkdir(parents=True)
    (texts / "a.txt").write_text(TEXT * 20, encoding="utf-8")
    (texts / "locked" / "b.txt").write_text(TEXT * 20, encoding="utf-8")
    (texts / "locked").chmod(0o444)  # listed, not entered
    try:
        code = (
            "import os, sys\n"
            "from stylegen.corpus import build_corpus\n"
            "c = build_corpus('c', [sys.argv[1]])\n"
            "print(c.manifest.stats.documents, [(os.path.basename(s.origin), s.reason) for s in c.manifest.skipped])\n"
        )
        command = [sys.executable, "-c", code, str(texts)]
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv")
            command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
        env = {**os.environ, "STYLEGEN_HOME": str(tmp_path / "home"), "STYLEGEN_LOAD_PLUGINS": ""}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
        if done.returncode != 0 and done.stderr.startswith("setpriv:"):
            pytest.skip(f"cannot drop the capabilities here: {done.stderr.strip()[-200:]}")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("1 [('b.txt', 'cannot be read (permission denied"), done.stdout
    finally:
        (texts / "locked").chmod(0o755)


# --------------------------------------------------------------------------- 12: --resume on a rebuilt corpus


def test_resume_on_a_rebuilt_corpus_is_refused(tmp_path: Path, hermetic: Path) -> None:
    texts = tmp_path / "t.txt"
    texts.write_text(TEXT * 300, encoding="utf-8")
    ok(invoke("corpus", "build", "c", str(texts)))
    ok(invoke("train", "c", "--name", "s", *TINY_ARGS, "--quiet"))
    before = checkpoint.load(hermetic / "styles" / "s")["step"]
    old_sha = json.loads((hermetic / "corpora" / "c" / "manifest.json").read_text(encoding="utf-8"))["sha256"]
    texts.write_text("Zebras quietly vex jumpy wolves.\n" * 400, encoding="utf-8")
    ok(invoke("corpus", "build", "c", str(texts), "--force"))
    new_sha = json.loads((hermetic / "corpora" / "c" / "manifest.json").read_text(encoding="utf-8"))["sha256"]
    line = assert_error(invoke("train", "c", "--name", "s", "--resume", "--max-steps", "40"), 1, old_sha, new_sha)
    assert "--force" in line and "rebuild the corpus as it was" in line
    assert checkpoint.load(hermetic / "styles" / "s")["step"] == before


def test_resume_on_the_same_corpus_rebuilt_identically_continues(tmp_path: Path, hermetic: Path) -> None:
    texts = tmp_path / "t.txt"
    texts.write_text(TEXT * 300, encoding="utf-8")
    ok(invoke("corpus", "build", "c", str(texts)))
    ok(invoke("train", "c", "--name", "s", *TINY_ARGS, "--quiet"))
    ok(invoke("corpus", "build", "c", str(texts), "--force"))
    ok(invoke("train", "c", "--name", "s", "--resume", "--max-steps", "30", "--quiet"))


# --------------------------------------------------------------------------- 15: SIGTERM, swept leftovers


def test_sigterm_stops_training_with_a_checkpoint_and_the_resume_line(tmp_path: Path, hermetic: Path) -> None:
    texts = tmp_path / "t.txt"
    texts.write_text(TEXT * 300, encoding="utf-8")
    ok(invoke("corpus", "build", "c", str(texts)))
    args = [a for a in TINY_ARGS if a not in ("--max-steps", "20")]
    process = subprocess.Popen(
        [sys.executable, "-m", "stylegen", "train", "c", "--name", "s", *args, "--max-steps", "100000",
         "--eval-every", "5", "--events", "jsonl", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:  # wait for the first validation: the run is under way
        if json.loads(line).get("event") == "eval":
            break
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "terminated: stopping after this step with a checkpoint" in err
    assert "stopped; continue with: stylegen train c --name s --resume" in err
    payload = checkpoint.load(hermetic / "styles" / "s")
    assert 5 <= payload["step"] < 100000
    assert json.loads((hermetic / "styles" / "s" / "style.json").read_text(encoding="utf-8"))["status"] == "stopped"


def test_a_killed_builds_folder_is_swept_by_the_next_build_of_any_name(tmp_path: Path, hermetic: Path) -> None:
    (tmp_path / "t.txt").write_text(TEXT * 30, encoding="utf-8")
    corpora = hermetic / "corpora"
    left = corpora / ".gone.ab12cd34.tmp"  # what `kill -9` of `corpus build gone ...` leaves
    (left / "documents.tmp").parent.mkdir(parents=True)
    (left / "documents.tmp").write_text("half", encoding="utf-8")
    with locks.corpus_lock("busy"):
        busy = corpora / ".busy.zz99yy88.tmp"  # a build still at work: its lock is held
        busy.mkdir()
        build_corpus("other", [str(tmp_path / "t.txt")])
        assert not left.exists()
        assert busy.is_dir()
    assert sorted(p.name for p in corpora.iterdir()) == [".busy.zz99yy88.tmp", "other"]
    assert not home.lock_path(corpora / "gone").exists()


def test_corpus_rm_waits_for_no_one_and_leaves_nothing(tmp_path: Path, hermetic: Path) -> None:
    (tmp_path / "t.txt").write_text(TEXT * 30, encoding="utf-8")
    build_corpus("c", [str(tmp_path / "t.txt")])
    with locks.corpus_lock("c", "building it"):
        assert_error(invoke("corpus", "rm", "c"), 1, "corpus 'c' is busy")
    ok(invoke("corpus", "rm", "c"))
    assert list((hermetic / "corpora").iterdir()) == []
