"""See inside a style's model: per-character neuron activations, and neuron search.

This is the API behind `stylegen inspect` and the app's Inspect screen. Everything returns
numpy arrays; torch is imported only inside the functions that run the model.

    acts = activations(style, text)                  # run the model once over the text
    acts.neuron("cell", layer=0, neuron=5)           # (T,) one value per character
    target = feature_values(text, "in-quotes")       # or pattern_mask(text, r'"[^"]*"')
    r = correlations(acts.kind("cell"), target)      # (L, H) Pearson r of every neuron
    best = rank(r, 10)                               # the ten largest |r|, best first
    best = search(acts, "cell", pattern=r'"[^"]*"')  # the same three steps in one call

A model exposes its states through the optional `step_states` method (see
`stylegen.protocols.LanguageModel`); the built-in `lstm`, `gru` and `rnn` models have it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stylegen.chunked import run_chunked
from stylegen.errors import StylegenError
from stylegen.inspect._features import FEATURES, feature_values, pattern_mask
from stylegen.inspect._render import Row, colour, html_page, rich_text
from stylegen.protocols import DecodesStream, StepsStates
from stylegen.records.inspection import Guess, InspectResult, NeuronTrace, NextAt, Score, Search
from stylegen.records.style import StyleRecord

__all__ = [
    "FEATURES",
    "Activations",
    "InspectResult",
    "Row",
    "Score",
    "activations",
    "colour",
    "correlations",
    "default_kind",
    "feature_values",
    "html_page",
    "inspect_result",
    "pattern_mask",
    "rank",
    "rich_text",
    "search",
]

#: Characters inspected when the caller does not say (the state loop runs in Python).
DEFAULT_LIMIT = 10_000
#: The most characters one call inspects: every neuron's value at every character is kept.
MAX_LIMIT = 1_000_000


@dataclass(frozen=True)
class Activations:
    """A model's activations over a text, per character.

    A character gets the state after the token that completes it: for a char tokenizer, the
    state after reading that character; for subword tokens, every character of a token
    shares the token's state.
    """

    text: str  # the T characters, as the model read them
    per_token: dict[str, np.ndarray]  # kind -> (L, N, H) float32, N tokens
    token_of: np.ndarray  # (T,) int64: the token each character belongs to
    top_ids: np.ndarray | None = None  # (N, K) int64: likeliest next tokens after each token
    top_probs: np.ndarray | None = None  # (N, K) float32: their probabilities

    @property
    def kinds(self) -> tuple[str, ...]:
        """What the model exposes: `hidden`, `cell`, `gate-i`, ..."""
        return tuple(self.per_token)

    @property
    def layers(self) -> int:
        return int(next(iter(self.per_token.values())).shape[0])

    def width(self, kind: str) -> int:
        """Neurons per layer of `kind`."""
        return int(self.per_token[self.check_kind(kind)].shape[2])

    def check_kind(self, kind: str) -> str:
        if kind not in self.per_token:
            raise StylegenError(f"the model has no activation {kind!r} (it has: {', '.join(self.kinds)})")
        return kind

    def check_neuron(self, kind: str, layer: int, neuron: int) -> None:
        """A one-line error naming the valid range for an index out of range."""
        if not 0 <= layer < self.layers:
            raise StylegenError(f"layer {layer} is out of range: the model has layers 0-{self.layers - 1}")
        if not 0 <= neuron < self.width(kind):
            raise StylegenError(f"neuron {neuron} is out of range: layer {layer} has neurons 0-{self.width(kind) - 1}")

    def kind(self, kind: str) -> np.ndarray:
        """Every neuron of every layer, per character: (L, T, H) float32."""
        return self.per_token[self.check_kind(kind)][:, self.token_of, :]

    def neuron(self, kind: str, layer: int, neuron: int) -> np.ndarray:
        """One neuron, per character: (T,) float32."""
        self.check_neuron(kind, layer, neuron)
        return self.per_token[kind][layer, self.token_of, neuron]

    def top_next(self, tokenizer: Any) -> list[list[tuple[str, float]]]:
        """Per character, the likeliest next tokens as (text, probability), best first
        (empty lists unless `activations` was asked for `topk`)."""
        if self.top_ids is None or self.top_probs is None:
            return [[] for _ in self.text]
        per_token = [
            [(tokenizer.decode([int(i)]), float(p)) for i, p in zip(ids, probs, strict=True)]
            for ids, probs in zip(self.top_ids, self.top_probs, strict=True)
        ]
        return [per_token[t] for t in self.token_of]


def default_kind(kinds: tuple[str, ...]) -> str:
    """`cell` where the model has one (the LSTM cell state of the Karpathy pictures), else `hidden`."""
    for kind in ("cell", "hidden"):
        if kind in kinds:
            return kind
    return kinds[0]


def _align(tokenizer: Any, ids: np.ndarray) -> tuple[str, np.ndarray]:
    """The text the ids decode to, and for each of its characters the id that completed it."""
    stream = tokenizer.decode_stream() if isinstance(tokenizer, DecodesStream) else None
    pieces: list[str] = []
    owners: list[int] = []
    for t, i in enumerate(ids.tolist()):
        piece = stream.push(i) if stream is not None else tokenizer.decode([i])
        pieces.append(piece)
        owners.extend([t] * len(piece))
    if stream is not None and (tail := stream.flush()):
        pieces.append(tail)
        owners.extend([len(ids) - 1] * len(tail))
    return "".join(pieces), np.asarray(owners, dtype=np.int64)


def activations(style: Any, text: str, *, topk: int = 0, limit: int | None = DEFAULT_LIMIT) -> Activations:
    """Run `style`'s model over `text` (its first `limit` characters) from a fresh state.

    `style` is a loaded `stylegen.styles.Style` (anything with `model`, `tokenizer` and
    `device`). With `topk`, also keep the `topk` likeliest next tokens after each token.
    The model runs over the text in bounded pieces with its state carried (`stylegen.chunked`).
    Errors (one line): a model without `step_states`, an empty text, a `limit` (or, without
    one, a text) over `MAX_LIMIT` characters.
    """
    import torch

    model, tokenizer = style.model, style.tokenizer
    stepper: Any = model  # narrowed on its own: `model` keeps the whole model protocol
    if not isinstance(stepper, StepsStates):
        meta = getattr(style, "meta", None)  # a stand-in style may have none
        name = meta.model.name if isinstance(meta, StyleRecord) else type(model).__name__
        raise StylegenError(
            f"model {name!r} does not expose its per-step states (it has no step_states method), so it cannot be inspected"
        )
    if limit is not None:
        if not 1 <= limit <= MAX_LIMIT:
            raise StylegenError(f"--limit must be from 1 to {MAX_LIMIT:,} characters (got {limit:,})")
        text = text[:limit]
    elif len(text) > MAX_LIMIT:
        raise StylegenError(f"the text has {len(text):,} characters, more than the {MAX_LIMIT:,} inspect takes")
    ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
    if not text or len(ids) == 0:
        raise StylegenError("the text is empty: there is nothing to inspect")
    shown, token_of = _align(tokenizer, ids)
    if len(shown) == len(text):
        shown = text  # the same characters (unknown ones stay readable instead of U+FFFD)
    x = torch.as_tensor(ids)[None]  # (1, N) on the CPU: each piece goes to the device on its own
    device = style.device
    parts: dict[str, list[np.ndarray]] = {}  # kind -> the pieces' (L, n, H)

    def states(piece: torch.Tensor, state: Any) -> tuple[None, Any]:
        found, state = stepper.step_states(piece.to(device), state)
        for k, v in found.items():
            parts.setdefault(k, []).append(v.float().cpu().numpy())
        return None, state

    guesses: list[tuple[np.ndarray, np.ndarray]] = []  # the pieces' (n, K) ids and probabilities

    def top(piece: torch.Tensor, state: Any) -> tuple[None, Any]:
        logits, state = model(piece.to(device), state)  # (1, n, V)
        probs = torch.softmax(logits[0].float(), dim=-1)  # (n, V)
        best = probs.topk(min(topk, probs.shape[-1]), dim=-1)
        guesses.append((best.indices.cpu().numpy(), best.values.cpu().numpy()))
        return None, state

    with torch.no_grad():  # in bounded pieces, the state carried: memory grows with the text only
        run_chunked(states, x, model.init_state(1, device))
        per_token = {k: np.concatenate(v, axis=1) for k, v in parts.items()}  # (L, N, H)
        top_ids = top_probs = None
        if topk > 0:
            run_chunked(top, x, model.init_state(1, device))
            top_ids = np.concatenate([i for i, _ in guesses])  # (N, K)
            top_probs = np.concatenate([p for _, p in guesses])
    return Activations(shown, per_token, token_of, top_ids, top_probs)


def correlations(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson r of every neuron with `target`: values (L, T, H), target (T,) -> (L, H).

    A neuron that never changes has r = 0. A target that never changes is an error: there
    is nothing to correlate with.
    """
    m = np.asarray(target, dtype=np.float64)
    m = m - m.mean()  # (T,)
    m_norm = float(np.sqrt((m * m).sum()))
    if m_norm == 0.0:
        raise StylegenError("the target is the same at every character (a pattern matching nothing or everything?)")
    out = np.zeros((values.shape[0], values.shape[2]))
    for layer, a in enumerate(values):  # a (T, H); one layer at a time keeps float64 copies small
        a = a.astype(np.float64) - a.mean(axis=0, dtype=np.float64)
        norms = np.sqrt((a * a).sum(axis=0)) * m_norm  # (H,)
        cov = m @ a  # (H,)
        out[layer] = np.divide(cov, norms, out=np.zeros_like(cov), where=norms > 1e-12)
    return out


