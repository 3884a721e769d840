"""Faults injected for real: `kill -9` of training (at random moments and in the middle of a
checkpoint or weights write), a full disk while a checkpoint, the weights or a corpus is
written, and two writers of one style or corpus at once.

What must hold after each: `--resume` finds the last complete checkpoint, the style's
weights load (never half-written), the error is one line, and the previous files are intact.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_cli import assert_error, invoke, ok, snapshot

from stylegen import home, locks, styles
from stylegen.corpus import build_corpus
from stylegen.errors import StylegenError
from stylegen.training import TrainConfig, checkpoint, train

#: A model small enough to start in a second; a validation and checkpoint every 3 steps, so
#: a random kill often lands in or near a checkpoint write.
SMALL = dict(model_config={"layers": 1, "hidden": 32, "embed": 8}, batch_size=4, seq_len=16, eval_every=3, log_every=1)
SMALL_ARGS = ["--layers", "1", "--hidden", "32", "--embed", "8", "--batch-size", "4", "--seq-len", "16"]
SMALL_ARGS += ["--eval-every", "3", "--device", "cpu", "--quiet"]


def stylegen_process(*args: str, prelude: str = "") -> subprocess.Popen[str]:
    """`python -m stylegen ARGS` in a subprocess (after running `prelude`, which may patch a writer)."""
    code = f"import sys\n{prelude}\nfrom stylegen.cli import main\nsys.argv = ['stylegen', *sys.argv[1:]]\nmain()\n"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def intact(name: str) -> int:
    """The style loads and its checkpoint loads; the checkpoint's step."""
    style = styles.load_style(name)
    payload = checkpoint.load(style.path)
    assert payload["step"] >= style.meta["best_step"]
    return int(payload["step"])


def leftovers(name: str) -> list[str]:
    folder = styles.user_style_path(name)
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob(".*.tmp"))


# --------------------------------------------------------------------------- kill -9


def test_kill_9_at_random_moments_never_loses_the_last_checkpoint(tiny_corpus: str) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="k", max_steps=6, **SMALL))  # type: ignore[arg-type]
    last = intact("k")
    rng = random.Random(20240611)
    kills = 0
    for _ in range(5):
        proc = stylegen_process(
            "train", tiny_corpus, "--name", "k", "--resume", "--max-steps", "1000000", "--events", "jsonl"
        )
        watchdog = threading.Timer(60, proc.kill)
        watchdog.start()
        assert proc.stdout is not None
        wanted, seen = rng.randint(1, 12), 0  # events to wait for (one per step, one per validation)
        for line in proc.stdout:
            seen += json.loads(line)["event"] in ("step", "eval")
            if seen >= wanted:
                break
        time.sleep(rng.uniform(0, 0.03))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        watchdog.cancel()
        kills += proc.returncode == -signal.SIGKILL
        step = intact("k")  # weights and checkpoint whole after every kill
        assert step >= last, "a kill took the checkpoint back"
        last = step
    assert kills == 5
    meta = train(TrainConfig(corpus=tiny_corpus, name="k", max_steps=last + 3), resume=True)
    assert meta["steps"] == last + 3 and intact("k") == last + 3
    assert leftovers("k") == []  # what the killed writes left, swept when the lock was taken


@pytest.mark.parametrize("writer", ["checkpoint", "weights"])
def test_kill_9_in_the_middle_of_a_write(tiny_corpus: str, writer: str) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="w", max_steps=3, **SMALL))  # type: ignore[arg-type]
    before = {p: (styles.user_style_path("w") / p).read_bytes() for p in ("model.safetensors", checkpoint.CHECKPOINT)}
    # Write half of the file, flush it to disk, then die: the worst moment for a writer.
    target = "torch.save" if writer == "checkpoint" else "safetensors.torch.save_file"
    module, attr = target.rsplit(".", 1)
    prelude = f"""
import os, signal, importlib
mod = importlib.import_module({module!r})
real = getattr(mod, {attr!r})
def dying(obj, path, *args, **kwargs):
    real(obj, path, *args, **kwargs)
    with open(path, "r+b") as f:
        size = f.seek(0, 2)
        f.truncate(size // 2)
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)
setattr(mod, {attr!r}, dying)
"""
    proc = stylegen_process("train", tiny_corpus, "--name", "w", "--resume", "--max-steps", "100", prelude=prelude)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    folder = styles.user_style_path("w")
    # The file being written is the previous one, byte for byte (the half-written one never
    # took its place); killed at the checkpoint, the weights may be the new best, whole.
    written = "model.safetensors" if writer == "weights" else checkpoint.CHECKPOINT
    assert (folder / written).read_bytes() == before[written]
    assert leftovers("w")  # the half-written temporary file, never renamed into place
    assert intact("w") == 3
    meta = train(TrainConfig(corpus=tiny_corpus, name="w", max_steps=9), resume=True)
    assert meta["steps"] == 9 and intact("w") == 9 and leftovers("w") == []


