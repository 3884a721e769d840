"""Built-in samplers: `greedy`, `temperature`, `top-k`, `top-p` (nucleus), `min-p` and `typical`.

Each step: scale the logits by 1/temperature, then keep a set of ids — the k most likely
(top-k), the smallest set whose probability reaches p (top-p), those at least min_p times as
likely as the likeliest (min-p), the locally typical ones (typical) — softmax, and draw with
the caller's generator, so one seed gives one text. The sets are chosen on the distribution
at the given temperature, the one that is sampled.
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
MIN_P = Param("min_p", float, 0.05, 0.0, 1.0, "keep tokens at least min_p times as likely as the likeliest")
TYPICAL_P = Param(
    "typical_p", float, 0.95, 1e-3, 1.0, "keep the most typical tokens (surprisal nearest the entropy) up to this mass"
)


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


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Min-p truncation (Nguyen et al. 2024, "Turning Up the Heat: Min-p Sampling for Creative
    and Coherent LLM Outputs"): keep id i iff p_i >= min_p * max_j p_j, so the cut-off follows
    the model's confidence. logits (B, V) -> (B, V), dropped ids set to -inf.

    In log space: log p_i - max_j log p_j = l_i - max_j l_j (the normaliser cancels), so the
    test is l_i - max_j l_j >= log(min_p); the likeliest id always stays.
    """
    import math

    if min_p <= 0.0:
        return logits
    top = logits.max(dim=-1, keepdim=True).values  # (B, 1)
    return logits.masked_fill(logits - top < math.log(min_p), float("-inf"))


def typical_filter(logits: torch.Tensor, typical_p: float) -> torch.Tensor:
    """Locally typical truncation (Meister et al. 2022, "Locally Typical Sampling", TACL 2023).

    The entropy H = -sum_i p_i log p_i is the expected surprisal; a token is typical when its
    own surprisal -log p_i is close to it. Order ids by |-log p_i - H| (most typical first) and
    keep the shortest prefix of that order whose probability mass reaches typical_p (the id
    that crosses the line included). logits (B, V) -> (B, V), dropped ids set to -inf.
    """
    import torch

    if typical_p >= 1.0:
        return logits
    logp = logits.float().log_softmax(-1)  # (B, V); -inf for ids already dropped
    p = logp.exp()  # (B, V)
    entropy = torch.special.entr(p).sum(-1, keepdim=True)  # (B, 1); entr(0) = 0
    distance = (-logp - entropy).abs()  # (B, V); +inf for dropped ids, so they sort last
    order = distance.argsort(dim=-1, stable=True)  # (B, V) most typical first
    sorted_p = p.gather(-1, order)  # (B, V)
    mass_before = sorted_p.cumsum(-1) - sorted_p  # (B, V) mass of the more typical ids
    drop = mass_before >= typical_p  # the set already reached typical_p without this id
    drop[:, 0] = False  # the most typical id always stays
    return logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))


def draw(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Sample one id per row of logits (B, V) -> (B,)."""
    import torch

    # Inverse-CDF sampling: one uniform number per row, found in the cumulative distribution.
    # Several times cheaper than torch.multinomial for one draw from a small vocabulary, which
    # matters at one call per generated character. right=True never picks a zero-probability id.
    cdf = logits.float().softmax(-1).cumsum(-1)  # (B, V)
    u = torch.rand((cdf.size(0), 1), generator=generator) * cdf[:, -1:]  # (B, 1)
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp_(max=cdf.size(-1) - 1)


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


class MinP:
    name = "min-p"
    description = "Keep tokens at least min_p times as likely as the likeliest (Nguyen et al. 2024)"
    params: tuple[Param, ...] = (TEMPERATURE, MIN_P)

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        scaled = filter_logits(logits, params.get("temperature", 1.0))  # (B, V)
        return draw(min_p_filter(scaled, float(params.get("min_p", 0.05))), generator)


class Typical:
    name = "typical"
    description = "Locally typical sampling: tokens whose surprisal is nearest the entropy (Meister et al. 2022)"
    params: tuple[Param, ...] = (TEMPERATURE, TYPICAL_P)

    def __call__(self, logits: torch.Tensor, params: Mapping[str, Any], generator: torch.Generator) -> torch.Tensor:
        scaled = filter_logits(logits, params.get("temperature", 1.0))  # (B, V)
        return draw(typical_filter(scaled, float(params.get("typical_p", 0.95))), generator)


@hookimpl
def register_samplers(register: Register) -> None:
    for sampler in (Greedy(), Temperature(), TopK(), TopP(), MinP(), Typical()):
        register(sampler)