def rank(r: np.ndarray, n: int = 10) -> list[Score]:
    """The `n` neurons with the largest |r| from `correlations`' (L, H), best first."""
    flat = np.abs(r).ravel()
    order = np.argsort(-flat, kind="stable")[:n]
    layers, neurons = np.unravel_index(order, r.shape)
    return [Score(int(la), int(ne), float(r[la, ne])) for la, ne in zip(layers, neurons, strict=True)]


def search(
    acts: Activations, kind: str, *, pattern: str | None = None, feature: str | None = None, top: int = 10
) -> list[Score]:
    """The `top` neurons of `kind` that follow the search target best (largest |r|), best first.

    The target is where the regular expression `pattern` matches `acts.text`, or the values of
    `feature` (one of `FEATURES`) along it. Errors (one line): neither or both given, a bad
    pattern, an unknown feature, a target that is the same at every character.
    """
    if (pattern is None) == (feature is None):
        raise StylegenError("search for a pattern or a feature: one of the two")
    target = pattern_mask(acts.text, pattern) if pattern is not None else feature_values(acts.text, str(feature))
    if not float(target.min()) < float(target.max()):
        if pattern is not None:
            where = "no character" if float(target.max()) == 0.0 else "every character"
            raise StylegenError(f"pattern {pattern!r} matches {where} of the text: nothing to correlate with")
        raise StylegenError(f"feature {feature} is the same at every character of the text: nothing to correlate with")
    return rank(correlations(acts.kind(kind), target), top)