def test_kill_9_before_the_first_checkpoint_leaves_no_style(tiny_corpus: str, hermetic: Path) -> None:
    prelude = """
import os, signal, torch
def dying(obj, path, *args, **kwargs):
    open(path, "wb").write(b"half")
    os.kill(os.getpid(), signal.SIGKILL)
torch.save = dying
"""
    proc = stylegen_process("train", tiny_corpus, "--name", "new", *SMALL_ARGS, "--max-steps", "10", prelude=prelude)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not styles.user_style_path("new").exists()  # the run worked in a hidden folder
    assert_error(invoke("train", tiny_corpus, "--name", "new", "--resume"), 1, "no checkpoint to resume from")
    ok(invoke("train", tiny_corpus, "--name", "new", *SMALL_ARGS, "--max-steps", "3"))
    assert intact("new") == 3
    assert sorted(p.name for p in styles.styles_dir().iterdir()) == ["new"]  # the hidden folder is gone


# --------------------------------------------------------------------------- a full disk


def disk_full_after(real: Any, keep: float = 0.5) -> Any:
    """A writer that writes part of its file, then fails as a full disk does."""

    def writer(obj: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        real(obj, path, *args, **kwargs)
        with open(path, "r+b") as f:
            f.truncate(int(f.seek(0, 2) * keep))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    return writer


@pytest.mark.parametrize("writer", ["torch.save", "safetensors.torch.save_file"])
def test_disk_full_while_training_writes(
    tiny_corpus: str, hermetic: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    import importlib

    train(TrainConfig(corpus=tiny_corpus, name="full", max_steps=3, **SMALL))  # type: ignore[arg-type]
    folder = styles.user_style_path("full")
    before = {p: (folder / p).read_bytes() for p in ("model.safetensors", "style.json", checkpoint.CHECKPOINT)}
    module, attr = writer.rsplit(".", 1)
    with monkeypatch.context() as m:
        m.setattr(
            importlib.import_module(module), attr, disk_full_after(getattr(importlib.import_module(module), attr))
        )
        result = invoke("train", tiny_corpus, "--name", "full", "--resume", "--max-steps", "6", "--quiet")
    which = "checkpoint/state.pt" if writer == "torch.save" else "model.safetensors"
    assert_error(result, 1, which, "No space left on device", "free some space")
    # The checkpoint and style.json are the previous ones, byte for byte. The weights are the
    # previous ones, or (when the disk filled at the checkpoint, after a better validation)
    # the complete new best weights: whole either way.
    after = {p: (folder / p).read_bytes() for p in before}
    assert after["style.json"] == before["style.json"]
    assert after[checkpoint.CHECKPOINT] == before[checkpoint.CHECKPOINT]
    if writer == "safetensors.torch.save_file":
        assert after["model.safetensors"] == before["model.safetensors"]
    assert leftovers("full") == []  # no scraps
    assert intact("full") == 3
    assert train(TrainConfig(corpus=tiny_corpus, name="full", max_steps=6), resume=True)["steps"] == 6


def test_disk_full_while_logging_metrics(tiny_corpus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="log", max_steps=3, **SMALL))  # type: ignore[arg-type]
    folder = styles.user_style_path("log")
    before = {p: (folder / p).read_bytes() for p in ("model.safetensors", "style.json", checkpoint.CHECKPOINT)}
    real_open = Path.open

    class FillingUp:
        """metrics.jsonl on a disk that fills up at the fourth line."""

        def __init__(self, f: Any) -> None:
            self.f, self.name, self.lines = f, f.name, 0

        def write(self, text: str) -> int:
            self.lines += 1
            return int(self.f.write(text))

        def flush(self) -> None:
            if self.lines >= 4:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.f.flush()

        def close(self) -> None:
            self.f.close()

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        f = real_open(self, *args, **kwargs)
        return FillingUp(f) if self.name == "metrics.jsonl" else f

    with monkeypatch.context() as m:
        m.setattr(Path, "open", open_)
        result = invoke("train", tiny_corpus, "--name", "log", "--resume", "--max-steps", "30", "--quiet")
    assert_error(result, 1, "metrics.jsonl", "No space left on device", "the last checkpoint is intact")
    assert (folder / checkpoint.CHECKPOINT).read_bytes() == before[checkpoint.CHECKPOINT]
    assert intact("log") == 3


def test_disk_full_while_building_a_corpus(hermetic: Path, texts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stylegen.corpus import build

    ok(invoke("corpus", "build", "c", str(texts_dir)))
    before = snapshot(hermetic)
    real = build._split_file

    def split_then_full(src: Path, chars: int, fraction: float, train_path: Path, val_path: Path) -> Any:
        real(src, chars, fraction, train_path, val_path)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(val_path))

    with monkeypatch.context() as m:
        m.setattr(build, "_split_file", split_then_full)
        forced = invoke("corpus", "build", "c", str(texts_dir), "--force")
        fresh = invoke("corpus", "build", "d", str(texts_dir))
    assert_error(forced, 1, "corpora/c", "No space left on device", "nothing was changed")
    assert_error(fresh, 1, "corpora/d", "No space left on device")
    assert snapshot(hermetic) == before  # the old corpus whole, no half-built folder, no lock file
    with monkeypatch.context() as m:
        m.setattr(
            home.os, "replace", _failing_replace(os.replace, hermetic / "corpora" / "c")
        )  # moving the new one in fails
        with pytest.raises(OSError, match="simulated"):
            build_corpus("c", [str(texts_dir)], replace=True)
    assert snapshot(hermetic) == before  # the old corpus was put back


def _failing_replace(real: Any, final: Path) -> Any:
    """os.replace, failing when a staged folder is moved into `final`'s place."""

    def replace(src: Any, dst: Any) -> None:
        if Path(dst) == final and Path(src).name.endswith(".tmp"):
            raise OSError(errno.EIO, "simulated failure")
        real(src, dst)

    return replace


# --------------------------------------------------------------------------- one writer at a time


def test_a_second_train_of_the_same_style_is_refused(tiny_corpus: str, hermetic: Path) -> None:
    train(TrainConfig(corpus=tiny_corpus, name="busy", max_steps=3, **SMALL))  # type: ignore[arg-type]
    first = stylegen_process(
        "train", tiny_corpus, "--name", "busy", "--resume", "--max-steps", "1000000", "--events", "jsonl"
    )
    try:
        assert first.stdout is not None
        for line in first.stdout:
            if json.loads(line)["event"] == "step":
                break
        second = invoke("train", tiny_corpus, "--name", "busy", "--resume", "--max-steps", "10")
        line = assert_error(second, 1, "style 'busy' is busy", "training it", f"pid {first.pid}")
        assert_error(invoke("train", tiny_corpus, "--name", "busy", "--force", *SMALL_ARGS), 1, "is busy")
        assert_error(invoke("styles", "rm", "busy"), 1, "is busy")
        assert line
        lock_file = styles.styles_dir() / ".busy.lock"
        assert locks.holder(lock_file)["pid"] == first.pid
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The holder died without a word: the OS dropped its lock, the next run goes ahead.
    assert (styles.styles_dir() / ".busy.lock").exists()
    meta = train(TrainConfig(corpus=tiny_corpus, name="busy", max_steps=intact("busy") + 3), resume=True)
    assert meta["status"] == "done"
    assert not (styles.styles_dir() / ".busy.lock").exists()  # a clean release removes the file


def test_a_lock_is_exclusive_within_a_process_and_released_by_a_crash(hermetic: Path, tmp_path: Path) -> None:
    with locks.style_lock("s", "training it"):
        with pytest.raises(
            StylegenError, match=r"style 's' is busy: another stylegen process is training it \(pid \d+"
        ):
            locks.style_lock("s")
        other = locks.style_lock("t")  # another name is another lock
        other.release()
    assert not (hermetic / "styles").exists()  # nothing left behind, not even the folder
    # A holder killed with SIGKILL: the lock is free at once (nothing stale to clean by hand).
    code = (
        "import os, signal, sys; from stylegen import locks; locks.style_lock('s'); "
        "print('held', flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    with pytest.raises(StylegenError, match="is busy"):
        locks.style_lock("s")
    proc.kill()
    proc.wait()
    locks.style_lock("s").release()


def test_a_second_corpus_build_of_the_same_name_is_refused(hermetic: Path, texts_dir: Path) -> None:
    with locks.corpus_lock("c", "building it"):
        before = snapshot(hermetic)
        assert_error(invoke("corpus", "build", "c", str(texts_dir)), 1, "corpus 'c' is busy", "building it")
        assert snapshot(hermetic) == before
    ok(invoke("corpus", "build", "c", str(texts_dir)))


def test_taking_the_lock_repairs_what_a_killed_writer_left(trained: str, hermetic: Path) -> None:
    folder = styles.user_style_path(trained)
    scraps = [folder / ".model.safetensors.k3j2h1g0.tmp", folder / "checkpoint" / ".state.pt.a1b2c3d4.tmp"]
    for scrap in scraps:
        scrap.write_bytes(b"half a file")
    (folder.parent / ".tiny.q9w8e7r6.tmp").mkdir()  # an import killed while staging
    keep = folder / "notes.tmp"  # not ours: kept
    keep.write_text("mine")
    # A swap killed between its two renames: the old style moved aside, the new one not in.
    os.replace(folder, folder.with_name(".tiny.old-4242"))
    with locks.style_lock(trained):
        pass
    assert folder.is_dir() and not any(s.exists() for s in scraps) and keep.exists()
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tiny"]
    assert intact(trained) == 120
