"""`InspectResult`: what `stylegen inspect --json` prints, as a typed record.

    {"style", "what", "layers", "neurons_per_layer", "text",
     "search": {"pattern" | "feature": ..., "top": [{"layer", "neuron", "r"}]},     (a search only)
     "neurons": [{"layer", "neuron", "values": [one per character]}],
     "topk": [{"position", "char", "next": [{"text", "p"}]}]}                       (--topk only)

`stylegen.inspect.inspect_result` builds one from the activations; `from_json` reads the
printed JSON back, checked like the files a style keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stylegen.records import _check as c
from stylegen.records._check import Fields

SEARCH_KINDS = ("pattern", "feature")
_MANY = 1 << 24
_INDEX = c.integer(0)
_TEXT = c.string(1 << 26)


@dataclass(frozen=True)
class Score:
    """One neuron of a search and its Pearson r with the target."""

    layer: int
    neuron: int
    r: float

    @classmethod
    def read(cls, f: Fields) -> Score:
        return cls(f.need("layer", _INDEX), f.need("neuron", _INDEX), f.need("r", c.number()))

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "neuron": self.neuron, "r": self.r}


@dataclass(frozen=True, kw_only=True)
class Search:
    """A neuron search: by a regex `pattern` or a built-in `feature` (`by`), and the best neurons."""

    by: str
    query: str
    top: list[Score]

    @classmethod
    def read(cls, f: Fields) -> Search:
        given = [k for k in SEARCH_KINDS if k in f.data]
        if len(given) != 1:
            raise c.SchemaError(f"{c.at(f.where, 'pattern')} or {c.at(f.where, 'feature')} (one of them) is missing")
        by = given[0]
        return cls(by=by, query=f.need(by, c.string(10_000)), top=f.need("top", c.array(c.record(Score.read), _MANY)))

    def to_json(self) -> dict[str, Any]:
        return {self.by: self.query, "top": [s.to_json() for s in self.top]}


@dataclass(frozen=True, kw_only=True)
class NeuronTrace:
    """One neuron's activation at each character of the text."""

    layer: int
    neuron: int
    values: list[float]

    @classmethod
    def read(cls, f: Fields) -> NeuronTrace:
        values = f.need("values", c.array(c.number(), _MANY))
        return cls(layer=f.need("layer", _INDEX), neuron=f.need("neuron", _INDEX), values=values)

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "neuron": self.neuron, "values": self.values}


@dataclass(frozen=True, kw_only=True)
class Guess:
    """A next token the model expects, and its probability."""

    text: str
    p: float

    @classmethod
    def read(cls, f: Fields) -> Guess:
        return cls(text=f.need("text", c.string(10_000)), p=f.need("p", c.number(0)))

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "p": self.p}


@dataclass(frozen=True, kw_only=True)
class NextAt:
    """The likeliest next tokens after the character at `position`, best first."""

    position: int
    char: str
    next: list[Guess]

    @classmethod
    def read(cls, f: Fields) -> NextAt:
        guesses = f.need("next", c.array(c.record(Guess.read), 1_000))
        return cls(position=f.need("position", _INDEX), char=f.need("char", c.string(10)), next=guesses)

    def to_json(self) -> dict[str, Any]:
        return {"position": self.position, "char": self.char, "next": [g.to_json() for g in self.next]}


@dataclass(frozen=True, kw_only=True)
class InspectResult:
    """A style's neurons over a text: the activations shown, a search's ranking, next-token guesses."""

    style: str
    what: str  # cell, hidden, gate-i ...
    layers: int
    neurons_per_layer: int
    text: str
    search: Search | None = None
    neurons: list[NeuronTrace] = field(default_factory=list)
    topk: list[NextAt] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> InspectResult:
        return cls(
            style=f.need("style", c.string(200)),
            what=f.need("what", c.string(100)),
            layers=f.need("layers", c.integer(1)),
            neurons_per_layer=f.need("neurons_per_layer", c.integer(1)),
            text=f.need("text", _TEXT),
            search=f.get("search", c.record(Search.read)),
            neurons=f.need("neurons", c.array(c.record(NeuronTrace.read), _MANY)),
            topk=f.get("topk", c.array(c.record(NextAt.read), _MANY)),
            extra=f.rest(),
        )

    @classmethod
    def from_json(cls, data: Any, path: Path | str) -> InspectResult:
        """The record in `data` (the JSON `stylegen inspect --json` printed, read from `path`)."""
        return c.load(cls.read, data, path)

    def to_json(self) -> dict[str, Any]:
        head: dict[str, Any] = {
            "style": self.style,
            "what": self.what,
            "layers": self.layers,
            "neurons_per_layer": self.neurons_per_layer,
            "text": self.text,
        }
        if self.search is not None:
            head["search"] = self.search.to_json()
        head["neurons"] = [n.to_json() for n in self.neurons]
        if self.topk is not None:
            head["topk"] = [t.to_json() for t in self.topk]
        return {**head, **self.extra}
