"""The built-in samplers at batch 1, in numpy: one id from one row of logits (V,) float32.

Both generation paths sample a single text here (the torch path's `Decoder` at n = 1 and the
torch-free one, `stylegen.torchless`), so the two draw the same ids from the same logits and
random numbers. It is the arithmetic of the torch samplers (stylegen.builtin.samplers) in the
same order and precision, the cumulative sum accumulated in float64 as torch's is on the CPU;
exponentials and sums can differ from torch's in the last bit. At one call per generated
character, numpy's few operations on a small vocabulary cost about half of torch's
(benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

#: The built-in samplers drawn for here.
SAMPLERS = ("greedy", "temperature", "top-k", "top-p", "min-p", "typical")


def temperature_scaled(logits: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    return logits / np.float32(max(float(params.get("temperature", 1.0)), 1e-6))


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return (e / e.sum(dtype=np.float32)).astype(np.float32)


def top_k(logits: np.ndarray, k: int) -> np.ndarray:
    if 0 < k < logits.size:
        kth = np.partition(logits, logits.size - k)[logits.size - k]  # the k-th largest
        logits = np.where(logits < kth, np.float32(-np.inf), logits)
    return logits


def top_p(logits: np.ndarray, p: float) -> np.ndarray:
    if p >= 1.0:
        return logits
    order = np.argsort(-logits, kind="stable")
    probs = softmax(logits[order])
    cumulative = np.cumsum(probs, dtype=np.float64).astype(np.float32)
    drop = cumulative - probs >= np.float32(p)  # keep up to and including the crossing id
    drop[0] = False
    out = logits.copy()
    out[order[drop]] = -np.inf
    return out


def min_p(logits: np.ndarray, min_p: float) -> np.ndarray:
    if min_p <= 0.0:
        return logits
    return np.where(logits - logits.max() < np.float32(np.log(min_p)), np.float32(-np.inf), logits)


def typical(logits: np.ndarray, typical_p: float) -> np.ndarray:
    if typical_p >= 1.0:
        return logits
    top = logits.max()
    logp = logits - top - np.float32(np.log(np.exp(logits - top).sum(dtype=np.float32)))
    p = np.exp(logp)
    with np.errstate(invalid="ignore", divide="ignore"):
        entropy = np.float32(-(p * np.where(p > 0, logp, 0)).sum(dtype=np.float32))
        distance = np.abs(-logp - entropy)
    order = np.argsort(distance, kind="stable")
    sorted_p = p[order]
    before = np.cumsum(sorted_p, dtype=np.float64).astype(np.float32) - sorted_p
    drop = before >= np.float32(typical_p)
    drop[0] = False
    out = logits.copy()
    out[order[drop]] = -np.inf
    return out


def draw(logits: np.ndarray, uniform: Callable[[], np.float32]) -> int:
    """Inverse-CDF sampling, as `stylegen.builtin.samplers.draw`: `uniform()` is one float32
    in [0, 1), as `torch.rand(1, generator=g)` gives it."""
    cdf = np.cumsum(softmax(logits), dtype=np.float64).astype(np.float32)
    u = np.float32(uniform() * cdf[-1])
    return min(int(np.searchsorted(cdf, u, side="right")), cdf.size - 1)


def sample(name: str, logits: np.ndarray, params: Mapping[str, Any], uniform: Callable[[], np.float32]) -> int:
    """One id from logits (V,) with built-in sampler `name`."""
    if name == "greedy":
        return int(np.argmax(logits))
    scaled = temperature_scaled(logits, params)
    if name == "top-k":
        scaled = top_k(scaled, int(params.get("top_k", 40)))
    elif name == "top-p":
        scaled = top_p(top_k(scaled, int(params.get("top_k", 0))), float(params.get("top_p", 0.9)))
    elif name == "min-p":
        scaled = min_p(scaled, float(params.get("min_p", 0.05)))
    elif name == "typical":
        scaled = typical(scaled, float(params.get("typical_p", 0.95)))
    return draw(scaled, uniform)


def next_id(
    name: str,
    last: np.ndarray,
    params: Mapping[str, Any],
    uniform: Callable[[], np.float32],
    *,
    penalties: Any = None,
    counts: np.ndarray | None = None,
    banned: np.ndarray | None = None,
    only: ArrayLike | None = None,
) -> int:
    """The next id after logits `last` (V,), left as they are: the penalties (a
    `stylegen.Penalties`, with the counts of the ids so far) applied, the `banned` ids never
    drawn, and with `only` (ids: a list, an array, a CPU tensor), among those alone; then
    sampler `name`."""
    logits = last.copy()
    if penalties is not None and penalties.active and counts is not None:
        logits = penalties.apply(logits, counts)
    if banned is not None and banned.size:
        logits[banned] = -np.inf
    if only is not None:
        kept = np.asarray(only, dtype=np.int64)
        masked = np.full_like(logits, -np.inf)
        masked[kept] = logits[kept]
        logits = masked
    return sample(name, logits, params, uniform)
