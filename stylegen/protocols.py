"""The shapes plugins provide. Each hook in `hookspecs` registers objects of one of these kinds.

A kind's required members are those of its Protocol (`Source`, `Extractor`, `TokenizerFactory`,
`ModelFactory`, `Sampler`, `ObserverFactory`): `stylegen.plugins` checks each registered object
against them, and refuses one that lacks a member with a line naming it. Optional capabilities
are Protocols of their own, checked with `isinstance` where stylegen uses them:

    ReadsOptions   an extractor's `options`: the `corpus build` options it reads
    BansIds        a tokenizer's `never_ids`: ids generation never produces
    DecodesStream  a tokenizer's `decode_stream()`: decodes one id at a time (a `StreamDecoder`)
    SelectsState   a model's `select_state(state, index)`: beam search
    StepsStates    a model's `step_states(ids, state)`: `stylegen inspect`
    StepsTokens    a model's `token_stepper(batch, precision)`: fast one-token generation steps
    KeepsState     a sampler's `start(batch, params)` and `sample(..., state)`: a state per text

Nothing here imports torch: a plugin module must stay cheap to import, so that
`stylegen --help` and `stylegen plugins` stay instant. Import torch inside methods.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, _ProtocolMeta, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch


@functools.cache
def members(protocol: type) -> tuple[str, ...]:
    """What a Protocol declares, its Protocol bases' included, in the order written: attributes
    (annotated) and, after a colon, methods: `members(Sampler)` is
    `("name", "description", "params", ":__call__")`."""
    found: list[str] = []
    for cls in reversed(protocol.__mro__):
        if cls is Protocol or not getattr(cls, "_is_protocol", False):
            continue
        found.extend(name for name in inspect.get_annotations(cls) if name not in found)
        found.extend(
            f":{name}"
            for name, value in vars(cls).items()
            if callable(value) and (not name.startswith("_") or name == "__call__") and f":{name}" not in found
        )
    return tuple(found)


def missing(obj: object, protocol: type, skip: Iterable[str] = ()) -> str | None:
    """The first member of `protocol` (as `members` spells it) that `obj` lacks, or None: an
    attribute that is absent or None, a method that is absent or not callable."""
    for member in members(protocol):
        name = member.lstrip(":")
        if name in skip:
            continue
        value = getattr(obj, name, None)
        if value is None or (member.startswith(":") and not callable(value)):
            return member
    return None


class _Capability(_ProtocolMeta):
    """The metaclass of the optional capabilities: `isinstance(obj, BansIds)` asks `missing`
    whether `obj` has the members now. (A plain runtime-checkable Protocol answers a method-only
    check through the ABC cache, by class: a class that loses the method later, as under a
    test's monkeypatch, would still pass.)"""

    def __instancecheck__(cls, instance: object) -> bool:
        return missing(instance, cls) is None


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

    Optional: `options` (see `ReadsOptions`).
    """

    name: str
    description: str
    suffixes: tuple[str, ...]

    def extract(self, data: bytes, origin: str, errors: str, **options: Any) -> str:
        """Return the text of `data`; raise `SkipFile` for a file that holds no text."""
        ...


@runtime_checkable
class ReadsOptions(Protocol, metaclass=_Capability):
    """The optional `Extractor` attribute naming the `corpus build` options it reads.

    E.g. `("field",)` for JSON Lines' `--field`; those given are passed to `extract` as keyword
    arguments, the others are not passed at all. An extractor without it is passed none.
    """

    options: tuple[str, ...]


class SkipFile(Exception):
    """Raised by an extractor for a file that is not text (the message is the reason)."""


@runtime_checkable
class Tokenizer(Protocol):
    """A trained tokenizer (what a `TokenizerFactory` trains and loads).

    Optional: `never_ids` (see `BansIds`) and `decode_stream()` (see `DecodesStream`).
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


@runtime_checkable
class BansIds(Protocol, metaclass=_Capability):
    """The optional `Tokenizer` attribute: ids generation must never produce besides `unk_id`
    (control tokens such as `<s>`). A tokenizer without it bans only `unk_id`."""

    never_ids: Sequence[int]


@runtime_checkable
class StreamDecoder(Protocol, metaclass=_Capability):
    """Decodes one id at a time, giving only complete characters (what `decode_stream()` returns)."""

    def push(self, token: int) -> str:
        """The characters `token` completes (often none, for a piece of a character)."""
        ...

    def flush(self) -> str:
        """Whatever is held back, at the end of the text."""
        ...


@runtime_checkable
class DecodesStream(Protocol, metaclass=_Capability):
    """The optional `Tokenizer` method for a tokenizer whose ids may stand for part of a
    character (byte pieces): generation and `inspect` then show only complete characters.
    Without it, each id is decoded alone with `decode([id])`."""

    def decode_stream(self) -> StreamDecoder: ...


@runtime_checkable
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

    Optional: `select_state(state, index)` (see `SelectsState`), for beam search, and
    `step_states(ids, state)` (see `StepsStates`), for `stylegen inspect`.
    """

    def init_state(self, batch: int, device: torch.device | str) -> Any: ...

    def forward(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """ids (B, T) int64 -> logits (B, T, V), new state."""
        ...

    def config(self) -> dict[str, Any]:
        """JSON-able keyword arguments that rebuild this model through its plugin."""
        ...


@runtime_checkable
class SelectsState(Protocol, metaclass=_Capability):
    """The optional `LanguageModel` method that beam search uses to duplicate and reorder the
    rows of a batch's state. A model without it can do everything else, and `--beam` says so
    in one line."""

    def select_state(self, state: Any, index: torch.Tensor) -> Any:
        """The state of the rows `index` (K,) int64 of a batch, in that order (rows may repeat).

        For an RNN whose state is (L, B, H), or a pair of them, this is `index_select` along
        dim 1; a state with the batch first would select along dim 0.
        """
        ...


@runtime_checkable
class StepsStates(Protocol, metaclass=_Capability):
    """The optional `LanguageModel` method behind `stylegen inspect`. A model without it cannot
    be inspected, and `inspect` says so in one line."""

    def step_states(self, ids: torch.Tensor, state: Any) -> tuple[dict[str, torch.Tensor], Any]:
        """ids (1, T) int64 -> (states, the state after the last step).

        `states` maps an activation's name to a (layers, T, units) tensor holding every layer's
        value after each step. Names `inspect --what` knows: `hidden` (every model should give
        it), `cell` (tanh of an LSTM's cell state), `gate-i`, `gate-f`, `gate-o` (LSTM gates),
        `gate-r`, `gate-z` (GRU gates); others are shown under their own name. Values in [-1, 1]
        (or [0, 1] for `gate-*`) colour best.
        """
        ...


@runtime_checkable
class StepsTokens(Protocol, metaclass=_Capability):
    """The optional `LanguageModel` method that generation uses for its one-token steps.
    A model without it is stepped through `forward` with sequences of one token, as before."""

    def token_stepper(
        self, batch: int, precision: str
    ) -> Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]] | None:
        """A step for `batch` rows, or None where it does not apply (then `forward` is used).

        The step is `step(ids, state) -> (logits, state)`: ids (batch,) int64 on the model's
        device, logits (batch, V) float32 on the CPU, and the state in the layout `forward`
        uses; it may update the state in place and reuse the logits tensor at the next call.
        `precision` is "fp32", "fp16" or "int8" (`--fp16`, `--int8`): the weights' format.
        The step must give `forward`'s logits for one token, to the precision's rounding.
        stylegen/models/stepper.py builds the built-in models' steps.
        """
        ...


@runtime_checkable
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


@runtime_checkable
class Sampler(Protocol):
    """Chooses the next token ids from the last logits."""

    name: str
    description: str
    params: tuple[Param, ...]

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        """logits (B, V) float32 -> ids (B,) int64."""
        ...


@runtime_checkable
class KeepsState(Protocol, metaclass=_Capability):
    """The optional `Sampler` methods for a sampler that keeps a state per text (mirostat's
    running threshold, say). `start` is called when a text starts: each `generate` run, a
    chat session, its `/reset`, and when the sampler is chosen; then `sample` is called
    instead of `__call__` with the state it returned last. Chat carries the state across
    turns and `/save-state` saves it, so it must be a tensor or a tuple/list/dict of tensors
    (or None). A sampler without them is called as `__call__`, with no state."""

    def start(self, batch: int, params: Mapping[str, Any]) -> Any:
        """The state for `batch` rows at the start of a text."""
        ...

    def sample(
        self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator, state: Any
    ) -> tuple[torch.Tensor, Any]:
        """logits (B, V) float32 -> (ids (B,) int64, the state after this step)."""
        ...


class Observer(Protocol):
    """Receives training events: the typed records of `stylegen.training.events` (`StartEvent`,
    `StepEvent`, `EvalEvent`, `EndEvent`; fields in docs/training.md, "Metrics and events").
    Each record is also a read-only mapping of its JSON form, so `event["event"]` is its
    kind ("start", "step", "eval", "end") and `event.get("eta")` works as on the JSON line."""

    def on_event(self, event: Mapping[str, Any]) -> None: ...


@runtime_checkable
class ObserverFactory(Protocol):
    """What a train-observer plugin registers."""

    name: str
    description: str

    def create(self, **options: Any) -> Observer: ...
