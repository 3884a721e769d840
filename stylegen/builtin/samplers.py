"""Built-in samplers: `greedy`, `temperature`, `top-k` and `top-p` (nucleus).

Each step: scale the logits by 1/temperature, keep the k most likely ids (top-k), keep the
smallest set whose probability reaches p (top-p), softmax, and draw with the caller's
generator, so one seed gives one text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stylegen.hookspecs import Register, hookimpl
from stylegen.protocols import Param

if TYPE_CHECKING:
    import torch

TEMPERATURE = Param("temperature", float, 1.0, 1e-3, 10.0, "divide the logits by this; lower is more conservative")
TOP_K = Param("top_k", int, 40, 0, None, "sample among the k most likely tokens (0: all)")
TOP_P = Param("top_p", float, 0.9, 1e-3, 1.0, "sample among the most likely tokens whose probabilities sum to p")


def filter_logits(logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Return logits (B, V) scaled and with filtered-out ids set to -inf."""
    import torch

    logits = logits / max(float(temperature), 1e-6)  # (B, V)
    if 0 < top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1) the k-th largest
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) >= top_p  # keep up to and including the crossing id
        drop[:, 0] = False
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return logits


def draw(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Sample one id per row of logits (B, V) -> (B,)."""
    import torch

    probs = logits.float().softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class Greedy:
    name = "greedy"
    description = "Always the most likely next token (deterministic)"
    params: tuple[Param, ...] = ()

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        return logits.argmax(-1)


class Temperature:
    name = "temperature"
    description = "Sample from the softmax of logits / temperature"
    params: tuple[Param, ...] = (TEMPERATURE,)

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        return draw(filter_logits(logits, params.get("temperature", 1.0)), generator)


class TopK:
    name = "top-k"
    description = "Sample among the k most likely tokens"
    params: tuple[Param, ...] = (TEMPERATURE, TOP_K)

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        return draw(filter_logits(logits, params.get("temperature", 1.0), int(params.get("top_k", 40))), generator)


class TopP:
    name = "top-p"
    description = "Nucleus sampling: the smallest set of tokens whose probability reaches p (Holtzman et al. 2019)"
    params: tuple[Param, ...] = (
        TEMPERATURE,
        TOP_P,
        Param("top_k", int, 0, 0, None, "also keep at most k tokens (0: off)"),
    )

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        filtered = filter_logits(
            logits, params.get("temperature", 1.0), int(params.get("top_k", 0)), float(params.get("top_p", 0.9))
        )
        return draw(filtered, generator)


@hookimpl
def register_samplers(register: Register) -> None:
    for sampler in (Greedy(), Temperature(), TopK(), TopP()):
        register(sampler)
