"""Shared fixtures. Every test gets a fresh data home and only the built-in plugins."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from stylegen import plugins

# Test models are tiny: one thread is faster than two, and keeps tests steady on a busy machine.
torch.set_num_threads(1)


class StopAt:
    """An observer that asks the trainer to stop (sets `flag`, the run's `stop`) once it has
    logged step `n`."""

    def __init__(self, n: int, flag: threading.Event) -> None:
        self.n, self.flag = n, flag

    def on_event(self, event: Mapping[str, Any]) -> None:
        if event["event"] == "step" and event["step"] >= self.n:
            self.flag.set()


def train_stopped_and_resumed(corpus: str, name: str, steps: int, stop_at: int, **settings: Any) -> None:
    """A run of `steps` steps of `settings`, seed 1, stopped once it has logged step `stop_at`
    and resumed to the end: to compare with the same run made in one go."""
    from stylegen.training import TrainConfig, train

    flag = threading.Event()
    first = train(
        TrainConfig(corpus=corpus, name=name, max_steps=steps, seed=1, **settings),
        observers=[StopAt(stop_at, flag)],
        stop=flag,
    )
    assert first["status"] == "stopped"
    train(TrainConfig(corpus=corpus, name=name, max_steps=steps), resume=True)


PHRASE = "the quick brown fox jumps over the lazy dog.\n"
#: Tiny training settings: a few seconds on a 2-core CPU (TrainConfig(..., **TINY)).
TINY: dict[str, Any] = dict(
    model_config={"layers": 1, "hidden": 48, "embed": 16},
    batch_size=4,
    seq_len=16,
    lr=1e-2,
    warmup_steps=5,
    eval_every=20,
    precision="fp32",  # the same numbers on every machine
)


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh STYLEGEN_HOME, built-in plugins only, a fresh plugin registry, and no shipped
    styles (tests of the shipped ones ask for `real_shipped`)."""
    from stylegen import styles

    home = tmp_path / "home"
    no_shipped = tmp_path / "no-shipped-styles"
    monkeypatch.setattr(styles, "shipped_dir", lambda: no_shipped)
    # `--precision auto` is bf16 on CPUs with AMX/AVX512-BF16: tests train in float32 on every
    # machine, so they see the same numbers everywhere (the bf16 path has its own tests).
    from stylegen.training import precision

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    monkeypatch.setenv("STYLEGEN_HOME", str(home))
    monkeypatch.setenv("STYLEGEN_LOAD_PLUGINS", "")
    monkeypatch.delenv("STYLEGEN_DEBUG", raising=False)
    plugins._REGISTRY = None
    yield home
    plugins._REGISTRY = None


@pytest.fixture
def real_shipped(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The styles that ship in the package, visible again."""
    from stylegen import styles

    folder = Path(styles.__file__).parent / "shipped"
    monkeypatch.setattr(styles, "shipped_dir", lambda: folder)
    return folder


@pytest.fixture
def texts_dir(tmp_path: Path) -> Path:
    """A folder of text files, with a nested folder and a hidden one."""
    root = tmp_path / "texts"
    (root / "more").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.txt").write_text(PHRASE * 100, encoding="utf-8")
    (root / "more" / "b.txt").write_text(PHRASE * 100, encoding="utf-8")
    (root / "more" / "c.md").write_text(PHRASE * 50, encoding="utf-8")
    (root / ".git" / "config").write_text("not corpus text\n", encoding="utf-8")
    return root


@pytest.fixture
def tiny_corpus(texts_dir: Path) -> str:
    from stylegen.corpus import build_corpus

    build_corpus("tiny", [str(texts_dir)])
    return "tiny"


PLAY = "ANNA:\nhello bob.\n\nBOB:\nhi anna, how are you?\n\nCARL:\nbye all.\n\n"


def _train_home(factory: pytest.TempPathFactory, name: str, text: str, steps: int) -> Path:
    """A data home with corpus `name` built from `text` and style `name` trained on it."""
    import os

    from stylegen.corpus import build_corpus
    from stylegen.training import TrainConfig, train

    home = factory.mktemp(name) / "home"
    old = {k: os.environ.get(k) for k in ("STYLEGEN_HOME", "STYLEGEN_LOAD_PLUGINS")}
    os.environ["STYLEGEN_HOME"] = str(home)
    os.environ["STYLEGEN_LOAD_PLUGINS"] = ""
    plugins._REGISTRY = None
    try:
        src = home.parent / "src.txt"
        src.write_text(text, encoding="utf-8")
        build_corpus(name, [str(src)])
        train(TrainConfig(corpus=name, name=name, max_steps=steps, **TINY))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        plugins._REGISTRY = None
    return home


@pytest.fixture(scope="session")
def _trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Corpus and style `tiny`: one sentence, repeated; trained once per session."""
    return _train_home(tmp_path_factory, "tiny", PHRASE * 250, 120)


@pytest.fixture(scope="session")
def _play_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Corpus and style `play`: three speakers taking turns in the play format."""
    return _train_home(tmp_path_factory, "play", PLAY * 120, 200)


@pytest.fixture
def trained(hermetic: Path, _trained_home: Path) -> str:
    """Style `tiny` (and corpus `tiny`) copied into this test's data home."""
    shutil.copytree(_trained_home, hermetic, dirs_exist_ok=True)
    return "tiny"


@pytest.fixture
def play(hermetic: Path, _play_home: Path) -> str:
    """Style `play` (and corpus `play`), with a speaker-line turn format, in this test's data home."""
    shutil.copytree(_play_home, hermetic, dirs_exist_ok=True)
    return "play"