def inspect_result(
    style: str,
    acts: Activations,
    kind: str,
    picks: list[tuple[int, int]],
    *,
    search: tuple[str, str] | None = None,
    scores: list[Score] | None = None,
    nexts: list[list[tuple[str, float]]] | None = None,
    positions: tuple[int, ...] = (),
) -> InspectResult:
    """What `stylegen inspect --json` prints: the neurons `picks` (layer, neuron) of `kind` at
    each character, a search's `scores` (`search` is ("pattern", REGEX) or ("feature", NAME)),
    and with `nexts` (`Activations.top_next`) the guesses at `positions` (all when empty).
    Numbers are rounded to 4 decimals."""
    found = None
    if search is not None:
        top = [Score(s.layer, s.neuron, round(s.r, 4)) for s in scores or []]
        found = Search(by=search[0], query=search[1], top=top)
    neurons = [
        NeuronTrace(layer=la, neuron=ne, values=[round(v, 4) for v in acts.neuron(kind, la, ne).tolist()])
        for la, ne in picks
    ]
    topk = None
    if nexts is not None:
        topk = [
            NextAt(position=i, char=acts.text[i], next=[Guess(text=t, p=round(p, 4)) for t, p in nexts[i]])
            for i in (positions or range(len(acts.text)))
        ]
    return InspectResult(
        style=style,
        what=kind,
        layers=acts.layers,
        neurons_per_layer=acts.width(kind),
        text=acts.text,
        search=found,
        neurons=neurons,
        topk=topk,
    )
