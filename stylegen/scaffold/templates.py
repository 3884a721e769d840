"""The files of a plugin package, one set per kind (`string.Template`: `$name`, `$module` ...).

Each kind's module is a small working plugin of that kind, and its test passes as written.
"""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
dynamic = ["version"]
description = "$description"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["stylegen>=$stylegen_version"]

[project.optional-dependencies]
test = ["pytest>=7"]

# The plugin: an entry point in the "stylegen" group naming the module with the @hookimpl functions.
[project.entry-points.stylegen]
$name = "$module"

[tool.setuptools.dynamic]
version = { attr = "$module.__version__" }

[tool.setuptools.packages.find]
include = ["$module*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

README = """\
# $dist

A $kind plugin for [stylegen](https://pypi.org/project/stylegen/): $description.

```bash
pip install -e '.[test]'     # from this folder
pytest                       # its tests: the plugin registered beside the built-ins
stylegen plugins             # lists `$name` ($kind) from $dist
$usage
```

The plugin contract, every hook and protocol: stylegen's `docs/plugins.md`.
"""

CONFTEST = '''\
"""A fresh data home and a registry holding the built-ins and this plugin (installed or not)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from stylegen.plugins import Registry
from stylegen.testing import plugin_registry

import $module


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with plugin_registry({"$name": $module}, home=tmp_path / "home") as reg:
        yield reg
'''

HEADER = '''\
"""$dist: $description.

Once installed (`pip install -e .` here):

$usage_indented
"""

from __future__ import annotations
'''

FOOTER_VERSION = """
__version__ = "0.1.0"
#: The plugin contract this package was written for (stylegen.hookspecs.HOOKSPEC_VERSION).
STYLEGEN_HOOKSPEC_VERSION = $hookspec_version
"""

# --------------------------------------------------------------------------------- sampler

SAMPLER = (
    HEADER
    + """
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import Param

if TYPE_CHECKING:
    import torch
"""
    + FOOTER_VERSION
    + '''

class $cls:
    """Sample from softmax(logits / temperature) among the top_k likeliest tokens."""

    name = "$name"
    description = "$description"
    params = (
        Param("temperature", float, 1.0, 1e-3, 10.0, "divide the logits by this; lower is more conservative"),
        Param("top_k", int, 40, 0, None, "sample among the k likeliest tokens (0: all)"),
    )

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        """logits (B, V) float32 -> ids (B,) int64, drawn with `generator` (one seed, one text).

        Ids stylegen never writes (the unknown id) arrive with logit -inf: keep them at -inf.
        """
        import torch  # here, not at the top: importing the plugin must stay cheap

        logits = logits / float(params["temperature"])  # (B, V)
        k = int(params["top_k"])
        if 0 < k < logits.size(-1):
            kth = logits.topk(k, dim=-1).values[:, -1:]  # (B, 1) the k-th largest
            logits = logits.masked_fill(logits < kth, float("-inf"))
        return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)  # (B,)


@hookimpl
def register_samplers(register: Register) -> None:
    register($cls())
'''
)

SAMPLER_TEST = """\
from __future__ import annotations

import torch
from stylegen.plugins import Registry
from stylegen.testing import check_sampler


def test_follows_the_sampler_protocol(registry: Registry) -> None:
    check_sampler(registry.get("sampler", "$name"))


def test_top_k_of_one_is_the_likeliest_token(registry: Registry) -> None:
    sampler = registry.get("sampler", "$name")
    logits = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, float("-inf")]])
    ids = sampler(logits, {"temperature": 1.0, "top_k": 1}, torch.Generator().manual_seed(0))
    assert ids.tolist() == [1, 0]


def test_never_draws_a_banned_id(registry: Registry) -> None:
    sampler = registry.get("sampler", "$name")
    logits = torch.zeros(64, 5)
    logits[:, 0] = float("-inf")  # the unknown id
    ids = sampler(logits, {"temperature": 2.0, "top_k": 0}, torch.Generator().manual_seed(0))
    assert 0 not in ids.tolist()
"""

# --------------------------------------------------------------------------------- model

MODEL = (
    HEADER
    + """
import dataclasses
from typing import Any

from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl
"""
    + FOOTER_VERSION
    + '''

class $cls:
    """Builds the model from `stylegen train` options (--hidden, --layers, --embed, --dropout, --model-opt)."""

    name = "$name"
    description = "$description"

    def build(self, vocab_size: int, **config: Any) -> Any:
        from $module.model import Config, Model  # torch is imported there, only when a model is built

        known = {f.name for f in dataclasses.fields(Config)}
        unknown = sorted(set(config) - known)
        if unknown:
            known_list = ", ".join(sorted(known))
            raise StylegenError(f"model {self.name!r}: unknown option {unknown[0]!r} (known: {known_list})")
        cfg = Config(**config)
        if min(cfg.hidden, cfg.layers, cfg.embed) < 1 or not 0.0 <= cfg.dropout < 1.0:
            raise StylegenError(f"model {self.name!r}: sizes must be >= 1 and dropout in [0, 1) (got {config})")
        return Model(vocab_size, cfg)


@hookimpl
def register_models(register: Register) -> None:
    register($cls())
'''
)

MODEL_MODULE = '''\
"""The model: ids (B, T) -> embedding (B, T, E) -> GRU layers (B, T, H) -> head (B, T, V).

The stateful-step protocol: `init_state(batch, device)`, `forward(ids, state) -> (logits,
state)`, `config()`; the state here is the GRU's hidden state (layers, B, H). stylegen's
trainer carries it from window to window, its generator from token to token.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class Config:
    hidden: int = 256  # units per layer
    layers: int = 2  # stacked GRU layers
    embed: int = 64  # embedding width
    dropout: float = 0.0  # between layers and before the head


class Model(nn.Module):
    def __init__(self, vocab_size: int, cfg: Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.embedding = nn.Embedding(vocab_size, cfg.embed)
        between = cfg.dropout if cfg.layers > 1 else 0.0
        self.rnn = nn.GRU(cfg.embed, cfg.hidden, cfg.layers, batch_first=True, dropout=between)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def init_state(self, batch: int, device: torch.device | str) -> torch.Tensor:
        return torch.zeros(self.cfg.layers, batch, self.cfg.hidden, device=device)  # (L, B, H)

    def forward(self, ids: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, state = self.rnn(self.embedding(ids), state)  # (B, T, H), (L, B, H)
        return self.head(self.drop(out)), state  # (B, T, V)

    def select_state(self, state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Rows `index` (K,) of the batch's state (beam search): (L, B, H) -> (L, K, H)."""
        return state.index_select(1, index.to(state.device))

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)  # JSON: rebuilds this model through the factory
'''

MODEL_TEST = """\
from __future__ import annotations

from pathlib import Path

import pytest
from stylegen.errors import StylegenError
from stylegen.plugins import Registry
from stylegen.testing import check_model


def test_follows_the_stateful_step_protocol(registry: Registry) -> None:
    check_model(registry.get("model", "$name"), {"hidden": 16, "embed": 8})


def test_unknown_option_is_a_one_line_error(registry: Registry) -> None:
    with pytest.raises(StylegenError, match="unknown option 'heads'"):
        registry.get("model", "$name").build(10, heads=4)


def test_stylegen_trains_it_and_writes_with_it(registry: Registry, tmp_path: Path) -> None:
    from stylegen import build_corpus, load_style
    from stylegen.training import TrainConfig, train

    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\\n" * 100, encoding="utf-8")
    build_corpus("fox", [str(text)])
    config = {"hidden": 32, "layers": 1, "embed": 16}
    meta = train(
        TrainConfig(corpus="fox", name="fox", model="$name", model_config=config, batch_size=4, seq_len=16,
                    max_steps=30, eval_every=15, warmup_steps=3, lr=1e-2)
    )  # fmt: skip
    assert meta["val_bpc"] is not None
    assert len("".join(load_style("fox").generate("the ", length=20, seed=0))) == 20
"""

# --------------------------------------------------------------------------------- tokenizer

TOKENIZER = (
    HEADER
    + """
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl
"""
    + FOOTER_VERSION
    + '''

class ${cls}Tokenizer:
    """One id per character: the `max_vocab` most frequent characters of the training text,
    the others read as the unknown id 0 (which stylegen never generates)."""

    name = "$name"
    unk_id = 0

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = list(chars)
        self.index = {c: i + 1 for i, c in enumerate(self.chars)}
        self.vocab_size = len(self.chars) + 1

    def encode(self, text: str) -> np.ndarray:
        return np.fromiter((self.index.get(c, 0) for c in text), dtype=np.uint32, count=len(text))

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i - 1] if 0 < i <= len(self.chars) else "\\ufffd" for i in ids)

    def token_lengths(self) -> np.ndarray:
        """Characters per id (bits per character divides by their sum): one each."""
        return np.ones(self.vocab_size, dtype=np.int64)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "vocab.json").write_text(json.dumps({"chars": self.chars}), encoding="utf-8")


class $cls:
    name = "$name"
    description = "$description"

    def train(self, chunks: Iterable[str], max_vocab: int = 256, **options: Any) -> ${cls}Tokenizer:
        """`stylegen train --tokenizer $name --tokenizer-opt max_vocab=N`."""
        if options:
            raise StylegenError(f"tokenizer {self.name!r}: unknown option {sorted(options)[0]!r} (known: max_vocab)")
        counts: Counter[str] = Counter()
        for chunk in chunks:
            counts.update(chunk)
        return ${cls}Tokenizer(sorted(c for c, _ in counts.most_common(int(max_vocab))))

    def load(self, directory: Path) -> ${cls}Tokenizer:
        try:
            return ${cls}Tokenizer(json.loads((directory / "vocab.json").read_text(encoding="utf-8"))["chars"])
        except (OSError, ValueError, KeyError) as e:
            raise StylegenError(f"{directory / 'vocab.json'}: not a $name vocabulary ({e})") from None


@hookimpl
def register_tokenizers(register: Register) -> None:
    register($cls())
'''
)

TOKENIZER_TEST = """\
from __future__ import annotations

from pathlib import Path

import pytest
from stylegen.errors import StylegenError
from stylegen.plugins import Registry
from stylegen.testing import check_tokenizer


def test_follows_the_tokenizer_protocol(registry: Registry, tmp_path: Path) -> None:
    check_tokenizer(registry.get("tokenizer", "$name"), "Hello, world!\\n" * 3, tmp_path / "tokenizer")


def test_rare_characters_are_the_unknown_id(registry: Registry) -> None:
    tokenizer = registry.get("tokenizer", "$name").train(["aaab"], max_vocab=1)
    assert tokenizer.encode("ab").tolist() == [1, tokenizer.unk_id]


def test_unknown_option_is_a_one_line_error(registry: Registry) -> None:
    with pytest.raises(StylegenError, match="unknown option 'lowercase'"):
        registry.get("tokenizer", "$name").train(["x"], lowercase=True)


def test_stylegen_trains_a_style_with_it(registry: Registry, tmp_path: Path) -> None:
    from stylegen import build_corpus
    from stylegen.training import TrainConfig, train

    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\\n" * 100, encoding="utf-8")
    build_corpus("fox", [str(text)])
    meta = train(
        TrainConfig(corpus="fox", name="fox", tokenizer="$name", model_config={"hidden": 16, "layers": 1},
                    batch_size=4, seq_len=16, max_steps=10, eval_every=10)
    )  # fmt: skip
    assert meta["tokenizer"]["name"] == "$name" and meta["val_bpc"] is not None
"""

# --------------------------------------------------------------------------------- source

SOURCE = (
    HEADER
    + """
from collections.abc import Iterator, Sequence
from pathlib import Path

from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import Document, Skipped, SourceOptions
"""
    + FOOTER_VERSION
    + '''

class $cls:
    """Each argument names a text file; each of its paragraphs with at least `min_words`
    words (`--source-opt min_words=N`, default 1) is a document."""

    name = "$name"
    description = "$description"

    def documents(self, args: Sequence[str], options: SourceOptions) -> Iterator[Document | Skipped]:
        min_words = int(options.extra.get("min_words", 1))
        for arg in args:
            path = Path(arg)
            try:
                text = path.read_text(encoding="utf-8", errors="replace" if options.errors == "replace" else "strict")
            except (OSError, UnicodeDecodeError) as e:
                yield Skipped(arg, f"cannot read: {e}")
                continue
            for number, paragraph in enumerate(text.split("\\n\\n"), 1):
                if len(paragraph.split()) >= min_words:
                    yield Document(paragraph.strip() + "\\n", f"{arg}#{number}")


@hookimpl
def register_sources(register: Register) -> None:
    register($cls())
'''
)

SOURCE_TEST = """\
from __future__ import annotations

from pathlib import Path

from stylegen.plugins import Registry
from stylegen.protocols import SourceOptions
from stylegen.testing import check_source


def test_paragraphs_become_documents(registry: Registry, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("One two three.\\n\\nFour.\\n\\nFive six.\\n", encoding="utf-8")
    docs = check_source(registry.get("source", "$name"), [str(notes)], SourceOptions(extra={"min_words": 2}))
    assert [d.text for d in docs] == ["One two three.\\n", "Five six.\\n"]
    assert docs[0].origin.endswith("notes.txt#1")


def test_a_missing_file_is_skipped_not_fatal(registry: Registry, tmp_path: Path) -> None:
    found = list(registry.get("source", "$name").documents([str(tmp_path / "nope.txt")], SourceOptions()))
    assert len(found) == 1 and "cannot read" in found[0].reason


def test_builds_a_corpus(registry: Registry, tmp_path: Path) -> None:
    from stylegen import build_corpus

    notes = tmp_path / "notes.txt"
    notes.write_text("the quick brown fox.\\n\\njumps over the lazy dog.\\n" * 20, encoding="utf-8")
    corpus = build_corpus("notes", [f"$name:{notes}"])
    assert corpus.name == "notes"
"""

# --------------------------------------------------------------------------------- extractor

EXTRACTOR = (
    HEADER
    + """
from typing import Any

from stylegen.errors import StylegenError
from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import SkipFile
"""
    + FOOTER_VERSION
    + '''

class $cls:
    """Files named *.$name: UTF-8 text whose lines starting with `#` are comments, dropped."""

    name = "$name"
    description = "$description"
    suffixes = (".$name",)

    def extract(self, data: bytes, origin: str, errors: str, **options: Any) -> str:
        """The text a reader sees in `data`; `errors` is strict, skip or replace (--errors)."""
        if b"\\0" in data:
            raise SkipFile("binary file (contains NUL bytes)")
        try:
            text = data.decode("utf-8", errors="replace" if errors == "replace" else "strict")
        except UnicodeDecodeError as e:
            if errors == "skip":
                raise SkipFile(f"not UTF-8 (byte {e.start})") from None
            raise StylegenError(f"{origin}: not UTF-8 (byte {e.start}); use --errors skip or replace") from None
        return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


@hookimpl
def register_extractors(register: Register) -> None:
    register($cls())
'''
)

EXTRACTOR_TEST = """\
from __future__ import annotations

from pathlib import Path

import pytest
from stylegen.plugins import Registry
from stylegen.protocols import SkipFile
from stylegen.testing import check_extractor


def test_comments_are_dropped(registry: Registry) -> None:
    text = check_extractor(registry.get("extractor", "$name"), b"# a comment\\nkept line\\n")
    assert text == "kept line\\n"


def test_binary_files_are_skipped(registry: Registry) -> None:
    with pytest.raises(SkipFile, match="binary"):
        registry.get("extractor", "$name").extract(b"\\x00\\x01", "x.$name", "strict")


def test_corpus_build_reads_its_files_through_it(registry: Registry, tmp_path: Path) -> None:
    from stylegen import build_corpus

    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.$name").write_text("# not text\\nthe quick brown fox.\\n" * 30, encoding="utf-8")
    corpus = build_corpus("texts", [str(folder)])
    assert "not text" not in (corpus.path / "train.txt").read_text(encoding="utf-8")
"""

# --------------------------------------------------------------------------------- observer

OBSERVER = (
    HEADER
    + """
import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stylegen.hookspecs import Register, hookimpl
"""
    + FOOTER_VERSION
    + '''

class ValidationCSV:
    """Writes one CSV row per validation: step, seconds, bits per character, nats per token."""

    def __init__(self, path: str | Path = "validation.csv") -> None:
        self.path = Path(path)

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Events are dicts with an `event` key: start, step, eval, checkpoint, end ..."""
        if event["event"] == "start":
            with self.path.open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(["step", "seconds", "val_bpc", "val_loss"])
        elif event["event"] == "eval":
            with self.path.open("a", newline="", encoding="utf-8") as f:
                row = [event["step"], round(event["elapsed"], 3), event["val_bpc"], event["val_loss"]]
                csv.writer(f).writerow(row)


class $cls:
    name = "$name"
    description = "$description"

    def create(self, **options: Any) -> ValidationCSV:
        return ValidationCSV(**options)


@hookimpl
def register_observers(register: Register) -> None:
    register($cls())
'''
)

OBSERVER_TEST = """\
from __future__ import annotations

import csv
from pathlib import Path

from stylegen.plugins import Registry
from stylegen.testing import check_observer


def test_writes_a_row_per_validation(registry: Registry, tmp_path: Path) -> None:
    check_observer(registry.get("observer", "$name"), path=tmp_path / "v.csv")
    rows = list(csv.reader((tmp_path / "v.csv").open(encoding="utf-8")))
    assert rows == [["step", "seconds", "val_bpc", "val_loss"], ["10", "1.0", "2.1", "1.5"]]


def test_follows_a_real_training_run(registry: Registry, tmp_path: Path) -> None:
    from stylegen import build_corpus
    from stylegen.training import TrainConfig, train

    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog.\\n" * 100, encoding="utf-8")
    build_corpus("fox", [str(text)])
    observer = registry.get("observer", "$name").create(path=tmp_path / "v.csv")
    train(
        TrainConfig(corpus="fox", name="fox", model_config={"hidden": 16, "layers": 1}, batch_size=4, seq_len=16,
                    max_steps=20, eval_every=10),
        observers=[observer],
    )  # fmt: skip
    assert [row[0] for row in csv.reader((tmp_path / "v.csv").open(encoding="utf-8"))] == ["step", "10", "20"]
"""

#: kind -> the package module's text, its test's, a usage line, a default description, and
#: any further files of the package module (by file name)
KINDS: dict[str, dict[str, str]] = {
    "sampler": {
        "module": SAMPLER,
        "test": SAMPLER_TEST,
        "usage": "stylegen generate STYLE --sampler $name --param top_k=20",
        "description": "temperature sampling among the k likeliest tokens",
    },
    "model": {
        "module": MODEL,
        "test": MODEL_TEST,
        "usage": "stylegen train CORPUS --model $name --hidden 256 --layers 2",
        "description": "a stacked GRU language model",
        "model.py": MODEL_MODULE,
    },
    "tokenizer": {
        "module": TOKENIZER,
        "test": TOKENIZER_TEST,
        "usage": "stylegen train CORPUS --tokenizer $name --tokenizer-opt max_vocab=128",
        "description": "characters, the most frequent ones",
    },
    "source": {
        "module": SOURCE,
        "test": SOURCE_TEST,
        "usage": "stylegen corpus build NAME $name:notes.txt,more.txt --source-opt min_words=3",
        "description": "the paragraphs of text files",
    },
    "extractor": {
        "module": EXTRACTOR,
        "test": EXTRACTOR_TEST,
        "usage": "stylegen corpus build NAME ./folder-with-$name-files/",
        "description": "text of .$name files, # comments dropped",
    },
    "observer": {
        "module": OBSERVER,
        "test": OBSERVER_TEST,
        "usage": "# from Python: stylegen.training.train(cfg, observers=[factory.create(path='v.csv')])",
        "description": "each validation as a CSV row",
    },
}
