"""The work behind the Inspect screen, without Textual: the text to inspect, and a request
(a neuron, or a search) turned into what the screen shows, in a worker thread.

The model reads a text once (`stylegen.activations`); the activations are kept, so another
layer, neuron or kind, or a search, only recolours. The search itself is the library's
(`stylegen.search_neurons`).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

#: Characters of the default text: an excerpt of the corpus, or a sample.
EXCERPT_CHARS = 1000
SAMPLE_TOKENS = 600
#: Neurons a search lists.
TOP = 10


def default_text(style: Any, seed: int = 0) -> tuple[str, str]:
    """A text to inspect, and where it is from: an excerpt of the style's corpus (starting at a
    line), or, when the corpus is not here (a shipped style), a sample the style writes.
    Call from a worker thread."""
    from stylegen import load_corpus
    from stylegen.errors import StylegenError

    name = style.meta.corpus.name
    text = ""
    if name:
        try:
            text = load_corpus(name).train_text()
        except (StylegenError, OSError):
            text = ""
    if text.strip():
        start = random.Random(seed).randrange(max(1, len(text) - EXCERPT_CHARS))
        line = text.find("\n", start, start + 200)
        if start and line >= 0 and line + 1 < len(text):
            start = line + 1
        return text[start : start + EXCERPT_CHARS], f"corpus {name} from offset {start:,}"
    sample = "".join(style.generate("", length=SAMPLE_TOKENS, seed=seed))
    return sample, f"a sample by {style.name} (seed {seed})"


@dataclass(frozen=True)
class Request:
    """What to show: a neuron, or the best neuron of a search (`pattern` or `feature`)."""

    number: int
    text: str
    kind: str | None
    layer: int
    neuron: int
    pattern: str | None = None
    feature: str | None = None


@dataclass(frozen=True)
class Colouring:
    """The text coloured by one neuron, and what the screen says about it."""

    kind: str  # the activation shown (`cell`, `hidden`, `gate-i` ...)
    kinds: tuple[str, ...]  # every kind the model has
    shape: tuple[int, int]  # layers, neurons per layer (of `kind`)
    layer: int
    neuron: int
    scores: list[Any] | None  # a search's neurons (`stylegen.NeuronScore`), best first
    search: str | None  # what was searched for: `/fox/`, `feature in-quotes`
    chars: int  # characters read
    cut: int  # characters of the text not read (past the limit)
    scale: tuple[float, float]  # the colour scale's ends
    rendered: Any  # the coloured text (a Textual `Content`)

    def describe(self, score: Any = None, label: str = "") -> str:
        """'layer 0 neuron 3 (cell) · r +0.912 with /fox/ · blue -1 … red +1 · 1,000 chars'."""
        lo, hi = self.scale
        scale = f"blue {lo:g} … red {hi:+g}" if lo < 0 else f"pale {lo:g} … green {hi:g}"
        parts = [f"layer {self.layer} neuron {self.neuron} ({self.kind})"]
        if score is not None:
            parts.append(f"r {score.r:+.3f} with {label}")
        parts.append(scale)
        chars = f"{self.chars:,} chars"
        if self.cut:
            chars = f"the first {self.chars:,} chars ({self.cut:,} more not read)"
        parts.append(chars)
        return " · ".join(parts)


class Reader:
    """Runs requests (one model run at a time), keeping the last text's activations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one model run at a time; guards the cached activations
        self._cache: tuple[Any, str, Any] | None = None  # (style, text, Activations)

    def forget(self) -> None:
        with self._lock:
            self._cache = None

    def colour(self, style: Any, request: Request) -> Colouring:
        """The work of a request (worker thread): activations (kept), search, colours."""
        import stylegen

        with self._lock:
            if self._cache is not None and self._cache[0] is style and self._cache[1] == request.text:
                acts = self._cache[2]
            else:
                acts = stylegen.activations(style, request.text)
                self._cache = (style, request.text, acts)
        kind = request.kind if request.kind is not None and request.kind in acts.kinds else None
        kind = kind or stylegen.default_activation_kind(acts.kinds)
        layer, neuron, scores, label = request.layer, request.neuron, None, None
        if request.pattern is not None or request.feature is not None:
            scores = stylegen.search_neurons(acts, kind, pattern=request.pattern, feature=request.feature, top=TOP)
            layer, neuron = scores[0].layer, scores[0].neuron
            label = f"/{request.pattern}/" if request.pattern is not None else f"feature {request.feature}"
        acts.check_neuron(kind, layer, neuron)
        row = stylegen.ActivationRow.of(
            f"layer {layer} neuron {neuron}", acts.neuron(kind, layer, neuron), signed=not kind.startswith("gate")
        )
        return Colouring(
            kind=kind,
            kinds=acts.kinds,
            shape=(acts.layers, acts.width(kind)),
            layer=layer,
            neuron=neuron,
            scores=scores,
            search=label,
            chars=len(acts.text),
            cut=len(request.text) - len(acts.text) if len(acts.text) < len(request.text) else 0,
            scale=(row.lo, row.hi),
            rendered=stylegen.activations_rich_text(acts.text, row),
        )
