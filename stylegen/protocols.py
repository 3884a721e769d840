"""The shapes plugins provide. Each hook in `hookspecs` registers objects of one of these kinds.

Nothing here imports torch: a plugin module must stay cheap to import, so that
`stylegen --help` and `stylegen plugins` stay instant. Import torch inside methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch


@dataclass(frozen=True)
class Document:
    """One piece of text from a source, and where it came from (a path, `<stdin>`, ...)."""

    text: str
    origin: str


@dataclass(frozen=True)
class Skipped:
    """A file a source passed over, and why (binary, undecodable with `--errors skip`...)."""

    origin: str
    reason: str


@dataclass(frozen=True)
class SourceOptions:
    """What `corpus build` tells a source besides its arguments."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    errors: str = "strict"  # strict | skip | replace: what to do with undecodable text
    extract: Callable[[Path, str], str] | None = None  # (path, errors) -> text
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    """A corpus source: turns command-line arguments into documents."""

    name: str
    description: str

    def documents(self, args: Sequence[str], options: SourceOptions) -> Iterator[Document | Skipped]:
        """Yield the documents (and skipped files) that `args` name."""
        ...


@runtime_checkable
class Extractor(Protocol):
    """Turns one file's bytes into text; chosen by file suffix (`*` is the fallback).

    Optional: `options: tuple[str, ...]` names the `corpus build` options the extractor reads
    (e.g. `("field",)` for JSON Lines' `--field`); those given are passed to `extract` as
    keyword arguments, the others are not passed at all.
    """

    name: str
    description: str
    suffixes: tuple[str, ...]

    def extract(self, data: bytes, origin: str, errors: str, **options: Any) -> str:
        """Return the text of `data`; raise `SkipFile` for a file that holds no text."""
        ...


class SkipFile(Exception):
    """Raised by an extractor for a file that is not text (the message is the reason)."""


@runtime_checkable
class Tokenizer(Protocol):
    """A trained tokenizer instance. Its class is what a plugin registers.

    Optional: `never_ids: Sequence[int]`, ids generation must never produce besides `unk_id`
    (control tokens); and `decode_stream()`, returning an object with `push(id) -> str` and
    `flush() -> str` that decodes one id at a time and yields only complete characters (for a
    tokenizer whose ids may stand for part of a character, such as byte pieces); without it,
    generation decodes each id alone with `decode([id])`.
    """

    name: str
    vocab_size: int
    unk_id: int | None  # id of the unknown token, never produced by generation

    def encode(self, text: str) -> np.ndarray: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_lengths(self) -> np.ndarray:
        """Characters each token id stands for (for bits per character)."""
        ...

    def save(self, directory: Path) -> None: ...


class TokenizerFactory(Protocol):
    """What a tokenizer plugin registers: trains new tokenizers and loads saved ones."""

    name: str
    description: str

    def train(self, chunks: Iterable[str], **options: Any) -> Tokenizer:
        """Learn a tokenizer from the training text, given as chunks (a corpus may not fit in
        memory: sample from them rather than keeping them all). `options` are the plugin's own
        (`stylegen train --tokenizer-opt KEY=VALUE`); an unknown option is a one-line error."""
        ...

    def load(self, directory: Path) -> Tokenizer: ...


class LanguageModel(Protocol):
    """The stateful-step protocol every model plugin's module follows.

    `state` is whatever the model carries between calls (RNN hidden/cell tensors, a KV cache,
    a convolution buffer): a tensor or a tuple/list/dict of tensors. The trainer detaches it
    between windows; the generator feeds it back one step at a time.

    Optional: `select_state(state, index) -> state` (see `SelectsState`). Beam search needs it
    to duplicate and reorder the rows of a batch's state; a model without it can do everything
    else, and `--beam` says so in one line.

    Optional: `step_states(ids, state) -> (states, new_state)`, for `stylegen inspect`: ids
    (1, T) int64 -> `states`, a dict from an activation's name to a (layers, T, units) tensor
    holding every layer's value after each step, and the state after the last step. Names
    `inspect --what` knows: `hidden` (every model should give it), `cell` (tanh of an LSTM's
    cell state), `gate-i`, `gate-f`, `gate-o` (LSTM gates), `gate-r`, `gate-z` (GRU gates);
    others are shown under their own name. Values in [-1, 1] (or [0, 1] for `gate-*`) colour
    best. A model without it cannot be inspected, and `inspect` says so in one line.
    """

    def init_state(self, batch: int, device: torch.device | str) -> Any: ...

    def forward(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """ids (B, T) int64 -> logits (B, T, V), new state."""
        ...

    def config(self) -> dict[str, Any]:
        """JSON-able keyword arguments that rebuild this model through its plugin."""
        ...


@runtime_checkable
class SelectsState(Protocol):
    """The optional `LanguageModel` method that beam search uses."""

    def select_state(self, state: Any, index: torch.Tensor) -> Any:
        """The state of the rows `index` (K,) int64 of a batch, in that order (rows may repeat).

        For an RNN whose state is (L, B, H), or a pair of them, this is `index_select` along
        dim 1; a state with the batch first would select along dim 0.
        """
        ...


class ModelFactory(Protocol):
    """What a model plugin registers: builds a `LanguageModel` from a JSON config."""

    name: str
    description: str

    def build(self, vocab_size: int, **config: Any) -> LanguageModel: ...


@dataclass(frozen=True)
class Param:
    """A sampler parameter, declared so that the CLI and the TUI can present it."""

    name: str
    type: type
    default: Any
    min: float | None = None
    max: float | None = None
    help: str = ""


class Sampler(Protocol):
    """Chooses the next token ids from the last logits."""

    name: str
    description: str
    params: tuple[Param, ...]

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        """logits (B, V) float32 -> ids (B,) int64."""
        ...


class Observer(Protocol):
    """Receives training events (dicts with an `event` key: start, eval, checkpoint, end...)."""

    def on_event(self, event: Mapping[str, Any]) -> None: ...


class ObserverFactory(Protocol):
    """What a train-observer plugin registers."""

    name: str
    description: str

    def create(self, **options: Any) -> Observer: ...
